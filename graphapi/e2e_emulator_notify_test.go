package graphapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/notify"
)

// postHook is a loopback notification receiver that keeps the items of every
// POST, one slice per POST.
type postHook struct {
	srv   *httptest.Server
	mu    sync.Mutex
	posts [][]map[string]any
}

func newPostHook(t *testing.T) *postHook {
	h := &postHook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body struct{ Value []map[string]any }
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("notification body %q: %v", b, err)
		}
		h.mu.Lock()
		h.posts = append(h.posts, body.Value)
		h.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *postHook) received() [][]map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]map[string]any(nil), h.posts...)
}

// notifyEnv is a server with the emulator on, its senders' faults, one
// sender on its store, and a subscription of alice's default folder.
type notifyEnv struct {
	*env
	faults *notify.Faults
	sender *notify.Sender
	ctl    string // Emulator.Control of contoso
	alice  user
	hook   *postHook
	life   *postHook
}

func newNotifyEnv(t *testing.T) *notifyEnv {
	faults := &notify.Faults{}
	e := newEnv(t, func(c *Config) { c.Emulator, c.Now, c.Deliveries = true, time.Now, faults })
	n := &notifyEnv{env: e, faults: faults, ctl: e.tokens.app("contoso", "test-harness", "Emulator.Control"),
		alice: e.newUser("contoso", "alice@contoso.com", "Contacts.ReadWrite"), hook: newPostHook(t), life: newPostHook(t)}
	n.sender = &notify.Sender{Store: e.store, Owner: "test", Timeout: 5 * time.Second}
	n.subscribe(t, "sub-life", n.life.srv.URL)
	n.subscribe(t, "sub-plain", "")
	return n
}

// subscribe stores a subscription of alice's default folder directly.
func (n *notifyEnv) subscribe(t *testing.T, id, lifecycle string) {
	t.Helper()
	mb, err := n.store.EnsureMailbox(context.Background(), n.alice.tenant, n.alice.id, n.alice.upn)
	if err != nil {
		t.Fatal(err)
	}
	_, err = n.store.CreateSubscription(context.Background(), contactgraph.Subscription{ID: id, TenantID: mb.TenantID, AppID: "app",
		Watched: contactgraph.Watched{Collection: "contacts", Mailbox: mb, FolderID: mb.RootID}, Resource: "me/contacts",
		Changes: contactgraph.ChangeCreated, NotificationURL: n.hook.srv.URL, LifecycleURL: lifecycle, Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
}

// deliver creates a contact over HTTP and runs the sender once.
func (n *notifyEnv) deliver(t *testing.T) {
	t.Helper()
	ok(t, n.do(t, http.MethodPost, "/v1.0/me/contacts", n.alice.token, map[string]any{"givenName": "Ada"}), http.StatusCreated)
	if _, err := n.sender.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestEmulatorDeliveries(t *testing.T) {
	n := newNotifyEnv(t)
	n.sender.Faults = n.faults

	// A duplicate fault for the hook's URL: both subscriptions' creations
	// come in one POST, posted twice.
	ok(t, n.do(t, http.MethodPost, "/emulator/deliveries", n.ctl, []byte(`{"url":"`+n.hook.srv.URL+`","count":1,"duplicate":true}`)), http.StatusNoContent)
	n.deliver(t)
	if got := n.hook.received(); len(got) != 2 || len(got[0]) != 2 {
		t.Fatalf("posts %v, want one delivery of two notifications, twice", got)
	}

	// Another tenant's faults, and faults for another URL, leave ours alone.
	other := n.tokens.app("fabrikam", "test-harness", "Emulator.Control")
	ok(t, n.do(t, http.MethodPost, "/emulator/deliveries", other, []byte(`{"count":5,"fail":503}`)), http.StatusNoContent)
	ok(t, n.do(t, http.MethodPost, "/emulator/deliveries", n.ctl, []byte(`{"url":"https://elsewhere.example/hook","count":5,"timeout":true}`)), http.StatusNoContent)
	n.deliver(t)
	if got := n.hook.received(); len(got) != 3 {
		t.Fatalf("%d posts, want 3: the faults of another tenant or URL applied", len(got))
	}

	// A failure for any URL: nothing posted, retried later. Clearing
	// forgets queued faults.
	ok(t, n.do(t, http.MethodPost, "/emulator/deliveries", n.ctl, []byte(`{"count":1,"fail":500}`)), http.StatusNoContent)
	n.deliver(t)
	if got := n.hook.received(); len(got) != 3 || n.sender.Stats.Retried.Load() != 2 {
		t.Fatalf("%d posts, %d retried; want the failed delivery held back", len(got), n.sender.Stats.Retried.Load())
	}
	ok(t, n.do(t, http.MethodPost, "/emulator/deliveries", n.ctl, []byte(`{"count":1000000,"delayMs":60000}`)), http.StatusNoContent)
	ok(t, n.do(t, http.MethodDelete, "/emulator/deliveries", n.ctl, nil), http.StatusNoContent)
	ok(t, n.do(t, http.MethodPost, "/v1.0/me/contacts", n.alice.token, map[string]any{"givenName": "Alan"}), http.StatusCreated)
	n.sender.Now = func() time.Time { return time.Now().Add(time.Minute) } // past the failed one's backoff
	if _, err := n.sender.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := n.hook.received(); len(got) != 4 || len(got[3]) != 4 {
		t.Fatalf("posts %v: want the retried and the new notifications in one POST, undelayed", got)
	}

	for _, body := range []string{
		`{"count":1}`,
		`{"count":1,"fail":500,"duplicate":true}`,
		`{"count":1,"timeout":true,"delayMs":5}`,
		`{"count":0,"fail":500}`,
		`{"count":1000001,"fail":500}`,
		`{"count":1,"fail":399}`,
		`{"count":1,"fail":600}`,
		`{"count":1,"delayMs":60001}`,
		`{"count":1,"delayMs":-1}`,
		`{"count":1,"delayMs":9223372036854775807}`,
		`{"count":1,"duplicate":true,"extra":1}`,
		`{"count":1,"fail":"500"}`,
		`[]`,
	} {
		fails(t, n.do(t, http.MethodPost, "/emulator/deliveries", n.ctl, []byte(body)), 400, "ErrorInvalidRequest")
	}
	fails(t, n.do(t, http.MethodPost, "/emulator/deliveries", n.alice.token, []byte(`{"count":1,"fail":500}`)), 403, "ErrorAccessDenied")
}

// Without the senders' faults the delivery controls are refused.
func TestEmulatorDeliveriesNeedFaults(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Emulator = true })
	ctl := e.tokens.app("contoso", "test-harness", "Emulator.Control")
	fails(t, e.do(t, http.MethodPost, "/emulator/deliveries", ctl, []byte(`{"count":1,"fail":500}`)), 400, "ErrorInvalidRequest")
	ok(t, e.do(t, http.MethodDelete, "/emulator/deliveries", ctl, nil), http.StatusNoContent)
}

func TestEmulatorLifecycle(t *testing.T) {
	n := newNotifyEnv(t)
	post := func(token, body string) result {
		return n.do(t, http.MethodPost, "/emulator/lifecycle", token, []byte(body))
	}
	for _, ev := range []string{contactgraph.LifecycleMissed, contactgraph.LifecycleReauthorizationRequired} {
		ok(t, post(n.ctl, `{"subscriptionId":"sub-life","event":"`+ev+`"}`), http.StatusNoContent)
		if _, err := n.sender.Once(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := n.life.received()
		last := got[len(got)-1]
		if len(last) != 1 || last[0]["lifecycleEvent"] != ev || last[0]["subscriptionId"] != "sub-life" {
			t.Fatalf("lifecycle receiver got %v, want %s", last, ev)
		}
	}

	fails(t, post(n.ctl, `{"subscriptionId":"nope","event":"missed"}`), 404, "ErrorItemNotFound")
	other := n.tokens.app("fabrikam", "test-harness", "Emulator.Control")
	fails(t, post(other, `{"subscriptionId":"sub-life","event":"missed"}`), 404, "ErrorItemNotFound")
	fails(t, post(n.ctl, `{"subscriptionId":"sub-plain","event":"missed"}`), 400, "ErrorInvalidRequest")
	fails(t, post(n.ctl, `{"subscriptionId":"sub-life","event":"updated"}`), 400, "ErrorInvalidRequest")
	fails(t, post(n.ctl, `{"event":"missed"}`), 400, "ErrorInvalidRequest")
	fails(t, post(n.ctl, `{"subscriptionId":"sub-life","event":"missed","x":1}`), 400, "ErrorInvalidRequest")
	fails(t, post(n.alice.token, `{"subscriptionId":"sub-life","event":"missed"}`), 403, "ErrorAccessDenied")

	// subscriptionRemoved ends the subscription: no more notifications of
	// its changes, and no more lifecycle events for it.
	ok(t, post(n.ctl, `{"subscriptionId":"sub-life","event":"subscriptionRemoved"}`), http.StatusNoContent)
	n.deliver(t)
	if got := n.life.received(); len(got) != 3 || got[2][0]["lifecycleEvent"] != contactgraph.LifecycleSubscriptionRemoved {
		t.Fatalf("lifecycle receiver got %v, want subscriptionRemoved last", got)
	}
	got := n.hook.received()
	if len(got) != 1 || len(got[0]) != 1 || got[0][0]["subscriptionId"] != "sub-plain" {
		t.Fatalf("notifications %v, want only sub-plain's", got)
	}
	fails(t, post(n.ctl, `{"subscriptionId":"sub-life","event":"missed"}`), 404, "ErrorItemNotFound")
}
