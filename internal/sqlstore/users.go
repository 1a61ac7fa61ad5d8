package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph"
)

const userCols = `id, upn, display_name, mail, created`

func scanUser(row interface{ Scan(...any) error }) (contactgraph.User, error) {
	var u contactgraph.User
	var created int64
	if err := row.Scan(&u.ID, &u.UPN, &u.DisplayName, &u.Mail, &created); err != nil {
		return u, err
	}
	u.Created = time.UnixMilli(created).UTC()
	return u, nil
}

// CreateUser implements contactgraph.Store.
func (s *Store) CreateUser(ctx context.Context, tenantID string, u contactgraph.User) (contactgraph.User, error) {
	if u.ID == "" {
		u.ID = contactgraph.UserID(tenantID, u.UPN)
	}
	u.Created = time.UnixMilli(s.nowMillis()).UTC()
	err := s.write(ctx, func(tx *conn) error {
		base, err := s.tenantRevs(ctx, tx, tenantID, 1)
		if err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `INSERT INTO users (tenant_id, id, upn, upn_key, display_name, mail, created, rev, base) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			tenantID, u.ID, u.UPN, strings.ToLower(u.UPN), u.DisplayName, u.Mail, u.Created.UnixMilli(), base, base)
		if s.Dialect.IsUniqueViolation(err) {
			return contactgraph.About(contactgraph.EConflict, "userPrincipalName")
		}
		if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		return nil
	})
	return u, err
}

// raiseTenant moves the tenant's counter to at least rev, so that a mailbox
// created later starts above every revision handed out so far.
func (s *Store) raiseTenant(ctx context.Context, tx *conn, tenantID string, rev int64) error {
	if _, err := s.tenantRevs(ctx, tx, tenantID, 1); err != nil {
		return err
	}
	if _, err := s.exec(ctx, tx, `UPDATE tenants SET rev = CASE WHEN rev > ? THEN rev ELSE ? END WHERE id = ?`, rev, rev, tenantID); err != nil {
		return fmt.Errorf("raise tenant revision: %w", err)
	}
	return nil
}

// User implements contactgraph.Store.
func (s *Store) User(ctx context.Context, tenantID, idOrUPN string) (contactgraph.User, error) {
	ctx, end := s.op(ctx)
	u, err := s.user(ctx, tenantID, idOrUPN)
	return u, end(err)
}

func (s *Store) user(ctx context.Context, tenantID, idOrUPN string) (contactgraph.User, error) {
	row := s.queryRow(ctx, s.rq(), `SELECT `+userCols+` FROM users WHERE tenant_id = ? AND (id = ? OR upn_key = ?)`,
		tenantID, strings.ToLower(idOrUPN), strings.ToLower(idOrUPN))
	u, err := scanUser(row)
	if errors.Is(err, sql.ErrNoRows) {
		return u, contactgraph.About(contactgraph.ENotFound, idOrUPN)
	}
	if err != nil {
		return u, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}

// ListUsers implements contactgraph.Store.
func (s *Store) ListUsers(ctx context.Context, tenantID string, p contactgraph.Page) ([]contactgraph.User, error) {
	ctx, end := s.op(ctx)
	list, err := s.listUsers(ctx, tenantID, p)
	return list, end(err)
}

func (s *Store) listUsers(ctx context.Context, tenantID string, p contactgraph.Page) ([]contactgraph.User, error) {
	rows, err := s.query(ctx, s.rq(), `SELECT `+userCols+` FROM users WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?`, tenantID, p.After, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []contactgraph.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// DeleteUser implements contactgraph.Store. The user's mailbox goes with it.
func (s *Store) DeleteUser(ctx context.Context, tenantID, id string) error {
	return s.removing(ctx, func(tx *conn) error {
		var rev int64
		err := s.queryRow(ctx, tx, `SELECT rev FROM users WHERE tenant_id = ? AND id = ?`, tenantID, id).Scan(&rev)
		if errors.Is(err, sql.ErrNoRows) {
			return contactgraph.About(contactgraph.ENotFound, id)
		}
		if err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		if err := s.raiseTenant(ctx, tx, tenantID, rev); err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM users WHERE tenant_id = ? AND id = ?`, tenantID, id); err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		if err := s.endSubscriptions(ctx, tx, tenantID, id); err != nil {
			return err
		}
		if err := s.deleteAppPasswords(ctx, tx, tenantID, id); err != nil {
			return err
		}
		for _, q := range append(deleteParts(`tenant_id = ? AND user_id = ?`),
			`DELETE FROM changes WHERE scope IN (SELECT id FROM folders WHERE tenant_id = ? AND user_id = ?)`,
			`DELETE FROM floors WHERE scope IN (SELECT id FROM folders WHERE tenant_id = ? AND user_id = ?)`,
			`DELETE FROM contact_emails WHERE folder_id IN (SELECT id FROM folders WHERE tenant_id = ? AND user_id = ?)`,
			`DELETE FROM card_names WHERE tenant_id = ? AND user_id = ?`,
			`DELETE FROM book_names WHERE tenant_id = ? AND user_id = ?`,
			`DELETE FROM contacts WHERE tenant_id = ? AND user_id = ?`,
			`DELETE FROM folders WHERE tenant_id = ? AND user_id = ?`,
		) {
			if _, err := s.exec(ctx, tx, q, tenantID, id); err != nil {
				return fmt.Errorf("delete mailbox: %w", err)
			}
		}
		scope := mailboxScope(contactgraph.Mailbox{TenantID: tenantID, UserID: id})
		for _, q := range []string{`DELETE FROM changes WHERE scope = ?`, `DELETE FROM floors WHERE scope = ?`} {
			if _, err := s.exec(ctx, tx, q, scope); err != nil {
				return fmt.Errorf("delete mailbox: %w", err)
			}
		}
		return nil
	})
}

// removing runs fn, a write that removes mailboxes, in a transaction.
// Before the commit GoneQuery tells the other replicas; after it this
// process's mailbox cache forgets, also when the write failed, since a
// failed commit may still have taken effect.
func (s *Store) removing(ctx context.Context, fn func(tx *conn) error) error {
	defer s.mailboxes.forget()
	return s.write(ctx, func(tx *conn) error {
		if err := fn(tx); err != nil {
			return err
		}
		if s.GoneQuery == "" {
			return nil
		}
		if _, err := s.exec(ctx, tx, s.GoneQuery, s.GoneArgs...); err != nil {
			return fmt.Errorf("announce removed mailboxes: %w", err)
		}
		return nil
	})
}

// EnsureMailbox implements contactgraph.Store.
func (s *Store) EnsureMailbox(ctx context.Context, tenantID, userID, upn string) (contactgraph.Mailbox, error) {
	mb := contactgraph.Mailbox{TenantID: tenantID, UserID: userID}
	root, remember, err := s.rootOf(ctx, tenantID, userID)
	if err == nil && root.Valid {
		mb.RootID = root.String
		return mb, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return mb, fmt.Errorf("read mailbox: %w", err)
	}
	err = s.write(ctx, func(tx *conn) error {
		if upn == "" {
			upn = userID
		}
		base, err := s.tenantRevs(ctx, tx, tenantID, 1)
		if err != nil {
			return err
		}
		// No conflict target: on PostgreSQL a concurrent insert of the same
		// user conflicts on the id and on the UPN index; with every unique
		// index as arbiter it is waited for and skipped, never an error.
		_, err = s.exec(ctx, tx, `INSERT INTO users (tenant_id, id, upn, upn_key, display_name, mail, created, rev, base) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			tenantID, userID, upn, strings.ToLower(upn), displayNameOf(upn), upn, s.nowMillis(), base, base)
		if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		mb.RootID, err = s.ensureRoot(ctx, tx, mb)
		if contactgraph.ErrorCode(err) == contactgraph.EUserNotFound {
			// Not inserted, yet no such user: the UPN belongs to another.
			return contactgraph.About(contactgraph.EConflict, "userPrincipalName")
		}
		return err
	})
	if err == nil {
		remember(mb.RootID)
	}
	return mb, err
}

// Mailbox implements contactgraph.Store.
func (s *Store) Mailbox(ctx context.Context, tenantID, userID string) (contactgraph.Mailbox, error) {
	mb := contactgraph.Mailbox{TenantID: tenantID, UserID: userID}
	root, remember, err := s.rootOf(ctx, tenantID, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return mb, contactgraph.About(contactgraph.EUserNotFound, userID)
	}
	if err != nil {
		return mb, fmt.Errorf("read mailbox: %w", err)
	}
	if root.Valid {
		mb.RootID = root.String
		return mb, nil
	}
	err = s.write(ctx, func(tx *conn) error {
		var err error
		mb.RootID, err = s.ensureRoot(ctx, tx, mb)
		return err
	})
	if err == nil {
		remember(mb.RootID)
	}
	return mb, err
}

// rootOf reads the default folder of a user's mailbox, outside a
// transaction: sql.ErrNoRows when there is no such user, a null string when
// the mailbox has no default folder yet.
//
// A mailbox with a default folder is served from the mailbox cache when it
// is on (see mailboxCache), and put into it. After a miss, the caller that
// goes on to create the default folder hands it to remember once
// committed.
func (s *Store) rootOf(ctx context.Context, tenantID, userID string) (root sql.NullString, remember func(string), err error) {
	cached, ok, gen := s.mailboxes.get(tenantID, userID)
	if ok {
		return sql.NullString{String: cached, Valid: true}, nil, nil
	}
	read := time.Now()
	remember = func(id string) { s.mailboxes.put(gen, tenantID, userID, id, read) }
	ctx, end := s.op(ctx)
	err = s.queryRow(ctx, s.rq(), `SELECT root_id FROM users WHERE tenant_id = ? AND id = ?`, tenantID, userID).Scan(&root)
	if err == nil && root.Valid {
		remember(root.String)
	}
	return root, remember, end(err)
}

// ensureRoot creates the mailbox's default folder unless it exists, and
// returns its id. The user row must exist.
func (s *Store) ensureRoot(ctx context.Context, tx *conn, mb contactgraph.Mailbox) (string, error) {
	// Lock the user row first (a portable SELECT ... FOR UPDATE): of two
	// transactions creating the root at once (two replicas), the second
	// waits here, then reads the first one's root instead of adding another.
	if _, err := s.exec(ctx, tx, `UPDATE users SET root_id = root_id WHERE tenant_id = ? AND id = ?`, mb.TenantID, mb.UserID); err != nil {
		return "", fmt.Errorf("read mailbox: %w", err)
	}
	var root sql.NullString
	if err := s.queryRow(ctx, tx, `SELECT root_id FROM users WHERE tenant_id = ? AND id = ?`, mb.TenantID, mb.UserID).Scan(&root); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", contactgraph.About(contactgraph.EUserNotFound, mb.UserID)
		}
		return "", fmt.Errorf("read mailbox: %w", err)
	}
	if root.Valid {
		return root.String, nil
	}
	id := contactgraph.NewID()
	if _, err := s.exec(ctx, tx, `INSERT INTO folders (id, tenant_id, user_id, parent_id, display_name, name_key, rev) VALUES (?, ?, ?, '', ?, ?, 0)`,
		id, mb.TenantID, mb.UserID, contactgraph.RootFolderName, strings.ToLower(contactgraph.RootFolderName)); err != nil {
		return "", fmt.Errorf("create root folder: %w", err)
	}
	if _, err := s.exec(ctx, tx, `UPDATE users SET root_id = ? WHERE tenant_id = ? AND id = ?`, id, mb.TenantID, mb.UserID); err != nil {
		return "", fmt.Errorf("create root folder: %w", err)
	}
	return id, nil
}

func displayNameOf(upn string) string {
	name, _, _ := strings.Cut(upn, "@")
	return name
}
