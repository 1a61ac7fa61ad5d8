package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/postgres"
	"github.com/contactgraph/contactgraph/sqlite"
)

// defaultDBTimeout is serve's --db-timeout.
const defaultDBTimeout = 10 * time.Second

// storeOptions are how a command opens its store.
type storeOptions struct {
	// Timeout bounds each store operation (0: none); see
	// sqlite.Options.Timeout and postgres.Options.Timeout.
	Timeout time.Duration
	// MustExist refuses a database that does not exist yet (a SQLite file
	// that is missing, a PostgreSQL database without the store's tables)
	// with errNoDatabase, instead of creating it.
	MustExist bool
}

// errNoDatabase is the error of a command that needs an existing database
// (token, cert, backup) given one that does not exist.
var errNoDatabase = errors.New("the database does not exist")

// isPostgres reports whether a --db value names a PostgreSQL database: a
// postgres:// or postgresql:// URL. Anything else is a SQLite file.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// openStore opens the store a --db value names, creating it if needed,
// without a timeout.
func openStore(ctx context.Context, db string, logger *slog.Logger) (contactgraph.Store, error) {
	return openStoreWith(ctx, db, logger, storeOptions{})
}

// openStoreWith opens the store a --db value names. A SQLite file whose
// directory does not exist is refused with a plain sentence, before
// anything is created; with opts.MustExist a database that does not exist
// is refused with an error wrapping errNoDatabase.
func openStoreWith(ctx context.Context, db string, logger *slog.Logger, opts storeOptions) (contactgraph.Store, error) {
	if isPostgres(db) {
		s, err := postgres.Open(ctx, db, postgres.Options{Timeout: opts.Timeout, MustExist: opts.MustExist,
			Logf: func(format string, args ...any) { logger.Warn(fmt.Sprintf(format, args...)) }})
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: no contactgraph server has used this PostgreSQL database yet (%v)", errNoDatabase, err)
		}
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	if err := checkDBDir(db); err != nil {
		return nil, err
	}
	s, err := sqlite.Open(ctx, db, sqlite.Options{Timeout: opts.Timeout, MustExist: opts.MustExist})
	if opts.MustExist && errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: there is no file %s", errNoDatabase, db)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// checkDBDir refuses a SQLite path whose directory is missing or is not a
// directory, with a sentence saying so.
func checkDBDir(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("the directory %s of the database %s does not exist; create it first (mkdir -p %s) or give another --db", dir, path, dir)
	case err != nil:
		return fmt.Errorf("the directory of the database %s cannot be used: %w", path, err)
	case !st.IsDir():
		return fmt.Errorf("%s, the directory of the database %s, is not a directory", dir, path)
	}
	return nil
}

// noDatabaseHint turns errNoDatabase into the sentence a command prints:
// what is missing and the two ways on.
func noDatabaseHint(cmd, db string, err error) error {
	if !errors.Is(err, errNoDatabase) {
		return err
	}
	return fmt.Errorf("%s: %w.\nA server creates its database when it first starts (contactgraph serve --db %s); give --create to create it here instead", cmd, err, db)
}
