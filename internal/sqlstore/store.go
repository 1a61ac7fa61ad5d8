// Package sqlstore is the storage engine shared by the sqlite and postgres
// stores: every query and the whole change-tracking logic, over database/sql
// and a small Dialect. The public store packages open their database, apply
// Schema and wrap a *Store.
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

// Dialect holds what differs between the engines.
//
// The methods that build SQL for list queries (JSONText to Instr) return
// text with '?' placeholders and the arguments to bind to them, in order;
// their inputs are SQL expressions and names from the property schemas,
// never client text, which always travels as an argument.
type Dialect interface {
	// Rebind turns the engine-neutral '?' placeholders of q into the engine's own.
	Rebind(q string) string
	// IsUniqueViolation reports whether err is a unique or primary key violation.
	IsUniqueViolation(err error) bool

	// JSONText is the text of the string member key of the JSON object in
	// the TEXT expression col: NULL when the member is missing or null.
	JSONText(col, key string) (string, []any)
	// JSONBool is the Boolean member key of the JSON object in col as the
	// text 'true' or 'false': NULL when missing or null.
	JSONBool(col, key string) (string, []any)
	// JSONStrings is a FROM item, named alias, with one row per member of
	// the JSON array of strings key of the object in col (no row when the
	// member is missing or not an array), and the expression of the
	// member's text.
	JSONStrings(col, key, alias string) (from string, args []any, value string)
	// Fold lower-cases the ASCII letters of a text expression and keeps
	// every other character, as contactgraph.FoldCase does.
	Fold(x string) string
	// Collate makes a text expression compare and sort by code point.
	Collate(x string) string
	// Instr is a condition: the text needle occurs in the text hay.
	Instr(hay, needle string) string
	// Unindexed is the column col in a condition that must not pick the
	// index the engine reads a table by (SQLite's unary +, where its
	// planner would otherwise prefer an index on col to a better one);
	// col itself for an engine whose planner needs no hint.
	Unindexed(col string) string
	// StopsThroughOneRow reports whether the engine's planner runs an
	// ORDER BY … LIMIT over a join whose outer side is one row by its
	// key in the inner side's index order and stops at the limit (SQLite);
	// false for one that sorts the whole join first (PostgreSQL). A
	// contact round picks its statement by it (ContactRoundFlat or
	// ContactRoundQuery).
	StopsThroughOneRow() bool
	// IsUnavailable reports whether err, by the driver's error codes and
	// types, says the database cannot serve now but may later: it is
	// unreachable, shutting down, out of space, read-only or locked past
	// the busy timeout. See Store.classify.
	IsUnavailable(err error) bool
}

// Store implements contactgraph.Store on database/sql.
//
// Writes go through Write; reads through Read. For SQLite these are two
// pools on one file (one writer connection, several readers); for
// PostgreSQL they are the same pool.
type Store struct {
	Write   *sql.DB
	Read    *sql.DB
	Dialect Dialect
	Now     func() time.Time

	// ReadIsolation is the isolation level of read transactions; zero is
	// the driver's default. A read transaction reads a collection's head,
	// its floor and its changes in several statements, which must see one
	// snapshot: SQLite read transactions always do; the postgres store sets
	// sql.LevelRepeatableRead, since READ COMMITTED takes a snapshot per
	// statement and a Prune committing between them would give a silent
	// partial diff.
	ReadIsolation sql.IsolationLevel

	// BeforeCommit, when set, is called inside each write transaction just
	// before it commits, with the caller's context. Test seam only: a test
	// blocks in it to hold a write open (revision taken, data written, not
	// committed). Production code leaves it nil.
	BeforeCommit func(ctx context.Context)

	// Wake, when set, is called after a write transaction that recorded
	// notifications commits: it wakes this process's senders.
	Wake func()

	// WakeQuery, when set, is a statement run with WakeArgs inside every
	// write transaction that recorded notifications, as its last statement
	// before commit; if it fails, the write fails. The postgres store sets
	// it to a pg_notify, which PostgreSQL delivers to the listeners of
	// every replica when, and only if, the transaction commits.
	WakeQuery string
	WakeArgs  []any

	// CreateFunction says the database has contactgraph_create_contact
	// (PostgreSQL, migration 11): a plain create (see createPlain) is then
	// one statement, outside an explicit transaction. The function sends
	// the wake-up itself, a pg_notify of WakeArgs: the channel, then the
	// payload.
	CreateFunction bool

	// Timeout, when positive, bounds every store operation (one call of
	// a Store method: its transaction, or its single statement): past it
	// the operation's statements are cancelled, its transaction rolls back
	// and the call fails with contactgraph.EUnavailable. Set it before use.
	Timeout time.Duration

	// PruneBatch is how many log rows each of Prune's transactions removes
	// at most (ties on its bound aside); zero is 10,000. Set it before use.
	PruneBatch int

	// GoneQuery, when set, is a statement run with GoneArgs inside every
	// write transaction that removes mailboxes (DeleteUser, ResetTenant),
	// before commit: the postgres store sets a pg_notify on which the
	// other replicas forget the mailboxes they cached (CacheMailboxes).
	GoneQuery string
	GoneArgs  []any

	writeStmts, readStmts *stmts   // prepared statements of each pool
	batch                 *batcher // group commit, when enabled
	mailboxes             mailboxCache
}

// Served is what the public store packages serve of a Store, by
// embedding it as an interface: the contactgraph.Store methods and the
// SQL of a list query (their plan tests), not the Store's fields and
// knobs, which they set from their own options.
type Served interface {
	contactgraph.Store
	QueryContactsSQL(mb contactgraph.Mailbox, folderID string, q contactgraph.ListQuery) (string, []any, error)
}

var _ Served = (*Store)(nil)

// GroupCommit makes concurrent writes share transactions (see batcher).
// Only for a database with a single writer connection (SQLite); call it
// once, before use.
func (s *Store) GroupCommit() { s.batch = newBatcher(s) }

// DriverPrepares makes the store run its queries unprepared through
// database/sql, for a driver that prepares and caches the statements of
// each connection itself (pgx does). With such a driver the store's own
// cache only adds work when database/sql keeps no idle connections, as
// over a pgxpool: each transaction's connection is new to database/sql,
// which prepares every statement again and deallocates it at the end, two
// round trips more per statement. Call it once, before use.
func (s *Store) DriverPrepares() {
	s.writeStmts.off = true
	s.readStmts.off = true
}

// New returns a Store. now may be nil for time.Now.
func New(write, read *sql.DB, d Dialect, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	s := &Store{Write: write, Read: read, Dialect: d, Now: now}
	s.writeStmts = newStmts(write, d.Rebind)
	s.readStmts = s.writeStmts
	if read != write {
		s.readStmts = newStmts(read, d.Rebind)
	}
	return s
}

var _ contactgraph.Store = (*Store)(nil)

// Close closes both pools.
func (s *Store) Close() error {
	if s.batch != nil {
		s.batch.close()
	}
	s.writeStmts.close()
	s.readStmts.close()
	err := s.Write.Close()
	if s.Read != s.Write {
		err = errors.Join(err, s.Read.Close())
	}
	return err
}

// tx runs fn in a transaction on the pool of c and commits when fn returns
// nil. The transaction and every statement fn runs on it are bounded by
// s.Timeout; the error is classified (see classify).
func (s *Store) tx(ctx context.Context, c *stmts, readOnly bool, fn func(tx *conn) error) error {
	octx, cancel := s.bound(ctx)
	defer cancel()
	return s.classify(ctx, s.runTx(octx, c, readOnly, fn))
}

// runTx is tx without its bound and classification: ctx is the
// transaction's context, and the statements' (conn.ctx).
func (s *Store) runTx(ctx context.Context, c *stmts, readOnly bool, fn func(tx *conn) error) error {
	opts := &sql.TxOptions{ReadOnly: readOnly && c.db != s.Write}
	if readOnly {
		opts.Isolation = s.ReadIsolation
	}
	t, err := c.db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	x := &conn{c: c, tx: t, ctx: ctx}
	if err := fn(x); err != nil {
		_ = t.Rollback()
		return err
	}
	if x.queued && s.WakeQuery != "" {
		if _, err := x.ExecContext(ctx, s.WakeQuery, s.WakeArgs...); err != nil {
			_ = t.Rollback()
			return fmt.Errorf("wake: %w", err)
		}
	}
	if !readOnly && s.BeforeCommit != nil {
		s.BeforeCommit(ctx)
	}
	if err := t.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if x.queued && s.Wake != nil {
		s.Wake()
	}
	return nil
}

func (s *Store) write(ctx context.Context, fn func(tx *conn) error) error {
	if s.batch != nil {
		octx, cancel := s.bound(ctx)
		defer cancel()
		return s.classify(ctx, s.batch.do(octx, fn))
	}
	return s.tx(ctx, s.writeStmts, false, fn)
}

func (s *Store) read(ctx context.Context, fn func(tx *conn) error) error {
	return s.tx(ctx, s.readStmts, true, fn)
}

// rq and wq run single statements on the read and the write pool.
func (s *Store) rq() *conn { return &conn{c: s.readStmts} }
func (s *Store) wq() *conn { return &conn{c: s.writeStmts} }

func (s *Store) exec(ctx context.Context, x *conn, query string, args ...any) (sql.Result, error) {
	return x.ExecContext(ctx, query, args...)
}

func (s *Store) queryRow(ctx context.Context, x *conn, query string, args ...any) *sql.Row {
	return x.QueryRowContext(ctx, query, args...)
}

func (s *Store) query(ctx context.Context, x *conn, query string, args ...any) (*sql.Rows, error) {
	return x.QueryContext(ctx, query, args...)
}

func (s *Store) nowMillis() int64 { return s.Now().UnixMilli() }

// Secret implements contactgraph.Store.
func (s *Store) Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	ctx, end := s.op(ctx)
	v, err := s.secret(ctx, name, gen)
	return v, end(err)
}

func (s *Store) secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	var v string
	err := s.queryRow(ctx, s.rq(), `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v)
	if err == nil {
		return []byte(v), nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	fresh, err := gen()
	if err != nil {
		return nil, fmt.Errorf("generate secret: %w", err)
	}
	// Insert unless another process won the race, then read the winner.
	if _, err := s.exec(ctx, s.wq(), `INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, string(fresh)); err != nil {
		return nil, fmt.Errorf("store secret: %w", err)
	}
	if err := s.queryRow(ctx, s.wq(), `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	return []byte(v), nil
}

// Secrets implements contactgraph.Store.
func (s *Store) Secrets(ctx context.Context, prefix string) (map[string][]byte, error) {
	ctx, end := s.op(ctx)
	v, err := s.secrets(ctx, s.rq(), prefix)
	return v, end(err)
}

// secrets reads the secrets whose names begin with prefix (substr, not
// LIKE: the prefix needs no escaping).
func (s *Store) secrets(ctx context.Context, q *conn, prefix string) (map[string][]byte, error) {
	rows, err := s.query(ctx, q, `SELECT name, value FROM secrets WHERE substr(name, 1, ?) = ?`, len(prefix), prefix)
	if err != nil {
		return nil, fmt.Errorf("read secrets: %w", err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var name, v string
		if err := rows.Scan(&name, &v); err != nil {
			return nil, fmt.Errorf("read secrets: %w", err)
		}
		out[name] = []byte(v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read secrets: %w", err)
	}
	return out, nil
}

// DeleteSecret implements contactgraph.Store.
func (s *Store) DeleteSecret(ctx context.Context, name string) error {
	ctx, end := s.op(ctx)
	res, err := s.exec(ctx, s.wq(), `DELETE FROM secrets WHERE name = ?`, name)
	if err != nil {
		return end(fmt.Errorf("delete secret: %w", err))
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return end(contactgraph.ErrNotFound)
	}
	return end(nil)
}

// deleteAppPasswords deletes, in a delete's transaction, the app passwords
// (contactgraph.AppPasswordPrefix) of a tenant's user, or of every user of
// the tenant when userID is empty.
func (s *Store) deleteAppPasswords(ctx context.Context, tx *conn, tenantID, userID string) error {
	all, err := s.secrets(ctx, tx, contactgraph.AppPasswordPrefix)
	if err != nil {
		return err
	}
	for name, v := range all {
		var rec struct {
			Tenant string `json:"tid"`
			User   string `json:"oid"`
		}
		if json.Unmarshal(v, &rec) != nil || rec.Tenant != tenantID || (userID != "" && rec.User != userID) {
			continue
		}
		if _, err := s.exec(ctx, tx, `DELETE FROM secrets WHERE name = ?`, name); err != nil {
			return fmt.Errorf("delete app passwords: %w", err)
		}
	}
	return nil
}

// RebindQuestion rewrites '?' placeholders to $1, $2, ... for PostgreSQL.
// Queries in this package never hold a '?' inside a string literal.
func RebindQuestion(q string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}
