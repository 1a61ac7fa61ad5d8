package graphapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/notify"
)

// startSender runs a notification sender on e's store until the test ends,
// woken by the store's commits.
func startSender(t *testing.T, e *env) *notify.Sender {
	s := &notify.Sender{Store: e.store, Owner: "test", Client: (&notify.Guard{AllowPrivate: true}).Client(3 * time.Second),
		Poll: 50 * time.Millisecond, Logf: t.Logf}
	e.db.SetWake(s.Wake)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; e.db.SetWake(nil) })
	return s
}

// await waits until h has at least n items and returns them.
func (h *hook) await(t *testing.T, n int) []map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		h.mu.Lock()
		if len(h.items) >= n {
			items := slices.Clone(h.items)
			h.mu.Unlock()
			return items
		}
		h.mu.Unlock()
		select {
		case <-h.arrived:
		case <-deadline:
			t.Fatalf("receiver has %d items, want %d", len(h.items), n)
		}
	}
}

// summary renders notification items as "changeType resource" lines.
func summary(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		out = append(out, fmt.Sprintf("%v %v", it["changeType"], it["resource"]))
	}
	return out
}

func TestNotificationsOverHTTP(t *testing.T) {
	e := emulatorEnv(t, func(c *Config) { c.Now = time.Now })
	startSender(t, e)
	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	bob := e.newUser("contoso", "bob@contoso.com", contactgraph.PermContactsReadWrite)
	exp := time.Now().Add(time.Hour)
	side := e.newFolderID(t, ada)

	rootHook, sideHook, bobHook, folderHook := newHook(t, "ok"), newHook(t, "ok"), newHook(t, "ok"), newHook(t, "ok")
	rootSub := str(t, ok(t, e.do(t, "POST", "/v1.0/subscriptions", ada.token, subBody(rootHook, "me/contacts", exp)), http.StatusCreated), "id")
	sideBody := subBody(sideHook, "me/contactFolders/"+side+"/contacts", exp)
	sideBody["changeType"] = "created,deleted"
	ok(t, e.do(t, "POST", "/v1.0/subscriptions", ada.token, sideBody), http.StatusCreated)
	ok(t, e.do(t, "POST", "/v1.0/subscriptions", bob.token, subBody(bobHook, "me/contacts", exp)), http.StatusCreated)
	ok(t, e.do(t, "POST", "/v1.0/subscriptions", ada.token, subBody(folderHook, "me/contactFolders", exp)), http.StatusCreated)

	// create, update, move to the side folder, then delete there.
	id := str(t, ok(t, e.do(t, "POST", "/v1.0/me/contacts", ada.token, map[string]any{"displayName": "Grace"}), http.StatusCreated), "id")
	ok(t, e.do(t, "PATCH", "/v1.0/me/contacts/"+id, ada.token, map[string]any{"jobTitle": "Admiral"}), http.StatusOK)
	ok(t, e.do(t, "PATCH", "/v1.0/me/contacts/"+id, ada.token, map[string]any{"parentFolderId": side}), http.StatusOK)
	ok(t, e.do(t, "DELETE", "/v1.0/me/contactFolders/"+side+"/contacts/"+id, ada.token, nil), http.StatusNoContent)
	e.do(t, "PATCH", "/v1.0/me/contactFolders/"+side, ada.token, map[string]any{"displayName": "Renamed"})

	res := "Users/" + ada.id + "/Contacts/" + id
	got := summary(rootHook.await(t, 3))
	if want := []string{"created " + res, "updated " + res, "deleted " + res}; !slices.Equal(got, want) {
		t.Errorf("default folder subscription got %q, want %q", got, want)
	}
	got = summary(sideHook.await(t, 2))
	if want := []string{"created " + res, "deleted " + res}; !slices.Equal(got, want) {
		t.Errorf("side folder subscription (created,deleted) got %q, want %q", got, want)
	}
	got = summary(folderHook.await(t, 1))
	if want := []string{"updated Users/" + ada.id + "/ContactFolders/" + side}; !slices.Equal(got, want) {
		t.Errorf("folder subscription got %q, want %q", got, want)
	}

	it := rootHook.await(t, 3)[0]
	rd, _ := it["resourceData"].(map[string]any)
	if it["subscriptionId"] != rootSub || it["clientState"] != "secretClientValue" || it["tenantId"] != ada.tenant ||
		rd["@odata.type"] != "#Microsoft.Graph.Contact" || rd["id"] != id || rd["@odata.id"] != res || !strings.HasPrefix(fmt.Sprint(rd["@odata.etag"]), `W/"`) {
		t.Errorf("notification item %v", it)
	}
	if exp, _ := it["subscriptionExpirationDateTime"].(string); exp == "" {
		t.Error("no subscriptionExpirationDateTime")
	}
	// bob's subscription saw nothing of ada's mailbox: one write of his own
	// arrives alone.
	ok(t, e.do(t, "POST", "/v1.0/me/contacts", bob.token, map[string]any{"displayName": "Bob's"}), http.StatusCreated)
	if got := bobHook.await(t, 1); len(got) != 1 || !strings.HasPrefix(fmt.Sprint(got[0]["resource"]), "Users/"+bob.id+"/") {
		t.Errorf("bob's receiver got %v", summary(got))
	}
	e.awaitOutboxEmpty(t) // every notification recorded has been delivered
	for name, h := range map[string]*hook{"root": rootHook, "side": sideHook, "bob": bobHook, "folders": folderHook} {
		h.mu.Lock()
		n := len(h.items)
		h.mu.Unlock()
		if want := map[string]int{"root": 3, "side": 2, "bob": 1, "folders": 1}[name]; n != want {
			t.Errorf("%s receiver has %d items, want %d", name, n, want)
		}
	}
}

// awaitOutboxEmpty waits until the store has no notification left to deliver.
func (e *env) awaitOutboxEmpty(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := e.store.OutboxDepth(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %d notifications", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
