package graphapi

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/auth"
	"github.com/golang-jwt/jwt/v5"
)

// tokenMinter mints real bearer tokens for the end-to-end tests with the
// auth package's local signing key, kept in the test's store.
type tokenMinter struct {
	t     testing.TB
	local *auth.Local
	store contactgraph.Store
}

func newTokenMinter(t testing.TB, store contactgraph.Store) *tokenMinter {
	t.Helper()
	l, err := auth.NewLocal(context.Background(), store, auth.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &tokenMinter{t: t, local: l, store: store}
}

// resign returns tok with its claims and kid unchanged, signed anew with
// method and the server's own signing key (as kept in the store).
func (m *tokenMinter) resign(method jwt.SigningMethod, tok string) string {
	m.t.Helper()
	return m.resignWith(method, tok, nil)
}

// resignWith is resign with the claims changed by edit first (nil for none).
func (m *tokenMinter) resignWith(method jwt.SigningMethod, tok string, edit func(jwt.MapClaims)) string {
	m.t.Helper()
	pemBytes, err := m.store.Secret(context.Background(), auth.SigningKeySecret, func() ([]byte, error) {
		return nil, errors.New("no signing key yet")
	})
	if err != nil {
		m.t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		m.t.Fatal("signing key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		m.t.Fatal(err)
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		m.t.Fatalf("signing key is a %T", k)
	}
	var c jwt.MapClaims
	orig, _, err := jwt.NewParser().ParseUnverified(tok, &c)
	if err != nil {
		m.t.Fatal(err)
	}
	if edit != nil {
		edit(c)
	}
	t := jwt.NewWithClaims(method, c)
	t.Header["kid"] = orig.Header["kid"]
	signed, err := t.SignedString(key)
	if err != nil {
		m.t.Fatal(err)
	}
	return signed
}

func (m *tokenMinter) mint(o auth.MintOptions) string {
	m.t.Helper()
	tok, err := m.local.Mint(o)
	if err != nil {
		m.t.Fatal(err)
	}
	return tok
}

// delegated mints a token for a signed-in user.
func (m *tokenMinter) delegated(tenant, upn string, scopes ...string) string {
	return m.mint(auth.MintOptions{TenantName: tenant, UPN: upn, AppName: "test-app", Scopes: scopes})
}

// app mints an app-only token.
func (m *tokenMinter) app(tenant, app string, roles ...string) string {
	return m.mint(auth.MintOptions{TenantName: tenant, AppName: app, Roles: roles})
}

// expired mints a delegated token that expired an hour ago.
func (m *tokenMinter) expired(tenant, upn string, scopes ...string) string {
	return m.mint(auth.MintOptions{TenantName: tenant, UPN: upn, Scopes: scopes, TTL: time.Hour, Now: time.Now().Add(-2 * time.Hour)})
}

func (m *tokenMinter) authenticator() Authenticator { return m.local }

// refuseAuth refuses every token; for servers whose requests never get that far.
type refuseAuth struct{}

func (refuseAuth) Authenticate(context.Context, string) (contactgraph.Principal, error) {
	return contactgraph.Principal{}, contactgraph.Errorf(contactgraph.EUnauthenticated, "Access token validation failure.")
}
