package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/auth"
	"github.com/contactgraph/contactgraph/client"
	"github.com/contactgraph/contactgraph/graphapi"
	"github.com/contactgraph/contactgraph/sqlite"
	"github.com/golang-jwt/jwt/v5"
)

// keyServer is a contactgraph server on loopback that publishes its key
// set, with the Local that signs its tokens.
type keyServer struct {
	srv   *httptest.Server
	local *auth.Local
}

func (k *keyServer) keysURL() string { return k.srv.URL + "/common/discovery/v2.0/keys" }

func newKeyServer(t *testing.T, publish bool) *keyServer {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "cg.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	local, err := auth.NewLocal(ctx, store, auth.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := graphapi.Config{Store: store, Auth: local}
	if publish {
		if cfg.JWKS, err = local.PublicJWKS(); err != nil {
			t.Fatal(err)
		}
	}
	api, err := graphapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &keyServer{srv: srv, local: local}
}

func TestPublisherIDsMatchTheServer(t *testing.T) {
	if client.NotificationPublisherID != auth.NotificationPublisherID || client.GraphNotificationPublisherID != auth.GraphNotificationPublisherID {
		t.Fatal("client and auth disagree on the notification publisher ids")
	}
}

func TestVerifyValidationToken(t *testing.T) {
	ctx := context.Background()
	ks := newKeyServer(t, true)
	keys, err := client.FetchValidationKeys(ctx, ks.srv.Client(), ks.keysURL())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	tenant := contactgraph.TenantID("contoso")
	app := contactgraph.AppID(tenant, "crm")
	good, err := ks.local.ValidationToken(app, tenant, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Verify(good, app, t0.Add(30*time.Minute)); err != nil {
		t.Fatalf("a good token: %v", err)
	}
	if err := keys.Verify(good, app, t0.Add(-4*time.Minute)); err != nil {
		t.Fatalf("within the clock skew: %v", err)
	}

	other := newKeyServer(t, true) // another key
	foreign, err := other.local.ValidationToken(app, tenant, t0)
	if err != nil {
		t.Fatal(err)
	}
	access, err := ks.local.Mint(auth.MintOptions{TenantName: "contoso", AppName: "crm", Roles: []string{"Contacts.Read"}, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	unsigned := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"aud": app, "tid": tenant, "azp": auth.NotificationPublisherID,
		"exp": t0.Add(time.Hour).Unix(), "iat": t0.Unix()})
	none, err := unsigned.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token, app string
		at               time.Time
	}{
		{"for another application", good, contactgraph.AppID(tenant, "other"), t0},
		{"no application id", good, "", t0},
		{"expired", good, app, t0.Add(time.Hour + 6*time.Minute)},
		{"issued in the future", good, app, t0.Add(-6 * time.Minute)},
		{"signed by another key", foreign, app, t0},
		{"an access token of the same key", access, auth.GraphAudience, t0},
		{"alg none", none, app, t0},
		{"garbage", "a.b.c", app, t0},
	}
	for _, tt := range tests {
		if err := keys.Verify(tt.token, tt.app, tt.at); !errors.Is(err, client.ErrBadValidationToken) {
			t.Errorf("%s: %v, want ErrBadValidationToken", tt.name, err)
		}
	}

	// The one-shot form, at the current time.
	now, err := ks.local.ValidationToken(app, tenant, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := client.VerifyValidationToken(ctx, ks.srv.Client(), ks.keysURL(), now, app); err != nil {
		t.Fatalf("VerifyValidationToken: %v", err)
	}
	if err := client.VerifyValidationToken(ctx, ks.srv.Client(), ks.keysURL(), good, app); !errors.Is(err, client.ErrBadValidationToken) {
		t.Fatalf("VerifyValidationToken of an old token: %v", err)
	}
}

func TestFetchValidationKeysErrors(t *testing.T) {
	ctx := context.Background()
	none := newKeyServer(t, false)
	notJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"keys":`))
	}))
	t.Cleanup(notJSON.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for name, url := range map[string]string{
		"no key set published": none.keysURL(),
		"not JSON":             notJSON.URL,
		"nobody listening":     closed.URL,
	} {
		keys, err := client.FetchValidationKeys(ctx, nil, url)
		if keys != nil || err == nil || errors.Is(err, client.ErrBadValidationToken) {
			t.Errorf("%s: %v, %v; want a fetch error", name, keys, err)
		}
		if err := client.VerifyValidationToken(ctx, nil, url, "a.b.c", "app"); err == nil || errors.Is(err, client.ErrBadValidationToken) {
			t.Errorf("%s: VerifyValidationToken: %v, want the fetch error", name, err)
		}
	}
}
