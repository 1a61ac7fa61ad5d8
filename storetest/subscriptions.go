package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

func newSubscription(id string, w contactgraph.Watched, changes contactgraph.ChangeType, clock *Clock) contactgraph.Subscription {
	return contactgraph.Subscription{ID: id, TenantID: tenant, AppID: "app-1", CreatorID: "app-1", Watched: w,
		Resource: "me/contacts", Changes: changes, NotificationURL: "https://receiver.example/hook", ClientState: "s3cret",
		Expires: clock.Now().Add(24 * time.Hour), Created: clock.Now()}
}

// claimAll claims every due entry and returns "<sub> <change|event> <object>" lines, sorted.
func claimAll(t *testing.T, s contactgraph.Store, clock *Clock, owner string) ([]string, []contactgraph.Notification) {
	t.Helper()
	ns := must(s.ClaimNotifications(ctx(), owner, clock.Now(), time.Minute, 1000))
	var out []string
	for _, n := range ns {
		what := n.Lifecycle
		if what == "" {
			what = fmt.Sprint(n.Change)
		}
		out = append(out, n.Key.SubscriptionID+" "+what+" "+n.ObjectID)
		if n.Subscription.ID != n.Key.SubscriptionID {
			t.Errorf("claimed entry of %s carries subscription %q", n.Key.SubscriptionID, n.Subscription.ID)
		}
	}
	slices.Sort(out)
	return out, ns
}

func keysOf(ns []contactgraph.Notification) []contactgraph.NotificationKey {
	var ks []contactgraph.NotificationKey
	for _, n := range ns {
		ks = append(ks, n.Key)
	}
	return ks
}

func testSubscriptions(t *testing.T, s contactgraph.Store, clock *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	other := mailbox(t, s, "bob@contoso.com")
	side := must(s.CreateFolder(ctx(), mb, "", contactgraph.FolderInput{DisplayName: str("Side")}))
	all := contactgraph.ChangeCreated | contactgraph.ChangeUpdated | contactgraph.ChangeDeleted

	// CRUD and scoping.
	rich := newSubscription("sub-root", contactgraph.Watched{Collection: "contacts", Mailbox: mb, FolderID: mb.RootID}, all, clock)
	rich.IncludeResourceData, rich.EncryptionCertificate, rich.EncryptionCertificateID = true, "MIIBcert", "cert-1"
	rich.Select = []string{"id", "givenName", "surname"}
	root := must(s.CreateSubscription(ctx(), rich))
	must(s.CreateSubscription(ctx(), newSubscription("sub-side-del", contactgraph.Watched{Collection: "contacts", Mailbox: mb, FolderID: side.ID}, contactgraph.ChangeDeleted|contactgraph.ChangeCreated, clock)))
	must(s.CreateSubscription(ctx(), newSubscription("sub-bob", contactgraph.Watched{Collection: "contacts", Mailbox: other, FolderID: other.RootID}, all, clock)))
	must(s.CreateSubscription(ctx(), newSubscription("sub-folders", contactgraph.Watched{Collection: "folders", Mailbox: mb}, all, clock)))
	got := must(s.Subscription(ctx(), tenant, "sub-root"))
	if got.ClientState != "s3cret" || got.Watched != root.Watched || !got.Expires.Equal(root.Expires) ||
		!got.IncludeResourceData || got.EncryptionCertificate != "MIIBcert" || got.EncryptionCertificateID != "cert-1" ||
		!slices.Equal(got.Select, rich.Select) {
		t.Fatalf("subscription read back as %+v", got)
	}
	_, err := s.Subscription(ctx(), "another-tenant", "sub-root")
	wantCode(t, err, contactgraph.ENotFound)
	_, err = s.CreateSubscription(ctx(), root)
	wantCode(t, err, contactgraph.EConflict)
	if l := must(s.ListSubscriptions(ctx(), tenant, "app-1", "", contactgraph.Page{Limit: 10})); len(l) != 4 {
		t.Fatalf("list: %d subscriptions, want 4", len(l))
	}
	if l := must(s.ListSubscriptions(ctx(), tenant, "app-2", "", contactgraph.Page{Limit: 10})); len(l) != 0 {
		t.Fatalf("another app lists %d subscriptions", len(l))
	}

	// Each write of a watched collection records its notifications, with
	// the change type as the collection sees it; nothing else is recorded.
	c := must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"Ada"}`)))
	must(s.UpdateContact(ctx(), mb, c.ID, contactIn(t, `{"jobTitle":"Analyst"}`), ""))
	must(s.UpdateContact(ctx(), mb, c.ID, contactIn(t, `{"parentFolderId":"`+side.ID+`"}`), ""))
	if err := s.DeleteContact(ctx(), mb, c.ID, ""); err != nil {
		t.Fatal(err)
	}
	later := must(s.CreateFolder(ctx(), mb, "", contactgraph.FolderInput{DisplayName: str("Later")}))
	if n := must(s.OutboxDepth(ctx())); n != 6 {
		t.Errorf("outbox depth %d, want 6 (create, update, move out, move in, delete, folder create)", n)
	}
	lines, ns := claimAll(t, s, clock, "sender-a")
	want := []string{
		"sub-folders 1 " + later.ID,
		"sub-root 1 " + c.ID, "sub-root 2 " + c.ID, "sub-root 4 " + c.ID,
		"sub-side-del 1 " + c.ID, "sub-side-del 4 " + c.ID,
	}
	slices.Sort(want)
	if !slices.Equal(lines, want) {
		t.Fatalf("claimed\n %v\nwant\n %v", lines, want)
	}
	for _, n := range ns {
		if n.Key.SubscriptionID == "sub-root" && (!n.Subscription.IncludeResourceData || !slices.Equal(n.Subscription.Select, rich.Select)) {
			t.Fatalf("a claimed entry carries its subscription as %+v", n.Subscription)
		}
	}
	// Leased entries are not claimed twice; acked ones are gone, retried
	// ones come back when due, with their attempt counted.
	if again, _ := claimAll(t, s, clock, "sender-b"); len(again) != 0 {
		t.Fatalf("leased entries claimed again: %v", again)
	}
	if err := s.AckNotifications(ctx(), "sender-b", keysOf(ns)); err != nil {
		t.Fatal(err)
	}
	if n := must(s.OutboxDepth(ctx())); n != 6 {
		t.Fatalf("another sender's ack removed entries: depth %d", n)
	}
	if err := s.AckNotifications(ctx(), "sender-a", keysOf(ns[:3])); err != nil {
		t.Fatal(err)
	}
	if err := s.RetryNotifications(ctx(), "sender-a", keysOf(ns[3:]), clock.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if again, _ := claimAll(t, s, clock, "sender-b"); len(again) != 0 {
		t.Fatalf("entries claimed before they are due: %v", again)
	}
	clock.Advance(time.Minute)
	lines, ns = claimAll(t, s, clock, "sender-b")
	if len(lines) != 3 || ns[0].Attempts != 1 {
		t.Fatalf("retried entries: %v (attempts %d), want 3 with one attempt", lines, ns[0].Attempts)
	}
	// A lease that runs out makes an entry claimable again (a dead sender).
	clock.Advance(2 * time.Minute)
	lines, ns = claimAll(t, s, clock, "sender-c")
	if len(lines) != 3 {
		t.Fatalf("after the lease ran out: %v", lines)
	}
	// A dropped entry raises "missed" when the subscription has a lifecycle URL.
	lc := newSubscription("sub-lc", contactgraph.Watched{Collection: "contacts", Mailbox: mb, FolderID: mb.RootID}, all, clock)
	lc.LifecycleURL = "https://receiver.example/lifecycle"
	must(s.CreateSubscription(ctx(), lc))
	if err := s.AckNotifications(ctx(), "sender-c", keysOf(ns)); err != nil {
		t.Fatal(err)
	}
	must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"Alan"}`)))
	lines, ns = claimAll(t, s, clock, "sender-c")
	if len(lines) != 2 {
		t.Fatalf("two subscriptions of the default folder: %v", lines)
	}
	if err := s.DropNotifications(ctx(), "sender-c", keysOf(ns), clock.Now()); err != nil {
		t.Fatal(err)
	}
	lines, ns = claimAll(t, s, clock, "sender-c")
	if len(lines) != 1 || ns[0].Lifecycle != contactgraph.LifecycleMissed || ns[0].Key.SubscriptionID != "sub-lc" {
		t.Fatalf("after a drop: %v, want one missed of sub-lc", lines)
	}
	if err := s.AckNotifications(ctx(), "sender-c", keysOf(ns)); err != nil {
		t.Fatal(err)
	}

	// Renewal, expiry and deletion.
	r := must(s.RenewSubscription(ctx(), tenant, "sub-root", clock.Now().Add(48*time.Hour), time.Time{}))
	if !r.Expires.Equal(clock.Now().Add(48*time.Hour)) || !slices.Equal(r.Select, rich.Select) || r.EncryptionCertificateID != "cert-1" {
		t.Fatalf("renewed to %v, %+v", r.Expires, r)
	}
	clock.Advance(25 * time.Hour)
	must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"Grace"}`)))
	lines, _ = claimAll(t, s, clock, "sender-d")
	if len(lines) != 1 || lines[0][:8] != "sub-root" {
		t.Fatalf("after the others expired: %v, want only the renewed subscription's", lines)
	}
	if n := must(s.RemoveExpiredSubscriptions(ctx(), clock.Now())); n != 4 {
		t.Fatalf("removed %d expired subscriptions, want 4", n)
	}
	if err := s.DeleteSubscription(ctx(), tenant, "sub-root"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteSubscription(ctx(), tenant, "sub-root"), contactgraph.ENotFound)
	if n := must(s.OutboxDepth(ctx())); n != 0 {
		t.Fatalf("outbox depth %d after every subscription went", n)
	}
}

// A write that fails records no notification.
func testSubscriptionRollback(t *testing.T, s contactgraph.Store, clock *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	all := contactgraph.ChangeCreated | contactgraph.ChangeUpdated | contactgraph.ChangeDeleted
	must(s.CreateSubscription(ctx(), newSubscription("sub", contactgraph.Watched{Collection: "contacts", Mailbox: mb, FolderID: mb.RootID}, all, clock)))
	c := must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"Ada"}`)))
	_, err := s.UpdateContact(ctx(), mb, c.ID, contactIn(t, `{"jobTitle":"x"}`), `W/"not-the-change-key"`)
	if !errors.Is(err, contactgraph.ErrPreconditionFails) {
		t.Fatalf("update with a wrong If-Match: %v", err)
	}
	if n := must(s.OutboxDepth(ctx())); n != 1 {
		t.Fatalf("outbox depth %d, want 1: the failed update recorded a notification", n)
	}
}

// The mailbox quota holds.
func testSubscriptionQuota(t *testing.T, s contactgraph.Store, clock *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	w := contactgraph.Watched{Collection: "contacts", Mailbox: mb, FolderID: mb.RootID}
	for i := range contactgraph.MaxSubscriptionsPerMailbox {
		must(s.CreateSubscription(ctx(), newSubscription(fmt.Sprintf("sub-%04d", i), w, contactgraph.ChangeCreated, clock)))
	}
	_, err := s.CreateSubscription(ctx(), newSubscription("one-more", w, contactgraph.ChangeCreated, clock))
	wantCode(t, err, contactgraph.EForbidden)
	other := mailbox(t, s, "bob@contoso.com")
	must(s.CreateSubscription(ctx(), newSubscription("bobs", contactgraph.Watched{Collection: "contacts", Mailbox: other, FolderID: other.RootID}, contactgraph.ChangeCreated, clock)))

	// Org contacts: a quota per tenant.
	org := contactgraph.Watched{Collection: "orgContacts", Mailbox: contactgraph.Mailbox{TenantID: tenant}}
	for i := range contactgraph.MaxOrgSubscriptionsPerTenant {
		must(s.CreateSubscription(ctx(), newSubscription(fmt.Sprintf("org-%04d", i), org, contactgraph.ChangeCreated, clock)))
	}
	_, err = s.CreateSubscription(ctx(), newSubscription("org-one-more", org, contactgraph.ChangeCreated, clock))
	wantCode(t, err, contactgraph.EForbidden)
}

// Deleting a user, or resetting the tenant, ends the subscriptions of what
// goes: subscriptionRemoved to those with a lifecycle URL, no change
// notifications any more, and the subscription removed once it is told.
func testSubscriptionRemoved(t *testing.T, s contactgraph.Store, clock *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	bob := mailbox(t, s, "bob@contoso.com")
	all := contactgraph.ChangeCreated | contactgraph.ChangeUpdated | contactgraph.ChangeDeleted
	for _, sub := range []struct {
		id   string
		mb   contactgraph.Mailbox
		life bool
	}{{"alice-life", mb, true}, {"alice-plain", mb, false}, {"bob-life", bob, true}} {
		n := newSubscription(sub.id, contactgraph.Watched{Collection: "contacts", Mailbox: sub.mb, FolderID: sub.mb.RootID}, all, clock)
		if sub.life {
			n.LifecycleURL = "https://receiver.example/lifecycle"
		}
		must(s.CreateSubscription(ctx(), n))
	}
	must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"Ada"}`)))
	if err := s.DeleteUser(ctx(), tenant, mb.UserID); err != nil {
		t.Fatal(err)
	}
	lines, ns := claimAll(t, s, clock, "a")
	if want := []string{"alice-life subscriptionRemoved "}; !slices.Equal(lines, want) {
		t.Fatalf("after the user was deleted: %v, want %v", lines, want)
	}
	if err := s.AckNotifications(ctx(), "a", keysOf(ns)); err != nil {
		t.Fatal(err)
	}
	if n := must(s.RemoveExpiredSubscriptions(ctx(), clock.Now())); n != 2 {
		t.Fatalf("removed %d subscriptions of the deleted user, want 2", n)
	}
	if err := s.ResetTenant(ctx(), tenant); err != nil {
		t.Fatal(err)
	}
	if n := must(s.RemoveExpiredSubscriptions(ctx(), clock.Now())); n != 0 {
		t.Fatalf("a subscription with subscriptionRemoved pending was removed before it was told")
	}
	lines, ns = claimAll(t, s, clock, "a")
	if want := []string{"bob-life subscriptionRemoved "}; !slices.Equal(lines, want) {
		t.Fatalf("after the tenant was reset: %v, want %v", lines, want)
	}
	if err := s.AckNotifications(ctx(), "a", keysOf(ns)); err != nil {
		t.Fatal(err)
	}
	if n := must(s.RemoveExpiredSubscriptions(ctx(), clock.Now())); n != 1 {
		t.Fatalf("removed %d, want bob's", n)
	}
}

// Imports record their notifications when a subscription watches the
// collection, and none otherwise.
func testSubscriptionImport(t *testing.T, s contactgraph.Store, clock *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	side := must(s.CreateFolder(ctx(), mb, "", contactgraph.FolderInput{DisplayName: str("Side")}))
	must(s.CreateSubscription(ctx(), newSubscription("sub", contactgraph.Watched{Collection: "contacts", Mailbox: mb, FolderID: mb.RootID}, contactgraph.ChangeCreated, clock)))
	in := []contactgraph.ContactInput{contactIn(t, `{"givenName":"A"}`), contactIn(t, `{"givenName":"B"}`), contactIn(t, `{"givenName":"C"}`)}
	must(s.ImportContacts(ctx(), mb, mb.RootID, in))
	must(s.ImportContacts(ctx(), mb, side.ID, in))
	if n := must(s.OutboxDepth(ctx())); n != 3 {
		t.Fatalf("outbox depth %d after importing 3 into a watched folder and 3 into another, want 3", n)
	}
}
