package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

func TestMintClaims(t *testing.T) {
	t.Parallel()
	l := newLocal(t, LocalOptions{})
	decode := func(tok string) (header, payload map[string]any) {
		parts := strings.Split(tok, ".")
		for i, v := range []*map[string]any{&header, &payload} {
			b, err := base64.RawURLEncoding.DecodeString(parts[i])
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, v); err != nil {
				t.Fatal(err)
			}
		}
		return header, payload
	}
	o := adaOpts
	o.TTL = 90 * time.Minute
	h, c := decode(mint(t, l, o))
	if h["alg"] != "RS256" || h["kid"] != l.KeyID() || h["typ"] != "JWT" {
		t.Errorf("header %v", h)
	}
	want := map[string]any{
		"tid":                contoso,
		"oid":                ada.UserID,
		"sub":                ada.UserID,
		"upn":                "ada@contoso.com",
		"preferred_username": "ada@contoso.com",
		"scp":                "Contacts.Read Contacts.ReadWrite",
		"azp":                ada.AppID,
		"appid":              ada.AppID,
		"iss":                "https://contactgraph.local/" + contoso + "/v2.0",
		"aud":                []any{GraphAudience},
		"iat":                float64(t0.Unix()),
		"cg_iat_us":          float64(t0.UnixMicro()),
		"nbf":                float64(t0.Unix()),
		"exp":                float64(t0.Add(90 * time.Minute).Unix()),
	}
	checkClaims(t, c, want)

	_, c = decode(mint(t, l, syncOpts))
	checkClaims(t, c, map[string]any{
		"tid":       contoso,
		"sub":       syncApp.AppID,
		"azp":       syncApp.AppID,
		"appid":     syncApp.AppID,
		"roles":     []any{"Contacts.ReadWrite", "OrgContact.Read.All"},
		"exp":       float64(t0.Add(DefaultTTL).Unix()),
		"iss":       "https://contactgraph.local/" + contoso + "/v2.0",
		"aud":       []any{GraphAudience},
		"iat":       float64(t0.Unix()),
		"cg_iat_us": float64(t0.UnixMicro()),
		"nbf":       float64(t0.Unix()),
	})
}

func checkClaims(t *testing.T, got, want map[string]any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("claims\n got %s\nwant %s", g, w)
	}
}

func TestMintStableIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := newLocal(t, LocalOptions{})
	b, err := NewLocal(ctx, &memSecrets{}, LocalOptions{Now: at(t0)}) // another key
	if err != nil {
		t.Fatal(err)
	}
	principal := func(l *Local, o MintOptions) contactgraph.Principal {
		p, err := l.Authenticate(ctx, mint(t, l, o))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p1 := principal(a, adaOpts)
	p2 := principal(b, MintOptions{TenantName: "Contoso", UPN: "Ada@Contoso.com", Scopes: []string{"Contacts.Read"}, Now: t0.Add(time.Minute)})
	if p1.TenantID != p2.TenantID || p1.UserID != p2.UserID || p1.AppID != p2.AppID {
		t.Errorf("same names, different ids: %+v, %+v", p1, p2)
	}
	if p1.TenantID != contactgraph.TenantID("contoso") || p1.UserID != contactgraph.UserID(p1.TenantID, "ada@contoso.com") {
		t.Errorf("ids are not the domain's: %+v", p1)
	}
	p3 := principal(a, MintOptions{TenantName: "fabrikam", UPN: "ada@contoso.com", Scopes: []string{"Contacts.Read"}})
	if p3.TenantID == p1.TenantID || p3.UserID == p1.UserID {
		t.Errorf("another tenant, same ids: %+v, %+v", p1, p3)
	}
	s1, s2 := principal(a, syncOpts), principal(b, syncOpts)
	if s1.AppID != s2.AppID || s1.AppID != contactgraph.AppID(contoso, "sync") {
		t.Errorf("app ids %q, %q", s1.AppID, s2.AppID)
	}
	guid := "9188040D-6C67-4C5B-B112-36A304B66DAD"
	if p := principal(a, MintOptions{TenantName: guid, AppName: "sync", Roles: []string{"x"}}); p.TenantID != strings.ToLower(guid) {
		t.Errorf("tenant GUID %s became %s", guid, p.TenantID)
	}
}

func TestMintRefuses(t *testing.T) {
	t.Parallel()
	l := newLocal(t, LocalOptions{})
	tests := []struct {
		name string
		opts MintOptions
	}{
		{"no tenant", MintOptions{UPN: "ada@contoso.com", Scopes: []string{"Contacts.Read"}}},
		{"blank tenant", MintOptions{TenantName: "  ", UPN: "ada@contoso.com", Scopes: []string{"Contacts.Read"}}},
		{"neither user nor app", MintOptions{TenantName: "contoso", Scopes: []string{"Contacts.Read"}}},
		{"delegated without scopes", MintOptions{TenantName: "contoso", UPN: "ada@contoso.com", Roles: []string{"Contacts.Read"}}},
		{"app without roles", MintOptions{TenantName: "contoso", AppName: "sync"}},
		{"app with scopes", MintOptions{TenantName: "contoso", AppName: "sync", Scopes: []string{"Contacts.Read"}, Roles: []string{"Contacts.Read"}}},
		{"scope with a space", MintOptions{TenantName: "contoso", UPN: "ada@contoso.com", Scopes: []string{"Contacts.Read Directory.ReadWrite.All"}}},
		{"empty scope", MintOptions{TenantName: "contoso", UPN: "ada@contoso.com", Scopes: []string{""}}},
		{"empty role", MintOptions{TenantName: "contoso", AppName: "sync", Roles: []string{""}}},
		{"negative lifetime", MintOptions{TenantName: "contoso", AppName: "sync", Roles: []string{"Contacts.Read"}, TTL: -time.Minute}},
	}
	for _, tt := range tests {
		tok, err := l.Mint(tt.opts)
		var e *contactgraph.Error
		if !errors.As(err, &e) || e.Code != contactgraph.EInvalid {
			t.Errorf("%s: Mint = %q, %v; want an EInvalid error", tt.name, tok, err)
		}
	}
}

func TestMintUsesTheLocalClock(t *testing.T) {
	t.Parallel()
	// A token minted without Now is valid on the Local's clock.
	later := t0.Add(30 * 24 * time.Hour)
	l := newLocal(t, LocalOptions{Now: at(later)})
	if _, err := l.Authenticate(context.Background(), mint(t, l, adaOpts)); err != nil {
		t.Fatal(err)
	}
	_, err := newLocal(t, LocalOptions{}).Authenticate(context.Background(), mint(t, l, adaOpts))
	wantRefused(t, err, msgNotYetValid)
}
