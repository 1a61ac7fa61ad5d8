package e2e

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph/client"
)

// Change notifications in the torture test: receivers in the test
// process (real HTTP on loopback) that fail some POSTs on purpose,
// subscriptions made through the API before the load, and at the end the
// check that every acknowledged write a subscription matched reached its
// receiver at least once (notifyledger_test.go derives what the ledger
// expects).

// Faults of the receivers and bounds of the check.
const (
	notifyTimeout = 500 * time.Millisecond // serve --notification-timeout
	notifyLease   = 2 * time.Second        // serve --notification-lease
	failPercent   = 15                     // POSTs answered 500
	latePercent   = 5                      // POSTs answered only after the sender gave up
	// maxStreak is how many POSTs in a row a receiver fails for one
	// notification: the next POST carrying it is accepted. It bounds the
	// sender's backoff (1 s doubling) so that the end of a long run does
	// not wait for a retry minutes away.
	maxStreak = 3
	// holdCap bounds a held answer: the sender gives up after
	// notifyTimeout, so reaching it is an error.
	holdCap    = 10 * time.Second
	notifyWait = 2 * time.Minute // for the last notifications after the load
)

// notifyServeArgs are the serve flags of a torture server: receivers on
// loopback over http, a short POST timeout so that a held answer fails,
// and a short lease so that the claims of a killed process come back soon.
var notifyServeArgs = []string{"--allow-http-notifications", "--notification-allow", "127.0.0.1",
	"--notification-timeout", notifyTimeout.String(), "--notification-lease", notifyLease.String()}

// noteKey names the notifications of one change type of one object for
// one subscription. The payload carries no revision, so the notifications
// of two updates of an object have the same key: the check counts them.
type noteKey struct {
	sub    string // subscriptionId
	change string // changeType
	id     string // resourceData.id
}

func (k noteKey) String() string { return k.change + " " + k.id + " for subscription " + k.sub }

// fate is how a receiver answers a notification POST.
type fate int

const (
	accept fate = iota // 202 at once: delivered
	refuse             // 500: failed
	hold               // 202 after the sender gave up waiting: failed
)

// errRefused makes client.Receiver answer 500.
var errRefused = errors.New("e2e: this receiver refuses the POST")

// receiver is an HTTP server in the test process serving the
// notificationUrl of some subscriptions, one path each, through a
// client.Receiver (which answers the validation handshake and checks the
// subscription's clientState). It answers a notification POST with 202
// most of the time, 500 sometimes, and sometimes holds it until the
// sender gives up, all by its seeded random choices. It is safe for
// concurrent use.
type receiver struct {
	name    string
	srv     *httptest.Server
	mux     *http.ServeMux
	quit    chan struct{} // closed at the end of the test: held answers go
	arrived chan struct{} // signalled after every accepted POST (shared)

	mu        sync.Mutex
	rnd       *rand.Rand
	delivered map[noteKey]int // items of POSTs answered 202 in time
	failed    map[noteKey]int // items of POSTs answered 500 or too late
	streak    map[noteKey]int // POSTs failed in a row for a key
	stats     receiverStats
	problems  problemList
}

// receiverStats counts a receiver's POSTs by answer.
type receiverStats struct {
	posts, accepted, refused, held int
	items, failedItems             int
	heldTooLong                    int // held past holdCap: the sender kept waiting
}

func (s *receiverStats) add(o receiverStats) {
	s.posts += o.posts
	s.accepted += o.accepted
	s.refused += o.refused
	s.held += o.held
	s.items += o.items
	s.failedItems += o.failedItems
	s.heldTooLong += o.heldTooLong
}

// newReceiver starts a receiver, closed when the test ends.
func newReceiver(t *testing.T, name string, seed uint64, arrived chan struct{}) *receiver {
	rv := &receiver{name: name, mux: http.NewServeMux(), quit: make(chan struct{}), arrived: arrived,
		rnd: rand.New(rand.NewPCG(seed, 11)), delivered: map[noteKey]int{}, failed: map[noteKey]int{}, streak: map[noteKey]int{}}
	rv.srv = httptest.NewServer(rv.mux)
	t.Cleanup(func() {
		close(rv.quit)
		rv.srv.Close()
	})
	return rv
}

// serve registers w's path with a client.Receiver for w's clientState.
func (rv *receiver) serve(w *watch) {
	w.rc = &client.Receiver{ClientState: w.clientState, Handle: func(ctx context.Context, n client.Notifications) error {
		return rv.handle(ctx, w, n.Value)
	}}
	rv.mux.Handle(w.path, w.rc)
}

// handle answers one notification POST for w by the receiver's choice.
func (rv *receiver) handle(ctx context.Context, w *watch, items []client.ChangeNotification) error {
	switch rv.decide(w, items) {
	case refuse:
		return errRefused
	case hold:
		timer := time.NewTimer(holdCap)
		defer timer.Stop()
		select {
		case <-ctx.Done(): // the sender gave up: the POST failed
		case <-rv.quit:
			return errRefused
		case <-timer.C:
			rv.heldTooLong(w, items)
		}
	}
	return nil
}

// decide chooses how to answer a POST of items and records them: as
// delivered when it is accepted, else as failed. A POST carrying a
// notification that failed maxStreak times in a row is accepted.
func (rv *receiver) decide(w *watch, items []client.ChangeNotification) fate {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	keys := make([]noteKey, len(items))
	for i, it := range items {
		keys[i] = rv.check(w, it)
	}
	f := accept
	switch x := rv.rnd.IntN(100); {
	case x < failPercent:
		f = refuse
	case x < failPercent+latePercent:
		f = hold
	}
	if f != accept && slices.ContainsFunc(keys, func(k noteKey) bool { return rv.streak[k] >= maxStreak }) {
		f = accept
	}
	rv.stats.posts++
	rv.stats.items += len(keys)
	switch f {
	case accept:
		rv.stats.accepted++
	case refuse:
		rv.stats.refused++
	case hold:
		rv.stats.held++
	}
	for _, k := range keys {
		if f == accept {
			rv.delivered[k]++
			delete(rv.streak, k)
		} else {
			rv.failed[k]++
			rv.streak[k]++
			rv.stats.failedItems++
		}
	}
	if f == accept {
		select {
		case rv.arrived <- struct{}{}:
		default:
		}
	}
	return f
}

// heldTooLong records a held POST whose sender still waited after
// holdCap: its 202 is taken, so its items count as delivered.
func (rv *receiver) heldTooLong(w *watch, items []client.ChangeNotification) {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	rv.stats.heldTooLong++
	rv.problem("%s: a POST held for %v was still waited for, although serve runs with --notification-timeout %v", w.name, holdCap, notifyTimeout)
	for _, it := range items {
		k := noteKey{it.SubscriptionID, it.ChangeType, resourceID(it)}
		rv.failed[k]--
		rv.stats.failedItems--
		rv.delivered[k]++
	}
}

// check checks an item's shape against w and returns its key. rv.mu is
// held.
func (rv *receiver) check(w *watch, it client.ChangeNotification) noteKey {
	id := resourceID(it)
	k := noteKey{it.SubscriptionID, it.ChangeType, id}
	switch {
	case it.LifecycleEvent != "":
		rv.problem("%s: a lifecycle notification %q (the subscription has no lifecycleNotificationUrl)", w.name, it.LifecycleEvent)
	case it.SubscriptionID != w.id:
		rv.problem("%s: an item of subscription %s on the URL of subscription %s", w.name, it.SubscriptionID, w.id)
	case it.ChangeType != "created" && it.ChangeType != "updated" && it.ChangeType != "deleted":
		rv.problem("%s: changeType %q", w.name, it.ChangeType)
	case id == "" || it.Resource != w.resPrefix+id || it.ResourceData.ODataID != it.Resource || it.ResourceData.ODataType != w.odataType:
		rv.problem("%s: item %+v, resourceData %+v: want resource %s{id} and @odata.type %s", w.name, it, it.ResourceData, w.resPrefix, w.odataType)
	case it.TenantID == "" || it.SubscriptionExpirationDateTime.IsZero():
		rv.problem("%s: item %+v without tenantId or subscriptionExpirationDateTime", w.name, it)
	}
	return k
}

// resourceID returns an item's resourceData.id, or "".
func resourceID(it client.ChangeNotification) string {
	if it.ResourceData == nil {
		return ""
	}
	return it.ResourceData.ID
}

// problem records something a receiver must not see. rv.mu is held.
func (rv *receiver) problem(format string, args ...any) {
	rv.problems.add("receiver "+rv.name+": ", format, args...)
}

// watch is one subscription of a torture run and where it is delivered.
type watch struct {
	name        string
	resource    string // as created, such as me/contactFolders/{id}/contacts
	kind        kind
	folder      string // contacts: the watched folder
	clientState string
	resPrefix   string // the items' resource before the object's id
	odataType   string // the items' resourceData @odata.type
	recv        *receiver
	path        string // the notificationUrl's path on recv
	rc          *client.Receiver
	id          string // the subscription's id; written before the load, under recv.mu
}

// notifications are the subscriptions of a torture run and their
// receivers.
type notifications struct {
	receivers []*receiver
	watches   []*watch
	byFolder  map[string]*watch // contact subscriptions by folder
	folders   *watch            // me/contactFolders: every folder of the mailbox
	org       *watch            // contacts: the tenant's org contacts
	arrived   chan struct{}
	start     int64 // the ledger's position once the subscriptions were made
}

// numReceivers is how many receivers the subscriptions are spread over.
const numReceivers = 3

// newNotifications starts the receivers and subscribes, through the API,
// to the contacts of every stable folder, to the mailbox's folders and to
// the org contacts, with every change type and an expiration an hour past
// the load's end; a's token is upn's. Call it before the writers start.
func newNotifications(t *testing.T, a *api, f *fixture, upn string, seed uint64, load time.Duration) *notifications {
	t.Helper()
	ctx := context.Background()
	r, err := a.do(ctx, http.MethodGet, "/users/"+upn, nil)
	if err != nil {
		t.Fatal(err)
	}
	me, err := r.want(http.StatusOK)
	if err != nil {
		t.Fatal(err)
	}
	user := str(me, "id")
	n := &notifications{byFolder: map[string]*watch{}, arrived: make(chan struct{}, 1)}
	for i := 0; i < numReceivers; i++ {
		n.receivers = append(n.receivers, newReceiver(t, fmt.Sprintf("%c", 'A'+i), seed+300+uint64(i), n.arrived))
	}
	contacts := func(name, resource, folder string) *watch {
		return &watch{name: name, resource: resource, kind: kContact, folder: folder,
			resPrefix: "Users/" + user + "/Contacts/", odataType: "#Microsoft.Graph.Contact"}
	}
	for i, folder := range f.stable {
		w := contacts(fmt.Sprintf("contacts of folder %d", i), "me/contactFolders/"+folder+"/contacts", folder)
		if folder == f.root {
			w = contacts("contacts of the default folder", "me/contacts", folder)
		}
		n.byFolder[folder] = w
		n.watches = append(n.watches, w)
	}
	n.folders = &watch{name: "every folder", resource: "me/contactFolders", kind: kFolder,
		resPrefix: "Users/" + user + "/ContactFolders/", odataType: "#Microsoft.Graph.ContactFolder"}
	n.org = &watch{name: "org contacts", resource: "contacts", kind: kOrg, resPrefix: "Contacts/", odataType: "#Microsoft.Graph.OrgContact"}
	n.watches = append(n.watches, n.folders, n.org)
	expires := time.Now().Add(load + time.Hour).UTC().Format(time.RFC3339)
	for i, w := range n.watches {
		w.recv, w.path, w.clientState = n.receivers[i%numReceivers], fmt.Sprintf("/notify/%d", i), fmt.Sprintf("torture-%d-%d", seed, i)
		w.recv.serve(w)
		body := object{"changeType": jsonOf("created,updated,deleted"), "notificationUrl": jsonOf(w.recv.srv.URL + w.path),
			"resource": jsonOf(w.resource), "expirationDateTime": jsonOf(expires), "clientState": jsonOf(w.clientState)}
		r, err := a.do(ctx, http.MethodPost, "/subscriptions", body)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := r.want(http.StatusCreated)
		if err != nil {
			t.Fatalf("subscribe to %s: %v", w.resource, err)
		}
		if str(doc, "resource") != w.resource || str(doc, "changeType") != "created,updated,deleted" || string(doc["clientState"]) != "null" || str(doc, "id") == "" {
			t.Fatalf("subscribe to %s: the answer does not echo it (clientState must be null):\n%s", w.resource, r)
		}
		w.recv.mu.Lock()
		w.id = str(doc, "id")
		w.recv.mu.Unlock()
	}
	n.start = f.ledger.position()
	return n
}

// delivered sums the receivers' delivered items by key.
func (n *notifications) delivered() map[noteKey]int {
	out := map[noteKey]int{}
	for _, rv := range n.receivers {
		rv.mu.Lock()
		for k, c := range rv.delivered {
			out[k] += c
		}
		rv.mu.Unlock()
	}
	return out
}

// missing returns the keys of exp.want with fewer deliveries than
// expected, sorted, and what was delivered of each.
func (n *notifications) missing(exp *expectation) ([]noteKey, map[noteKey]int) {
	got := n.delivered()
	var out []noteKey
	for k, c := range exp.want {
		if got[k] < c {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b noteKey) int { return strings.Compare(a.sub+a.id+a.change, b.sub+b.id+b.change) })
	return out, got
}

// watchOf returns the subscription of an id.
func (n *notifications) watchOf(id string) *watch {
	for _, w := range n.watches {
		if w.id == id {
			return w
		}
	}
	return nil
}

// check waits, up to notifyWait, until every notification the ledger
// expects has been delivered, reports the missing ones (the first 20)
// and what the receivers saw amiss, and logs the summary: expected,
// delivered, duplicates and failed POSTs. It returns the summary's
// figures in a few words. Call it after settle.
func (n *notifications) check(t *testing.T, l *ledger) string {
	t.Helper()
	exp := n.expect(l)
	began := time.Now()
	deadline := time.NewTimer(notifyWait)
	defer deadline.Stop()
	var (
		missing []noteKey
		got     map[noteKey]int
	)
wait:
	for {
		if missing, got = n.missing(exp); len(missing) == 0 {
			break
		}
		select {
		case <-n.arrived:
		case <-deadline.C:
			break wait
		}
	}
	waited := time.Since(began)
	if len(missing) > 0 {
		var b strings.Builder
		for i, k := range missing {
			if i == 20 {
				fmt.Fprintf(&b, "... and %d more\n", len(missing)-20)
				break
			}
			w := n.watchOf(k.sub)
			fmt.Fprintf(&b, "%s (%s): delivered %d times, want %d (%d more POSTs that failed carried it)\n", k, w.name, got[k], exp.want[k], n.failedOf(k))
			if i < 3 {
				fmt.Fprintf(&b, "  writes of %s %s:\n%s", w.kind, k.id, indent(l.describe(k.id)))
			}
		}
		t.Errorf("notifications lost: %d of %d expected (subscription, object, change type) keys were not delivered often enough within %v after the load:\n%s",
			len(missing), len(exp.want), notifyWait, b.String())
	}
	var st receiverStats
	for _, rv := range n.receivers {
		rv.mu.Lock()
		st.add(rv.stats)
		rv.problems.report(t, "receiver "+rv.name)
		rv.mu.Unlock()
	}
	for _, w := range n.watches {
		if c := w.rc.Rejected.Load(); c > 0 {
			t.Errorf("%s: %d items with a wrong clientState", w.name, c)
		}
	}
	sum := exp.account(got, func(sub string) kind {
		if w := n.watchOf(sub); w != nil {
			return w.kind
		}
		return "unknown subscription's object"
	})
	for kind, c := range sum.strays {
		if l.lostCreates(kind) == 0 {
			t.Errorf("%d notifications of %ss that no write created (and no create had an unknown outcome)", c, kind)
		}
	}
	t.Logf("notification summary: %d subscriptions on %d receivers; %d notifications expected from %d acknowledged writes (%d acknowledged writes not checked: their object's state was unknown after a write of unknown outcome); %d delivered (in POSTs answered 202), %v of waiting after the final state was read, %d missing; duplicates: %d beyond every write, %d more that writes of unknown outcome may explain, %d of objects that creates of unknown outcome made; receivers saw %d POSTs: %d answered 500 and %d held past the sender's timeout, carrying %d items",
		len(n.watches), len(n.receivers), exp.total(), exp.writes, exp.unchecked, sum.delivered, waited.Round(time.Millisecond), len(missing),
		sum.duplicates, sum.explained, sum.strayTotal(), st.posts, st.refused, st.held, st.failedItems)
	return fmt.Sprintf("%d notifications expected, %d delivered (%d duplicates), %d missing, through %d failed POSTs", exp.total(), sum.delivered, sum.duplicates+sum.explained+sum.strayTotal(), len(missing), st.refused+st.held)
}

// failedOf returns how many failed POSTs carried k.
func (n *notifications) failedOf(k noteKey) int {
	c := 0
	for _, rv := range n.receivers {
		rv.mu.Lock()
		c += rv.failed[k]
		rv.mu.Unlock()
	}
	return c
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}
