// Package sqlite is the embedded contactgraph store: one SQLite file opened
// with the pure-Go driver modernc.org/sqlite, in WAL mode, with one writer
// connection and a pool of readers. The queries and the change tracking
// live in internal/sqlstore, shared with the postgres store.
//
// Durability: WAL with synchronous=NORMAL survives a crash of the server
// process (kill -9) with every acknowledged write; Options.SyncFull also
// survives a power loss at the price of an fsync per commit.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/internal/sqlstore"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Options configure a store.
type Options struct {
	Now      func() time.Time // the clock; nil for time.Now
	SyncFull bool             // fsync every commit (synchronous=FULL)
	Readers  int              // reader connections; 0 for a default
	// Timeout, when positive, bounds every store operation (see
	// sqlstore.Store.Timeout), waits for the file's lock included: past
	// it the call fails with contactgraph.EUnavailable.
	Timeout time.Duration
	// MustExist refuses a file that does not exist with an error wrapping
	// fs.ErrNotExist, instead of creating it.
	MustExist bool
}

// cacheKiB is each connection's page cache. Memory grows with it times the
// connections (the writer and the readers), not with the data: 8 MiB keeps
// a server with a million contacts well under 200 MB while paging.
const cacheKiB = 8 << 10

// DB is a contactgraph store on one SQLite file.
type DB struct {
	engine
	store *sqlstore.Store
	Path  string
}

// engine is what a DB serves of the shared engine (sqlstore.Served);
// the engine's knobs stay unexported: Options sets what may be set.
type engine = sqlstore.Served

// SetWake makes fn run after each write transaction that recorded
// notifications commits: it wakes the process's senders. Set it before
// serving.
func (db *DB) SetWake(fn func()) { db.store.Wake = fn }

// Pools returns the store's database/sql pools (the writer and the
// readers), for their metrics.
func (db *DB) Pools() map[string]*sql.DB { return db.store.Pools() }

// SQL returns the store's writer connection, for tools and tests that run
// statements of their own on the file.
func (db *DB) SQL() *sql.DB { return db.store.Write }

var _ contactgraph.Store = (*DB)(nil)

// Open opens (creating if needed, unless Options.MustExist) the database
// at path and applies the schema migrations it lacks.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if opts.MustExist {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
	}
	sync := "NORMAL"
	if opts.SyncFull {
		sync = "FULL"
	}
	dsn := func(extra string) string {
		v := url.Values{}
		for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(" + sync + ")", "foreign_keys(OFF)", "cache_size(-" + strconv.Itoa(cacheKiB) + ")"} {
			v.Add("_pragma", p)
		}
		if extra != "" {
			v.Add("_txlock", extra)
		}
		if opts.MustExist {
			v.Add("mode", "rw") // never create the file
		}
		return "file:" + path + "?" + v.Encode()
	}
	write, err := sql.Open("sqlite", dsn("immediate"))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	read, err := sql.Open("sqlite", dsn(""))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	n := opts.Readers
	if n <= 0 {
		n = max(4, 2*runtime.GOMAXPROCS(0))
	}
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxIdleTime(0)
	st := sqlstore.New(write, read, dialect{}, opts.Now)
	st.Timeout = opts.Timeout
	st.GroupCommit() // one writer connection: concurrent writes share commits
	return &DB{engine: st, store: st, Path: path}, nil
}

// migrate applies the migrations of sqlstore.Schema that the file lacks,
// each in its own transaction together with its version number.
func migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var have int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if have > len(sqlstore.Schema) {
		return fmt.Errorf("migrate: the database has schema version %d, newer than this server knows (%d)", have, len(sqlstore.Schema))
	}
	for v := have + 1; v <= len(sqlstore.Schema); v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, sqlstore.Migration(v, sqlstore.SQLite)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to version %d: %w", v, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, v); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to version %d: %w", v, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate to version %d: %w", v, err)
		}
	}
	return nil
}

// dialect is SQLite's sqlstore.Dialect: JSON through the json1 functions
// (json_extract, json_type, json_each), text compared as bytes (the
// default BINARY collation: code point order for UTF-8), lower() that folds
// ASCII letters only (the library has no ICU).
type dialect struct{}

func (dialect) Rebind(q string) string { return q }

// jsonPath is the JSON path of an object member. Keys are property names
// of the schemas (letters and digits).
func jsonPath(key string) string { return `$."` + key + `"` }

func (dialect) JSONText(col, key string) (string, []any) {
	return "json_extract(" + col + ", ?)", []any{jsonPath(key)}
}

func (dialect) JSONBool(col, key string) (string, []any) {
	return "(CASE json_type(" + col + ", ?) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' END)", []any{jsonPath(key)}
}

func (dialect) JSONStrings(col, key, alias string) (string, []any, string) {
	return "json_each(" + col + ", ?) AS " + alias, []any{jsonPath(key)}, alias + ".value"
}

func (dialect) Fold(x string) string    { return "lower(" + x + ")" }
func (dialect) Collate(x string) string { return x }
func (dialect) Instr(hay, needle string) string {
	return "instr(" + hay + ", " + needle + ") > 0"
}

// Unindexed is SQLite's unary +, which keeps a column's indexes out of the
// planner's choice for that term.
func (dialect) Unindexed(col string) string { return "+" + col }

func (dialect) StopsThroughOneRow() bool { return true }

func (dialect) IsUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	c := e.Code()
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// IsUnavailable reports whether err is a SQLite error whose primary result
// code says the file cannot be used now: SQLITE_FULL (disk or quota full),
// SQLITE_READONLY (a read-only file or mount), SQLITE_IOERR, SQLITE_BUSY
// and SQLITE_LOCKED (locked past the busy timeout), SQLITE_CANTOPEN,
// SQLITE_NOMEM, SQLITE_PROTOCOL and SQLITE_INTERRUPT.
func (dialect) IsUnavailable(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code() & 0xff { // the primary code of an extended one
	case sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED,
		sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_INTERRUPT:
		return true
	}
	return false
}
