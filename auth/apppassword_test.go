package auth

import (
	"context"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
)

// TestAppPasswordListRevoke: List shows a user's passwords by id (not
// their secrets), Revoke deletes one, which then no longer signs in.
func TestAppPasswordListRevoke(t *testing.T) {
	ctx := context.Background()
	a := AppPasswords{Store: &memSecrets{}}
	pw1, err := a.Issue(ctx, "contoso", "ada@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	pw2, _ := a.Issue(ctx, "contoso", "ada@contoso.com")
	_, _ = a.Issue(ctx, "contoso", "bob@contoso.com")
	_, _ = a.Issue(ctx, "fabrikam", "ada@contoso.com")
	id1, _, _ := strings.Cut(pw1, ".")
	list, err := a.List(ctx, "contoso", "ada@contoso.com")
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %v, %v; want ada's two", list, err)
	}
	for _, p := range list {
		if p.UPN != "ada@contoso.com" || p.Tenant != contactgraph.TenantID("contoso") || !strings.Contains(pw1+pw2, p.ID+".") {
			t.Fatalf("List item %+v", p)
		}
	}
	if all, _ := a.List(ctx, "contoso", ""); len(all) != 3 {
		t.Fatalf("List of the tenant = %v, want 3", all)
	}
	if err := a.Revoke(ctx, id1); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Verify(ctx, "ada@contoso.com", pw1); contactgraph.ErrorCode(err) != contactgraph.EUnauthenticated {
		t.Fatalf("a revoked password: %v, want EUnauthenticated", err)
	}
	if _, err := a.Verify(ctx, "ada@contoso.com", pw2); err != nil {
		t.Fatalf("the other password: %v", err)
	}
	for _, id := range []string{id1, "not-hex", ""} {
		if err := a.Revoke(ctx, id); contactgraph.ErrorCode(err) != contactgraph.ENotFound {
			t.Fatalf("Revoke(%q) = %v, want ENotFound", id, err)
		}
	}
}
