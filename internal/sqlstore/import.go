package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/contactgraph/contactgraph"
)

// ImportContacts implements contactgraph.Store: one transaction, one
// revision range, cached statements, and no supersede step (every contact
// is new). The rows are those of PlanImport.
func (s *Store) ImportContacts(ctx context.Context, mb contactgraph.Mailbox, folderID string, in []contactgraph.ContactInput) (int, error) {
	if len(in) == 0 {
		return 0, nil
	}
	err := s.write(ctx, func(tx *conn) error {
		first, err := s.revs(ctx, tx, mb, int64(len(in)))
		if err != nil {
			return err
		}
		if _, err := s.folder(ctx, tx, mb, folderID); err != nil {
			return err
		}
		log, err := s.importLogger(ctx, tx, folderID, kindContact)
		if err != nil {
			return err
		}
		plan, err := PlanImport(mb, folderID, in, first, s.Now())
		if err != nil {
			return err
		}
		for i, row := range plan.Contacts {
			if _, err := s.exec(ctx, tx, `INSERT INTO contacts (id, tenant_id, user_id, `+contactCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, row...); err != nil {
				return fmt.Errorf("import: %w", err)
			}
			if x := in[i]; len(x.Extensions) > 0 || len(x.Extended) > 0 {
				if err := s.writeParts(ctx, tx, mb, row[0].(string), x); err != nil {
					return err
				}
			}
		}
		for _, row := range plan.Emails {
			if _, err := s.exec(ctx, tx, `INSERT INTO contact_emails (folder_id, address, contact_id) VALUES (?, ?, ?)`, row...); err != nil {
				return fmt.Errorf("email index: %w", err)
			}
		}
		for _, row := range plan.Changes {
			if err := log(ctx, tx, folderID, kindContact, row[3].(string), row[2].(int64), row[5].(int64)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(in), nil
}

// KindContact is the kind of a contact's rows in changes and subscriptions.
const KindContact = kindContact

// Import is what an import of new contacts writes: the rows of contacts,
// contact_emails and changes, each in the column order of ImportColumns.
// An engine that loads rows in bulk (PostgreSQL's COPY) writes them as
// they are; the rows of open extensions and extended properties, and
// notifications, are not in it.
type Import struct {
	Contacts, Emails, Changes [][]any
}

// ImportColumns are the columns of Import's rows, by table.
var ImportColumns = struct{ Contacts, Emails, Changes []string }{
	Contacts: []string{"id", "tenant_id", "user_id", "folder_id", "change_key", "created", "modified", "rev", "auto_name", "doc"},
	Emails:   []string{"folder_id", "address", "contact_id"},
	Changes:  []string{"scope", "kind", "rev", "object_id", "removed", "at"},
}

// PlanImport returns the rows of importing in into folderID of mb with the
// revisions first, first+1, …, at now.
func PlanImport(mb contactgraph.Mailbox, folderID string, in []contactgraph.ContactInput, first int64, now time.Time) (Import, error) {
	p := Import{Contacts: make([][]any, len(in)), Changes: make([][]any, len(in))}
	at := now.UnixMilli()
	for i, x := range in {
		c := contactgraph.ApplyContact(nil, x, folderID, now)
		c.Rev = first + int64(i)
		p.Contacts[i] = []any{c.ID, mb.TenantID, mb.UserID, c.FolderID, c.ChangeKey, c.Created.UnixMilli(), c.Modified.UnixMilli(), c.Rev, flag(c.AutoName), string(c.Doc)}
		keys, err := inputEmailKeys(x)
		if err != nil {
			return Import{}, err
		}
		for _, k := range keys {
			p.Emails = append(p.Emails, []any{folderID, k, c.ID})
		}
		p.Changes[i] = []any{folderID, int64(kindContact), c.Rev, c.ID, int64(live), at}
	}
	return p, nil
}

// Bulk reports whether in can be imported from PlanImport's rows alone:
// no contact carries open extensions or extended properties.
func Bulk(in []contactgraph.ContactInput) bool {
	for _, x := range in {
		if len(x.Extensions) > 0 || len(x.Extended) > 0 {
			return false
		}
	}
	return true
}

// ImportOrgContacts implements contactgraph.Store.
func (s *Store) ImportOrgContacts(ctx context.Context, tenantID string, in []contactgraph.OrgContactInput) (int, error) {
	if len(in) == 0 {
		return 0, nil
	}
	err := s.write(ctx, func(tx *conn) error {
		first, err := s.tenantRevs(ctx, tx, tenantID, int64(len(in)))
		if err != nil {
			return err
		}
		log, err := s.importLogger(ctx, tx, orgScope(tenantID), kindOrgContact)
		if err != nil {
			return err
		}
		now := s.Now()
		for i, x := range in {
			o := contactgraph.ApplyOrgContact(nil, x, first+int64(i), now)
			props, _ := json.Marshal(o.Props)
			revs, _ := json.Marshal(o.PropRevs)
			if _, err := s.exec(ctx, tx, `INSERT INTO org_contacts (`+orgCols+`, tenant_id) VALUES (?, ?, ?, ?, ?, NULL, ?)`,
				o.ID, string(props), string(revs), o.Rev, o.Created.UnixMilli(), tenantID); err != nil {
				return fmt.Errorf("import: %w", err)
			}
			if err := log(ctx, tx, orgScope(tenantID), kindOrgContact, o.ID, o.Rev, now.UnixMilli()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(in), nil
}

// logNew logs the creation of an object (no earlier row to supersede) and
// records its notifications.
func (s *Store) logNew(ctx context.Context, tx *conn, scope string, kind int, id string, rev, at int64) error {
	if err := s.logCreated(ctx, tx, scope, kind, id, rev, at); err != nil {
		return err
	}
	return s.enqueue(ctx, tx, scope, kind, id, rev, contactgraph.ChangeCreated)
}

func (s *Store) logCreated(ctx context.Context, tx *conn, scope string, kind int, id string, rev, at int64) error {
	if _, err := s.exec(ctx, tx, `INSERT INTO changes (scope, kind, rev, object_id, removed, at) VALUES (?, ?, ?, ?, 0, ?)`, scope, kind, rev, id, at); err != nil {
		return fmt.Errorf("record change: %w", err)
	}
	return nil
}

// importLogger returns how an import logs its creations: with their
// notifications when a subscription watches the collection, else without
// the per-row outbox statement. The check runs in the import's own
// transaction, so it sees every subscription committed before it.
func (s *Store) importLogger(ctx context.Context, tx *conn, scope string, kind int) (func(ctx context.Context, tx *conn, scope string, kind int, id string, rev, at int64) error, error) {
	var n int
	if err := s.queryRow(ctx, tx, `SELECT COUNT(*) FROM subscriptions WHERE scope = ? AND kind = ?`, scope, kind).Scan(&n); err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	if n > 0 {
		return s.logNew, nil
	}
	return s.logCreated, nil
}
