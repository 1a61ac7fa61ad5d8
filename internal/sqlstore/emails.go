package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/contactgraph/contactgraph"
)

// The email index. contact_emails holds one row per distinct address of a
// contact's emailAddresses, case-folded (contactgraph.FoldCase), with the
// contact's folder: primary key (folder_id, address, contact_id), so that
// emailAddresses/any(a:a/address eq 'x') in a folder is one index probe
// (see the emailAddresses side table of contactsTable). Rows are written in
// the transaction of every write of a contact (create, import, update,
// move, delete) and removed with its folder or mailbox, so the index never
// disagrees with a committed contact. Deleting a contact's rows uses the
// addresses of its old document and so the same primary key: the table
// needs no second index.

type emailAddress struct {
	Address string `json:"address"`
}

// emailKeys returns the distinct folded addresses of a contact document,
// sorted; empty addresses are skipped.
func emailKeys(doc json.RawMessage) ([]string, error) {
	var d struct {
		EmailAddresses []emailAddress `json:"emailAddresses"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("email index: %w", err)
	}
	return foldedKeys(d.EmailAddresses), nil
}

// inputEmailKeys returns the keys of the emailAddresses of a create's
// input (a canonical list, or absent: none).
func inputEmailKeys(in contactgraph.ContactInput) ([]string, error) {
	raw, ok := in.Props["emailAddresses"]
	if !ok {
		return nil, nil
	}
	var list []emailAddress
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("email index: %w", err)
	}
	return foldedKeys(list), nil
}

func foldedKeys(list []emailAddress) []string {
	var keys []string
	for _, e := range list {
		if e.Address != "" {
			keys = append(keys, contactgraph.FoldCase(e.Address))
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// indexEmails adds the rows of addresses keys of contact id in folder.
func (s *Store) indexEmails(ctx context.Context, tx *conn, folder, id string, keys []string) error {
	for _, k := range keys {
		if _, err := s.exec(ctx, tx, `INSERT INTO contact_emails (folder_id, address, contact_id) VALUES (?, ?, ?)`, folder, k, id); err != nil {
			return fmt.Errorf("email index: %w", err)
		}
	}
	return nil
}

// unindexEmails removes the rows of addresses keys of contact id in folder.
func (s *Store) unindexEmails(ctx context.Context, tx *conn, folder, id string, keys []string) error {
	for _, k := range keys {
		if _, err := s.exec(ctx, tx, `DELETE FROM contact_emails WHERE folder_id = ? AND address = ? AND contact_id = ?`, folder, k, id); err != nil {
			return fmt.Errorf("email index: %w", err)
		}
	}
	return nil
}

// reindexEmails brings the rows of a contact from its old state to its new
// one after an update with input in; nothing is read or written when the
// update touched neither its addresses nor its folder.
func (s *Store) reindexEmails(ctx context.Context, tx *conn, old, c *contactgraph.Contact, in contactgraph.ContactInput) error {
	if _, ok := in.Props["emailAddresses"]; !ok && old.FolderID == c.FolderID {
		return nil
	}
	before, err := emailKeys(old.Doc)
	if err != nil {
		return err
	}
	after, err := emailKeys(c.Doc)
	if err != nil {
		return err
	}
	if old.FolderID != c.FolderID {
		if err := s.unindexEmails(ctx, tx, old.FolderID, old.ID, before); err != nil {
			return err
		}
		return s.indexEmails(ctx, tx, c.FolderID, c.ID, after)
	}
	var gone, added []string
	for _, k := range before {
		if _, found := slices.BinarySearch(after, k); !found {
			gone = append(gone, k)
		}
	}
	for _, k := range after {
		if _, found := slices.BinarySearch(before, k); !found {
			added = append(added, k)
		}
	}
	if err := s.unindexEmails(ctx, tx, c.FolderID, c.ID, gone); err != nil {
		return err
	}
	return s.indexEmails(ctx, tx, c.FolderID, c.ID, added)
}
