package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/auth"
	"github.com/contactgraph/contactgraph/client"
	"github.com/contactgraph/contactgraph/graphapi"
	"github.com/contactgraph/contactgraph/notify"
	"github.com/contactgraph/contactgraph/sqlite"
)

// graphServer is a contactgraph server on loopback, with emulator rules
// (http receivers on loopback) and a notification sender, and a token of a
// user who may read and write contacts.
type graphServer struct {
	base  string // the service root, …/v1.0
	token string
}

func startGraph(t *testing.T) graphServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "cg.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := auth.NewLocal(ctx, db, auth.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	api, err := graphapi.New(graphapi.Config{Store: db, Auth: issuer, Emulator: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	sender := &notify.Sender{Store: db, Owner: "test"}
	db.SetWake(sender.Wake)
	done := make(chan struct{})
	go func() { defer close(done); sender.Run(ctx) }()
	t.Cleanup(func() { srv.Close(); cancel(); <-done; db.Close() })
	tok, err := issuer.Mint(auth.MintOptions{TenantName: "contoso", UPN: "ada@contoso.com", Scopes: []string{contactgraph.PermContactsReadWrite}})
	if err != nil {
		t.Fatal(err)
	}
	return graphServer{base: srv.URL + "/v1.0", token: tok}
}

func (g graphServer) client() *client.Client {
	return &client.Client{Token: func(context.Context) (string, error) { return g.token, nil }}
}

// hook is a client.Receiver on loopback that counts validation requests.
type hook struct {
	url         string
	validations atomic.Int32
	got         chan client.Notifications
}

func startHook(t *testing.T, clientState string) *hook {
	t.Helper()
	h := &hook{got: make(chan client.Notifications, 10)}
	rc := &client.Receiver{ClientState: clientState, Handle: func(_ context.Context, n client.Notifications) error {
		h.got <- n
		return nil
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("validationToken") {
			h.validations.Add(1)
		}
		rc.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL + "/hook"
	return h
}

// graphCode returns the status and Graph code of an error answer, and
// fails the test when err wraps no *client.HTTPError.
func graphCode(t *testing.T, err error) (int, string) {
	t.Helper()
	var herr *client.HTTPError
	if !errors.As(err, &herr) {
		t.Fatalf("error %v wraps no *client.HTTPError", err)
	}
	return herr.Status, herr.Code
}

// TestSubscriptionCalls: create (after the handshake with both URLs),
// notifications carry the clientState sent, renew, delete, and a deleted
// subscription is not found.
func TestSubscriptionCalls(t *testing.T) {
	g := startGraph(t)
	h := startHook(t, "s3cret")
	c := g.client()
	ctx := context.Background()
	until := time.Now().Add(time.Hour).Truncate(time.Second)
	sub, err := c.Subscribe(ctx, g.base+"/", client.Subscription{
		ID: "ignored", Resource: "me/contacts", ChangeType: "created,updated,deleted",
		NotificationURL: h.url, LifecycleNotificationURL: h.url, ExpirationDateTime: until, ClientState: "s3cret",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !contactgraph.IsGUID(sub.ID) || sub.Resource != "me/contacts" || sub.ChangeType != "created,updated,deleted" ||
		sub.NotificationURL != h.url || sub.LifecycleNotificationURL != h.url || !sub.ExpirationDateTime.Equal(until) || sub.ClientState != "" {
		t.Fatalf("created %+v", sub)
	}
	if n := h.validations.Load(); n != 2 {
		t.Errorf("%d validation requests, want one per URL", n)
	}

	req, _ := http.NewRequest(http.MethodPost, g.base+"/me/contacts", strings.NewReader(`{"givenName":"Ada"}`))
	req.Header.Set("Authorization", "Bearer "+g.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case n := <-h.got: // the Receiver dropped it unless the clientState came back
		if len(n.Value) != 1 || n.Value[0].SubscriptionID != sub.ID || n.Value[0].ChangeType != "created" {
			t.Errorf("notification %+v", n.Value)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification with the clientState within 10 s")
	}

	later := until.Add(24 * time.Hour)
	renewed, err := c.RenewSubscription(ctx, g.base, sub.ID, later)
	if err != nil {
		t.Fatal(err)
	}
	if renewed.ID != sub.ID || !renewed.ExpirationDateTime.Equal(later) || renewed.LifecycleNotificationURL != h.url {
		t.Fatalf("renewed %+v", renewed)
	}

	if err := c.DeleteSubscription(ctx, g.base, sub.ID); err != nil {
		t.Fatal(err)
	}
	err = c.DeleteSubscription(ctx, g.base, sub.ID)
	if !errors.Is(err, contactgraph.ErrNotFound) {
		t.Fatalf("deleting again: %v, want not found", err)
	}
	if status, code := graphCode(t, err); status != http.StatusNotFound || code != "ResourceNotFound" {
		t.Errorf("deleting again: %d %s", status, code)
	}
	if _, err := c.RenewSubscription(ctx, g.base, sub.ID, later); contactgraph.ErrorCode(err) != contactgraph.ENotFound {
		t.Errorf("renewing a deleted subscription: %v", err)
	}
}

// TestSubscriptionErrors: the server's refusals come back with their
// status, Graph code and message, and the domain code.
func TestSubscriptionErrors(t *testing.T) {
	g := startGraph(t)
	h := startHook(t, "")
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer failing.Close()
	ok := client.Subscription{Resource: "me/contacts", ChangeType: "created", NotificationURL: h.url, ExpirationDateTime: time.Now().Add(time.Hour)}
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		c       *client.Client
		edit    func(*client.Subscription)
		status  int
		code    string
		message string
		domain  contactgraph.Code
	}{
		{"resource", g.client(), func(s *client.Subscription) { s.Resource = "me/messages" }, 400, "InvalidRequest", "'me/messages' is not supported", contactgraph.EInvalid},
		{"expiry", g.client(), func(s *client.Subscription) { s.ExpirationDateTime = time.Now().Add(8 * 24 * time.Hour) }, 400, "InvalidRequest", "10080 minutes", contactgraph.EInvalid},
		{"handshake", g.client(), func(s *client.Subscription) { s.NotificationURL = failing.URL }, 400, "InvalidRequest", "validation request failed", contactgraph.EInvalid},
		{"no token", &client.Client{}, func(*client.Subscription) {}, 401, "InvalidAuthenticationToken", "", contactgraph.EUnauthenticated},
	} {
		s := ok
		tc.edit(&s)
		_, err := tc.c.Subscribe(ctx, g.base, s)
		if contactgraph.ErrorCode(err) != tc.domain {
			t.Errorf("%s: %v, want code %s", tc.name, err, tc.domain)
			continue
		}
		var herr *client.HTTPError
		errors.As(err, &herr)
		if herr.Status != tc.status || herr.Code != tc.code || !strings.Contains(herr.Message, tc.message) || herr.RequestID == "" {
			t.Errorf("%s: %+v", tc.name, herr)
		}
	}
	if n := h.validations.Load(); n != 0 {
		t.Errorf("refused bodies reached the receiver: %d validation requests", n)
	}
}

// TestSubscriptionTransportErrors: a connection that breaks is retried for
// renew and delete, never for create, which may have been made.
func TestSubscriptionTransportErrors(t *testing.T) {
	var requests atomic.Int32
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer broken.Close()
	c := &client.Client{Retries: 2, Sleep: func(context.Context, time.Duration) error { return nil }}
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func() error
		want int32
	}{
		{"create", func() error {
			_, err := c.Subscribe(ctx, broken.URL, client.Subscription{Resource: "me/contacts", ChangeType: "created", NotificationURL: "https://x"})
			return err
		}, 1},
		{"renew", func() error { _, err := c.RenewSubscription(ctx, broken.URL, "id", time.Now()); return err }, 3},
		{"delete", func() error { return c.DeleteSubscription(ctx, broken.URL, "id") }, 3},
	} {
		requests.Store(0)
		if err := tc.call(); err == nil {
			t.Errorf("%s over a broken connection succeeded", tc.name)
		}
		if n := requests.Load(); n != tc.want {
			t.Errorf("%s: %d requests, want %d", tc.name, n, tc.want)
		}
	}
}
