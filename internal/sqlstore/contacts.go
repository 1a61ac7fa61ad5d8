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

const contactCols = `folder_id, change_key, created, modified, rev, auto_name, doc`

// contactRow holds the columns of a contact as scanned; the columns are
// nullable because delta reads join them to the change log.
type contactRow struct {
	folder, changeKey sql.NullString
	created, modified sql.NullInt64
	rev               sql.NullInt64
	autoName          sql.NullInt64
	doc               sql.NullString
}

func (r *contactRow) dest() []any {
	return []any{&r.folder, &r.changeKey, &r.created, &r.modified, &r.rev, &r.autoName, &r.doc}
}

func (r *contactRow) contact(id string) *contactgraph.Contact {
	return &contactgraph.Contact{
		ID:        id,
		FolderID:  r.folder.String,
		ChangeKey: r.changeKey.String,
		Created:   time.UnixMilli(r.created.Int64).UTC(),
		Modified:  time.UnixMilli(r.modified.Int64).UTC(),
		Rev:       r.rev.Int64,
		AutoName:  r.autoName.Int64 == 1,
		Doc:       json.RawMessage(r.doc.String),
	}
}

func (s *Store) contact(ctx context.Context, x *conn, mb contactgraph.Mailbox, id string) (*contactgraph.Contact, error) {
	var r contactRow
	err := s.queryRow(ctx, x, `SELECT `+contactCols+` FROM contacts WHERE id = ? AND tenant_id = ? AND user_id = ?`,
		id, mb.TenantID, mb.UserID).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, contactgraph.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read contact: %w", err)
	}
	return r.contact(id), nil
}

// Contact implements contactgraph.Store.
func (s *Store) Contact(ctx context.Context, mb contactgraph.Mailbox, id string) (*contactgraph.Contact, error) {
	ctx, end := s.op(ctx)
	c, err := s.contact(ctx, s.rq(), mb, id)
	return c, end(err)
}

// ListContacts implements contactgraph.Store.
func (s *Store) ListContacts(ctx context.Context, mb contactgraph.Mailbox, folderID string, p contactgraph.Page) ([]*contactgraph.Contact, error) {
	var out []*contactgraph.Contact
	err := s.read(ctx, func(tx *conn) error {
		if _, err := s.folder(ctx, tx, mb, folderID); err != nil {
			return err
		}
		rows, err := s.query(ctx, tx, `SELECT id, `+contactCols+` FROM contacts WHERE folder_id = ? AND id > ? ORDER BY id LIMIT ?`, folderID, p.After, p.Limit)
		if err != nil {
			return fmt.Errorf("list contacts: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var r contactRow
			if err := rows.Scan(append([]any{&id}, r.dest()...)...); err != nil {
				return fmt.Errorf("list contacts: %w", err)
			}
			out = append(out, r.contact(id))
		}
		return rows.Err()
	})
	return out, err
}

// CountContacts implements contactgraph.Store.
func (s *Store) CountContacts(ctx context.Context, mb contactgraph.Mailbox, folderID string) (int, error) {
	return s.countIn(ctx, mb, folderID, `SELECT COUNT(*) FROM contacts WHERE folder_id = ?`)
}

// CreateContact implements contactgraph.Store.
func (s *Store) CreateContact(ctx context.Context, mb contactgraph.Mailbox, folderID string, in contactgraph.ContactInput) (*contactgraph.Contact, error) {
	return s.createContact(ctx, mb, folderID, "", in)
}

// createContact creates a contact, named name in its folder when name is
// not empty (see CreateNamedContact).
func (s *Store) createContact(ctx context.Context, mb contactgraph.Mailbox, folderID, name string, in contactgraph.ContactInput) (*contactgraph.Contact, error) {
	if raw, ok := in.Props["parentFolderId"]; ok {
		var target string
		if json.Unmarshal(raw, &target) == nil && target != "" && target != folderID {
			return nil, contactgraph.Errorf(contactgraph.EInvalid, "The property 'parentFolderId' must name the folder the contact is created in.")
		}
	}
	if s.CreateFunction && name == "" && plainInput(in) {
		return s.createPlain(ctx, mb, folderID, in)
	}
	var c *contactgraph.Contact
	err := s.write(ctx, func(tx *conn) error {
		rev, err := s.revs(ctx, tx, mb, 1)
		if err != nil {
			return err
		}
		if _, err := s.folder(ctx, tx, mb, folderID); err != nil {
			return err
		}
		c = contactgraph.ApplyContact(nil, in, folderID, s.Now())
		c.Rev = rev
		if name != "" {
			if err := s.nameCard(ctx, tx, mb, folderID, name, c.ID); err != nil {
				return err
			}
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO contacts (id, tenant_id, user_id, `+contactCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, mb.TenantID, mb.UserID, c.FolderID, c.ChangeKey, c.Created.UnixMilli(), c.Modified.UnixMilli(), c.Rev, flag(c.AutoName), string(c.Doc)); err != nil {
			return fmt.Errorf("create contact: %w", err)
		}
		if err := s.writeParts(ctx, tx, mb, c.ID, in); err != nil {
			return err
		}
		keys, err := inputEmailKeys(in)
		if err != nil {
			return err
		}
		if err := s.indexEmails(ctx, tx, folderID, c.ID, keys); err != nil {
			return err
		}
		return s.logNew(ctx, tx, folderID, kindContact, c.ID, rev, s.nowMillis())
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// plainInput reports whether a create of in writes nothing beyond the
// contact, its email index and its change: no photo, open extension or
// extended property.
func plainInput(in contactgraph.ContactInput) bool {
	return in.Photo == nil && !in.RemovePhoto && len(in.Extensions) == 0 && len(in.Extended) == 0
}

// CreateContactCall runs contactgraph_create_contact (migration 11), the
// transaction of createContact as one statement.
const CreateContactCall = `SELECT o_rev, o_queued FROM contactgraph_create_contact(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// createPlain is createContact of a plain contact on a database with
// CreateFunction: one statement, committed on its own, which makes the
// same writes in the same order as the transaction. With BeforeCommit
// set (tests) it runs in an explicit transaction, so that the seam still
// comes between the writes and the commit.
func (s *Store) createPlain(ctx context.Context, mb contactgraph.Mailbox, folderID string, in contactgraph.ContactInput) (*contactgraph.Contact, error) {
	keys, err := inputEmailKeys(in)
	if err != nil {
		return nil, err
	}
	c := contactgraph.ApplyContact(nil, in, folderID, s.Now())
	wake := s.WakeArgs // the channel and payload of the function's pg_notify
	if len(wake) != 2 {
		wake = []any{"", ""}
	}
	args := append([]any{mb.TenantID, mb.UserID, folderID, c.ID, c.ChangeKey, c.Created.UnixMilli(), c.Modified.UnixMilli(),
		flag(c.AutoName), string(c.Doc), keys, kindContact, int(contactgraph.ChangeCreated), s.nowMillis()}, wake...)
	var queued bool
	call := func(x *conn) error {
		if err := s.queryRow(ctx, x, CreateContactCall, args...).Scan(&c.Rev, &queued); err != nil {
			return fmt.Errorf("create contact: %w", err) // as the transaction's INSERT says it
		}
		return nil
	}
	if s.BeforeCommit != nil {
		err = s.write(ctx, call)
	} else {
		octx, end := s.op(ctx)
		err = end(call(&conn{c: s.writeStmts, ctx: octx}))
	}
	switch {
	case err != nil:
		return nil, err
	case c.Rev == 0:
		return nil, contactgraph.About(contactgraph.EUserNotFound, mb.UserID)
	case c.Rev < 0:
		return nil, contactgraph.ErrNotFound
	}
	if queued && s.Wake != nil {
		s.Wake()
	}
	return c, nil
}

// UpdateContact implements contactgraph.Store. A parentFolderId naming
// another folder moves the contact: it leaves a tombstone in the old folder.
func (s *Store) UpdateContact(ctx context.Context, mb contactgraph.Mailbox, id string, in contactgraph.ContactInput, ifMatch string) (*contactgraph.Contact, error) {
	if len(in.Extensions) > 0 {
		return nil, contactgraph.Errorf(contactgraph.EInvalid, "The open extensions of an existing contact are written through its extensions: POST them to …/contacts/{id}/extensions.")
	}
	var c *contactgraph.Contact
	err := s.write(ctx, func(tx *conn) error {
		rev, old, err := s.contactToChange(ctx, tx, mb, id, ifMatch)
		if err != nil {
			return err
		}
		folderID := old.FolderID
		if raw, ok := in.Props["parentFolderId"]; ok {
			var target string
			if json.Unmarshal(raw, &target) != nil || target == "" {
				return contactgraph.Errorf(contactgraph.EInvalid, "The property 'parentFolderId' must be a folder id.")
			}
			if !contactgraph.ValidID(target) {
				return &contactgraph.Error{Code: contactgraph.EMalformedID}
			}
			if _, err := s.folder(ctx, tx, mb, target); err != nil {
				return err
			}
			folderID = target
		}
		c = contactgraph.ApplyContact(old, in, folderID, s.Now())
		c.Rev = rev
		if err := s.saveContact(ctx, tx, c); err != nil {
			return err
		}
		if err := s.writeParts(ctx, tx, mb, id, in); err != nil {
			return err
		}
		if err := s.reindexEmails(ctx, tx, old, c, in); err != nil {
			return err
		}
		if folderID != old.FolderID {
			if err := s.record(ctx, tx, old.FolderID, kindContact, id, rev, true); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, folderID, kindContact, id, rev, false)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// DeleteContact implements contactgraph.Store.
func (s *Store) DeleteContact(ctx context.Context, mb contactgraph.Mailbox, id string, ifMatch string) error {
	return s.write(ctx, func(tx *conn) error {
		rev, old, err := s.contactToChange(ctx, tx, mb, id, ifMatch)
		if err != nil {
			return err
		}
		for _, q := range append(deleteParts(`contact_id = ?`), `DELETE FROM contacts WHERE id = ?`) {
			if _, err := s.exec(ctx, tx, q, id); err != nil {
				return fmt.Errorf("delete contact: %w", err)
			}
		}
		keys, err := emailKeys(old.Doc)
		if err != nil {
			return err
		}
		if err := s.unindexEmails(ctx, tx, old.FolderID, id, keys); err != nil {
			return err
		}
		return s.record(ctx, tx, old.FolderID, kindContact, id, rev, true)
	})
}

// saveContact writes the new state of an existing contact.
func (s *Store) saveContact(ctx context.Context, tx *conn, c *contactgraph.Contact) error {
	if _, err := s.exec(ctx, tx, `UPDATE contacts SET folder_id = ?, change_key = ?, modified = ?, rev = ?, auto_name = ?, doc = ? WHERE id = ?`,
		c.FolderID, c.ChangeKey, c.Modified.UnixMilli(), c.Rev, flag(c.AutoName), string(c.Doc), c.ID); err != nil {
		return fmt.Errorf("update contact: %w", err)
	}
	return nil
}

// touchContact makes a change of one of a contact's parts a change of the
// contact: with rev and old from contactToChange, it gives the contact a
// new changeKey and lastModifiedDateTime, and records it in its folder's
// change log, which also queues the folder's "updated" notifications.
func (s *Store) touchContact(ctx context.Context, tx *conn, rev int64, old *contactgraph.Contact) (*contactgraph.Contact, error) {
	c := contactgraph.ApplyContact(old, contactgraph.ContactInput{}, old.FolderID, s.Now())
	c.Rev = rev
	if err := s.saveContact(ctx, tx, c); err != nil {
		return nil, err
	}
	if err := s.record(ctx, tx, c.FolderID, kindContact, c.ID, rev, false); err != nil {
		return nil, err
	}
	return c, nil
}

// contactToChange starts a change of a contact: it takes the revision
// (first, as every write does), reads the contact and checks If-Match.
func (s *Store) contactToChange(ctx context.Context, tx *conn, mb contactgraph.Mailbox, id, ifMatch string) (int64, *contactgraph.Contact, error) {
	rev, err := s.revs(ctx, tx, mb, 1)
	if err != nil {
		return 0, nil, err
	}
	old, err := s.contact(ctx, tx, mb, id)
	if err != nil {
		return 0, nil, err
	}
	return rev, old, checkMatch(old, ifMatch)
}

// checkMatch compares an If-Match header value with the contact's version.
// "*" matches any existing contact; a list of tags matches if one does.
func checkMatch(c *contactgraph.Contact, ifMatch string) error {
	if ifMatch == "" {
		return nil
	}
	for _, tag := range strings.Split(ifMatch, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || tag == c.ETag() || strings.Trim(strings.TrimPrefix(tag, "W/"), `"`) == c.ChangeKey {
			return nil
		}
	}
	return contactgraph.ErrPreconditionFails
}

func flag(b bool) int {
	if b {
		return 1
	}
	return 0
}
