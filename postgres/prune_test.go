package postgres

import (
	"context"
	"os"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/internal/pgtest"
	"github.com/contactgraph/contactgraph/storetest"
)

// TestStorePrunesInSmallBatches runs the prune tests of the conformance
// suite with Prune removing two log rows per transaction, so that they
// cross many batches (the default batch holds all of their rows).
func TestStorePrunesInSmallBatches(t *testing.T) {
	dsn := os.Getenv(pgtest.EnvDSN)
	if dsn == "" {
		t.Skip(pgtest.EnvDSN + " is not set: PostgreSQL tests need a DSN such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	storetest.RunPrune(t, func(t *testing.T, clock *storetest.Clock) contactgraph.Store {
		t.Helper()
		db, err := Open(context.Background(), dsn, Options{Schema: pgtest.Schema(t, dsn, "cgprune_"), Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		db.store.PruneBatch = 2
		return db
	})
}
