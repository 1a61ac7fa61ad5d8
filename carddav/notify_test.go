package carddav_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph/graphapi"
	"github.com/contactgraph/contactgraph/notify"
)

// receiver is a Graph change-notification receiver: it answers the
// validation request and collects the items it is sent.
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	items   []map[string]any
	arrived chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{arrived: make(chan struct{}, 100)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("validationToken"); tok != "" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, tok)
			return
		}
		var body struct{ Value []map[string]any }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("notification body: %v", err)
		}
		rc.mu.Lock()
		rc.items = append(rc.items, body.Value...)
		rc.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		rc.arrived <- struct{}{}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// await waits until the receiver holds n items and returns them.
func (rc *receiver) await(t *testing.T, n int) []map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		rc.mu.Lock()
		if len(rc.items) >= n {
			items := append([]map[string]any(nil), rc.items...)
			rc.mu.Unlock()
			return items
		}
		rc.mu.Unlock()
		select {
		case <-rc.arrived:
		case <-deadline:
			t.Fatalf("receiver has %d items, want %d", len(rc.items), n)
		}
	}
}

// TestPutNotifies: a card PUT over CardDAV, and a PUT that replaces it,
// are Graph writes: a subscription to the user's contacts made over Graph
// is notified of each (created, then updated), and a card DELETE too.
func TestPutNotifies(t *testing.T) {
	e := newEnv(t, func(c *graphapi.Config) { c.Emulator = true; c.ValidationTimeout = 5 * time.Second })
	s := &notify.Sender{Store: e.store, Owner: "test", Client: (&notify.Guard{AllowPrivate: true}).Client(3 * time.Second), Logf: t.Logf}
	accepted := make(chan struct{}, 10)
	s.DeliveryLatency = func(time.Duration) { accepted <- struct{}{} }
	e.wake.SetWake(s.Wake) // woken by the store's commits: no polling wait
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; e.wake.SetWake(nil) })

	rc := newReceiver(t)
	sub, _ := json.Marshal(map[string]any{
		"changeType": "created,updated,deleted", "notificationUrl": rc.srv.URL, "resource": "me/contacts",
		"expirationDateTime": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "clientState": "dav",
	})
	resp, body := e.graph("POST", "/subscriptions", string(sub))
	want(t, resp, body, http.StatusCreated)

	resp, body = e.do("PUT", e.book()+"phone-1.vcf", vcf("uid-n", "Grace Hopper", ""), "Content-Type", "text/vcard")
	want(t, resp, body, http.StatusCreated)
	items := rc.await(t, 1)
	resp, body = e.do("PUT", e.book()+"phone-1.vcf", vcf("uid-n", "Grace B. Hopper", ""), "Content-Type", "text/vcard")
	want(t, resp, body, http.StatusNoContent)
	resp, body = e.do("DELETE", e.book()+"phone-1.vcf", "")
	want(t, resp, body, http.StatusNoContent)
	items = rc.await(t, 3)

	var got []string
	for _, it := range items {
		got = append(got, it["changeType"].(string))
		if it["clientState"] != "dav" || !strings.HasPrefix(it["resource"].(string), "Users/"+e.user+"/Contacts/") {
			t.Errorf("notification item %v", it)
		}
	}
	if strings.Join(got, ",") != "created,updated,deleted" {
		t.Fatalf("change types %v, want created, updated, deleted", got)
	}
	// The sender has seen each delivery accepted, so none is in flight
	// when the test ends.
	for range 3 {
		select {
		case <-accepted:
		case <-time.After(10 * time.Second):
			t.Fatal("the sender did not see its deliveries accepted")
		}
	}
	if items[0]["resource"] != items[2]["resource"] {
		t.Errorf("the notifications name different contacts: %v, %v", items[0]["resource"], items[2]["resource"])
	}
}
