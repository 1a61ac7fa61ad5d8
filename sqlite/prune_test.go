package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/fakedata"
	"github.com/contactgraph/contactgraph/storetest"
)

// TestStorePrunesInSmallBatches runs the prune tests of the conformance
// suite with Prune removing two log rows per transaction, so that they
// cross many batches (the default batch holds all of their rows).
func TestStorePrunesInSmallBatches(t *testing.T) {
	storetest.RunPrune(t, func(t *testing.T, clock *storetest.Clock) contactgraph.Store {
		t.Helper()
		db, err := Open(context.Background(), filepath.Join(t.TempDir(), "cg.db"), Options{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		db.store.PruneBatch = 2
		return db
	})
}

// BenchmarkPruneBesideWrites prunes 200,000 expired tombstones while one
// writer creates contacts, in batches of the default size and in one
// transaction: max-write-ms is the longest create meanwhile (every write
// waits for the transaction holding SQLite's writer), prune-ms how long
// the prune took. The tombstones are inserted directly into the log.
func BenchmarkPruneBesideWrites(b *testing.B) {
	const tombstones = 200_000
	for _, bc := range []struct {
		name  string
		batch int
	}{{"batches", 0}, {"one-transaction", tombstones * 2}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			db, err := Open(ctx, filepath.Join(b.TempDir(), "cg.db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.store.PruneBatch = bc.batch
			tenant := contactgraph.TenantID("contoso")
			mb, err := db.EnsureMailbox(ctx, tenant, contactgraph.UserID(tenant, "bench@contoso.com"), "bench@contoso.com")
			if err != nil {
				b.Fatal(err)
			}
			in := fakedata.New(1).Contact()
			var maxWrite, pruneTime time.Duration
			for b.Loop() {
				b.StopTimer()
				_, err := db.store.Write.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO changes (scope, kind, rev, object_id, removed, at) SELECT 'bench-scope', 1, i, 'gone-' || i, 1, i FROM n`, tombstones)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				stop, done := make(chan struct{}), make(chan time.Duration)
				go func() {
					var longest time.Duration
					for {
						select {
						case <-stop:
							done <- longest
							return
						default:
						}
						t := time.Now()
						if _, err := db.CreateContact(ctx, mb, mb.RootID, in); err != nil {
							b.Error(err)
						}
						longest = max(longest, time.Since(t))
					}
				}()
				t := time.Now()
				n, err := db.Prune(ctx, contactgraph.Retention{Items: time.Now()})
				pruneTime += time.Since(t)
				close(stop)
				maxWrite = max(maxWrite, <-done)
				if err != nil || n != tombstones {
					b.Fatalf("pruned %d (%v), want %d", n, err, tombstones)
				}
			}
			b.ReportMetric(float64(maxWrite.Microseconds())/1000, "max-write-ms")
			b.ReportMetric(float64(pruneTime.Microseconds())/1000/float64(b.N), "prune-ms")
		})
	}
}
