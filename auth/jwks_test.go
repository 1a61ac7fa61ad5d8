package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/contactgraph/contactgraph"
	"github.com/golang-jwt/jwt/v5"
)

const entraIssuer = "https://login.example.test/" + TenantPlaceholder + "/v2.0"

// keyServer serves a JWK Set on loopback and counts its fetches.
type keyServer struct {
	*httptest.Server
	mu      sync.Mutex
	body    []byte
	status  int
	fetches atomic.Int32
}

func newKeyServer(t *testing.T, body []byte) *keyServer {
	s := &keyServer{body: body, status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.status)
		w.Write(s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *keyServer) set(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = body
}

func (s *keyServer) setStatus(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status = code
}

// lockedBuffer is a bytes.Buffer safe for concurrent use, for logs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// eventually polls cond until it holds, failing after a few seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// issuer is an external identity provider made in the test: a key of its
// own, its JWK Set on loopback, and a Local on the same key to mint its
// tokens.
type issuer struct {
	*Local
	srv *keyServer
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	l, err := NewLocal(context.Background(), &memSecrets{}, LocalOptions{Issuer: entraIssuer, Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	set, err := l.PublicJWKS()
	if err != nil {
		t.Fatal(err)
	}
	return &issuer{Local: l, srv: newKeyServer(t, set)}
}

func (is *issuer) jwks(t *testing.T, edit func(*JWKSOptions)) *JWKS {
	t.Helper()
	opts := JWKSOptions{
		URL:       is.srv.URL,
		Issuer:    entraIssuer,
		Audiences: []string{GraphAudience, GraphApplicationID},
		Client:    is.srv.Client(),
		Now:       at(t0),
	}
	if edit != nil {
		edit(&opts)
	}
	j, err := NewJWKS(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func TestJWKSAuthenticate(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	j := is.jwks(t, nil)
	pubDER, err := x509.MarshalPKIXPublicKey(&is.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	signed := func(edit func(c *claims)) func(t *testing.T) string {
		return func(t *testing.T) string {
			c := mintClaims(t, is.Local, adaOpts)
			edit(c)
			return sign(t, jwt.SigningMethodRS256, is.key, is.kid, c)
		}
	}
	tests := []struct {
		name  string
		token func(t *testing.T) string
		want  contactgraph.Principal
		msg   string
	}{
		{name: "delegated", token: func(t *testing.T) string { return mint(t, is.Local, adaOpts) }, want: ada},
		{name: "app-only", token: func(t *testing.T) string { return mint(t, is.Local, syncOpts) }, want: syncApp},
		{name: "no kid: every key is tried", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, is.key, "", mintClaims(t, is.Local, adaOpts))
		}, want: ada},
		{name: "wrong issuer", token: signed(func(c *claims) { c.Issuer = "https://contactgraph.local/" + c.TenantID + "/v2.0" }), msg: msgIssuer},
		{name: "issuer of another tenant", token: signed(func(c *claims) { c.Issuer = is.Issuer(contactgraph.TenantID("fabrikam")) }), msg: msgIssuer},
		{name: "wrong audience", token: signed(func(c *claims) { c.Audience = jwt.ClaimStrings{"api://other"} }), msg: msgAudience},
		{name: "expired", token: signed(func(c *claims) { c.ExpiresAt = jwt.NewNumericDate(t0.Add(-time.Hour)) }), msg: msgExpired},
		{name: "tid not a GUID", token: signed(func(c *claims) { c.TenantID, c.Issuer = "contoso", is.Issuer("contoso") }), msg: msgTenant},
		{name: "wrong signature under a known kid", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, otherKey(), is.kid, mintClaims(t, is.Local, adaOpts))
		}, msg: msgSignature},
		{name: "HS256 with the public key as secret", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, pubPEM, is.kid, mintClaims(t, is.Local, adaOpts))
		}, msg: msgAlgorithm},
		{name: "alg none", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, is.kid, mintClaims(t, is.Local, adaOpts))
		}, msg: msgAlgorithm},
		{name: "garbled", token: func(*testing.T) string { return "garbage" }, msg: msgNoDots},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := j.Authenticate(context.Background(), tt.token(t))
			if tt.msg != "" {
				wantRefused(t, err, tt.msg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p, issuedAtT0(tt.want)) {
				t.Errorf("principal\n got %+v\nwant %+v", p, tt.want)
			}
		})
	}
}

func TestJWKSUnknownKID(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	j := is.jwks(t, nil)
	before := is.srv.fetches.Load()
	tok := sign(t, jwt.SigningMethodRS256, otherKey(), "rotated-away", mintClaims(t, is.Local, adaOpts))
	_, err := j.Authenticate(context.Background(), tok)
	wantRefused(t, err, msgUnknownKey)
	if !errorsIsUnknownKey(err) {
		t.Errorf("error %v is not marked as an unknown key", err)
	}
	if got := is.srv.fetches.Load() - before; got != 1 {
		t.Errorf("an unknown kid caused %d fetches, want one refresh", got)
	}
	// The refresh is rate-limited: a second unknown kid does not fetch.
	_, err = j.Authenticate(context.Background(), tok)
	wantRefused(t, err, msgUnknownKey)
	if got := is.srv.fetches.Load() - before; got != 1 {
		t.Errorf("a second unknown kid caused %d fetches in all, want 1", got)
	}
}

func TestJWKSKeyRotation(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	j := is.jwks(t, nil)

	// The issuer adds an EC key to its set after j fetched it.
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecJWK, err := jwkset.NewJWKFromKey(ec.Public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: "ec-1", ALG: jwkset.AlgES256, USE: jwkset.UseSig}})
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	old, _ := is.PublicJWKS()
	if err := json.Unmarshal(old, &set); err != nil {
		t.Fatal(err)
	}
	ecJSON, err := json.Marshal(ecJWK.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	set.Keys = append(set.Keys, ecJSON)
	body, _ := json.Marshal(set)
	is.srv.set(body)

	tok := sign(t, jwt.SigningMethodES256, ec, "ec-1", mintClaims(t, is.Local, syncOpts))
	p, err := j.Authenticate(context.Background(), tok)
	if err != nil {
		t.Fatalf("token of a new key refused: %v", err)
	}
	if !reflect.DeepEqual(p, issuedAtT0(syncApp)) {
		t.Errorf("principal %+v, want %+v", p, syncApp)
	}
	// The old key still works.
	if _, err := j.Authenticate(context.Background(), mint(t, is.Local, adaOpts)); err != nil {
		t.Fatal(err)
	}
}

// TestJWKSBackgroundRefresh checks that the key set is fetched again every
// Refresh without any token asking, so that a rotated key is trusted even
// when the refreshes for unknown kids are used up, and that a failed
// refresh is logged to the configured Logger while the last keys stay.
func TestJWKSBackgroundRefresh(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	logs := &lockedBuffer{}
	j := is.jwks(t, func(o *JWKSOptions) {
		o.Refresh = 20 * time.Millisecond
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	// Use up the refresh for unknown kids.
	_, err := j.Authenticate(context.Background(), sign(t, jwt.SigningMethodRS256, otherKey(), "gone", mintClaims(t, is.Local, adaOpts)))
	wantRefused(t, err, msgUnknownKey)

	// The issuer rotates to a new key; only the background refresh can
	// bring it in.
	next, err := NewLocal(context.Background(), &memSecrets{}, LocalOptions{Issuer: entraIssuer, Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	set, err := next.PublicJWKS()
	if err != nil {
		t.Fatal(err)
	}
	is.srv.set(set)
	tok := mint(t, next, adaOpts)
	eventually(t, "the rotated key to be trusted", func() bool {
		_, err := j.Authenticate(context.Background(), tok)
		return err == nil
	})

	is.srv.setStatus(http.StatusInternalServerError)
	eventually(t, "a failed refresh in the logs", func() bool {
		return strings.Contains(logs.String(), "refreshing a JWK set failed")
	})
	if _, err := j.Authenticate(context.Background(), tok); err != nil {
		t.Errorf("after a failed refresh, a token of the last key set: %v", err)
	}
}

func TestJWKSIssuerWithoutPlaceholder(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	fixed := "https://login.example.test/" + contoso + "/v2.0"
	j := is.jwks(t, func(o *JWKSOptions) { o.Issuer = fixed })
	if _, err := j.Authenticate(context.Background(), mint(t, is.Local, adaOpts)); err != nil {
		t.Fatalf("token of the configured tenant refused: %v", err)
	}
	_, err := j.Authenticate(context.Background(), mint(t, is.Local, MintOptions{TenantName: "fabrikam", AppName: "x", Roles: []string{"r"}}))
	wantRefused(t, err, msgIssuer)
}

func TestNewJWKSErrors(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	down := newKeyServer(t, []byte("{}"))
	down.status = http.StatusInternalServerError
	notJSON := newKeyServer(t, []byte("<html>"))
	tests := []struct {
		name string
		edit func(*JWKSOptions)
	}{
		{"no URL", func(o *JWKSOptions) { o.URL = "" }},
		{"no issuer", func(o *JWKSOptions) { o.Issuer = "" }},
		{"no audience", func(o *JWKSOptions) { o.Audiences = nil }},
		{"bad URL", func(o *JWKSOptions) { o.URL = "::not a url" }},
		{"server error", func(o *JWKSOptions) { o.URL = down.URL }},
		{"not JSON", func(o *JWKSOptions) { o.URL = notJSON.URL }},
	}
	for _, tt := range tests {
		opts := JWKSOptions{URL: is.srv.URL, Issuer: entraIssuer, Audiences: []string{GraphAudience}, Client: is.srv.Client()}
		tt.edit(&opts)
		if j, err := NewJWKS(t.Context(), opts); err == nil {
			t.Errorf("%s: NewJWKS = %v, want an error", tt.name, j)
		}
	}
}
