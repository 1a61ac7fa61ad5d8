package notify

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

// waitUntil waits for cond; it fails the test after 10 seconds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// subscribeToken creates a subscription of the fixture's default folder
// whose token expires at token, expiring itself at expires.
func (f *fixture) subscribeToken(t *testing.T, id, url, lifecycle string, token, expires time.Time) {
	t.Helper()
	_, err := f.store.CreateSubscription(context.Background(), contactgraph.Subscription{ID: id, TenantID: f.mb.TenantID, AppID: "app",
		Watched: contactgraph.Watched{Collection: "contacts", Mailbox: f.mb, FolderID: f.mb.RootID}, Resource: "me/contacts",
		Changes: contactgraph.ChangeCreated, NotificationURL: url, LifecycleURL: lifecycle, Expires: expires, TokenExpires: token})
	if err != nil {
		t.Fatal(err)
	}
}

func events(r *receiver) []string {
	var out []string
	for _, it := range r.items() {
		out = append(out, it["subscriptionId"].(string)+" "+it["lifecycleEvent"].(string))
	}
	return out
}

// Sweep removes expired subscriptions and asks for reauthorization once a
// period, at the sender's clock.
func TestSweep(t *testing.T) {
	f := newFixture(t)
	rcv, life := newReceiver(t), newReceiver(t)
	now := f.clock.Now()
	f.subscribeToken(t, "short", rcv.srv.URL, "", time.Time{}, now.Add(time.Minute))
	f.subscribeToken(t, "token", rcv.srv.URL, life.srv.URL, now.Add(30*time.Minute), now.Add(24*time.Hour))
	s := f.sender("a")
	ctx := context.Background()
	if err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if got := events(life); len(got) != 1 || got[0] != "token "+contactgraph.LifecycleReauthorizationRequired {
		t.Fatalf("lifecycle receiver got %v, want one reauthorizationRequired", got)
	}
	if _, err := f.store.Subscription(ctx, f.mb.TenantID, "short"); err != nil {
		t.Fatalf("a subscription not expired yet was swept: %v", err)
	}

	f.clock.Advance(2 * time.Minute)
	if err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Subscription(ctx, f.mb.TenantID, "short"); contactgraph.ErrorCode(err) != contactgraph.ENotFound {
		t.Fatalf("the expired subscription is still there: %v", err)
	}
	if d, _ := f.store.OutboxDepth(ctx); d != 0 {
		t.Fatalf("outbox depth %d: asked again within %v", d, ReauthorizationEvery)
	}
	f.clock.Advance(ReauthorizationEvery)
	if err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if d, _ := f.store.OutboxDepth(ctx); d != 1 {
		t.Fatalf("outbox depth %d, want the second notice", d)
	}
}

// observed passes calls to a real store and records the sweeps and the
// clock of each claim.
type observed struct {
	contactgraph.SubscriptionStore
	mu     sync.Mutex
	sweeps int
	claims []time.Time
}

func (o *observed) RemoveExpiredSubscriptions(ctx context.Context, now time.Time) (int, error) {
	o.mu.Lock()
	o.sweeps++
	o.mu.Unlock()
	return o.SubscriptionStore.RemoveExpiredSubscriptions(ctx, now)
}

func (o *observed) ClaimNotifications(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]contactgraph.Notification, error) {
	o.mu.Lock()
	o.claims = append(o.claims, now)
	o.mu.Unlock()
	return o.SubscriptionStore.ClaimNotifications(ctx, owner, now, lease, limit)
}

func (o *observed) sweeps0() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.sweeps
}

func (o *observed) claimedAt(at time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.claims {
		if c.Equal(at) {
			return true
		}
	}
	return false
}

// Run sweeps on its first pass and then whenever SweepEvery has passed on
// its clock, not at every pass; the notices it records are delivered.
func TestRunSweepsWhenDue(t *testing.T) {
	f := newFixture(t)
	rcv, life := newReceiver(t), newReceiver(t)
	t0 := f.clock.Now()
	f.subscribeToken(t, "token", rcv.srv.URL, life.srv.URL, t0.Add(30*time.Minute), t0.Add(24*time.Hour))
	obs := &observed{SubscriptionStore: f.store}
	s := f.sender("a")
	s.Store, s.Poll = obs, time.Hour // only wake-ups make Run pass
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	waitUntil(t, "the first sweep's notice to be delivered", func() bool { return len(life.items()) == 1 })
	if n := obs.sweeps0(); n != 1 {
		t.Fatalf("%d sweeps on the first pass", n)
	}
	f.clock.Advance(30 * time.Second)
	s.Wake()
	waitUntil(t, "a pass at t0+30s", func() bool { return obs.claimedAt(t0.Add(30 * time.Second)) })
	if n := obs.sweeps0(); n != 1 {
		t.Fatalf("%d sweeps before SweepEvery passed, want 1", n)
	}
	f.clock.Advance(30 * time.Second)
	s.Wake()
	waitUntil(t, "a pass at t0+60s", func() bool { return obs.claimedAt(t0.Add(time.Minute)) })
	if n := obs.sweeps0(); n != 2 {
		t.Fatalf("%d sweeps once SweepEvery passed, want 2", n)
	}
	if got := events(life); len(got) != 1 {
		t.Fatalf("lifecycle receiver got %v: a second notice within %v", got, ReauthorizationEvery)
	}
}
