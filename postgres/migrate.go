package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/contactgraph/contactgraph/internal/sqlstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationLock is the key of the advisory lock that serializes schema
// migrations of every contactgraph process on a database ("cgraph" in
// ASCII). It is held for the migration transaction only.
const migrationLock int64 = 0x636772617068

// migrate applies the migrations of sqlstore.Schema that the database
// lacks, in one transaction that first takes the migration lock: of
// several processes starting at once one applies them, the others wait
// for it and then find nothing to do. Each applied migration is recorded
// in schema_migrations. A database whose schema is newer than this build
// is refused. When schema is set it is created if missing. The migration
// runs without statement_timeout.
func migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// A migration of a large database may take longer than the
		// statement_timeout of the store's sessions (Options.Timeout).
		if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		if schema != "" {
			if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+quoteIdent(schema)); err != nil {
				return fmt.Errorf("migrate: create schema: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if have > len(sqlstore.Schema) {
			return fmt.Errorf("migrate: the database has schema version %d, newer than this server knows (%d)", have, len(sqlstore.Schema))
		}
		for v := have + 1; v <= len(sqlstore.Schema); v++ {
			if _, err := tx.Exec(ctx, pgMigration(sqlstore.Migration(v, sqlstore.Postgres))); err != nil {
				return fmt.Errorf("migrate to version %d: %w", v, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v); err != nil {
				return fmt.Errorf("migrate to version %d: %w", v, err)
			}
		}
		return nil
	})
}

// quoteIdent quotes a schema name for SQL text and search_path.
func quoteIdent(name string) string { return pgx.Identifier{name}.Sanitize() }

// pgMigration turns a portable migration into PostgreSQL's: tables marked
// /*UNLOGGED*/ (state that may be lost, such as the throttle counters)
// become unlogged, so that their writes neither go to the WAL nor wait
// for its flush at commit. SQLite reads the mark as a comment.
func pgMigration(m string) string {
	return strings.ReplaceAll(m, "/*UNLOGGED*/", "UNLOGGED")
}
