package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/contactgraph/contactgraph"
)

// nameCard names contact id name in folder, in a create's transaction. A
// name whose contact is gone from the folder is taken over; a live one is
// EConflict. The caller holds the mailbox's counter, so on PostgreSQL a
// concurrent create of the same name has committed (and is seen here) or
// waits: of two, one wins and the other meets the primary key.
func (s *Store) nameCard(ctx context.Context, tx *conn, mb contactgraph.Mailbox, folder, name, id string) error {
	if _, err := s.exec(ctx, tx, `DELETE FROM card_names WHERE folder_id = ? AND name = ?
AND NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = card_names.contact_id AND c.folder_id = card_names.folder_id)`, folder, name); err != nil {
		return fmt.Errorf("name card: %w", err)
	}
	_, err := s.exec(ctx, tx, `INSERT INTO card_names (folder_id, name, contact_id, tenant_id, user_id) VALUES (?, ?, ?, ?, ?)`,
		folder, name, id, mb.TenantID, mb.UserID)
	if s.Dialect.IsUniqueViolation(err) {
		return contactgraph.Errorf(contactgraph.EConflict, "A card named '%s' exists in the folder.", name)
	}
	if err != nil {
		return fmt.Errorf("name card: %w", err)
	}
	return nil
}

// pruneCardNames removes the names of contacts that are gone from the
// folder of the name once their tombstone there (the latest, unsuperseded
// row) is pruned too: no answerable round reports them after that.
func (s *Store) pruneCardNames(ctx context.Context, tx *conn) error {
	_, err := s.exec(ctx, tx, `DELETE FROM card_names
WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.id = card_names.contact_id AND c.folder_id = card_names.folder_id)
AND NOT EXISTS (SELECT 1 FROM changes ch WHERE ch.scope = card_names.folder_id AND ch.kind = ? AND ch.object_id = card_names.contact_id AND ch.superseded IS NULL)`, kindContact)
	if err != nil {
		return fmt.Errorf("prune card names: %w", err)
	}
	return nil
}

// CreateNamedContact implements contactgraph.CardStore.
func (s *Store) CreateNamedContact(ctx context.Context, mb contactgraph.Mailbox, folderID, name string, in contactgraph.ContactInput) (*contactgraph.Contact, error) {
	if name == "" {
		return nil, contactgraph.Errorf(contactgraph.EInvalid, "A card name is required.")
	}
	return s.createContact(ctx, mb, folderID, name, in)
}

// NamedContact implements contactgraph.CardStore.
func (s *Store) NamedContact(ctx context.Context, mb contactgraph.Mailbox, folderID, name string) (*contactgraph.Contact, error) {
	var id string
	var r contactRow
	err := s.queryRow(ctx, s.rq(), `SELECT c.id, `+prefixed("c.", contactCols)+` FROM card_names n JOIN contacts c ON c.id = n.contact_id AND c.folder_id = n.folder_id
WHERE n.folder_id = ? AND n.name = ? AND n.tenant_id = ? AND n.user_id = ?`, folderID, name, mb.TenantID, mb.UserID).Scan(append([]any{&id}, r.dest()...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, contactgraph.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read card: %w", err)
	}
	return r.contact(id), nil
}

// cardNamesQuery reads the names of n given contacts. The folder, tenant
// and user conditions are Unindexed: otherwise SQLite reads the names
// through card_names_mailbox, every name of the mailbox for each chunk,
// which made a full sync-collection quadratic in the address book's size.
func cardNamesQuery(d Dialect, n int) string {
	return `SELECT contact_id, name FROM card_names WHERE ` + d.Unindexed("folder_id") + ` = ? AND ` + d.Unindexed("tenant_id") + ` = ? AND ` +
		d.Unindexed("user_id") + ` = ? AND contact_id` + inList(n)
}

// CardNames implements contactgraph.CardStore.
func (s *Store) CardNames(ctx context.Context, mb contactgraph.Mailbox, folderID string, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		rows, err := s.query(ctx, s.rq(), cardNamesQuery(s.Dialect, len(chunk)),
			append([]any{folderID, mb.TenantID, mb.UserID}, anys(chunk)...)...)
		if err != nil {
			return nil, fmt.Errorf("read card names: %w", err)
		}
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read card names: %w", err)
			}
			out[id] = name
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read card names: %w", err)
		}
	}
	return out, nil
}

// ContactsPosition implements contactgraph.CardStore: the latest change of
// the folder's log at or below atOrBelow, raised to the folder's floor and
// the mailbox's base (the lowest positions ContactChanges answers).
func (s *Store) ContactsPosition(ctx context.Context, mb contactgraph.Mailbox, folderID string, atOrBelow int64) (contactgraph.Position, error) {
	var pos contactgraph.Position
	err := s.read(ctx, func(tx *conn) error {
		rev, low, err := s.position(ctx, tx, mb, folderID, kindContact, folderID)
		if err != nil {
			return err
		}
		if atOrBelow <= 0 || atOrBelow > rev {
			atOrBelow = rev
		}
		var last, at int64
		err = s.queryRow(ctx, tx, `SELECT rev, at FROM changes WHERE scope = ? AND kind = ? AND rev <= ? ORDER BY rev DESC LIMIT 1`,
			folderID, kindContact, atOrBelow).Scan(&last, &at)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("read position: %w", err)
		}
		pos.Rev = max(last, low)
		if last == pos.Rev && at != 0 {
			pos.At = time.UnixMilli(at).UTC()
		}
		return nil
	})
	return pos, err
}

// nameBook names folder name among the address books of mb, in a
// create's transaction. EConflict when the name is taken.
func (s *Store) nameBook(ctx context.Context, tx *conn, mb contactgraph.Mailbox, name, folder string) error {
	_, err := s.exec(ctx, tx, `INSERT INTO book_names (tenant_id, user_id, name, folder_id) VALUES (?, ?, ?, ?)`,
		mb.TenantID, mb.UserID, name, folder)
	if s.Dialect.IsUniqueViolation(err) {
		return contactgraph.Errorf(contactgraph.EConflict, "An address book named '%s' exists.", name)
	}
	if err != nil {
		return fmt.Errorf("name address book: %w", err)
	}
	return nil
}

// CreateNamedFolder implements contactgraph.CardStore.
func (s *Store) CreateNamedFolder(ctx context.Context, mb contactgraph.Mailbox, parentID, name string, in contactgraph.FolderInput) (*contactgraph.Folder, error) {
	if name == "" {
		return nil, contactgraph.Errorf(contactgraph.EInvalid, "An address book name is required.")
	}
	return s.createFolder(ctx, mb, parentID, name, in)
}

// NamedFolder implements contactgraph.CardStore.
func (s *Store) NamedFolder(ctx context.Context, mb contactgraph.Mailbox, name string) (string, error) {
	var id string
	err := s.queryRow(ctx, s.rq(), `SELECT folder_id FROM book_names WHERE tenant_id = ? AND user_id = ? AND name = ?`,
		mb.TenantID, mb.UserID, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", contactgraph.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read address book name: %w", err)
	}
	return id, nil
}

// FolderNames implements contactgraph.CardStore.
func (s *Store) FolderNames(ctx context.Context, mb contactgraph.Mailbox) (map[string]string, error) {
	rows, err := s.query(ctx, s.rq(), `SELECT folder_id, name FROM book_names WHERE tenant_id = ? AND user_id = ?`, mb.TenantID, mb.UserID)
	if err != nil {
		return nil, fmt.Errorf("read address book names: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("read address book names: %w", err)
		}
		out[id] = name
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read address book names: %w", err)
	}
	return out, nil
}
