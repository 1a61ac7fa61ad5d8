package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/sqlite"
	"github.com/contactgraph/contactgraph/storetest"
)

// receiver is a real HTTP receiver on loopback that records every POST
// and answers with the statuses of fail first, then 202.
type receiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	posts [][]map[string]any
	fail  []int
}

func newReceiver(t *testing.T, fail ...int) *receiver {
	r := &receiver{fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var body struct{ Value []map[string]any }
		if err := json.Unmarshal(b, &body); err != nil || req.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("notification POST: %v, content type %q: %s", err, req.Header.Get("Content-Type"), b)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.fail) > 0 {
			w.WriteHeader(r.fail[0])
			r.fail = r.fail[1:]
			return
		}
		r.posts = append(r.posts, body.Value)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) items() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []map[string]any
	for _, p := range r.posts {
		all = append(all, p...)
	}
	return all
}

type fixture struct {
	store *sqlite.DB
	clock *storetest.Clock
	mb    contactgraph.Mailbox
}

func newFixture(t *testing.T) *fixture {
	clock := storetest.NewClock()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "cg.db"), sqlite.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tenant := contactgraph.TenantID("contoso")
	mb, err := db.EnsureMailbox(context.Background(), tenant, contactgraph.UserID(tenant, "ada@contoso.com"), "ada@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{store: db, clock: clock, mb: mb}
}

func (f *fixture) subscribe(t *testing.T, id, url, lifecycle string) {
	_, err := f.store.CreateSubscription(context.Background(), contactgraph.Subscription{ID: id, TenantID: f.mb.TenantID, AppID: "app",
		Watched: contactgraph.Watched{Collection: "contacts", Mailbox: f.mb, FolderID: f.mb.RootID}, Resource: "me/contacts",
		Changes:         contactgraph.ChangeCreated | contactgraph.ChangeUpdated | contactgraph.ChangeDeleted,
		NotificationURL: url, LifecycleURL: lifecycle, ClientState: "cs-" + id, Expires: f.clock.Now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) createContact(t *testing.T, body string) *contactgraph.Contact {
	in, err := contactgraph.ParseContactInput([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.store.CreateContact(context.Background(), f.mb, f.mb.RootID, in)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) sender(owner string) *Sender {
	return &Sender{Store: f.store, Owner: owner, Now: f.clock.Now, Timeout: 2 * time.Second}
}

func TestDeliveryShapeAndBatching(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t)
	f.subscribe(t, "sub-1", rcv.srv.URL+"/hook?tag=x", "")
	var ids []string
	for _, n := range []string{"Ada", "Alan", "Grace"} {
		ids = append(ids, f.createContact(t, `{"givenName":"`+n+`"}`).ID)
	}
	if err := f.store.DeleteContact(context.Background(), f.mb, ids[2], ""); err != nil {
		t.Fatal(err)
	}
	s := f.sender("a")
	n, err := s.Once(context.Background())
	if err != nil || n != 4 {
		t.Fatalf("Once: %d, %v; want 4 claimed", n, err)
	}
	if len(rcv.posts) != 1 {
		t.Fatalf("%d POSTs, want the 4 notifications in one", len(rcv.posts))
	}
	items := rcv.items()
	for i, it := range items {
		wantType := "created"
		if i == 3 {
			wantType = "deleted"
		}
		rd, _ := it["resourceData"].(map[string]any)
		res := "Users/" + f.mb.UserID + "/Contacts/" + rd["id"].(string)
		if it["subscriptionId"] != "sub-1" || it["clientState"] != "cs-sub-1" || it["changeType"] != wantType ||
			it["tenantId"] != f.mb.TenantID || it["resource"] != res || rd["@odata.type"] != "#Microsoft.Graph.Contact" || rd["@odata.id"] != res {
			t.Errorf("item %d: %v", i, it)
		}
		if (i < 2) != (rd["@odata.etag"] != nil) {
			t.Errorf("item %d: etag %v (live contacts carry one, deleted ones none)", i, rd["@odata.etag"])
		}
	}
	if d, _ := f.store.OutboxDepth(context.Background()); d != 0 || s.Stats.Delivered.Load() != 4 {
		t.Fatalf("after delivery: depth %d, delivered %d", d, s.Stats.Delivered.Load())
	}
}

func TestRetryBackoffAndMissed(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, 500, 503)
	life := newReceiver(t)
	f.subscribe(t, "sub-1", rcv.srv.URL, life.srv.URL)
	c := f.createContact(t, `{"givenName":"Ada"}`)
	s := f.sender("a")
	ctx := context.Background()
	for attempt := 1; attempt <= 2; attempt++ {
		if _, err := s.Once(ctx); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.Once(ctx); n != 0 {
			t.Fatalf("attempt %d: a failed notification was claimed again at once", attempt)
		}
		f.clock.Advance(time.Second << attempt) // past the backoff of this attempt, jitter included
	}
	if _, err := s.Once(ctx); err != nil {
		t.Fatal(err)
	}
	items := rcv.items()
	if len(items) != 1 || items[0]["resourceData"].(map[string]any)["id"] != c.ID || s.Stats.Retried.Load() != 2 {
		t.Fatalf("after two failures: %v, retried %d", items, s.Stats.Retried.Load())
	}

	// A receiver that never accepts: after RetryFor the notification is
	// dropped and "missed" goes to the lifecycle URL.
	rcv.mu.Lock()
	rcv.fail = []int{500, 500, 500, 500, 500, 500, 500, 500, 500, 500}
	rcv.mu.Unlock()
	s.RetryFor = time.Hour
	f.createContact(t, `{"givenName":"Alan"}`)
	for range 10 {
		if _, err := s.Once(ctx); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(15 * time.Minute)
	}
	lc := life.items()
	if len(lc) != 1 || lc[0]["lifecycleEvent"] != contactgraph.LifecycleMissed || lc[0]["subscriptionId"] != "sub-1" || lc[0]["resource"] != nil {
		t.Fatalf("lifecycle receiver got %v, want one missed", lc)
	}
	if s.Stats.Dropped.Load() != 1 {
		t.Fatalf("dropped %d", s.Stats.Dropped.Load())
	}
	if d, _ := f.store.OutboxDepth(ctx); d != 0 {
		t.Fatalf("outbox depth %d after the drop", d)
	}
}

// Senders sharing a store deliver each notification once while none
// fails, and a sender that dies holding a lease loses nothing.
func TestSendersShareTheOutbox(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t)
	f.subscribe(t, "sub-1", rcv.srv.URL, "")
	const n = 60
	for i := range n {
		f.createContact(t, `{"givenName":"G`+string(rune('A'+i%26))+`"}`)
	}
	// A sender claims a batch and dies before posting it.
	if _, err := f.store.ClaimNotifications(context.Background(), "dead", f.clock.Now(), time.Minute, 10); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, owner := range []string{"a", "b", "c"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := f.sender(owner)
			s.Batch = 5
			for {
				k, err := s.Once(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if k == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := len(rcv.items()); got != n-10 {
		t.Fatalf("delivered %d before the dead sender's lease ran out, want %d", got, n-10)
	}
	f.clock.Advance(2 * time.Minute)
	if _, err := f.sender("a").Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, it := range rcv.items() {
		seen[it["resourceData"].(map[string]any)["id"].(string)]++
	}
	if len(seen) != n {
		t.Fatalf("%d contacts notified, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("%s notified %d times", id, k)
		}
	}
}

func TestWakeRunsAtOnce(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t)
	f.subscribe(t, "sub-1", rcv.srv.URL, "")
	s := f.sender("a")
	s.Poll = time.Hour // only a wake-up can deliver in time
	f.store.SetWake(s.Wake)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	f.createContact(t, `{"givenName":"Ada"}`)
	deadline := time.Now().Add(10 * time.Second)
	for len(rcv.items()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if len(rcv.items()) != 1 {
		t.Fatalf("the commit's wake-up did not deliver: %v", rcv.items())
	}
}
