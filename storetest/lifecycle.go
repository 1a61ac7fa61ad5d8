package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

const allChanges = contactgraph.ChangeCreated | contactgraph.ChangeUpdated | contactgraph.ChangeDeleted

// ackAll claims every due entry, checks the lines against want, and
// acknowledges them.
func ackAll(t *testing.T, s contactgraph.Store, clock *Clock, want ...string) {
	t.Helper()
	lines, ns := claimAll(t, s, clock, "acker")
	slices.Sort(want)
	if !slices.Equal(lines, want) {
		t.Fatalf("claimed\n %v\nwant\n %v", lines, want)
	}
	if err := s.AckNotifications(ctx(), "acker", keysOf(ns)); err != nil {
		t.Fatal(err)
	}
}

// EnqueueLifecycle records any of the three events now; subscriptionRemoved
// also ends the subscription.
func testLifecycleNow(t *testing.T, s contactgraph.Store, clock *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	w := contactgraph.Watched{Collection: "contacts", Mailbox: mb, FolderID: mb.RootID}
	life := newSubscription("life", w, allChanges, clock)
	life.LifecycleURL = "https://receiver.example/lifecycle"
	must(s.CreateSubscription(ctx(), life))
	must(s.CreateSubscription(ctx(), newSubscription("plain", w, allChanges, clock)))

	wantCode(t, s.EnqueueLifecycle(ctx(), tenant, "nope", contactgraph.LifecycleMissed, clock.Now()), contactgraph.ENotFound)
	wantCode(t, s.EnqueueLifecycle(ctx(), "another-tenant", "life", contactgraph.LifecycleMissed, clock.Now()), contactgraph.ENotFound)
	wantCode(t, s.EnqueueLifecycle(ctx(), tenant, "life", "deleted", clock.Now()), contactgraph.EInvalid)
	wantCode(t, s.EnqueueLifecycle(ctx(), tenant, "life", "", clock.Now()), contactgraph.EInvalid)
	wantCode(t, s.EnqueueLifecycle(ctx(), tenant, "plain", contactgraph.LifecycleMissed, clock.Now()), contactgraph.EInvalid)
	if n := must(s.OutboxDepth(ctx())); n != 0 {
		t.Fatalf("refused lifecycle events left %d entries", n)
	}

	for _, ev := range []string{contactgraph.LifecycleMissed, contactgraph.LifecycleReauthorizationRequired} {
		if err := s.EnqueueLifecycle(ctx(), tenant, "life", ev, clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	ackAll(t, s, clock, "life missed ", "life reauthorizationRequired ")
	if must(s.Subscription(ctx(), tenant, "life")).Expires.Before(clock.Now()) {
		t.Fatal("missed or reauthorizationRequired ended the subscription")
	}

	// subscriptionRemoved: pending changes of the subscription go, those
	// of others stay; it expires now and records nothing more.
	c := must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"Ada"}`)))
	clock.Advance(time.Second)
	if err := s.EnqueueLifecycle(ctx(), tenant, "life", contactgraph.LifecycleSubscriptionRemoved, clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got := must(s.Subscription(ctx(), tenant, "life")).Expires; !got.Equal(clock.Now()) {
		t.Fatalf("removed subscription expires %v, want now (%v)", got, clock.Now())
	}
	must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"Alan"}`)))
	lines, ns := claimAll(t, s, clock, "a")
	if len(lines) != 3 || !slices.Contains(lines, "life subscriptionRemoved ") || !slices.Contains(lines, "plain 1 "+c.ID) {
		t.Fatalf("after subscriptionRemoved: %v, want it and plain's two creations", lines)
	}
	if n := must(s.RemoveExpiredSubscriptions(ctx(), clock.Now())); n != 0 {
		t.Fatal("a removed subscription went before its subscriptionRemoved was delivered")
	}
	if err := s.AckNotifications(ctx(), "a", keysOf(ns)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.EnqueueLifecycle(ctx(), tenant, "life", contactgraph.LifecycleMissed, clock.Now()), contactgraph.ENotFound)
	if n := must(s.RemoveExpiredSubscriptions(ctx(), clock.Now())); n != 1 {
		t.Fatalf("removed %d after the notice was delivered, want 1", n)
	}
}

// RequestReauthorization: notices from lead before the token's expiry,
// one per period, none while one waits; change notifications of an expired
// token are held until a renewal, which also makes a notice due at once.
func testReauthorization(t *testing.T, s contactgraph.Store, clock *Clock) {
	const lead, every = time.Hour, 15 * time.Minute
	mb := mailbox(t, s, "alice@contoso.com")
	w := contactgraph.Watched{Collection: "contacts", Mailbox: mb, FolderID: mb.RootID}
	t0 := clock.Now()
	for _, sub := range []struct {
		id        string
		lifecycle bool
		token     time.Time
		expires   time.Time
	}{
		{"near", true, t0.Add(30 * time.Minute), time.Time{}},
		{"far", true, t0.Add(90 * time.Minute), time.Time{}},
		{"nolife", false, t0.Add(30 * time.Minute), time.Time{}},
		{"unknown", true, time.Time{}, time.Time{}},
		{"over", true, t0.Add(30 * time.Minute), t0},
	} {
		n := newSubscription(sub.id, w, allChanges, clock)
		n.TokenExpires = sub.token
		if sub.lifecycle {
			n.LifecycleURL = "https://receiver.example/lifecycle"
		}
		if !sub.expires.IsZero() {
			n.Expires = sub.expires
		}
		must(s.CreateSubscription(ctx(), n))
	}
	reauth := func(want int) {
		t.Helper()
		if n := must(s.RequestReauthorization(ctx(), clock.Now(), lead, every)); n != want {
			t.Fatalf("at t0+%v: %d reauthorization notices, want %d", clock.Now().Sub(t0), n, want)
		}
	}
	const notice = " reauthorizationRequired "

	reauth(1) // near: its token expires within lead
	ackAll(t, s, clock, "near"+notice)
	reauth(0) // asked within every
	clock.Advance(every)
	reauth(1) // near again; left undelivered
	clock.Advance(every)
	reauth(1) // far's token is now within lead; near still has one waiting
	ackAll(t, s, clock, "near"+notice, "far"+notice)

	// near's and nolife's tokens expire now: their changes are held, the
	// others' are delivered.
	c := must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"Ada"}`)))
	ackAll(t, s, clock, "far 1 "+c.ID, "unknown 1 "+c.ID)
	if n := must(s.OutboxDepth(ctx())); n != 2 {
		t.Fatalf("outbox depth %d, want near's and nolife's held changes", n)
	}
	clock.Advance(every)
	reauth(2) // notices go on after the token expired
	ackAll(t, s, clock, "near"+notice, "far"+notice)

	// A renewal with a new token releases what was held, and makes a
	// notice due at once when the new token is near its expiry too.
	must(s.RenewSubscription(ctx(), tenant, "near", time.Time{}, clock.Now().Add(30*time.Minute)))
	ackAll(t, s, clock, "near 1 "+c.ID)
	reauth(1)
	ackAll(t, s, clock, "near"+notice)

	// A subscription that expires with held changes takes them with it.
	clock.Advance(25 * time.Hour)
	reauth(0)
	must(s.RemoveExpiredSubscriptions(ctx(), clock.Now()))
	if n := must(s.OutboxDepth(ctx())); n != 0 {
		t.Fatalf("outbox depth %d after every subscription expired", n)
	}
	wantCode(t, func() error {
		_, err := s.RenewSubscription(ctx(), tenant, "near", time.Time{}, time.Time{})
		return err
	}(), contactgraph.ENotFound)
}

// Replicas sweeping at once record one notice.
func testReauthorizationConcurrent(t *testing.T, s contactgraph.Store, clock *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	sub := newSubscription("sub", contactgraph.Watched{Collection: "contacts", Mailbox: mb, FolderID: mb.RootID}, allChanges, clock)
	sub.LifecycleURL, sub.TokenExpires = "https://receiver.example/lifecycle", clock.Now().Add(time.Minute)
	must(s.CreateSubscription(ctx(), sub))
	const sweepers = 8
	var wg sync.WaitGroup
	counts := make([]int, sweepers)
	errs := make([]error, sweepers)
	for i := range sweepers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i], errs[i] = s.RequestReauthorization(ctx(), clock.Now().Add(time.Duration(i)*time.Millisecond), time.Hour, 15*time.Minute)
		}()
	}
	wg.Wait()
	total := 0
	for i := range sweepers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		total += counts[i]
	}
	if total != 1 {
		t.Fatalf("%d concurrent sweeps recorded %d notices, want 1", sweepers, total)
	}
	if n := must(s.OutboxDepth(ctx())); n != 1 {
		t.Fatalf("outbox depth %d, want one notice", n)
	}
}
