package postgres_test

import (
	"context"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/fakedata"
	"github.com/contactgraph/contactgraph/postgres"
)

// BenchmarkCreateContact measures one contact create through the store on
// PostgreSQL: the write path of POST /me/contacts without HTTP. The store
// has no BeforeCommit seam, so a create is the one-statement function.
func BenchmarkCreateContact(b *testing.B) {
	ctx := context.Background()
	schema := newSchema(b)
	db, err := postgres.Open(ctx, testDSN(b), postgres.Options{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	mb, err := db.EnsureMailbox(ctx, "contoso", "bench", "bench@contoso.com")
	if err != nil {
		b.Fatal(err)
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
}
