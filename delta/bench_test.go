package delta

import (
	"bytes"
	"context"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/fakedata"
)

// BenchmarkFirstRound: a whole first round over a folder of 20,000
// contacts in pages of 200, encoded as the server does, without HTTP: the
// floor of the first-round figure. Reported per contact.
func BenchmarkFirstRound(b *testing.B) {
	t := &testing.T{}
	f := newFixture(t)
	gen := fakedata.New(1)
	const n = 20000
	for done := 0; done < n; done += 5000 {
		in := make([]contactgraph.ContactInput, 5000)
		for i := range in {
			in[i] = gen.Contact()
		}
		if _, err := f.store.ImportContacts(context.Background(), f.mb, f.mb.RootID, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var buf bytes.Buffer
	for i := 0; i < b.N; i++ {
		req := Request{Collection: Contacts, Mailbox: f.mb, Scope: f.mb.RootID, Caller: f.caller, PageSize: 200}
		got := 0
		for {
			p, err := f.engine.Contacts(context.Background(), req)
			if err != nil {
				b.Fatal(err)
			}
			buf.Reset()
			p.AppendJSON(&buf, "ctx", "link")
			got += len(p.Items)
			if p.DeltaTok != "" {
				break
			}
			req.Token, req.TokenIsSkip = p.SkipToken, true
		}
		if got != n {
			b.Fatalf("round of %d contacts, want %d", got, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/contact")
}
