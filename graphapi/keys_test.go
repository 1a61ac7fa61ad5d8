package graphapi

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/auth"
	"github.com/golang-jwt/jwt/v5"
)

// withJWKS sets Config.JWKS to the key set of the store's local key, as
// serve does.
func withJWKS(t *testing.T) func(*Config) {
	return func(c *Config) {
		l, err := auth.NewLocal(context.Background(), c.Store, auth.LocalOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c.JWKS, err = l.PublicJWKS(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestKeySet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withJWKS(t))
	for _, path := range []string{
		"/common/discovery/v2.0/keys",
		"/" + contactgraph.TenantID("contoso") + "/discovery/v2.0/keys",
		"/contoso.onmicrosoft.com/Discovery/V2.0/KEYS",
		"/common/discovery/v2.0/keys?appid=x",
	} {
		// No token, or a bad one: the key set is public.
		for _, token := range []string{"", "not-a-token"} {
			r := e.do(t, "GET", path, token, nil)
			if r.status != 200 || r.header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Fatalf("GET %s: %d %q: %s", path, r.status, r.header.Get("Content-Type"), r.body)
			}
		}
	}
	r := e.do(t, "GET", "/common/discovery/v2.0/keys", "", nil)
	if r.header.Get("Cache-Control") != keysCacheControl {
		t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
	// The key set verifies what the server signs: access tokens and
	// validation tokens.
	kf, err := keyfunc.NewJWKSetJSON(r.body)
	if err != nil {
		t.Fatalf("key set %s: %v", r.body, err)
	}
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsRead)
	if _, err := jwt.Parse(u.token, kf.Keyfunc, jwt.WithValidMethods([]string{"RS256"})); err != nil {
		t.Errorf("an access token does not verify: %v", err)
	}
	vt, err := e.tokens.local.ValidationToken("app-1", u.tenant, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jwt.Parse(vt, kf.Keyfunc, jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience("app-1")); err != nil {
		t.Errorf("a validation token does not verify: %v", err)
	}

	head := e.do(t, "HEAD", "/common/discovery/v2.0/keys", "", nil)
	if head.status != 200 || len(head.body) != 0 || head.header.Get("Content-Length") != r.header.Get("Content-Length") {
		t.Errorf("HEAD: %d, %d bytes, length %q", head.status, len(head.body), head.header.Get("Content-Length"))
	}
	post := e.do(t, "POST", "/common/discovery/v2.0/keys", "", []byte("{}"))
	fails(t, post, http.StatusMethodNotAllowed, "BadRequest")
	if post.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("Allow %q", post.header.Get("Allow"))
	}
	// Paths that are not a key set's go to the Graph router.
	fails(t, e.do(t, "GET", "/common/discovery/v2.0/keys/1", "", nil), 400, "BadRequest")
	fails(t, e.do(t, "GET", "/common/discovery/keys", "", nil), 400, "BadRequest")
	fails(t, e.do(t, "GET", "/v1.0/discovery/v2.0/keys", "", nil), 401, "InvalidAuthenticationToken")
}

func TestKeySetAbsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fails(t, e.do(t, "GET", "/common/discovery/v2.0/keys", "", nil), 404, "ErrorItemNotFound")
	if _, err := New(Config{Store: e.store, Auth: refuseAuth{}, JWKS: []byte(`[{"keys":[]}]`)}); err == nil {
		t.Error("New accepts a key set that is not a JSON object")
	}
	if _, err := New(Config{Store: e.store, Auth: refuseAuth{}, JWKS: []byte(`{"keys":`)}); err == nil {
		t.Error("New accepts a key set that is not JSON")
	}
}
