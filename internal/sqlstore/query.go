package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/contactgraph/contactgraph"
)

// Paging of filtered and ordered lists.
//
// A page is one SELECT: the list's scope, the filter, the position, the
// order, LIMIT one more than asked (to know whether more follow). Without
// $orderby the order is the id and the position "id > last", which the
// (scope, id) indexes serve as ListContacts does. With $orderby the sort
// keys are selected with the rows, ordered ascending with nulls first or
// descending with nulls last, then by id; the position after a page is the
// keyset (its last row's key values, its id), and the next page starts at
// the rows that sort after it:
//
//	k1 > v1 OR (k1 = v1 AND (k2 > v2 OR (k2 = v2 AND … id > last)))
//
// with "after" and "equal" spelled out for nulls. No index holds JSON sort
// keys, so an ordered page costs a scan of the rows the filter and the
// position leave, with a top-k sort (O(n log k)); a keyset never costs more
// than the first page, unlike OFFSET, and an item created or deleted while
// a client pages shifts nothing. $skip is an OFFSET on the first page only.
//
// Filtered and ordered queries run as unprepared statements: their text
// depends on the client's filter, and the statement cache (bounded, never
// evicting) is kept for the server's own queries; a plain list's few
// texts are cached.

// query runs a query built for one request, outside the statement cache.
func (x *conn) queryDirect(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if x.tx != nil {
		return x.tx.QueryContext(ctx, x.c.rebind(query), args...)
	}
	return x.c.db.QueryContext(ctx, x.c.rebind(query), args...)
}

func (x *conn) queryRowDirect(ctx context.Context, query string, args ...any) *sql.Row {
	if x.tx != nil {
		return x.tx.QueryRowContext(ctx, x.c.rebind(query), args...)
	}
	return x.c.db.QueryRowContext(ctx, x.c.rebind(query), args...)
}

// listSQL is a built list query: the page and, when asked, the count.
type listSQL struct {
	page      string
	pageArgs  []any
	count     string
	countArgs []any
	keys      int  // sort key columns selected after the object's columns
	cached    bool // the text depends on no client input: run it as a cached statement
}

// buildList builds the queries of q over t: cols are the selected columns,
// scope the condition of the list with its arguments, list what the list
// is restricted to (for side tables' scopes).
func buildList(d Dialect, t *listTable, cols, scope string, scopeArgs []any, list listScope, q contactgraph.ListQuery) (listSQL, error) {
	var out listSQL
	if q.Limit < 1 {
		return out, fmt.Errorf("sqlstore: list limit %d", q.Limit)
	}
	if q.After != nil && len(q.After.Keys) != len(q.OrderBy) {
		return out, contactgraph.Errorf(contactgraph.EInvalid, "The position does not fit the query's $orderby.")
	}
	// The filter, compiled once, is used by the page and the count.
	var filter frag
	if q.Filter != nil {
		c := &compiler{d: d, t: t, list: list}
		if err := c.cond(q.Filter, nil); err != nil {
			return out, err
		}
		filter = frag{c.b.String(), c.args}
	}
	where := func(c *compiler) {
		c.write(" FROM "+t.name+" WHERE "+scope, scopeArgs...)
		if filter.sql != "" {
			c.write(" AND (")
			c.writeFrag(filter)
			c.write(")")
		}
	}
	if q.Count {
		c := &compiler{d: d, t: t}
		c.write("SELECT COUNT(*)")
		where(c)
		out.count, out.countArgs = c.b.String(), c.args
	}

	c := &compiler{d: d, t: t, list: list}
	keys := make([]frag, len(q.OrderBy))
	for i, k := range q.OrderBy {
		var err error
		if keys[i], err = c.sortKey(k); err != nil {
			return out, err
		}
	}
	c.write("SELECT " + cols)
	for _, k := range keys {
		c.write(", ")
		c.writeFrag(k)
	}
	where(c)
	id := t.id
	if len(keys) > 0 {
		id = d.Collate(t.id)
	}
	if q.After != nil {
		c.write(" AND ")
		after(c, keys, q.OrderBy, q.After, id)
	}
	c.write(" ORDER BY ")
	for i, k := range q.OrderBy {
		// By position in the select list: the keys follow the columns.
		pos := strings.Count(cols, ",") + 2 + i
		if k.Desc {
			c.write(fmt.Sprintf("%d DESC NULLS LAST, ", pos))
		} else {
			c.write(fmt.Sprintf("%d ASC NULLS FIRST, ", pos))
		}
	}
	c.write(id+" LIMIT ?", q.Limit+1)
	if q.After == nil && q.Skip > 0 {
		c.write(" OFFSET ?", q.Skip)
	}
	out.page, out.pageArgs, out.keys = c.b.String(), c.args, len(keys)
	out.cached = q.Filter == nil && len(q.OrderBy) == 0
	return out, nil
}

// after writes the condition "sorts after the cursor" (see the comment at
// the top of the file).
func after(c *compiler, keys []frag, order []contactgraph.SortKey, cur *contactgraph.Cursor, id string) {
	c.write("(")
	closing := ")"
	for i, k := range keys {
		v := cur.Keys[i]
		null := v.Kind == contactgraph.VNull
		// This key sorts after v …
		switch {
		case !order[i].Desc && null:
			c.writeFrag(k)
			c.write(" IS NOT NULL")
		case !order[i].Desc:
			c.writeFrag(k)
			c.write(" > ?", v.Str)
		case null: // descending, nulls last: nothing sorts after a null but other nulls
			c.write("FALSE")
		default:
			c.write("(")
			c.writeFrag(k)
			c.write(" IS NULL OR ")
			c.writeFrag(k)
			c.write(" < ?)", v.Str)
		}
		// … or it is equal and the rest sorts after.
		c.write(" OR (")
		c.writeFrag(k)
		if null {
			c.write(" IS NULL")
		} else {
			c.write(" = ?", v.Str)
		}
		c.write(" AND (")
		closing += "))"
	}
	c.write(id+" > ?", cur.ID)
	c.write(closing)
}

// listPage reads a page built by buildList; scan reads one row's object
// columns into the next item and returns its id.
func listPage[T any](ctx context.Context, tx *conn, l listSQL, limit int, scan func(rows *sql.Rows, keys []any) (T, string, error)) (contactgraph.ListPage[T], error) {
	page := contactgraph.ListPage[T]{Count: -1}
	query := tx.queryDirect
	if l.cached {
		query = tx.QueryContext
	}
	rows, err := query(ctx, l.page, l.pageArgs...)
	if err != nil {
		return page, fmt.Errorf("list: %w", err)
	}
	defer rows.Close()
	keys := make([]sql.NullString, l.keys)
	dest := make([]any, l.keys)
	for i := range keys {
		dest[i] = &keys[i]
	}
	var lastID string
	var lastKeys []contactgraph.Value
	for rows.Next() {
		if len(page.Items) == limit {
			page.Next = &contactgraph.Cursor{Keys: lastKeys, ID: lastID}
			break
		}
		item, id, err := scan(rows, dest)
		if err != nil {
			return page, fmt.Errorf("list: %w", err)
		}
		page.Items = append(page.Items, item)
		lastID, lastKeys = id, make([]contactgraph.Value, l.keys)
		for i, k := range keys {
			if k.Valid {
				lastKeys[i] = contactgraph.StringValue(k.String)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("list: %w", err)
	}
	rows.Close()
	if l.count != "" {
		if err := tx.queryRowDirect(ctx, l.count, l.countArgs...).Scan(&page.Count); err != nil {
			return page, fmt.Errorf("count: %w", err)
		}
	}
	return page, nil
}

// QueryContacts implements contactgraph.Store.
func (s *Store) QueryContacts(ctx context.Context, mb contactgraph.Mailbox, folderID string, q contactgraph.ListQuery) (contactgraph.ListPage[*contactgraph.Contact], error) {
	var page contactgraph.ListPage[*contactgraph.Contact]
	l, err := s.contactsList(mb, folderID, q)
	if err != nil {
		return page, err
	}
	err = s.read(ctx, func(tx *conn) error {
		if _, err := s.folder(ctx, tx, mb, folderID); err != nil {
			return err
		}
		page, err = listPage(ctx, tx, l, q.Limit, func(rows *sql.Rows, keys []any) (*contactgraph.Contact, string, error) {
			var id string
			var r contactRow
			if err := rows.Scan(append(append([]any{&id}, r.dest()...), keys...)...); err != nil {
				return nil, "", err
			}
			return r.contact(id), id, nil
		})
		return err
	})
	return page, err
}

// QueryOrgContacts implements contactgraph.Store.
func (s *Store) QueryOrgContacts(ctx context.Context, tenantID string, q contactgraph.ListQuery) (contactgraph.ListPage[*contactgraph.OrgContact], error) {
	var page contactgraph.ListPage[*contactgraph.OrgContact]
	l, err := buildList(s.Dialect, orgTable, qualify("org_contacts", orgCols), "org_contacts.tenant_id = ? AND org_contacts.deleted_at IS NULL", []any{tenantID}, listScope{}, q)
	if err != nil {
		return page, err
	}
	err = s.read(ctx, func(tx *conn) error {
		page, err = listPage(ctx, tx, l, q.Limit, func(rows *sql.Rows, keys []any) (*contactgraph.OrgContact, string, error) {
			o, err := scanOrg(scanWith{rows, keys})
			if err != nil {
				return nil, "", err
			}
			return o, o.ID, nil
		})
		return err
	})
	return page, err
}

// scanWith scans a row into the destinations of its caller and then extra.
type scanWith struct {
	rows  *sql.Rows
	extra []any
}

func (s scanWith) Scan(dest ...any) error { return s.rows.Scan(append(dest, s.extra...)...) }

// qualify prefixes each column of a comma-separated list with table.
func qualify(table, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = table + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// QueryContactsSQL returns the statement QueryContacts runs for a page of
// the folder folderID of mb, in the engine's placeholders, with its
// arguments: for EXPLAIN in tests and diagnostics.
func (s *Store) QueryContactsSQL(mb contactgraph.Mailbox, folderID string, q contactgraph.ListQuery) (string, []any, error) {
	l, err := s.contactsList(mb, folderID, q)
	if err != nil {
		return "", nil, err
	}
	return s.Dialect.Rebind(l.page), l.pageArgs, nil
}

func (s *Store) contactsList(mb contactgraph.Mailbox, folderID string, q contactgraph.ListQuery) (listSQL, error) {
	return buildList(s.Dialect, contactsTable, "contacts.id, "+qualify("contacts", contactCols), "contacts.folder_id = ?", []any{folderID},
		listScope{mb: mb, folderID: folderID}, q)
}
