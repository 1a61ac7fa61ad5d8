package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"testing"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

func TestSigningKeyIsKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := &memSecrets{}
	a, err := NewLocal(ctx, store, LocalOptions{Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewLocal(ctx, store, LocalOptions{Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	if store.gens != 1 {
		t.Errorf("key generated %d times, want once", store.gens)
	}
	if a.KeyID() != b.KeyID() || a.KeyID() == "" {
		t.Errorf("kids %q and %q on one store", a.KeyID(), b.KeyID())
	}
	if _, err := b.Authenticate(ctx, mint(t, a, adaOpts)); err != nil {
		t.Errorf("a second Local on the same store refuses the first's token: %v", err)
	}

	c, err := NewLocal(ctx, &memSecrets{}, LocalOptions{Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyID() == a.KeyID() {
		t.Error("two stores got the same key")
	}
	_, err = c.Authenticate(ctx, mint(t, a, adaOpts))
	wantRefused(t, err, msgUnknownKey)

	block, _ := pem.Decode(store.m[SigningKeySecret])
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("stored secret is not a PEM private key: %q", store.m[SigningKeySecret])
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if rk, ok := k.(*rsa.PrivateKey); !ok || rk.N.BitLen() != 2048 {
		t.Fatalf("stored key is %T, want RSA 2048", k)
	}
}

func TestNewLocalErrors(t *testing.T) {
	t.Parallel()
	pkcs8 := func(key any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	stored := func(b []byte) SecretStore { return &memSecrets{m: map[string][]byte{SigningKeySecret: b}} }
	tests := []struct {
		name    string
		secrets SecretStore
		opts    LocalOptions
	}{
		{"store fails", failingSecrets{}, LocalOptions{}},
		{"not PEM", stored([]byte("secret")), LocalOptions{}},
		{"PKCS #1 block", stored(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(small)})), LocalOptions{}},
		{"garbled PKCS #8", stored(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("nope")})), LocalOptions{}},
		{"EC key", stored(pkcs8(ec)), LocalOptions{}},
		{"RSA 1024", stored(pkcs8(small)), LocalOptions{}},
		{"issuer without tenant", fixedSecrets(t), LocalOptions{Issuer: "https://contactgraph.local/v2.0"}},
	}
	for _, tt := range tests {
		if l, err := NewLocal(context.Background(), tt.secrets, tt.opts); err == nil {
			t.Errorf("%s: NewLocal = %v, want an error", tt.name, l)
		}
	}
}

func TestPublicJWKS(t *testing.T) {
	t.Parallel()
	l := newLocal(t, LocalOptions{})
	b, err := l.PublicJWKS()
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 {
		t.Fatalf("%d keys, want 1: %s", len(set.Keys), b)
	}
	k := set.Keys[0]
	if k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" || k["kid"] != l.KeyID() || k["d"] != "" {
		t.Errorf("key %v", k)
	}
	n, err := base64.RawURLEncoding.DecodeString(k["n"])
	if err != nil || new(big.Int).SetBytes(n).Cmp(l.key.N) != 0 {
		t.Errorf("n does not match the key: %v", err)
	}
	if k["e"] != "AQAB" {
		t.Errorf("e = %q", k["e"])
	}
	if len(l.KeyID()) != 43 {
		t.Errorf("kid %q is not a SHA-256 thumbprint", l.KeyID())
	}

	// Another JOSE library verifies our tokens with it.
	kf, err := keyfunc.NewJWKSetJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Parse(mint(t, l, adaOpts), kf.Keyfunc, jwt.WithTimeFunc(at(t0)), jwt.WithValidMethods([]string{"RS256"}))
	if err != nil || !tok.Valid {
		t.Fatalf("token does not verify with the published key set: %v", err)
	}
}
