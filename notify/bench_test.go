package notify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/fakedata"
	"github.com/contactgraph/contactgraph/sqlite"
)

// BenchmarkDrain measures the sender alone: an outbox of b.N change
// notifications for one subscription, recorded by real writes before the
// timer starts, delivered to a loopback receiver that answers 202 at once,
// in batches of DefaultBatch. It reports deliveries/s and POSTs.
//
//	go test ./notify -run '^$' -bench Drain -benchtime 20000x
func BenchmarkDrain(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "cg.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tenant := contactgraph.TenantID("contoso")
	mb, err := db.EnsureMailbox(ctx, tenant, contactgraph.UserID(tenant, "ada@contoso.com"), "ada@contoso.com")
	if err != nil {
		b.Fatal(err)
	}
	posts := 0
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts++ // one sender worker: POSTs arrive one at a time
		w.WriteHeader(http.StatusAccepted)
	}))
	defer rcv.Close()
	if _, err := db.CreateSubscription(ctx, contactgraph.Subscription{ID: contactgraph.NewGUID(), TenantID: tenant, AppID: "app",
		Watched: contactgraph.Watched{Collection: "contacts", Mailbox: mb, FolderID: mb.RootID}, Resource: "me/contacts",
		Changes: contactgraph.ChangeCreated, NotificationURL: rcv.URL, Expires: time.Now().Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	gen := fakedata.New(1)
	for range b.N {
		if _, err := db.CreateContact(ctx, mb, mb.RootID, gen.Contact()); err != nil {
			b.Fatal(err)
		}
	}
	s := &Sender{Store: db, Owner: "bench"}
	b.ResetTimer()
	delivered := 0
	for delivered < b.N {
		n, err := s.Once(ctx)
		if err != nil || n == 0 {
			b.Fatalf("after %d of %d: claimed %d, %v", delivered, b.N, n, err)
		}
		delivered += n
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
	b.ReportMetric(float64(posts), "POSTs")
	if got := s.Stats.Delivered.Load(); got != int64(b.N) {
		b.Fatalf("delivered %d, want %d", got, b.N)
	}
}
