package delta

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

func (f *fixture) org(t *testing.T, body string) *contactgraph.OrgContact {
	t.Helper()
	in, err := contactgraph.ParseOrgContactInput([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	o, err := f.store.CreateOrgContact(context.Background(), f.mb.TenantID, in)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (f *fixture) orgUpdate(t *testing.T, id, body string) {
	t.Helper()
	in, err := contactgraph.ParseOrgContactInput([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.UpdateOrgContact(context.Background(), f.mb.TenantID, id, in); err != nil {
		t.Fatal(err)
	}
}

// orgRound follows a whole org contact round and returns the items (raw
// JSON objects) and the deltaLink token.
func (f *fixture) orgRound(t *testing.T, req Request) ([]string, string) {
	t.Helper()
	var items []string
	for {
		p, err := f.engine.OrgContacts(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			items = append(items, string(it))
		}
		if p.DeltaTok != "" {
			return items, p.DeltaTok
		}
		req.Token, req.Select, req.Filter, req.TokenIsSkip = p.SkipToken, nil, nil, true
	}
}

func (f *fixture) orgReq() Request {
	return Request{Collection: OrgContacts, Tenant: f.mb.TenantID, Caller: "a:app", PageSize: 200}
}

// The seed's examples: default properties, $select of three, and
// return=minimal where mail is omitted and jobTitle is null.
func TestOrgSeedExamples(t *testing.T) {
	f := newFixture(t)
	f.engine.DirectoryRetention = 7 * 24 * time.Hour
	o := f.org(t, `{"companyName":"Contoso","department":"Sales","displayName":"Dana","givenName":"Dana","jobTitle":"Rep",
		"mail":"dana@contoso.com","mailNickname":"dana","surname":"Lee","proxyAddresses":["SMTP:dana@contoso.com"],
		"phones":[{"number":"+1 555 0100","type":"business"}]}`)
	items, _ := f.orgRound(t, f.orgReq())
	want := `{"id":"` + o.ID + `","companyName":"Contoso","department":"Sales","displayName":"Dana","givenName":"Dana","jobTitle":"Rep","mail":"dana@contoso.com","mailNickname":"dana","surname":"Lee"}`
	if len(items) != 1 || items[0] != want {
		t.Fatalf("default set:\n got %v\nwant %s", items, want)
	}

	sel, err := contactgraph.OrgContactSchema.Select([]string{"displayName", "jobTitle", "mail"})
	if err != nil {
		t.Fatal(err)
	}
	req := f.orgReq()
	req.Select = sel
	_, tok := f.orgRound(t, req)
	f.orgUpdate(t, o.ID, `{"displayName":"Dana Lee","jobTitle":null}`)

	// Default behaviour: every selected property, changed or not.
	req = f.orgReq()
	req.Token = tok
	items, _ = f.orgRound(t, req)
	want = `{"id":"` + o.ID + `","displayName":"Dana Lee","jobTitle":null,"mail":"dana@contoso.com"}`
	if len(items) != 1 || items[0] != want {
		t.Fatalf("$select, default behaviour:\n got %v\nwant %s", items, want)
	}
	// return=minimal: only what changed since the token.
	req.Minimal = true
	items, _ = f.orgRound(t, req)
	want = `{"id":"` + o.ID + `","displayName":"Dana Lee","jobTitle":null}`
	if len(items) != 1 || items[0] != want {
		t.Fatalf("return=minimal:\n got %v\nwant %s", items, want)
	}
}

func TestOrgMinimalManyUpdates(t *testing.T) {
	f := newFixture(t)
	o := f.org(t, `{"displayName":"A","jobTitle":"x","department":"d"}`)
	req := f.orgReq()
	_, tok := f.orgRound(t, req)
	// jobTitle changes and changes back; department is written unchanged.
	f.orgUpdate(t, o.ID, `{"jobTitle":"y"}`)
	f.orgUpdate(t, o.ID, `{"jobTitle":"x","department":"d"}`)
	req.Token, req.Minimal = tok, true
	items, _ := f.orgRound(t, req)
	want := `{"id":"` + o.ID + `","jobTitle":"x"}`
	if len(items) != 1 || items[0] != want {
		t.Fatalf("got %v, want %s", items, want)
	}
}

func TestOrgRemovedReasonsAndRestore(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, b := f.org(t, `{"displayName":"A"}`), f.org(t, `{"displayName":"B"}`)
	req := f.orgReq()
	_, tok := f.orgRound(t, req)
	if err := f.store.DeleteOrgContact(ctx, f.mb.TenantID, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.store.DeleteOrgContact(ctx, f.mb.TenantID, b.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.store.PurgeOrgContact(ctx, f.mb.TenantID, b.ID); err != nil {
		t.Fatal(err)
	}
	req.Token = tok
	items, tok := f.orgRound(t, req)
	want := []string{`{"id":"` + a.ID + `","@removed":{"reason":"changed"}}`, `{"id":"` + b.ID + `","@removed":{"reason":"deleted"}}`}
	if fmt.Sprint(items) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", items, want)
	}
	if _, err := f.store.RestoreOrgContact(ctx, f.mb.TenantID, a.ID); err != nil {
		t.Fatal(err)
	}
	req.Token, req.Minimal = tok, true
	items, _ = f.orgRound(t, req)
	if len(items) != 1 || items[0] != `{"id":"`+a.ID+`","displayName":"A"}` {
		t.Fatalf("a restored contact reappears whole, also with return=minimal: %v", items)
	}
}

func TestOrgLatestFilterAndExpiry(t *testing.T) {
	f := newFixture(t)
	f.engine.DirectoryRetention = 7 * 24 * time.Hour
	a, b := f.org(t, `{"displayName":"A"}`), f.org(t, `{"displayName":"B"}`)
	req := f.orgReq()
	req.Token = LatestToken
	p, err := f.engine.OrgContacts(context.Background(), req)
	if err != nil || len(p.Items) != 0 || p.DeltaTok == "" || p.SkipToken != "" {
		t.Fatalf("latest: %+v %v", p, err)
	}
	f.orgUpdate(t, b.ID, `{"jobTitle":"new"}`)
	req.Token = p.DeltaTok
	items, _ := f.orgRound(t, req)
	if len(items) != 1 || !strings.Contains(items[0], b.ID) {
		t.Fatalf("after latest: %v, want only the change made since", items)
	}
	// An id filter is carried in the token.
	req = f.orgReq()
	req.Filter = []string{a.ID}
	items, tok := f.orgRound(t, req)
	if len(items) != 1 || !strings.Contains(items[0], a.ID) {
		t.Fatalf("filtered: %v", items)
	}
	f.orgUpdate(t, b.ID, `{"jobTitle":"newer"}`)
	f.orgUpdate(t, a.ID, `{"jobTitle":"x"}`)
	req = f.orgReq()
	req.Token = tok
	items, tok = f.orgRound(t, req)
	if len(items) != 1 || !strings.Contains(items[0], a.ID) {
		t.Fatalf("filtered later round: %v", items)
	}
	f.clock.Advance(8 * 24 * time.Hour)
	req.Token = tok
	_, err = f.engine.OrgContacts(context.Background(), req)
	if contactgraph.ErrorCode(err) != contactgraph.ESyncStateExpired || !strings.Contains(contactgraph.ErrorMessage(err), "delta token is expired") {
		t.Fatalf("a token older than 7 days: %v", err)
	}
}

func TestParseIDFilter(t *testing.T) {
	id := func(i int) string { return fmt.Sprintf("477e9fc6-5de7-4406-bb2a-7e5c83c9%04x", i) }
	many := func(n int) string {
		var parts []string
		for i := 0; i < n; i++ {
			parts = append(parts, "id eq '"+id(i)+"'")
		}
		return strings.Join(parts, " or ")
	}
	for _, tc := range []struct {
		in   string
		want int // ids, or -1 for an error
	}{
		{"id eq '" + id(1) + "'", 1},
		{" id eq '477E9FC6-5DE7-4406-BB2A-7E5C83C9FFFF' or id eq '004d6a07-fe70-4b92-add5-e6e37b8affff'", 2},
		{"ID EQ '" + id(1) + "' OR Id Eq '" + id(1) + "'", 1},
		{many(50), 50},
		{many(51), -1},
		{"", -1},
		{"displayName eq 'x'", -1},
		{"id eq 'not-a-guid'", -1},
		{"id eq '" + id(1) + "' and id eq '" + id(2) + "'", -1},
		{"id eq '" + id(1) + "' or", -1},
		{"id eq '" + id(1), -1},
		{"startswith(displayName,'a')", -1},
		{"ideq '" + id(1) + "'", -1},
	} {
		got, err := ParseIDFilter(tc.in)
		if tc.want < 0 {
			if contactgraph.ErrorCode(err) != contactgraph.EUnsupported {
				t.Errorf("%q: err = %v, want unsupported", tc.in, err)
			}
			continue
		}
		if err != nil || len(got) != tc.want {
			t.Errorf("%q: %v %v, want %d ids", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseIDFilter(f *testing.F) {
	f.Add("id eq '477e9fc6-5de7-4406-bb2a-7e5c83c9ffff'")
	f.Add("id eq '477e9fc6-5de7-4406-bb2a-7e5c83c9ffff' or id eq '004d6a07-fe70-4b92-add5-e6e37b8affff'")
	f.Add("id eq ''")
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := ParseIDFilter(s)
		if err != nil {
			return
		}
		if len(ids) == 0 || len(ids) > MaxFilterIDs {
			t.Fatalf("%q gave %d ids", s, len(ids))
		}
		for _, id := range ids {
			if !contactgraph.IsGUID(id) {
				t.Fatalf("%q gave a non-GUID id %q", s, id)
			}
		}
	})
}
