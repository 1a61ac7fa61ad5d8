//go:build mutation

// This file runs the shared store suite on SQLite from inside this
// package, so that mutation testing of the engine (which has no tests of
// its own: they live in storetest and run from sqlite/ and postgres/) sees
// them. It is built only with -tags mutation; the normal runs of the suite
// are in sqlite/ and postgres/.

package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/sqlite"
	"github.com/contactgraph/contactgraph/storetest"
)

func TestStoreOnSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) contactgraph.Store {
		t.Helper()
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "cg.db"), sqlite.Options{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}
