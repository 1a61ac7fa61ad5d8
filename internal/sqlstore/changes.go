package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/contactgraph/contactgraph"
)

// Kinds of objects in the change log.
const (
	kindContact = 1
	kindFolder  = 2
)

// mailboxScope is the change-log scope of "every folder of the mailbox".
func mailboxScope(mb contactgraph.Mailbox) string { return mb.TenantID + ":" + mb.UserID }

// revs allocates n revisions of the mailbox's counter and returns the first.
// The UPDATE takes the counter row's lock until the transaction ends, so the
// revisions of one mailbox commit in increasing order: a reader that has
// seen the counter at r has seen every change with a revision <= r.
func (s *Store) revs(ctx context.Context, tx *sql.Tx, mb contactgraph.Mailbox, n int64) (int64, error) {
	var last int64
	err := s.queryRow(ctx, tx, `UPDATE users SET rev = rev + ? WHERE tenant_id = ? AND id = ? RETURNING rev`, n, mb.TenantID, mb.UserID).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, contactgraph.Errorf(contactgraph.EUserNotFound, "The requested user '%s' is invalid.", mb.UserID)
	}
	if err != nil {
		return 0, fmt.Errorf("allocate revision: %w", err)
	}
	return last - n + 1, nil
}

// record writes the latest change of an object in a collection.
func (s *Store) record(ctx context.Context, tx *sql.Tx, scope string, kind int, id string, rev int64, removed bool) error {
	rm := 0
	if removed {
		rm = 1
	}
	_, err := s.exec(ctx, tx, `INSERT INTO changes (scope, kind, object_id, rev, removed, at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (scope, kind, object_id) DO UPDATE SET rev = excluded.rev, removed = excluded.removed, at = excluded.at`,
		scope, kind, id, rev, rm, s.nowMillis())
	if err != nil {
		return fmt.Errorf("record change: %w", err)
	}
	return nil
}

// head reads the mailbox's current revision and the floor of a collection,
// and checks that the round's lower bound is still answerable.
func (s *Store) head(ctx context.Context, tx *sql.Tx, mb contactgraph.Mailbox, scope string, kind int, since int64) (int64, error) {
	var rev, floor int64
	err := s.queryRow(ctx, tx, `SELECT u.rev, COALESCE((SELECT f.rev FROM floors f WHERE f.scope = ? AND f.kind = ?), 0)
FROM users u WHERE u.tenant_id = ? AND u.id = ?`, scope, kind, mb.TenantID, mb.UserID).Scan(&rev, &floor)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, contactgraph.Errorf(contactgraph.EUserNotFound, "The requested user '%s' is invalid.", mb.UserID)
	}
	if err != nil {
		return 0, fmt.Errorf("read revision: %w", err)
	}
	if since > 0 && since < floor {
		return 0, contactgraph.ErrSyncStateExpired
	}
	if since > rev {
		// A position ahead of the mailbox: the token belongs to other data.
		return 0, contactgraph.Errorf(contactgraph.EResyncRequired, "The delta token is no longer valid, and the app must reset the sync state.")
	}
	return rev, nil
}

// ContactChanges implements contactgraph.Store.
func (s *Store) ContactChanges(ctx context.Context, mb contactgraph.Mailbox, folderID string, q contactgraph.ChangeQuery) (contactgraph.ChangePage[contactgraph.ContactChange], error) {
	var page contactgraph.ChangePage[contactgraph.ContactChange]
	err := s.read(ctx, func(tx *sql.Tx) error {
		if _, err := s.folder(ctx, tx, mb, folderID); err != nil {
			return err
		}
		head, err := s.head(ctx, tx, mb, folderID, kindContact, q.Since)
		if err != nil {
			return err
		}
		page.Until = q.Until
		if page.Until == 0 {
			page.Until = head
		}
		after := max(q.After, q.Since)
		rows, err := s.query(ctx, tx, `SELECT ch.object_id, ch.rev, ch.removed, c.folder_id, c.change_key, c.created, c.modified, c.rev, c.auto_name, c.doc
FROM changes ch LEFT JOIN contacts c ON c.id = ch.object_id AND ch.removed = 0
WHERE ch.scope = ? AND ch.kind = ? AND ch.rev > ? AND ch.rev <= ? AND (ch.removed = 0 OR ? > 0)
ORDER BY ch.rev LIMIT ?`, folderID, kindContact, after, page.Until, q.Since, q.Limit+1)
		if err != nil {
			return fmt.Errorf("read changes: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var ch contactgraph.ContactChange
			var removed int
			var c contactRow
			if err := rows.Scan(&ch.ID, &ch.Rev, &removed, &c.folder, &c.changeKey, &c.created, &c.modified, &c.rev, &c.autoName, &c.doc); err != nil {
				return fmt.Errorf("read changes: %w", err)
			}
			ch.Removed = removed == 1
			if !ch.Removed {
				if !c.folder.Valid {
					return fmt.Errorf("read changes: contact %s in the log but not in the store", ch.ID)
				}
				ch.Contact = c.contact(ch.ID)
			}
			page.Changes = append(page.Changes, ch)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read changes: %w", err)
		}
		if len(page.Changes) > q.Limit {
			page.Changes, page.More = page.Changes[:q.Limit], true
		}
		return nil
	})
	return page, err
}

// FolderChanges implements contactgraph.Store.
func (s *Store) FolderChanges(ctx context.Context, mb contactgraph.Mailbox, parentID string, q contactgraph.ChangeQuery) (contactgraph.ChangePage[contactgraph.FolderChange], error) {
	var page contactgraph.ChangePage[contactgraph.FolderChange]
	err := s.read(ctx, func(tx *sql.Tx) error {
		scope := mailboxScope(mb)
		if parentID != "" {
			if _, err := s.folder(ctx, tx, mb, parentID); err != nil {
				return err
			}
			scope = parentID
		}
		head, err := s.head(ctx, tx, mb, scope, kindFolder, q.Since)
		if err != nil {
			return err
		}
		page.Until = q.Until
		if page.Until == 0 {
			page.Until = head
		}
		after := max(q.After, q.Since)
		rows, err := s.query(ctx, tx, `SELECT ch.object_id, ch.rev, ch.removed, f.parent_id, f.display_name, f.rev
FROM changes ch LEFT JOIN folders f ON f.id = ch.object_id AND ch.removed = 0
WHERE ch.scope = ? AND ch.kind = ? AND ch.rev > ? AND ch.rev <= ? AND (ch.removed = 0 OR ? > 0)
ORDER BY ch.rev LIMIT ?`, scope, kindFolder, after, page.Until, q.Since, q.Limit+1)
		if err != nil {
			return fmt.Errorf("read changes: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var ch contactgraph.FolderChange
			var removed int
			var parent, name sql.NullString
			var rev sql.NullInt64
			if err := rows.Scan(&ch.ID, &ch.Rev, &removed, &parent, &name, &rev); err != nil {
				return fmt.Errorf("read changes: %w", err)
			}
			ch.Removed = removed == 1
			if !ch.Removed {
				if !parent.Valid {
					return fmt.Errorf("read changes: folder %s in the log but not in the store", ch.ID)
				}
				ch.Folder = &contactgraph.Folder{ID: ch.ID, ParentID: parent.String, DisplayName: name.String, Rev: rev.Int64}
			}
			page.Changes = append(page.Changes, ch)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read changes: %w", err)
		}
		if len(page.Changes) > q.Limit {
			page.Changes, page.More = page.Changes[:q.Limit], true
		}
		return nil
	})
	return page, err
}

// Prune implements contactgraph.Store. It removes tombstones older than
// before and raises each touched collection's floor to the highest revision
// it removed, in one transaction.
func (s *Store) Prune(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		cutoff := before.UnixMilli()
		_, err := s.exec(ctx, tx, `INSERT INTO floors (scope, kind, rev)
SELECT scope, kind, MAX(rev) FROM changes WHERE removed = 1 AND at < ? GROUP BY scope, kind
ON CONFLICT (scope, kind) DO UPDATE SET rev = CASE WHEN excluded.rev > floors.rev THEN excluded.rev ELSE floors.rev END`, cutoff)
		if err != nil {
			return fmt.Errorf("prune: raise floors: %w", err)
		}
		res, err := s.exec(ctx, tx, `DELETE FROM changes WHERE removed = 1 AND at < ?`, cutoff)
		if err != nil {
			return fmt.Errorf("prune: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return int(n), err
}
