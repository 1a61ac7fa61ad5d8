package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/fakedata"
	"github.com/contactgraph/contactgraph/sqlite"
)

// BenchmarkCreateContact measures one contact create through the store:
// the write path of POST /me/contacts without HTTP.
func BenchmarkCreateContact(b *testing.B) {
	ctx := context.Background()
	db, mb := benchStore(b)
	gen := fakedata.New(1)
	in := make([]contactgraph.ContactInput, b.N)
	for i := range in {
		in[i] = gen.Contact()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.CreateContact(ctx, mb, mb.RootID, in[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdateContact measures one contact update through the store.
func BenchmarkUpdateContact(b *testing.B) {
	ctx := context.Background()
	db, mb := benchStore(b)
	gen := fakedata.New(1)
	var ids []string
	for i := 0; i < 1000; i++ {
		c, err := db.CreateContact(ctx, mb, mb.RootID, gen.Contact())
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	in, _ := contactgraph.ParseContactInput([]byte(`{"jobTitle":"Engineer"}`))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.UpdateContact(ctx, mb, ids[i%len(ids)], in, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateContactParallel: 16 writers creating contacts at once,
// the case group commit is for.
func BenchmarkCreateContactParallel(b *testing.B) {
	ctx := context.Background()
	db, mb := benchStore(b)
	in := fakedata.New(1).Contact()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := db.CreateContact(ctx, mb, mb.RootID, in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// benchStore opens a store in a temporary file with one mailbox.
func benchStore(b *testing.B) (*sqlite.DB, contactgraph.Mailbox) {
	b.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "cg.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	tenant := contactgraph.TenantID("contoso")
	mb, err := db.EnsureMailbox(ctx, tenant, contactgraph.UserID(tenant, "a@contoso.com"), "a@contoso.com")
	if err != nil {
		b.Fatal(err)
	}
	return db, mb
}

// BenchmarkCreateContactSubscriptions measures a create while subscriptions
// exist: none; 10,000 on other mailboxes' folders (the common case, which
// must cost the same as none: matching is one index probe); one on the
// written folder (the write also records its notification).
func BenchmarkCreateContactSubscriptions(b *testing.B) {
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		others, own int
	}{{"none", 0, 0}, {"10000_elsewhere", 10_000, 0}, {"1_on_folder", 0, 1}, {"10000_elsewhere_1_on_folder", 10_000, 1}} {
		b.Run(tc.name, func(b *testing.B) {
			db, mb := benchStore(b)
			sub := func(w contactgraph.Watched) {
				if _, err := db.CreateSubscription(ctx, contactgraph.Subscription{ID: contactgraph.NewGUID(), TenantID: mb.TenantID, AppID: "bench",
					Watched: w, Resource: "me/contacts", Changes: contactgraph.ChangeCreated | contactgraph.ChangeUpdated | contactgraph.ChangeDeleted,
					NotificationURL: "https://receiver.example/hook", Expires: time.Now().Add(time.Hour)}); err != nil {
					b.Fatal(err)
				}
			}
			var mbOther contactgraph.Mailbox
			for i := range tc.others {
				if i%contactgraph.MaxSubscriptionsPerMailbox == 0 {
					other, err := db.EnsureMailbox(ctx, mb.TenantID, contactgraph.UserID(mb.TenantID, fmt.Sprintf("other%d@contoso.com", i)), fmt.Sprintf("other%d@contoso.com", i))
					if err != nil {
						b.Fatal(err)
					}
					mbOther = other
				}
				sub(contactgraph.Watched{Collection: "contacts", Mailbox: mbOther, FolderID: mbOther.RootID})
			}
			for range tc.own {
				sub(contactgraph.Watched{Collection: "contacts", Mailbox: mb, FolderID: mb.RootID})
			}
			gen := fakedata.New(1)
			in := make([]contactgraph.ContactInput, b.N)
			for i := range in {
				in[i] = gen.Contact()
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := db.CreateContact(ctx, mb, mb.RootID, in[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
