package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph"
)

// Kinds of objects in the change log.
const (
	kindContact    = 1
	kindFolder     = 2
	kindOrgContact = 3
)

// Values of changes.removed.
const (
	live        = 0
	removedHard = 1 // deleted, or moved out of the collection
	removedSoft = 2 // org contact moved to deleted items
)

// mailboxScope is the change-log scope of "every folder of the mailbox".
func mailboxScope(mb contactgraph.Mailbox) string { return mb.TenantID + ":" + mb.UserID }

// revs allocates n revisions of the mailbox's counter and returns the first.
// The UPDATE takes the counter row's lock until the transaction ends, so the
// revisions of one mailbox commit in increasing order: a reader that has
// seen the counter at r has seen every change with a revision <= r.
// Call it first in a write transaction: on PostgreSQL (READ COMMITTED) the
// statements after it then see every earlier write of the mailbox, so
// writes of one mailbox are serialized as on SQLite's single writer.
// RevsStatement takes n revisions of a mailbox on its counter row (n,
// tenant, user), returning the last; the row stays locked until the
// transaction ends, so that writers of a mailbox commit in revision order.
const RevsStatement = `UPDATE users SET rev = rev + ? WHERE tenant_id = ? AND id = ? RETURNING rev`

func (s *Store) revs(ctx context.Context, tx *conn, mb contactgraph.Mailbox, n int64) (int64, error) {
	var last int64
	err := s.queryRow(ctx, tx, RevsStatement, n, mb.TenantID, mb.UserID).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, contactgraph.About(contactgraph.EUserNotFound, mb.UserID)
	}
	if err != nil {
		return 0, fmt.Errorf("allocate revision: %w", err)
	}
	return last - n + 1, nil
}

// record logs a change of an object in a collection.
func (s *Store) record(ctx context.Context, tx *conn, scope string, kind int, id string, rev int64, removed bool) error {
	rm := live
	if removed {
		rm = removedHard
	}
	return s.recordAs(ctx, tx, scope, kind, id, rev, rm)
}

// recordAs appends a change row and marks the object's previous row in the
// collection superseded.
func (s *Store) recordAs(ctx context.Context, tx *conn, scope string, kind int, id string, rev int64, rm int) error {
	now := s.nowMillis()
	// The previous row says what the change is to the collection's
	// subscribers: none, or a tombstone, makes this a creation in it.
	var prev sql.NullInt64
	err := s.queryRow(ctx, tx, `UPDATE changes SET superseded = ? WHERE scope = ? AND kind = ? AND object_id = ? AND superseded IS NULL RETURNING removed`,
		now, scope, kind, id).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("record change: %w", err)
	}
	if _, err := s.exec(ctx, tx, `INSERT INTO changes (scope, kind, rev, object_id, removed, at) VALUES (?, ?, ?, ?, ?, ?)`,
		scope, kind, rev, id, rm, now); err != nil {
		return fmt.Errorf("record change: %w", err)
	}
	change := contactgraph.ChangeUpdated
	switch {
	case rm != live:
		change = contactgraph.ChangeDeleted
	case !prev.Valid || prev.Int64 != live:
		change = contactgraph.ChangeCreated
	}
	return s.enqueue(ctx, tx, scope, kind, id, rev, change)
}

// headColumns are, after the mailbox's revision and base (u.rev and
// u.base), what a round checks before reading its page: the floor of the
// collection (scope, kind) and whether a folder (id, tenant, user) exists.
// Its arguments: scope, kind, folder, tenant, user.
const headColumns = `COALESCE((SELECT f.rev FROM floors f WHERE f.scope = ? AND f.kind = ?), 0),
	EXISTS (SELECT 1 FROM folders d WHERE d.id = ? AND d.tenant_id = ? AND d.user_id = ?)`

// headQuery reads the head of a round in one statement (headColumns), then
// the mailbox's tenant and user.
const headQuery = `SELECT u.rev, u.base, ` + headColumns + ` FROM users u WHERE u.tenant_id = ? AND u.id = ?`

// position reads the mailbox's current revision and the lowest position
// the collection (scope, kind) answers, the larger of its floor and the
// mailbox's base. With folderID set it checks in the same statement that
// the folder exists: ENotFound otherwise, also when the mailbox is gone,
// as a read of the folder alone would say.
func (s *Store) position(ctx context.Context, tx *conn, mb contactgraph.Mailbox, scope string, kind int, folderID string) (rev, low int64, err error) {
	var base, floor int64
	var found bool
	err = s.queryRow(ctx, tx, headQuery, scope, kind, folderID, mb.TenantID, mb.UserID, mb.TenantID, mb.UserID).Scan(&rev, &base, &floor, &found)
	switch {
	case errors.Is(err, sql.ErrNoRows) && folderID != "":
		return 0, 0, contactgraph.ErrNotFound
	case errors.Is(err, sql.ErrNoRows):
		return 0, 0, contactgraph.About(contactgraph.EUserNotFound, mb.UserID)
	case err != nil:
		return 0, 0, fmt.Errorf("read revision: %w", err)
	case folderID != "" && !found:
		return 0, 0, contactgraph.ErrNotFound
	}
	return rev, max(floor, base), nil
}

// head reads the mailbox's current revision and checks that the round's
// lower bound is still answerable by the collection (scope, kind), after
// checking that folderID exists when it is set (see position).
func (s *Store) head(ctx context.Context, tx *conn, mb contactgraph.Mailbox, scope string, kind int, folderID string, since int64) (int64, error) {
	rev, low, err := s.position(ctx, tx, mb, scope, kind, folderID)
	if err != nil {
		return 0, err
	}
	return checkSince(rev, low, since)
}

// checkSince checks a round's lower bound against the collection owner's
// revision and the collection's floor, and returns the revision.
func checkSince(rev, floor, since int64) (int64, error) {
	if since > 0 && since < floor {
		return 0, contactgraph.ErrSyncStateExpired
	}
	if since > rev {
		// A position ahead of the data: the token belongs to other data.
		return 0, &contactgraph.Error{Code: contactgraph.EResyncRequired} // graphapi words it
	}
	return rev, nil
}

// logEntry is one row of a round's range: an object that changed.
type logEntry struct {
	id  string
	rev int64
}

// logPage reads up to q.Limit+1 log rows of a collection in the round's
// range (max(q.After, q.Since), until], in revision order, restricted to
// ids when given. An object may appear more than once.
func (s *Store) logPage(ctx context.Context, tx *conn, scope string, kind int, q contactgraph.ChangeQuery, until int64, ids []string) ([]logEntry, error) {
	args := []any{scope, kind, max(q.After, q.Since), until}
	filter := ""
	if len(ids) > 0 {
		filter = ` AND object_id IN (?` + strings.Repeat(`, ?`, len(ids)-1) + `)`
		for _, id := range ids {
			args = append(args, id)
		}
	}
	args = append(args, q.Limit+1)
	rows, err := s.query(ctx, tx, `SELECT object_id, rev FROM changes WHERE scope = ? AND kind = ? AND rev > ? AND rev <= ?`+filter+` ORDER BY rev LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	defer rows.Close()
	var out []logEntry
	for rows.Next() {
		var e logEntry
		if err := rows.Scan(&e.id, &e.rev); err != nil {
			return nil, fmt.Errorf("read changes: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// round reads one page of a round: it fills in the upper bound on a first
// page, reads the log rows, loads the current state of their objects with
// load, and turns each into a change with build, once per object and page.
// build returns ok=false to leave an entry out (a removed object in a first
// round: the client never had it).
func round[T any](ctx context.Context, s *Store, tx *conn, head int64, scope string, kind int, q contactgraph.ChangeQuery, ids []string,
	load func(ids []string) error, build func(e logEntry) (T, bool)) (contactgraph.ChangePage[T], error) {
	page := contactgraph.ChangePage[T]{Until: q.Until}
	if page.Until == 0 {
		page.Until = head
	}
	entries, err := s.logPage(ctx, tx, scope, kind, q, page.Until, ids)
	if err != nil {
		return page, err
	}
	if len(entries) > q.Limit {
		entries, page.More = entries[:q.Limit], true
	}
	objects := make([]string, 0, len(entries))
	for _, e := range entries {
		objects = append(objects, e.id)
	}
	if len(objects) > 0 {
		if err := load(objects); err != nil {
			return page, err
		}
	}
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		if seen[e.id] {
			continue
		}
		seen[e.id] = true
		if ch, ok := build(e); ok {
			page.Changes = append(page.Changes, ch)
		}
	}
	if len(entries) > 0 {
		page.Last = entries[len(entries)-1].rev
	}
	return page, nil
}

// inList returns " IN (?, ?, ...)" for n values.
func inList(n int) string { return ` IN (?` + strings.Repeat(`, ?`, n-1) + `)` }

func anys(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// ContactChanges implements contactgraph.Store: one statement
// (ContactRoundQuery), which reads the head, the floor and the page in
// the one snapshot a statement has on both engines, so it needs no
// transaction around it.
func (s *Store) ContactChanges(ctx context.Context, mb contactgraph.Mailbox, folderID string, q contactgraph.ChangeQuery) (contactgraph.ChangePage[contactgraph.ContactChange], error) {
	ctx, end := s.op(ctx)
	page, err := s.contactRound(ctx, mb, folderID, q)
	return page, end(err)
}

// ContactRoundQuery is the statement of a contact round's page (see
// contactRound), with '?' placeholders (ContactRoundArgs); exported for
// the plan tests. Every row carries the mailbox's revision and base, the
// collection's floor and whether the folder exists; the change columns
// are NULL in the one row of a range without changes.
const ContactRoundQuery = `WITH h (head, base, floor, found) AS (SELECT u.rev, u.base, ` + headColumns + `
	FROM users u WHERE u.tenant_id = ? AND u.id = ?)
SELECT h.head, h.base, h.floor, h.found, p.object_id, p.crev, p.folder_id, p.change_key, p.created, p.modified, p.rev, p.auto_name, p.doc
FROM h LEFT JOIN (SELECT c.object_id, c.rev AS crev, k.folder_id, k.change_key, k.created, k.modified, k.rev, k.auto_name, k.doc
	FROM changes c LEFT JOIN contacts k ON k.id = c.object_id
	WHERE c.scope = ? AND c.kind = ? AND c.rev > ? AND c.rev <= (SELECT CASE WHEN CAST(? AS BIGINT) > 0 THEN CAST(? AS BIGINT) ELSE head END FROM h)
	ORDER BY c.rev LIMIT ?) p ON 1 = 1
ORDER BY p.crev`

// ContactRoundFlat is ContactRoundQuery as a plain join of the mailbox's
// row to the range, for an engine whose planner stops the LIMIT through
// the one-row outer side (Dialect.StopsThroughOneRow; SQLite would
// materialize the derived table of ContactRoundQuery, PostgreSQL would
// sort the whole range of this one).
const ContactRoundFlat = `SELECT u.rev, u.base, ` + headColumns + `,
	c.object_id, c.rev, k.folder_id, k.change_key, k.created, k.modified, k.rev, k.auto_name, k.doc
FROM users u LEFT JOIN changes c ON c.scope = ? AND c.kind = ? AND c.rev > ? AND c.rev <= CASE WHEN CAST(? AS BIGINT) > 0 THEN CAST(? AS BIGINT) ELSE u.rev END
LEFT JOIN contacts k ON k.id = c.object_id
WHERE u.tenant_id = ? AND u.id = ?
ORDER BY c.rev LIMIT ?`

// ContactRoundArgs are the arguments of ContactRoundQuery (flat false) or
// ContactRoundFlat for a page of q over folderID: the upper revision 0
// (a round's first page) is the head.
func ContactRoundArgs(mb contactgraph.Mailbox, folderID string, q contactgraph.ChangeQuery, flat bool) []any {
	since := max(q.After, q.Since)
	if flat {
		return []any{folderID, kindContact, folderID, mb.TenantID, mb.UserID, folderID, kindContact, since, q.Until, q.Until, mb.TenantID, mb.UserID, q.Limit + 1}
	}
	return []any{folderID, kindContact, folderID, mb.TenantID, mb.UserID, mb.TenantID, mb.UserID, folderID, kindContact, since, q.Until, q.Until, q.Limit + 1}
}

// contactRound reads one page of a contact round as round does, in one
// statement: the head and the log rows joined to their contacts (the same
// text on every call, no IN list of the page's ids). A log row whose
// contact is gone or in another folder is a removal, reported only to a
// round from a deltaLink (Since > 0).
func (s *Store) contactRound(ctx context.Context, mb contactgraph.Mailbox, folderID string, q contactgraph.ChangeQuery) (contactgraph.ChangePage[contactgraph.ContactChange], error) {
	page := contactgraph.ChangePage[contactgraph.ContactChange]{Until: q.Until}
	query, args := ContactRoundQuery, ContactRoundArgs(mb, folderID, q, false)
	if s.Dialect.StopsThroughOneRow() {
		query, args = ContactRoundFlat, ContactRoundArgs(mb, folderID, q, true)
	}
	rows, err := s.query(ctx, s.rq(), query, args...)
	if err != nil {
		return page, fmt.Errorf("read changes: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	headRead := false
	for n := 0; rows.Next(); n++ {
		var head, base, floor int64
		var found bool
		var id sql.NullString
		var rev sql.NullInt64
		var r contactRow
		if err := rows.Scan(append([]any{&head, &base, &floor, &found, &id, &rev}, r.dest()...)...); err != nil {
			return page, fmt.Errorf("read changes: %w", err)
		}
		if !headRead {
			headRead = true
			if !found {
				return page, contactgraph.ErrNotFound
			}
			if _, err := checkSince(head, max(floor, base), q.Since); err != nil {
				return page, err
			}
			if page.Until == 0 {
				page.Until = head
			}
		}
		if n == q.Limit {
			page.More = id.Valid
			break
		}
		if !id.Valid {
			break // the head's row alone: no change in the range
		}
		page.Last = rev.Int64
		if seen[id.String] {
			continue
		}
		seen[id.String] = true
		switch {
		case r.folder.Valid && r.folder.String == folderID:
			page.Changes = append(page.Changes, contactgraph.ContactChange{ID: id.String, Rev: rev.Int64, Contact: r.contact(id.String)})
		case q.Since > 0:
			page.Changes = append(page.Changes, contactgraph.ContactChange{ID: id.String, Rev: rev.Int64, Removed: true})
		}
	}
	if err := rows.Err(); err != nil {
		return page, fmt.Errorf("read changes: %w", err)
	}
	if !headRead {
		return page, contactgraph.ErrNotFound // no mailbox, so no folder
	}
	return page, nil
}

// FolderChanges implements contactgraph.Store.
func (s *Store) FolderChanges(ctx context.Context, mb contactgraph.Mailbox, parentID string, q contactgraph.ChangeQuery) (contactgraph.ChangePage[contactgraph.FolderChange], error) {
	var page contactgraph.ChangePage[contactgraph.FolderChange]
	err := s.read(ctx, func(tx *conn) error {
		scope := mailboxScope(mb)
		if parentID != "" {
			scope = parentID
		}
		head, err := s.head(ctx, tx, mb, scope, kindFolder, parentID, q.Since)
		if err != nil {
			return err
		}
		current := map[string]*contactgraph.Folder{}
		load := func(ids []string) error {
			rows, err := s.query(ctx, tx, `SELECT id, parent_id, display_name, rev FROM folders WHERE tenant_id = ? AND user_id = ? AND id`+inList(len(ids)),
				append([]any{mb.TenantID, mb.UserID}, anys(ids)...)...)
			if err != nil {
				return fmt.Errorf("read changes: %w", err)
			}
			defer rows.Close()
			for rows.Next() {
				f := &contactgraph.Folder{}
				if err := rows.Scan(&f.ID, &f.ParentID, &f.DisplayName, &f.Rev); err != nil {
					return fmt.Errorf("read changes: %w", err)
				}
				if parentID == "" || f.ParentID == parentID {
					current[f.ID] = f
				}
			}
			return rows.Err()
		}
		build := func(e logEntry) (contactgraph.FolderChange, bool) {
			f, ok := current[e.id]
			return contactgraph.FolderChange{ID: e.id, Rev: e.rev, Removed: !ok, Folder: f}, ok || q.Since > 0
		}
		page, err = round(ctx, s, tx, head, scope, kindFolder, q, nil, load, build)
		return err
	})
	return page, err
}

// defaultPruneBatch is how many log rows one of Prune's transactions
// removes at most (Store.PruneBatch), ties on the bound aside.
const defaultPruneBatch = 10_000

// Prune implements contactgraph.Store. It purges org contacts deleted
// before r.PurgeDeleted (each leaves a "deleted" tombstone), removes
// superseded log rows older than r.Superseded, and removes tombstones older
// than the cutoff of their kind, raising each touched collection's floor to
// the highest revision it removed.
//
// It works in bounded transactions, so that writes, which wait for a
// transaction on SQLite's single writer, wait for one batch at most: the
// log rows go Store.PruneBatch at a time, oldest first, and each batch of
// tombstones raises the floors of exactly the rows it removes, in the same
// transaction. A Prune that fails part-way has committed whole batches
// only; the next one goes on from there.
func (s *Store) Prune(ctx context.Context, r contactgraph.Retention) (int, error) {
	n := 0
	if !r.PurgeDeleted.IsZero() {
		purged, err := s.purgeDeleted(ctx, r.PurgeDeleted)
		n += purged
		if err != nil {
			return n, err
		}
	}
	if !r.Superseded.IsZero() {
		k, err := s.pruneBatches(ctx, `superseded`, `superseded IS NOT NULL AND superseded < ?`, r.Superseded.UnixMilli(), nil)
		n += k
		if err != nil {
			return n, err
		}
	}
	for _, c := range []struct {
		before time.Time
		kinds  string
	}{{r.Items, "1, 2"}, {r.Directory, "3"}} {
		if c.before.IsZero() {
			continue
		}
		cond := `removed <> 0 AND superseded IS NULL AND at < ? AND kind IN (` + c.kinds + `)`
		k, err := s.pruneBatches(ctx, `at`, cond, c.before.UnixMilli(), func(tx *conn, batch string, args []any) error {
			_, err := s.exec(ctx, tx, `INSERT INTO floors (scope, kind, rev)
SELECT scope, kind, MAX(rev) FROM changes WHERE `+batch+` GROUP BY scope, kind
ON CONFLICT (scope, kind) DO UPDATE SET rev = CASE WHEN excluded.rev > floors.rev THEN excluded.rev ELSE floors.rev END`, args...)
			if err != nil {
				return fmt.Errorf("prune: raise floors: %w", err)
			}
			return nil
		})
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, s.write(ctx, func(tx *conn) error { return s.pruneCardNames(ctx, tx) })
}

// pruneBatches removes the log rows matching cond (a condition with one
// argument, cutoff) in transactions of about s.PruneBatch rows, in the
// order of the column by, which an index on cond's rows serves: each
// takes the by value of the batch's last row as its bound and removes the
// rows up to it, after running before (when not nil) with the batch's
// condition and arguments in the same transaction. It returns how many
// rows it removed.
func (s *Store) pruneBatches(ctx context.Context, by, cond string, cutoff int64, before func(tx *conn, batch string, args []any) error) (int, error) {
	size := s.PruneBatch
	if size <= 0 {
		size = defaultPruneBatch
	}
	n := 0
	for {
		var k int64
		last := false
		err := s.write(ctx, func(tx *conn) error {
			// The bound: the by value of the size-th oldest row, or the cutoff
			// itself when fewer rows are left.
			batch, args := cond, []any{cutoff}
			var bound int64
			err := s.queryRow(ctx, tx, `SELECT `+by+` FROM changes WHERE `+cond+` ORDER BY `+by+` LIMIT 1 OFFSET ?`, cutoff, size-1).Scan(&bound)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				last = true
			case err != nil:
				return fmt.Errorf("prune: %w", err)
			default:
				batch, args = cond+` AND `+by+` <= ?`, []any{cutoff, bound}
			}
			if before != nil {
				if err := before(tx, batch, args); err != nil {
					return err
				}
			}
			res, err := s.exec(ctx, tx, `DELETE FROM changes WHERE `+batch, args...)
			if err != nil {
				return fmt.Errorf("prune: %w", err)
			}
			k, _ = res.RowsAffected()
			return nil
		})
		if err != nil {
			return n, err
		}
		n += int(k)
		if last || k == 0 {
			return n, nil
		}
	}
}
