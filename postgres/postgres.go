package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
}

// DB is a contactgraph store on a PostgreSQL database. It is safe for
// concurrent use, also by several processes on the same database.
type DB struct {
	*sqlstore.Store
	pool   *pgxpool.Pool
	schema string // Options.Schema: the payload of this store's wake-ups
	logf   func(format string, args ...any)
}

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
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := migrate(ctx, pool, opts.Schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	s := sqlstore.New(db, db, dialect{}, opts.Now)
	s.ReadIsolation = sql.LevelRepeatableRead
	s.WakeQuery, s.WakeArgs = wakeQuery, []any{opts.Schema}
	return &DB{Store: s, pool: pool, schema: opts.Schema, logf: opts.Logf}, nil
}

// Close closes the store and its connections.
func (db *DB) Close() error {
	err := db.Store.Close()
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

// uniqueViolation is the SQLSTATE of unique_violation.
const uniqueViolation = "23505"

func (dialect) IsUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == uniqueViolation
}
