package sqlstore

import (
	"context"
	"database/sql"

	"github.com/contactgraph/contactgraph"
)

// Ready implements contactgraph.Store: it reads the schema version through
// the read pool, the one most requests use. An unreachable database, or
// one whose schema is not the version this build migrates to (len(Schema)),
// is EUnavailable, with the cause for logs. It returns when ctx ends.
func (s *Store) Ready(ctx context.Context) error {
	var have int
	if err := s.Read.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return &contactgraph.Error{Code: contactgraph.EUnavailable, Message: "The database does not answer.", Err: err}
	}
	if have != len(Schema) {
		return contactgraph.Errorf(contactgraph.EUnavailable, "The database has schema version %d; this server needs version %d.", have, len(Schema))
	}
	return nil
}

// Pool names of Pools.
const (
	PoolWrite     = "write"     // the writer of a store with a pool for each (SQLite: one connection)
	PoolRead      = "read"      // its readers
	PoolReadWrite = "readwrite" // the one pool of a store that writes and reads through one (PostgreSQL)
)

// Pools returns the store's connection pools by name, for metrics:
// PoolWrite and PoolRead when writes and reads have pools of their own,
// PoolReadWrite alone when they share one.
func (s *Store) Pools() map[string]*sql.DB {
	if s.Read == s.Write {
		return map[string]*sql.DB{PoolReadWrite: s.Write}
	}
	return map[string]*sql.DB{PoolWrite: s.Write, PoolRead: s.Read}
}
