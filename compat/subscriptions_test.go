package compat

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// webhook is a receiver on loopback: it echoes validation tokens (or,
// when broken, answers 500) and collects notification items.
type webhook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	broken bool
	items  chan map[string]any
}

func newWebhook(t *testing.T) *webhook {
	h := &webhook{items: make(chan map[string]any, 100)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			h.mu.Lock()
			broken := h.broken
			h.mu.Unlock()
			if broken {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, tok)
			return
		}
		var body struct{ Value []map[string]any }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("notification body: %v", err)
		}
		w.WriteHeader(http.StatusAccepted)
		for _, it := range body.Value {
			h.items <- it
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// TestSubscriptions: the Go SDK creates, lists, reads, renews and deletes a
// subscription; a contact created meanwhile reaches the receiver; a
// receiver that fails the handshake is the SDK's ODataError.
func TestSubscriptions(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t, srv.delegatedToken(t, uniqueUPN("subs"), "Contacts.ReadWrite"))
	ctx := t.Context()
	hook := newWebhook(t)

	body := models.NewSubscription()
	body.SetChangeType(ptr("created,updated,deleted"))
	body.SetNotificationUrl(ptr(hook.srv.URL + "/notify"))
	body.SetResource(ptr("me/contacts"))
	body.SetExpirationDateTime(ptr(time.Now().Add(time.Hour).UTC()))
	body.SetClientState(ptr("go-sdk-secret"))
	created, err := c.Subscriptions().Post(ctx, body, nil)
	check(t, err, "POST /subscriptions")
	id := deref(created.GetId())
	if id == "" || deref(created.GetResource()) != "me/contacts" || created.GetClientState() != nil ||
		deref(created.GetChangeType()) != "created,updated,deleted" || deref(created.GetLatestSupportedTlsVersion()) != "v1_2" {
		t.Fatalf("created subscription: id %q resource %q clientState %v changeType %q", id, deref(created.GetResource()), created.GetClientState(), deref(created.GetChangeType()))
	}

	list, err := c.Subscriptions().Get(ctx, nil)
	check(t, err, "GET /subscriptions")
	if len(list.GetValue()) != 1 || deref(list.GetValue()[0].GetId()) != id {
		t.Errorf("list has %d subscriptions", len(list.GetValue()))
	}
	got, err := c.Subscriptions().BySubscriptionId(id).Get(ctx, nil)
	check(t, err, "GET /subscriptions/{id}")
	if deref(got.GetNotificationUrl()) != hook.srv.URL+"/notify" {
		t.Errorf("notificationUrl %q", deref(got.GetNotificationUrl()))
	}

	contact := models.NewContact()
	contact.SetDisplayName(ptr("Grace Hopper"))
	made, err := c.Me().Contacts().Post(ctx, contact, nil)
	check(t, err, "POST /me/contacts")
	select {
	case it := <-hook.items:
		rd, _ := it["resourceData"].(map[string]any)
		if it["subscriptionId"] != id || it["changeType"] != "created" || it["clientState"] != "go-sdk-secret" || rd["id"] != deref(made.GetId()) {
			t.Errorf("notification %v", it)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification within 10 s of the create")
	}

	later := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	renew := models.NewSubscription()
	renew.SetExpirationDateTime(&later)
	renewed, err := c.Subscriptions().BySubscriptionId(id).Patch(ctx, renew, nil)
	check(t, err, "PATCH /subscriptions/{id}")
	if !deref(renewed.GetExpirationDateTime()).Equal(later) {
		t.Errorf("renewed to %v, want %v", deref(renewed.GetExpirationDateTime()), later)
	}

	check(t, c.Subscriptions().BySubscriptionId(id).Delete(ctx, nil), "DELETE /subscriptions/{id}")
	_, err = c.Subscriptions().BySubscriptionId(id).Get(ctx, nil)
	var oerr *odataerrors.ODataError
	if !errors.As(err, &oerr) || oerr.ResponseStatusCode != http.StatusNotFound || deref(oerr.GetErrorEscaped().GetCode()) != "ResourceNotFound" {
		t.Errorf("GET after DELETE: %v, want ODataError 404 ResourceNotFound", err)
	}

	hook.mu.Lock()
	hook.broken = true
	hook.mu.Unlock()
	_, err = c.Subscriptions().Post(ctx, body, nil)
	if !errors.As(err, &oerr) || oerr.ResponseStatusCode != http.StatusBadRequest || deref(oerr.GetErrorEscaped().GetCode()) != "InvalidRequest" {
		t.Fatalf("POST with a failing handshake: %v, want ODataError 400 InvalidRequest", err)
	}
	if msg := deref(oerr.GetErrorEscaped().GetMessage()); msg != "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request." {
		t.Errorf("message %q", msg)
	}
}
