package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

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
