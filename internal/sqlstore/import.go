package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/contactgraph/contactgraph"
)

// ImportContacts implements contactgraph.Store: one transaction, one
// revision range, prepared statements, and no supersede step (every
// contact is new).
func (s *Store) ImportContacts(ctx context.Context, mb contactgraph.Mailbox, folderID string, in []contactgraph.ContactInput) (int, error) {
	if len(in) == 0 {
		return 0, nil
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		first, err := s.revs(ctx, tx, mb, int64(len(in)))
		if err != nil {
			return err
		}
		if _, err := s.folder(ctx, tx, mb, folderID); err != nil {
			return err
		}
		ins, err := tx.PrepareContext(ctx, s.q(`INSERT INTO contacts (id, tenant_id, user_id, `+contactCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`))
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer ins.Close()
		log, err := tx.PrepareContext(ctx, s.q(`INSERT INTO changes (scope, kind, rev, object_id, removed, at) VALUES (?, ?, ?, ?, 0, ?)`))
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer log.Close()
		now := s.Now()
		for i, x := range in {
			c := contactgraph.ApplyContact(nil, x, folderID, now)
			c.Rev = first + int64(i)
			if _, err := ins.ExecContext(ctx, c.ID, mb.TenantID, mb.UserID, c.FolderID, c.ChangeKey, c.Created.UnixMilli(), c.Modified.UnixMilli(), c.Rev, flag(c.AutoName), string(c.Doc)); err != nil {
				return fmt.Errorf("import: %w", err)
			}
			if _, err := log.ExecContext(ctx, folderID, kindContact, c.Rev, c.ID, now.UnixMilli()); err != nil {
				return fmt.Errorf("import: %w", err)
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		first, err := s.tenantRevs(ctx, tx, tenantID, int64(len(in)))
		if err != nil {
			return err
		}
		ins, err := tx.PrepareContext(ctx, s.q(`INSERT INTO org_contacts (`+orgCols+`, tenant_id) VALUES (?, ?, ?, ?, ?, NULL, ?)`))
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer ins.Close()
		log, err := tx.PrepareContext(ctx, s.q(`INSERT INTO changes (scope, kind, rev, object_id, removed, at) VALUES (?, ?, ?, ?, 0, ?)`))
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer log.Close()
		now := s.Now()
		for i, x := range in {
			o := contactgraph.ApplyOrgContact(nil, x, first+int64(i), now)
			props, _ := json.Marshal(o.Props)
			revs, _ := json.Marshal(o.PropRevs)
			if _, err := ins.ExecContext(ctx, o.ID, string(props), string(revs), o.Rev, o.Created.UnixMilli(), tenantID); err != nil {
				return fmt.Errorf("import: %w", err)
			}
			if _, err := log.ExecContext(ctx, orgScope(tenantID), kindOrgContact, o.Rev, o.ID, now.UnixMilli()); err != nil {
				return fmt.Errorf("import: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(in), nil
}
