package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/internal/sqlstore"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// Options configure a store.
type Options struct {
	// Now is the clock; nil for time.Now.
	Now func() time.Time
	// Schema, when set, is the schema the store lives in: it becomes the
	// sessions' search_path and is created on start if missing. Empty
	// keeps the DSN's or the server's search_path. Tests give each store
	// a schema of its own.
	Schema string
	// Logf, when set, receives a line each time Listen loses its
	// connection or fails to make one.
	Logf func(format string, args ...any)
	// Timeout, when positive, bounds every store operation (see
	// sqlstore.Store.Timeout): past it the call fails with
	// contactgraph.EUnavailable. It is also the server's
	// statement_timeout and idle_in_transaction_session_timeout of the
	// store's sessions, unless the DSN sets them, so that a statement or
	// transaction the store gave up on (a network partition) does not
	// hold locks on the server; and the connect timeout, unless the DSN
	// sets connect_timeout.
	Timeout time.Duration
	// MustExist refuses a database without the store's tables (no
	// contactgraph process ever started on it) with an error wrapping
	// fs.ErrNotExist, instead of creating them.
	MustExist bool
	// BeforeCommit, when set, is called inside each write transaction
	// just before it commits, with the caller's context. Test seam only
	// (see sqlstore.Store.BeforeCommit).
	BeforeCommit func(ctx context.Context)
}

// DB is a contactgraph store on a PostgreSQL database. It is safe for
// concurrent use, also by several processes on the same database.
type DB struct {
	engine
	store  *sqlstore.Store
	pool   *pgxpool.Pool
	schema string // Options.Schema: the payload of this store's wake-ups
	logf   func(format string, args ...any)
}

// engine is what a DB serves of the shared engine (sqlstore.Served);
// the engine's knobs stay unexported: Options sets what may be set.
type engine = sqlstore.Served

var _ contactgraph.Store = (*DB)(nil)

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value string, with pgxpool's options such as pool_max_conns) and
// applies the schema migrations it lacks. Every session runs at READ
// COMMITTED by default, which the change feed's correctness relies on
// (see the package documentation), whatever the server's configuration.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	params := cfg.ConnConfig.RuntimeParams
	params["default_transaction_isolation"] = "read committed"
	if opts.Schema != "" {
		params["search_path"] = quoteIdent(opts.Schema)
	}
	if opts.Timeout > 0 {
		ms := strconv.FormatInt(max(opts.Timeout.Milliseconds(), 1), 10)
		for _, p := range []string{"statement_timeout", "idle_in_transaction_session_timeout"} {
			if _, set := params[p]; !set {
				params[p] = ms
			}
		}
		if cfg.ConnConfig.ConnectTimeout == 0 {
			cfg.ConnConfig.ConnectTimeout = opts.Timeout
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if opts.MustExist {
		if err := mustExist(ctx, pool, opts.Schema); err != nil {
			pool.Close()
			return nil, fmt.Errorf("postgres: %w", err)
		}
	}
	if err := migrate(ctx, pool, opts.Schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	s := sqlstore.New(db, db, dialect{}, opts.Now)
	s.DriverPrepares()
	s.Timeout = opts.Timeout
	s.ReadIsolation = sql.LevelRepeatableRead
	s.WakeQuery, s.WakeArgs = wakeQuery, []any{wakeChannel, opts.Schema}
	s.GoneQuery, s.GoneArgs = wakeQuery, []any{goneChannel, opts.Schema}
	s.CreateFunction = true
	s.BeforeCommit = opts.BeforeCommit
	return &DB{engine: s, store: s, pool: pool, schema: opts.Schema, logf: opts.Logf}, nil
}

// SetWake makes fn run after each write transaction that recorded
// notifications commits: it wakes this process's senders (the other
// replicas hear of it through Listen). Set it before serving.
func (db *DB) SetWake(fn func()) { db.store.Wake = fn }

// Pools returns the store's database/sql pool, for its metrics.
func (db *DB) Pools() map[string]*sql.DB { return db.store.Pools() }

// SQL returns the store's database/sql handle, for tools and tests that
// run statements of their own on the store's database and schema.
func (db *DB) SQL() *sql.DB { return db.store.Write }

// Close closes the store and its connections.
func (db *DB) Close() error {
	err := db.store.Close()
	db.pool.Close()
	return err
}

// dialect is PostgreSQL's sqlstore.Dialect. Documents are TEXT columns,
// read as json (parsed per use, no jsonb conversion). Comparisons and
// sorting that depend on order use the "C" collation, so that they give
// SQLite's code point order whatever the database's locale; lower() under
// "C" folds ASCII letters only, as SQLite's does.
type dialect struct{}

func (dialect) Rebind(q string) string { return sqlstore.RebindQuestion(q) }

func (dialect) JSONText(col, key string) (string, []any) {
	return "((" + col + ")::json ->> ?::text)", []any{key}
}

func (dialect) JSONBool(col, key string) (string, []any) {
	return "((" + col + ")::json ->> ?::text)", []any{key}
}

func (dialect) JSONStrings(col, key, alias string) (string, []any, string) {
	j := "((" + col + ")::json -> ?::text)"
	return "json_array_elements_text(CASE WHEN json_typeof(" + j + ") = 'array' THEN " + j + " END) AS " + alias + "(value)",
		[]any{key, key}, alias + ".value"
}

func (dialect) Fold(x string) string    { return `lower((` + x + `) COLLATE "C")` }
func (dialect) Collate(x string) string { return `(` + x + `) COLLATE "C"` }
func (dialect) Instr(hay, needle string) string {
	return "strpos(" + hay + ", " + needle + ") > 0"
}

// Unindexed is col: PostgreSQL's planner costs the indexes by their
// statistics and needs no hint (its plan tests check the lookups).
func (dialect) Unindexed(col string) string { return col }

func (dialect) StopsThroughOneRow() bool { return false }

// uniqueViolation is the SQLSTATE of unique_violation.
const uniqueViolation = "23505"

func (dialect) IsUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == uniqueViolation
}

// IsUnavailable reports whether err says the server cannot serve now: an
// SQLSTATE of a condition that passes (see unavailableState), a failed
// connection attempt, a timeout, a connection found closed before use
// (pgconn's SafeToRetry errors), or a connection that broke (a network
// error, EOF in the middle of a message). An error the server reported is
// judged by its SQLSTATE alone, also when it ended a connection attempt:
// a wrong password (28P01) or a missing database (3D000) is not an outage.
func (dialect) IsUnavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return unavailableState(pe.Code)
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.As(err, &ne) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}

// unavailableState reports whether an SQLSTATE names a condition of the
// server rather than of the statement: class 08 (connection exception),
// class 53 (insufficient resources: disk full, out of memory, too many
// connections), 57P01..57P05 (admin or crash shutdown, cannot connect now,
// database dropped, idle session timeout), 57014 (query_canceled: the
// statement_timeout fired) and 25006 (read_only_sql_transaction: a
// standby, or a primary made read-only).
func unavailableState(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"), strings.HasPrefix(code, "57P"):
		return true
	}
	return code == "57014" || code == "25006"
}

// mustExist checks that the database holds a contactgraph store: its
// schema_migrations table, in schema when one is given. Its absence is an
// error wrapping fs.ErrNotExist.
func mustExist(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	table := "schema_migrations"
	if schema != "" {
		table = quoteIdent(schema) + "." + table
	}
	var found bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&found); err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("no contactgraph store in this database (%s): %w", table, fs.ErrNotExist)
	}
	return nil
}
