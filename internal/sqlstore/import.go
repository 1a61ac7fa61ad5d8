package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/contactgraph/contactgraph"
)

// ImportContacts implements contactgraph.Store: one transaction, one
// revision range, cached statements, and no supersede step (every contact
// is new).
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
		now := s.Now()
		for i, x := range in {
			c := contactgraph.ApplyContact(nil, x, folderID, now)
			c.Rev = first + int64(i)
			if _, err := s.exec(ctx, tx, `INSERT INTO contacts (id, tenant_id, user_id, `+contactCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				c.ID, mb.TenantID, mb.UserID, c.FolderID, c.ChangeKey, c.Created.UnixMilli(), c.Modified.UnixMilli(), c.Rev, flag(c.AutoName), string(c.Doc)); err != nil {
				return fmt.Errorf("import: %w", err)
			}
			if len(x.Extensions) > 0 || len(x.Extended) > 0 {
				if err := s.writeParts(ctx, tx, mb, c.ID, x); err != nil {
					return err
				}
			}
			keys, err := inputEmailKeys(x)
			if err != nil {
				return err
			}
			if err := s.indexEmails(ctx, tx, folderID, c.ID, keys); err != nil {
				return err
			}
			if err := log(ctx, tx, folderID, kindContact, c.ID, c.Rev, now.UnixMilli()); err != nil {
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
