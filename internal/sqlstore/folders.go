package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/contactgraph/contactgraph"
)

// folder reads a folder of the mailbox. ENotFound.
func (s *Store) folder(ctx context.Context, x *conn, mb contactgraph.Mailbox, id string) (*contactgraph.Folder, error) {
	f := &contactgraph.Folder{ID: id}
	err := s.queryRow(ctx, x, `SELECT parent_id, display_name, rev FROM folders WHERE id = ? AND tenant_id = ? AND user_id = ?`,
		id, mb.TenantID, mb.UserID).Scan(&f.ParentID, &f.DisplayName, &f.Rev)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, contactgraph.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read folder: %w", err)
	}
	return f, nil
}

// Folder implements contactgraph.Store.
func (s *Store) Folder(ctx context.Context, mb contactgraph.Mailbox, id string) (*contactgraph.Folder, error) {
	ctx, end := s.op(ctx)
	f, err := s.folder(ctx, s.rq(), mb, id)
	return f, end(err)
}

// ListFolders implements contactgraph.Store.
func (s *Store) ListFolders(ctx context.Context, mb contactgraph.Mailbox, parentID string, p contactgraph.Page) ([]*contactgraph.Folder, error) {
	if parentID == "" {
		parentID = mb.RootID
	}
	var out []*contactgraph.Folder
	err := s.read(ctx, func(tx *conn) error {
		if _, err := s.folder(ctx, tx, mb, parentID); err != nil {
			return err
		}
		rows, err := s.query(ctx, tx, `SELECT id, parent_id, display_name, rev FROM folders WHERE parent_id = ? AND id > ? ORDER BY id LIMIT ?`, parentID, p.After, p.Limit)
		if err != nil {
			return fmt.Errorf("list folders: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			f := &contactgraph.Folder{}
			if err := rows.Scan(&f.ID, &f.ParentID, &f.DisplayName, &f.Rev); err != nil {
				return fmt.Errorf("list folders: %w", err)
			}
			out = append(out, f)
		}
		return rows.Err()
	})
	return out, err
}

func folderExists(name string) error {
	return contactgraph.About(contactgraph.EFolderExists, name)
}

// CreateFolder implements contactgraph.Store.
func (s *Store) CreateFolder(ctx context.Context, mb contactgraph.Mailbox, parentID string, in contactgraph.FolderInput) (*contactgraph.Folder, error) {
	return s.createFolder(ctx, mb, parentID, "", in)
}

// createFolder creates a folder and, when name is not empty, names it
// among the mailbox's address books in the same transaction.
func (s *Store) createFolder(ctx context.Context, mb contactgraph.Mailbox, parentID, name string, in contactgraph.FolderInput) (*contactgraph.Folder, error) {
	if in.DisplayName == nil {
		return nil, contactgraph.Errorf(contactgraph.EInvalid, "The property 'displayName' is required.")
	}
	if in.ParentID != nil && parentID == "" {
		parentID = *in.ParentID
	}
	if parentID == "" {
		parentID = mb.RootID
	}
	f := &contactgraph.Folder{ID: contactgraph.NewID(), ParentID: parentID, DisplayName: *in.DisplayName}
	err := s.write(ctx, func(tx *conn) error {
		rev, err := s.revs(ctx, tx, mb, 1)
		if err != nil {
			return err
		}
		if _, err := s.folder(ctx, tx, mb, parentID); err != nil {
			return err
		}
		f.Rev = rev
		_, err = s.exec(ctx, tx, `INSERT INTO folders (id, tenant_id, user_id, parent_id, display_name, name_key, rev) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			f.ID, mb.TenantID, mb.UserID, f.ParentID, f.DisplayName, strings.ToLower(f.DisplayName), rev)
		if s.Dialect.IsUniqueViolation(err) {
			return folderExists(f.DisplayName)
		}
		if err != nil {
			return fmt.Errorf("create folder: %w", err)
		}
		if name != "" {
			if err := s.nameBook(ctx, tx, mb, name, f.ID); err != nil {
				return err
			}
		}
		return s.recordFolder(ctx, tx, mb, f, rev)
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// recordFolder logs a folder's new state in the mailbox-wide collection and
// in its parent's child-folder collection. The root is not tracked.
func (s *Store) recordFolder(ctx context.Context, tx *conn, mb contactgraph.Mailbox, f *contactgraph.Folder, rev int64) error {
	if err := s.record(ctx, tx, mailboxScope(mb), kindFolder, f.ID, rev, false); err != nil {
		return err
	}
	return s.record(ctx, tx, f.ParentID, kindFolder, f.ID, rev, false)
}

// UpdateFolder implements contactgraph.Store.
func (s *Store) UpdateFolder(ctx context.Context, mb contactgraph.Mailbox, id string, in contactgraph.FolderInput) (*contactgraph.Folder, error) {
	var f *contactgraph.Folder
	err := s.write(ctx, func(tx *conn) error {
		rev, err := s.revs(ctx, tx, mb, 1)
		if err != nil {
			return err
		}
		if f, err = s.folder(ctx, tx, mb, id); err != nil {
			return err
		}
		if f.IsRoot() {
			return &contactgraph.Error{Code: contactgraph.EInvalid, Err: contactgraph.ErrDefaultFolder}
		}
		oldParent := f.ParentID
		if in.DisplayName != nil {
			f.DisplayName = *in.DisplayName
		}
		if in.ParentID != nil && *in.ParentID != f.ParentID {
			if err := s.checkMove(ctx, tx, mb, id, *in.ParentID); err != nil {
				return err
			}
			f.ParentID = *in.ParentID
		}
		f.Rev = rev
		_, err = s.exec(ctx, tx, `UPDATE folders SET parent_id = ?, display_name = ?, name_key = ?, rev = ? WHERE id = ?`,
			f.ParentID, f.DisplayName, strings.ToLower(f.DisplayName), rev, id)
		if s.Dialect.IsUniqueViolation(err) {
			return folderExists(f.DisplayName)
		}
		if err != nil {
			return fmt.Errorf("update folder: %w", err)
		}
		if oldParent != f.ParentID {
			if err := s.record(ctx, tx, oldParent, kindFolder, id, rev, true); err != nil {
				return err
			}
		}
		return s.recordFolder(ctx, tx, mb, f, rev)
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// checkMove checks that newParent is a folder of the mailbox outside the
// subtree of id.
func (s *Store) checkMove(ctx context.Context, tx *conn, mb contactgraph.Mailbox, id, newParent string) error {
	if _, err := s.folder(ctx, tx, mb, newParent); err != nil {
		return err
	}
	sub, err := s.subtree(ctx, tx, id)
	if err != nil {
		return err
	}
	for _, f := range sub {
		if f == newParent {
			return contactgraph.Errorf(contactgraph.EInvalid, "A folder cannot be moved into itself or one of its child folders.")
		}
	}
	return nil
}

// subtree returns id and the ids of every folder below it.
func (s *Store) subtree(ctx context.Context, tx *conn, id string) ([]string, error) {
	rows, err := s.query(ctx, tx, `WITH RECURSIVE sub(id) AS (SELECT CAST(? AS TEXT) UNION ALL SELECT f.id FROM folders f JOIN sub ON f.parent_id = sub.id)
SELECT id FROM sub`, id)
	if err != nil {
		return nil, fmt.Errorf("read subtree: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return nil, fmt.Errorf("read subtree: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// DeleteFolder implements contactgraph.Store. The folder's contacts (with
// their parts) and child folders go with it; each removed folder leaves a tombstone in the
// mailbox-wide folder collection, the top one also in its parent's.
func (s *Store) DeleteFolder(ctx context.Context, mb contactgraph.Mailbox, id string) error {
	return s.write(ctx, func(tx *conn) error {
		// The counter first, as in every write: the subtree read below then
		// includes folders created by writes that committed while this one
		// waited for the counter (PostgreSQL, READ COMMITTED).
		rev, err := s.revs(ctx, tx, mb, 1)
		if err != nil {
			return err
		}
		f, err := s.folder(ctx, tx, mb, id)
		if err != nil {
			return err
		}
		if f.IsRoot() {
			return &contactgraph.Error{Code: contactgraph.EInvalid, Err: contactgraph.ErrDefaultFolder}
		}
		sub, err := s.subtree(ctx, tx, id)
		if err != nil {
			return err
		}
		if len(sub) > 1 { // one revision per folder: rev+1, ... follow, as the counter is held
			if _, err := s.revs(ctx, tx, mb, int64(len(sub)-1)); err != nil {
				return err
			}
		}
		for i, fid := range sub {
			for _, q := range append(deleteParts(`contact_id IN (SELECT id FROM contacts WHERE folder_id = ?)`),
				`DELETE FROM contacts WHERE folder_id = ?`,
				`DELETE FROM contact_emails WHERE folder_id = ?`,
				`DELETE FROM card_names WHERE folder_id = ?`,
				`DELETE FROM book_names WHERE folder_id = ?`,
				`DELETE FROM changes WHERE scope = ?`,
				`DELETE FROM floors WHERE scope = ?`,
				`DELETE FROM folders WHERE id = ?`,
			) {
				if _, err := s.exec(ctx, tx, q, fid); err != nil {
					return fmt.Errorf("delete folder: %w", err)
				}
			}
			if err := s.record(ctx, tx, mailboxScope(mb), kindFolder, fid, rev+int64(i), true); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, f.ParentID, kindFolder, id, rev, true)
	})
}

// CountFolders implements contactgraph.Store.
func (s *Store) CountFolders(ctx context.Context, mb contactgraph.Mailbox, parentID string) (int, error) {
	if parentID == "" {
		parentID = mb.RootID
	}
	return s.countIn(ctx, mb, parentID, `SELECT COUNT(*) FROM folders WHERE parent_id = ?`)
}

// countIn checks that folderID is a folder of the mailbox and runs a
// count query over it, in one read transaction.
func (s *Store) countIn(ctx context.Context, mb contactgraph.Mailbox, folderID, query string) (int, error) {
	var n int
	err := s.read(ctx, func(tx *conn) error {
		if _, err := s.folder(ctx, tx, mb, folderID); err != nil {
			return err
		}
		if err := s.queryRow(ctx, tx, query, folderID).Scan(&n); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		return nil
	})
	return n, err
}
