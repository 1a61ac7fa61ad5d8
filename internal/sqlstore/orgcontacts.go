package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph"
)

// orgScope is the change-log scope of a tenant's org contacts.
func orgScope(tenantID string) string { return "org:" + tenantID }

// tenantRevs allocates n revisions of the tenant's counter, creating the
// counter on first use, and returns the first. Like revs, the UPDATE holds
// the counter row's lock until commit.
func (s *Store) tenantRevs(ctx context.Context, tx *conn, tenantID string, n int64) (int64, error) {
	if _, err := s.exec(ctx, tx, `INSERT INTO tenants (id, rev) VALUES (?, 0) ON CONFLICT (id) DO NOTHING`, tenantID); err != nil {
		return 0, fmt.Errorf("allocate revision: %w", err)
	}
	var last int64
	if err := s.queryRow(ctx, tx, `UPDATE tenants SET rev = rev + ? WHERE id = ? RETURNING rev`, n, tenantID).Scan(&last); err != nil {
		return 0, fmt.Errorf("allocate revision: %w", err)
	}
	return last - n + 1, nil
}

const orgCols = `id, props, prop_revs, rev, created, deleted_at`

func scanOrg(row interface{ Scan(...any) error }) (*contactgraph.OrgContact, error) {
	o := &contactgraph.OrgContact{}
	var props, revs string
	var created int64
	var deleted sql.NullInt64
	if err := row.Scan(&o.ID, &props, &revs, &o.Rev, &created, &deleted); err != nil {
		return nil, err
	}
	if err := decodeOrg(o, props, revs); err != nil {
		return nil, err
	}
	o.Created = time.UnixMilli(created).UTC()
	if deleted.Valid {
		o.Deleted = time.UnixMilli(deleted.Int64).UTC()
	}
	return o, nil
}

func decodeOrg(o *contactgraph.OrgContact, props, revs string) error {
	if err := json.Unmarshal([]byte(props), &o.Props); err != nil {
		return fmt.Errorf("decode org contact %s: %w", o.ID, err)
	}
	if err := json.Unmarshal([]byte(revs), &o.PropRevs); err != nil {
		return fmt.Errorf("decode org contact %s: %w", o.ID, err)
	}
	return nil
}

func orgNotFound(id string) error {
	return contactgraph.About(contactgraph.ENotFound, id)
}

// orgContact reads an org contact: live ones, or soft-deleted ones when deleted is set.
func (s *Store) orgContact(ctx context.Context, x *conn, tenantID, id string, deleted bool) (*contactgraph.OrgContact, error) {
	cond := `deleted_at IS NULL`
	if deleted {
		cond = `deleted_at IS NOT NULL`
	}
	o, err := scanOrg(s.queryRow(ctx, x, `SELECT `+orgCols+` FROM org_contacts WHERE id = ? AND tenant_id = ? AND `+cond, strings.ToLower(id), tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, orgNotFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("read org contact: %w", err)
	}
	return o, nil
}

// OrgContact implements contactgraph.Store.
func (s *Store) OrgContact(ctx context.Context, tenantID, id string) (*contactgraph.OrgContact, error) {
	ctx, end := s.op(ctx)
	o, err := s.orgContact(ctx, s.rq(), tenantID, id, false)
	return o, end(err)
}

// DeletedOrgContact implements contactgraph.Store.
func (s *Store) DeletedOrgContact(ctx context.Context, tenantID, id string) (*contactgraph.OrgContact, error) {
	ctx, end := s.op(ctx)
	o, err := s.orgContact(ctx, s.rq(), tenantID, id, true)
	return o, end(err)
}

func (s *Store) listOrg(ctx context.Context, tenantID string, p contactgraph.Page, deleted bool) ([]*contactgraph.OrgContact, error) {
	cond := `deleted_at IS NULL`
	if deleted {
		cond = `deleted_at IS NOT NULL`
	}
	rows, err := s.query(ctx, s.rq(), `SELECT `+orgCols+` FROM org_contacts WHERE tenant_id = ? AND `+cond+` AND id > ? ORDER BY id LIMIT ?`, tenantID, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("list org contacts: %w", err)
	}
	defer rows.Close()
	var out []*contactgraph.OrgContact
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, fmt.Errorf("list org contacts: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// ListOrgContacts implements contactgraph.Store.
func (s *Store) ListOrgContacts(ctx context.Context, tenantID string, p contactgraph.Page) ([]*contactgraph.OrgContact, error) {
	ctx, end := s.op(ctx)
	list, err := s.listOrg(ctx, tenantID, p, false)
	return list, end(err)
}

// DeletedOrgContacts implements contactgraph.Store.
func (s *Store) DeletedOrgContacts(ctx context.Context, tenantID string, p contactgraph.Page) ([]*contactgraph.OrgContact, error) {
	ctx, end := s.op(ctx)
	list, err := s.listOrg(ctx, tenantID, p, true)
	return list, end(err)
}

// CountOrgContacts implements contactgraph.Store.
func (s *Store) CountOrgContacts(ctx context.Context, tenantID string) (int, error) {
	var n int
	ctx, end := s.op(ctx)
	if err := s.queryRow(ctx, s.rq(), `SELECT COUNT(*) FROM org_contacts WHERE tenant_id = ? AND deleted_at IS NULL`, tenantID).Scan(&n); err != nil {
		return 0, end(fmt.Errorf("count org contacts: %w", err))
	}
	return n, end(nil)
}

// saveOrg writes an org contact's row.
func (s *Store) saveOrg(ctx context.Context, tx *conn, tenantID string, o *contactgraph.OrgContact, insert bool) error {
	props, err := json.Marshal(o.Props)
	if err != nil {
		return err
	}
	revs, err := json.Marshal(o.PropRevs)
	if err != nil {
		return err
	}
	var deleted any
	if !o.Deleted.IsZero() {
		deleted = o.Deleted.UnixMilli()
	}
	if insert {
		_, err = s.exec(ctx, tx, `INSERT INTO org_contacts (`+orgCols+`, tenant_id) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			o.ID, string(props), string(revs), o.Rev, o.Created.UnixMilli(), deleted, tenantID)
	} else {
		_, err = s.exec(ctx, tx, `UPDATE org_contacts SET props = ?, prop_revs = ?, rev = ?, deleted_at = ? WHERE id = ?`,
			string(props), string(revs), o.Rev, deleted, o.ID)
	}
	if err != nil {
		return fmt.Errorf("write org contact: %w", err)
	}
	return nil
}

// CreateOrgContact implements contactgraph.Store.
func (s *Store) CreateOrgContact(ctx context.Context, tenantID string, in contactgraph.OrgContactInput) (*contactgraph.OrgContact, error) {
	var o *contactgraph.OrgContact
	err := s.write(ctx, func(tx *conn) error {
		rev, err := s.tenantRevs(ctx, tx, tenantID, 1)
		if err != nil {
			return err
		}
		o = contactgraph.ApplyOrgContact(nil, in, rev, s.Now())
		if err := s.saveOrg(ctx, tx, tenantID, o, true); err != nil {
			return err
		}
		return s.recordAs(ctx, tx, orgScope(tenantID), kindOrgContact, o.ID, rev, live)
	})
	return o, err
}

// UpdateOrgContact implements contactgraph.Store.
func (s *Store) UpdateOrgContact(ctx context.Context, tenantID, id string, in contactgraph.OrgContactInput) (*contactgraph.OrgContact, error) {
	var o *contactgraph.OrgContact
	err := s.write(ctx, func(tx *conn) error {
		rev, err := s.tenantRevs(ctx, tx, tenantID, 1)
		if err != nil {
			return err
		}
		old, err := s.orgContact(ctx, tx, tenantID, id, false)
		if err != nil {
			return err
		}
		o = contactgraph.ApplyOrgContact(old, in, rev, s.Now())
		if err := s.saveOrg(ctx, tx, tenantID, o, false); err != nil {
			return err
		}
		return s.recordAs(ctx, tx, orgScope(tenantID), kindOrgContact, o.ID, rev, live)
	})
	return o, err
}

// DeleteOrgContact implements contactgraph.Store.
func (s *Store) DeleteOrgContact(ctx context.Context, tenantID, id string) error {
	return s.write(ctx, func(tx *conn) error {
		rev, err := s.tenantRevs(ctx, tx, tenantID, 1)
		if err != nil {
			return err
		}
		o, err := s.orgContact(ctx, tx, tenantID, id, false)
		if err != nil {
			return err
		}
		o.Rev, o.Deleted = rev, time.UnixMilli(s.nowMillis()).UTC()
		if err := s.saveOrg(ctx, tx, tenantID, o, false); err != nil {
			return err
		}
		return s.recordAs(ctx, tx, orgScope(tenantID), kindOrgContact, o.ID, rev, removedSoft)
	})
}

// RestoreOrgContact implements contactgraph.Store. The restored contact
// reappears in delta as a whole object: every property counts as changed.
func (s *Store) RestoreOrgContact(ctx context.Context, tenantID, id string) (*contactgraph.OrgContact, error) {
	var o *contactgraph.OrgContact
	err := s.write(ctx, func(tx *conn) error {
		rev, err := s.tenantRevs(ctx, tx, tenantID, 1)
		if err != nil {
			return err
		}
		if o, err = s.orgContact(ctx, tx, tenantID, id, true); err != nil {
			return err
		}
		o.Touch(rev)
		o.Deleted = time.Time{}
		if err := s.saveOrg(ctx, tx, tenantID, o, false); err != nil {
			return err
		}
		return s.recordAs(ctx, tx, orgScope(tenantID), kindOrgContact, o.ID, rev, live)
	})
	return o, err
}

// PurgeOrgContact implements contactgraph.Store.
func (s *Store) PurgeOrgContact(ctx context.Context, tenantID, id string) error {
	return s.write(ctx, func(tx *conn) error {
		return s.purge(ctx, tx, tenantID, id)
	})
}

func (s *Store) purge(ctx context.Context, tx *conn, tenantID, id string) error {
	rev, err := s.tenantRevs(ctx, tx, tenantID, 1)
	if err != nil {
		return err
	}
	o, err := s.orgContact(ctx, tx, tenantID, id, true)
	if err != nil {
		return err
	}
	if _, err := s.exec(ctx, tx, `DELETE FROM org_contacts WHERE id = ?`, o.ID); err != nil {
		return fmt.Errorf("purge org contact: %w", err)
	}
	return s.recordAs(ctx, tx, orgScope(tenantID), kindOrgContact, o.ID, rev, removedHard)
}

// purgeDeleted purges every org contact soft-deleted before cutoff, one
// transaction per contact so that no tenant's counter is held for long.
func (s *Store) purgeDeleted(ctx context.Context, before time.Time) (int, error) {
	type key struct{ tenant, id string }
	var due []key
	octx, end := s.op(ctx)
	err := func() error {
		rows, err := s.query(octx, s.rq(), `SELECT tenant_id, id FROM org_contacts WHERE deleted_at IS NOT NULL AND deleted_at < ?`, before.UnixMilli())
		if err != nil {
			return fmt.Errorf("purge: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k key
			if err := rows.Scan(&k.tenant, &k.id); err != nil {
				return fmt.Errorf("purge: %w", err)
			}
			due = append(due, k)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("purge: %w", err)
		}
		return nil
	}()
	if err := end(err); err != nil {
		return 0, err
	}
	n := 0
	for _, k := range due {
		err := s.write(ctx, func(tx *conn) error { return s.purge(ctx, tx, k.tenant, k.id) })
		if contactgraph.ErrorCode(err) == contactgraph.ENotFound {
			continue // restored or purged meanwhile
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// OrgContactChanges implements contactgraph.Store.
func (s *Store) OrgContactChanges(ctx context.Context, tenantID string, ids []string, q contactgraph.ChangeQuery) (contactgraph.ChangePage[contactgraph.OrgContactChange], error) {
	var page contactgraph.ChangePage[contactgraph.OrgContactChange]
	scope := orgScope(tenantID)
	for i := range ids {
		ids[i] = strings.ToLower(ids[i])
	}
	err := s.read(ctx, func(tx *conn) error {
		var rev, floor int64
		err := s.queryRow(ctx, tx, `SELECT COALESCE((SELECT rev FROM tenants WHERE id = ?), 0),
COALESCE((SELECT f.rev FROM floors f WHERE f.scope = ? AND f.kind = ?), 0)`, tenantID, scope, kindOrgContact).Scan(&rev, &floor)
		if err != nil {
			return fmt.Errorf("read revision: %w", err)
		}
		head, err := checkSince(rev, floor, q.Since)
		if err != nil {
			return err
		}
		current := map[string]*contactgraph.OrgContact{}
		load := func(ids []string) error {
			rows, err := s.query(ctx, tx, `SELECT `+orgCols+` FROM org_contacts WHERE tenant_id = ? AND id`+inList(len(ids)),
				append([]any{tenantID}, anys(ids)...)...)
			if err != nil {
				return fmt.Errorf("read changes: %w", err)
			}
			defer rows.Close()
			for rows.Next() {
				o, err := scanOrg(rows)
				if err != nil {
					return fmt.Errorf("read changes: %w", err)
				}
				current[o.ID] = o
			}
			return rows.Err()
		}
		build := func(e logEntry) (contactgraph.OrgContactChange, bool) {
			ch := contactgraph.OrgContactChange{ID: e.id, Rev: e.rev}
			switch o, ok := current[e.id]; {
			case !ok:
				ch.Removed = contactgraph.RemovedDeleted
			case !o.Deleted.IsZero():
				ch.Removed = contactgraph.RemovedChanged
			default:
				ch.Contact = o
			}
			return ch, ch.Removed == "" || q.Since > 0
		}
		page, err = round(ctx, s, tx, head, scope, kindOrgContact, q, ids, load, build)
		return err
	})
	return page, err
}
