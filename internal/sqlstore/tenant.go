package sqlstore

import (
	"context"
	"fmt"
)

// ResetTenant implements contactgraph.Store. The tenant's counter moves
// past every revision of its mailboxes and org contacts, and the org
// contact collection's floor to it: every delta token issued before the
// reset is refused, and mailboxes created later start above it.
func (s *Store) ResetTenant(ctx context.Context, tenantID string) error {
	return s.removing(ctx, func(tx *conn) error {
		var high int64
		if err := s.queryRow(ctx, tx, `SELECT COALESCE(MAX(rev), 0) FROM users WHERE tenant_id = ?`, tenantID).Scan(&high); err != nil {
			return fmt.Errorf("reset tenant: %w", err)
		}
		if err := s.raiseTenant(ctx, tx, tenantID, high); err != nil {
			return err
		}
		floor, err := s.tenantRevs(ctx, tx, tenantID, 1)
		if err != nil {
			return err
		}
		if err := s.deleteAppPasswords(ctx, tx, tenantID, ""); err != nil {
			return err
		}
		for _, q := range append(deleteParts(`tenant_id = ?`),
			`DELETE FROM changes WHERE scope IN (SELECT id FROM folders WHERE tenant_id = ?)`,
			`DELETE FROM floors WHERE scope IN (SELECT id FROM folders WHERE tenant_id = ?)`,
			`DELETE FROM contact_emails WHERE folder_id IN (SELECT id FROM folders WHERE tenant_id = ?)`,
			`DELETE FROM card_names WHERE tenant_id = ?`,
			`DELETE FROM book_names WHERE tenant_id = ?`,
			`DELETE FROM contacts WHERE tenant_id = ?`,
			`DELETE FROM folders WHERE tenant_id = ?`,
			`DELETE FROM org_contacts WHERE tenant_id = ?`,
		) {
			if _, err := s.exec(ctx, tx, q, tenantID); err != nil {
				return fmt.Errorf("reset tenant: %w", err)
			}
		}
		// Mailbox-wide and org scopes start with the tenant id.
		for _, q := range []string{`DELETE FROM changes WHERE scope LIKE ?`, `DELETE FROM floors WHERE scope LIKE ?`} {
			for _, prefix := range []string{tenantID + ":%", "org:" + tenantID} {
				if _, err := s.exec(ctx, tx, q, prefix); err != nil {
					return fmt.Errorf("reset tenant: %w", err)
				}
			}
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM users WHERE tenant_id = ?`, tenantID); err != nil {
			return fmt.Errorf("reset tenant: %w", err)
		}
		if err := s.endSubscriptions(ctx, tx, tenantID, ""); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO floors (scope, kind, rev) VALUES (?, ?, ?)`, orgScope(tenantID), kindOrgContact, floor); err != nil {
			return fmt.Errorf("reset tenant: %w", err)
		}
		return nil
	})
}
