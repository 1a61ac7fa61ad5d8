package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/internal/sqlstore"
	"github.com/jackc/pgx/v5"
)

// revsStatement is the engine's RevsStatement for pgx.
var revsStatement = sqlstore.RebindQuestion(sqlstore.RevsStatement)

// errSubscribed stops a COPY import whose folder has subscribers: their
// notifications are written by the engine's import, row by row.
var errSubscribed = errors.New("the folder has subscriptions")

// ImportContacts implements contactgraph.Store. Contacts without open
// extensions or extended properties, into a folder nobody subscribes to
// (seeding, vCard imports), are loaded with COPY: one transaction that
// takes the revision range on the mailbox's counter row (so it commits in
// revision order, as every write), checks the folder, and copies the rows
// of sqlstore.PlanImport into contacts, contact_emails and changes. Other
// imports go through the engine, row by row.
func (db *DB) ImportContacts(ctx context.Context, mb contactgraph.Mailbox, folderID string, in []contactgraph.ContactInput) (int, error) {
	if len(in) == 0 || !sqlstore.Bulk(in) {
		return db.engine.ImportContacts(ctx, mb, folderID, in)
	}
	err := db.copyContacts(ctx, mb, folderID, in)
	if errors.Is(err, errSubscribed) {
		return db.engine.ImportContacts(ctx, mb, folderID, in)
	}
	if err != nil {
		return 0, db.store.Classify(ctx, err)
	}
	return len(in), nil
}

func (db *DB) copyContacts(ctx context.Context, mb contactgraph.Mailbox, folderID string, in []contactgraph.ContactInput) error {
	if db.store.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, db.store.Timeout)
		defer cancel()
	}
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		n := int64(len(in))
		var last int64
		err := tx.QueryRow(ctx, revsStatement, n, mb.TenantID, mb.UserID).Scan(&last)
		if errors.Is(err, pgx.ErrNoRows) {
			return contactgraph.About(contactgraph.EUserNotFound, mb.UserID)
		}
		if err != nil {
			return fmt.Errorf("allocate revision: %w", err)
		}
		var subscribed, folder bool
		err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM folders WHERE id = $1 AND tenant_id = $2 AND user_id = $3),
			EXISTS (SELECT 1 FROM subscriptions WHERE scope = $1 AND kind = $4)`,
			folderID, mb.TenantID, mb.UserID, sqlstore.KindContact).Scan(&folder, &subscribed)
		switch {
		case err != nil:
			return fmt.Errorf("import: %w", err)
		case !folder:
			return contactgraph.ErrNotFound
		case subscribed:
			return errSubscribed
		}
		plan, err := sqlstore.PlanImport(mb, folderID, in, last-n+1, db.store.Now())
		if err != nil {
			return err
		}
		cols := sqlstore.ImportColumns
		for _, t := range []struct {
			table string
			cols  []string
			rows  [][]any
		}{{"contacts", cols.Contacts, plan.Contacts}, {"contact_emails", cols.Emails, plan.Emails}, {"changes", cols.Changes, plan.Changes}} {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.table}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
				return fmt.Errorf("import: copy %s: %w", t.table, err)
			}
		}
		return nil
	})
}
