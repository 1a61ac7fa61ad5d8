package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph/auth"
)

// TestAppPasswordListRevoke: app-password issues, --list shows ids (never
// secrets), --revoke deletes one, which then no longer signs in.
func TestAppPasswordListRevoke(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cg.db")
	issue := func(upn string) string {
		t.Helper()
		out, errs, err := run(t, "app-password", "--db", db, "--user", upn)
		if err != nil {
			t.Fatalf("app-password: %v\n%s", err, errs)
		}
		return strings.TrimSpace(out)
	}
	ada1, ada2, bob := issue("ada@contoso.com"), issue("ada@contoso.com"), issue("bob@contoso.com")
	id := func(pw string) string { i, _, _ := strings.Cut(pw, "."); return i }

	out, errs, err := run(t, "app-password", "--db", db, "--user", "ada@contoso.com", "--list")
	if err != nil {
		t.Fatalf("--list: %v\n%s", err, errs)
	}
	if !strings.Contains(out, id(ada1)+"\tada@contoso.com") || !strings.Contains(out, id(ada2)) || strings.Contains(out, id(bob)) || strings.Contains(out, ada1) {
		t.Fatalf("--list of ada:\n%s", out)
	}
	out, _, err = run(t, "app-password", "--db", db, "--list")
	if err != nil || strings.Count(out, "\n") != 3 {
		t.Fatalf("--list of the tenant (%v):\n%s", err, out)
	}

	if _, errs, err := run(t, "app-password", "--db", db, "--revoke", id(ada1)); err != nil {
		t.Fatalf("--revoke: %v\n%s", err, errs)
	}
	if _, _, err := run(t, "app-password", "--db", db, "--revoke", id(ada1)); err == nil || !strings.Contains(err.Error(), "No app password") {
		t.Fatalf("--revoke again: %v, want no such app password", err)
	}
	if _, _, err := run(t, "app-password", "--db", db, "--list", "--revoke", id(ada2)); err == nil {
		t.Fatal("--list with --revoke must fail")
	}

	ctx := context.Background()
	store, err := openStore(ctx, db, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	a := auth.AppPasswords{Store: store}
	if _, err := a.Verify(ctx, "ada@contoso.com", ada1); err == nil {
		t.Fatal("a revoked app password still signs in")
	}
	if _, err := a.Verify(ctx, "ada@contoso.com", ada2); err != nil {
		t.Fatalf("the other app password: %v", err)
	}
}
