package auth

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

// countingAuth counts the verifications that reach the real authenticator.
type countingAuth struct {
	next  Authenticator
	calls atomic.Int32
}

func (c *countingAuth) Authenticate(ctx context.Context, bearer string) (contactgraph.Principal, error) {
	c.calls.Add(1)
	return c.next.Authenticate(ctx, bearer)
}

func TestCache(t *testing.T) {
	now := t0
	clock := func() time.Time { return now }
	l := newLocal(t, LocalOptions{Now: clock, Leeway: time.Nanosecond})
	inner := &countingAuth{next: l}
	c := NewCache(inner, 2, clock)
	ctx := context.Background()
	tok := mint(t, l, MintOptions{TenantName: "contoso", UPN: "ada@contoso.com", Scopes: []string{"Contacts.Read"}, TTL: time.Hour})

	want, err := l.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		p, err := c.Authenticate(ctx, tok)
		if err != nil || p.UserID != want.UserID || !p.ExpiresAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("cached authenticate: %+v %v", p, err)
		}
	}
	if n := inner.calls.Load(); n != 1 {
		t.Fatalf("%d verifications for one token used three times, want 1", n)
	}
	// A refused token is not kept: every try is verified and refused.
	bad := tok[:len(tok)-4] + "AAAA"
	for i := 0; i < 2; i++ {
		if _, err := c.Authenticate(ctx, bad); contactgraph.ErrorCode(err) != contactgraph.EUnauthenticated {
			t.Fatalf("tampered token: %v", err)
		}
	}
	if n := inner.calls.Load(); n != 3 {
		t.Fatalf("%d verifications, want 3 (refusals are not cached)", n)
	}
	// From its exp on, the token leaves the cache: it is verified again
	// (the authenticator's leeway still applies) and then refused.
	now = t0.Add(time.Hour)
	before := inner.calls.Load()
	c.Authenticate(ctx, tok)
	if inner.calls.Load() != before+1 {
		t.Fatal("a token at its exp must be verified again, not served from the cache")
	}
	now = t0.Add(time.Hour + time.Second)
	if _, err := c.Authenticate(ctx, tok); !errors.Is(err, &contactgraph.Error{Code: contactgraph.EUnauthenticated}) {
		t.Fatalf("an expired token: %v", err)
	}
	// The cache holds as many tokens as its size: two tokens used in turn
	// are each verified once.
	now = t0
	pair := []string{
		mint(t, l, MintOptions{TenantName: "contoso", UPN: "x@contoso.com", Scopes: []string{"Contacts.Read"}, TTL: time.Hour}),
		mint(t, l, MintOptions{TenantName: "contoso", UPN: "y@contoso.com", Scopes: []string{"Contacts.Read"}, TTL: time.Hour}),
	}
	before = inner.calls.Load()
	for i := 0; i < 3; i++ {
		for _, tok := range pair {
			if _, err := c.Authenticate(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := inner.calls.Load() - before; n != 2 {
		t.Fatalf("%d verifications for two tokens used in turn in a cache of 2, want 2", n)
	}
	// The cache is bounded: a full cache starts over.
	for i, upn := range []string{"a@contoso.com", "b@contoso.com", "c@contoso.com"} {
		tok := mint(t, l, MintOptions{TenantName: "contoso", UPN: upn, Scopes: []string{"Contacts.Read"}, TTL: time.Hour})
		if _, err := c.Authenticate(ctx, tok); err != nil {
			t.Fatal(i, err)
		}
		if len(c.entries) > 2 {
			t.Fatalf("%d entries in a cache of 2", len(c.entries))
		}
	}
}

// TestCacheDefaultSize checks that size 0 means DefaultCacheSize, not a
// cache that keeps nothing: tokens used in turn are each verified once.
func TestCacheDefaultSize(t *testing.T) {
	l := newLocal(t, LocalOptions{Now: at(t0)})
	inner := &countingAuth{next: l}
	c := NewCache(inner, 0, at(t0))
	var toks []string
	for _, upn := range []string{"a@contoso.com", "b@contoso.com", "c@contoso.com"} {
		toks = append(toks, mint(t, l, MintOptions{TenantName: "contoso", UPN: upn, Scopes: []string{"Contacts.Read"}}))
	}
	for i := 0; i < 2; i++ {
		for _, tok := range toks {
			if _, err := c.Authenticate(context.Background(), tok); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := inner.calls.Load(); n != int32(len(toks)) {
		t.Fatalf("%d verifications for %d tokens used twice each, want %d", n, len(toks), len(toks))
	}
}
