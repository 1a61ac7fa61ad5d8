// Package storetest is the conformance suite every contactgraph.Store must
// pass. A store package runs it with its own constructor:
//
//	func TestStore(t *testing.T) { storetest.Run(t, func(t *testing.T, clock *storetest.Clock) contactgraph.Store { ... }) }
//
// Each subtest gets a fresh store; the constructor must give it its own
// database (a temporary file, a schema of its own) and close it on cleanup.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

// Clock is a settable clock for stores under test.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at a fixed instant.
func NewClock() *Clock { return &Clock{now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// NewStore opens a fresh, empty store that uses clock.
type NewStore func(t *testing.T, clock *Clock) contactgraph.Store

// Run runs the conformance suite.
func Run(t *testing.T, open NewStore) { run(t, open, nil) }

// RunPrune runs the tests of the suite that prune, for a store configured
// to prune differently (in smaller batches, say).
func RunPrune(t *testing.T, open NewStore) { run(t, open, pruning) }

// pruning names the tests that call Prune.
var pruning = map[string]bool{"Prune": true, "PruneMany": true, "OrgPrune": true, "OrgPruneAtOnce": true, "CardNames": true, "ContactsPosition": true}

// run runs the tests of the suite named in only, or all for nil.
func run(t *testing.T, open NewStore, only map[string]bool) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s contactgraph.Store, clock *Clock)
	}{
		{"Secret", testSecret},
		{"SecretPrefix", testSecretPrefix},
		{"Ready", testReady},
		{"Users", testUsers},
		{"Mailbox", testMailbox},
		{"Folders", testFolders},
		{"FolderMoves", testFolderMoves},
		{"Contacts", testContacts},
		{"ContactIfMatch", testContactIfMatch},
		{"TenantIsolation", testTenantIsolation},
		{"QueryContacts", testQueryContacts},
		{"QueryOrgContacts", testQueryOrgContacts},
		{"DeltaFirstRound", testDeltaFirstRound},
		{"DeltaLaterRounds", testDeltaLaterRounds},
		{"DeltaUpperBound", testDeltaUpperBound},
		{"DeltaPageBoundary", testDeltaPageBoundary},
		{"DeltaFolders", testDeltaFolders},
		{"DeltaFolderFirstRound", testDeltaFolderFirstRound},
		{"DeltaDeletedFolder", testDeltaDeletedFolder},
		{"DeltaRecreatedUser", testDeltaRecreatedUser},
		{"Prune", testPrune},
		{"PruneMany", testPruneMany},
		{"ConcurrentMirror", testConcurrentMirror},
		{"OrgContacts", testOrgContacts},
		{"OrgDelta", testOrgDelta},
		{"OrgPrune", testOrgPrune},
		{"OrgPruneAtOnce", testOrgPruneAtOnce},
		{"OrgConcurrentMirror", testOrgConcurrentMirror},
		{"Subscriptions", testSubscriptions},
		{"SubscriptionRollback", testSubscriptionRollback},
		{"SubscriptionQuota", testSubscriptionQuota},
		{"SubscriptionRemoved", testSubscriptionRemoved},
		{"SubscriptionImport", testSubscriptionImport},
		{"LifecycleNow", testLifecycleNow},
		{"Reauthorization", testReauthorization},
		{"ReauthorizationConcurrent", testReauthorizationConcurrent},
		{"Photos", testPhotos},
		{"Extensions", testExtensions},
		{"ExtendedProperties", testExtendedProperties},
		{"PartsDelta", testPartsDelta},
		{"PartsDeleted", testPartsDeleted},
		{"CardNames", testCardNames},
		{"FolderNames", testFolderNames},
		{"ContactsPosition", testContactsPosition},
	}
	for _, tt := range tests {
		if only != nil && !only[tt.name] {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := NewClock()
			defer func() {
				if r := recover(); r != nil {
					f, ok := r.(failure)
					if !ok {
						panic(r)
					}
					t.Fatalf("unexpected error: %v", f.err)
				}
			}()
			tt.fn(t, open(t, clock), clock)
		})
	}
}

const tenant = "8f5e1a42-0000-4000-8000-000000000001"

func ctx() context.Context { return context.Background() }

// must returns v, or stops the test when err is not nil. It panics with a
// failure that Run turns into t.Fatal, so it is only for the test goroutine.
// second returns the error of a call's two results.
func second[T any](_ T, err error) error { return err }

func must[T any](v T, err error) T {
	if err != nil {
		panic(failure{err})
	}
	return v
}

type failure struct{ err error }

func wantCode(t *testing.T, err error, code contactgraph.Code) {
	t.Helper()
	if got := contactgraph.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func mailbox(t *testing.T, s contactgraph.Store, upn string) contactgraph.Mailbox {
	t.Helper()
	return must(s.EnsureMailbox(ctx(), tenant, contactgraph.UserID(tenant, upn), upn))
}

func str(s string) *string { return &s }

func folderIn(name string) contactgraph.FolderInput {
	return contactgraph.FolderInput{DisplayName: str(name)}
}

func contactIn(t *testing.T, body string) contactgraph.ContactInput {
	t.Helper()
	return must(contactgraph.ParseContactInput([]byte(body)))
}

// prop reads one property of a contact's document.
func prop(t *testing.T, c *contactgraph.Contact, name string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(c.Doc, &m); err != nil {
		t.Fatalf("contact doc is not JSON: %v", err)
	}
	v, ok := m[name]
	if !ok {
		t.Fatalf("contact doc lacks %q: %s", name, c.Doc)
	}
	return v
}

func testSecret(t *testing.T, s contactgraph.Store, _ *Clock) {
	calls := 0
	gen := func() ([]byte, error) { calls++; return []byte("first"), nil }
	a := must(s.Secret(ctx(), "k", gen))
	b := must(s.Secret(ctx(), "k", func() ([]byte, error) { return []byte("second"), nil }))
	if string(a) != "first" || string(b) != "first" || calls != 1 {
		t.Fatalf("secret = %q then %q after %d generations, want first twice after 1", a, b, calls)
	}
	if _, err := s.Secret(ctx(), "broken", func() ([]byte, error) { return nil, errors.New("no entropy") }); err == nil {
		t.Fatal("a failing generator must fail Secret")
	}
}

// testSecretPrefix: Secrets lists by prefix, DeleteSecret deletes one, and
// a user's app passwords go with the user, a tenant's with the tenant.
func testSecretPrefix(t *testing.T, s contactgraph.Store, _ *Clock) {
	put := func(name, v string) {
		must(s.Secret(ctx(), name, func() ([]byte, error) { return []byte(v), nil }))
	}
	put("p:a", "1")
	put("p:b", "2")
	put("p_c", "3") // a LIKE wildcard would match it
	got := must(s.Secrets(ctx(), "p:"))
	if len(got) != 2 || string(got["p:a"]) != "1" || string(got["p:b"]) != "2" {
		t.Fatalf("Secrets(p:) = %q", got)
	}
	if err := s.DeleteSecret(ctx(), "p:a"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteSecret(ctx(), "p:a"), contactgraph.ENotFound)
	if got := must(s.Secrets(ctx(), "p:")); len(got) != 1 {
		t.Fatalf("Secrets after DeleteSecret = %q", got)
	}

	other := "22222222-2222-2222-2222-222222222222"
	bob := must(s.CreateUser(ctx(), tenant, contactgraph.User{UPN: "bob@contoso.com"}))
	carol := must(s.CreateUser(ctx(), tenant, contactgraph.User{UPN: "carol@contoso.com"}))
	dave := must(s.CreateUser(ctx(), other, contactgraph.User{UPN: "dave@fabrikam.com"}))
	pw := func(id, tid, oid string) {
		put(contactgraph.AppPasswordPrefix+id, `{"tid":"`+tid+`","oid":"`+oid+`","upn":"x","sha256":"00"}`)
	}
	pw("1", tenant, bob.ID)
	pw("2", tenant, carol.ID)
	pw("3", other, dave.ID)
	names := func() []string {
		var out []string
		for n := range must(s.Secrets(ctx(), contactgraph.AppPasswordPrefix)) {
			out = append(out, strings.TrimPrefix(n, contactgraph.AppPasswordPrefix))
		}
		slices.Sort(out)
		return out
	}
	if err := s.DeleteUser(ctx(), tenant, bob.ID); err != nil {
		t.Fatal(err)
	}
	if got := names(); !slices.Equal(got, []string{"2", "3"}) {
		t.Fatalf("app passwords after DeleteUser = %v, want [2 3]", got)
	}
	if err := s.ResetTenant(ctx(), other); err != nil {
		t.Fatal(err)
	}
	if got := names(); !slices.Equal(got, []string{"2"}) {
		t.Fatalf("app passwords after ResetTenant = %v, want [2]", got)
	}
}

func testUsers(t *testing.T, s contactgraph.Store, _ *Clock) {
	u := must(s.CreateUser(ctx(), tenant, contactgraph.User{UPN: "Bob@Contoso.com", DisplayName: "Bob", Mail: "bob@contoso.com"}))
	if u.ID != contactgraph.UserID(tenant, "bob@contoso.com") {
		t.Fatalf("user id %q is not the stable id of its UPN", u.ID)
	}
	_, err := s.CreateUser(ctx(), tenant, contactgraph.User{UPN: "bob@contoso.com"})
	wantCode(t, err, contactgraph.EConflict)
	for _, key := range []string{u.ID, "bob@contoso.com", "BOB@CONTOSO.COM"} {
		got := must(s.User(ctx(), tenant, key))
		if got.ID != u.ID || got.UPN != "Bob@Contoso.com" || got.DisplayName != "Bob" {
			t.Fatalf("User(%q) = %+v", key, got)
		}
	}
	_, err = s.User(ctx(), tenant, "nobody@contoso.com")
	wantCode(t, err, contactgraph.ENotFound)
	must(s.CreateUser(ctx(), tenant, contactgraph.User{UPN: "carol@contoso.com"}))
	page1 := must(s.ListUsers(ctx(), tenant, contactgraph.Page{Limit: 1}))
	page2 := must(s.ListUsers(ctx(), tenant, contactgraph.Page{After: page1[0].ID, Limit: 5}))
	if len(page1) != 1 || len(page2) != 1 || page1[0].ID == page2[0].ID {
		t.Fatalf("paging users: %v then %v", page1, page2)
	}
	mb := must(s.Mailbox(ctx(), tenant, u.ID))
	must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"x"}`)))
	if err := s.DeleteUser(ctx(), tenant, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.User(ctx(), tenant, u.ID)
	wantCode(t, err, contactgraph.ENotFound)
	_, err = s.Mailbox(ctx(), tenant, u.ID)
	wantCode(t, err, contactgraph.EUserNotFound)
	wantCode(t, s.DeleteUser(ctx(), tenant, u.ID), contactgraph.ENotFound)
}

func testMailbox(t *testing.T, s contactgraph.Store, _ *Clock) {
	id := contactgraph.UserID(tenant, "alice@contoso.com")
	_, err := s.Mailbox(ctx(), tenant, id)
	wantCode(t, err, contactgraph.EUserNotFound)
	mb := must(s.EnsureMailbox(ctx(), tenant, id, "alice@contoso.com"))
	again := must(s.EnsureMailbox(ctx(), tenant, id, "alice@contoso.com"))
	if mb.RootID == "" || mb != again {
		t.Fatalf("EnsureMailbox not stable: %+v then %+v", mb, again)
	}
	root := must(s.Folder(ctx(), mb, mb.RootID))
	if !root.IsRoot() || root.DisplayName != contactgraph.RootFolderName {
		t.Fatalf("root folder = %+v", root)
	}
	if got := must(s.Mailbox(ctx(), tenant, id)); got != mb {
		t.Fatalf("Mailbox = %+v, want %+v", got, mb)
	}
	// A user created by an administrator gets a mailbox on first access.
	u := must(s.CreateUser(ctx(), tenant, contactgraph.User{UPN: "dan@contoso.com"}))
	mb2 := must(s.Mailbox(ctx(), tenant, u.ID))
	if mb2.RootID == "" || mb2.RootID == mb.RootID {
		t.Fatalf("second mailbox root = %q", mb2.RootID)
	}
	if list := must(s.ListFolders(ctx(), mb, "", contactgraph.Page{Limit: 10})); len(list) != 0 {
		t.Fatalf("the root folder must not be listed: %v", list)
	}
}

func testFolders(t *testing.T, s contactgraph.Store, _ *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	a := must(s.CreateFolder(ctx(), mb, "", folderIn("Friends")))
	if a.ParentID != mb.RootID || a.DisplayName != "Friends" || !contactgraph.ValidID(a.ID) {
		t.Fatalf("created folder = %+v", a)
	}
	_, err := s.CreateFolder(ctx(), mb, "", folderIn("friends"))
	wantCode(t, err, contactgraph.EFolderExists)
	child := must(s.CreateFolder(ctx(), mb, a.ID, folderIn("Friends")))
	if child.ParentID != a.ID {
		t.Fatalf("child parent = %q", child.ParentID)
	}
	grand := must(s.CreateFolder(ctx(), mb, child.ID, folderIn("Deep")))
	// The default folder stays: EInvalid caused by ErrDefaultFolder, which
	// the HTTP layer words.
	for what, err := range map[string]error{
		"rename": second(s.UpdateFolder(ctx(), mb, mb.RootID, folderIn("Mine"))),
		"move":   second(s.UpdateFolder(ctx(), mb, mb.RootID, contactgraph.FolderInput{ParentID: &a.ID})),
		"delete": s.DeleteFolder(ctx(), mb, mb.RootID),
	} {
		if contactgraph.ErrorCode(err) != contactgraph.EInvalid || !errors.Is(err, contactgraph.ErrDefaultFolder) {
			t.Errorf("%s of the default folder: %v, want EInvalid caused by ErrDefaultFolder", what, err)
		}
	}
	_, err = s.CreateFolder(ctx(), mb, contactgraph.NewID(), folderIn("x"))
	wantCode(t, err, contactgraph.ENotFound)
	renamed := must(s.UpdateFolder(ctx(), mb, a.ID, contactgraph.FolderInput{DisplayName: str("Family")}))
	if renamed.DisplayName != "Family" || must(s.Folder(ctx(), mb, a.ID)).DisplayName != "Family" {
		t.Fatal("rename did not stick")
	}
	_, err = s.UpdateFolder(ctx(), mb, mb.RootID, contactgraph.FolderInput{DisplayName: str("x")})
	wantCode(t, err, contactgraph.EInvalid)
	wantCode(t, s.DeleteFolder(ctx(), mb, mb.RootID), contactgraph.EInvalid)
	c := must(s.CreateContact(ctx(), mb, grand.ID, contactIn(t, `{"givenName":"Deep"}`)))
	if err := s.DeleteFolder(ctx(), mb, a.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a.ID, child.ID, grand.ID} {
		_, err := s.Folder(ctx(), mb, id)
		wantCode(t, err, contactgraph.ENotFound)
	}
	_, err = s.Contact(ctx(), mb, c.ID)
	wantCode(t, err, contactgraph.ENotFound)
	wantCode(t, s.DeleteFolder(ctx(), mb, a.ID), contactgraph.ENotFound)
	// Paging.
	for _, n := range []string{"a", "b", "c"} {
		must(s.CreateFolder(ctx(), mb, "", folderIn(n)))
	}
	p1 := must(s.ListFolders(ctx(), mb, "", contactgraph.Page{Limit: 2}))
	p2 := must(s.ListFolders(ctx(), mb, "", contactgraph.Page{After: p1[1].ID, Limit: 2}))
	if len(p1) != 2 || len(p2) != 1 {
		t.Fatalf("folder pages of %d and %d, want 2 and 1", len(p1), len(p2))
	}
}

func testFolderMoves(t *testing.T, s contactgraph.Store, _ *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	a := must(s.CreateFolder(ctx(), mb, "", folderIn("A")))
	b := must(s.CreateFolder(ctx(), mb, a.ID, folderIn("B")))
	_, err := s.UpdateFolder(ctx(), mb, a.ID, contactgraph.FolderInput{ParentID: &b.ID})
	wantCode(t, err, contactgraph.EInvalid)
	_, err = s.UpdateFolder(ctx(), mb, a.ID, contactgraph.FolderInput{ParentID: &a.ID})
	wantCode(t, err, contactgraph.EInvalid)
	moved := must(s.UpdateFolder(ctx(), mb, b.ID, contactgraph.FolderInput{ParentID: &mb.RootID}))
	if moved.ParentID != mb.RootID {
		t.Fatalf("moved parent = %q", moved.ParentID)
	}
	if got := must(s.ListFolders(ctx(), mb, a.ID, contactgraph.Page{Limit: 10})); len(got) != 0 {
		t.Fatalf("old parent still lists %v", got)
	}
}

func testContacts(t *testing.T, s contactgraph.Store, clock *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	c := must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"Pavel","surname":"Bansky",
		"emailAddresses":[{"address":"pavelb@contoso.com","name":"Pavel Bansky"}],"businessPhones":["+1 732 555 0102"]}`)))
	if prop(t, c, "displayName") != "Pavel Bansky" || prop(t, c, "parentFolderId") != mb.RootID || prop(t, c, "id") != c.ID {
		t.Fatalf("created contact: %s", c.Doc)
	}
	if prop(t, c, "changeKey") != c.ChangeKey || c.ChangeKey == "" {
		t.Fatalf("changeKey %q not in doc %s", c.ChangeKey, c.Doc)
	}
	if got, ok := prop(t, c, "homeAddress").(map[string]any); !ok || len(got) != 0 {
		t.Fatalf("unset homeAddress = %v, want {}", prop(t, c, "homeAddress"))
	}
	got := must(s.Contact(ctx(), mb, c.ID))
	if string(got.Doc) != string(c.Doc) || got.ChangeKey != c.ChangeKey {
		t.Fatalf("read back %s, want %s", got.Doc, c.Doc)
	}
	clock.Advance(time.Minute)
	up := must(s.UpdateContact(ctx(), mb, c.ID, contactIn(t, `{"jobTitle":"Engineer","givenName":"Paul"}`), ""))
	if up.ChangeKey == c.ChangeKey || prop(t, up, "jobTitle") != "Engineer" || prop(t, up, "surname") != "Bansky" {
		t.Fatalf("update: %s", up.Doc)
	}
	if prop(t, up, "displayName") != "Paul Bansky" || !up.Modified.After(c.Modified) || !up.Created.Equal(c.Created) {
		t.Fatalf("update did not derive the name or times: %s", up.Doc)
	}
	named := must(s.UpdateContact(ctx(), mb, c.ID, contactIn(t, `{"displayName":"P. B."}`), ""))
	named = must(s.UpdateContact(ctx(), mb, c.ID, contactIn(t, `{"surname":"B"}`), ""))
	if prop(t, named, "displayName") != "P. B." {
		t.Fatalf("a displayName set by the client must stay: %s", named.Doc)
	}
	f := must(s.CreateFolder(ctx(), mb, "", folderIn("Work")))
	moved := must(s.UpdateContact(ctx(), mb, c.ID, contactIn(t, `{"parentFolderId":"`+f.ID+`"}`), ""))
	if moved.FolderID != f.ID || prop(t, moved, "parentFolderId") != f.ID {
		t.Fatalf("move: %s", moved.Doc)
	}
	if l := must(s.ListContacts(ctx(), mb, f.ID, contactgraph.Page{Limit: 10})); len(l) != 1 || l[0].ID != c.ID {
		t.Fatalf("folder lists %v", l)
	}
	if l := must(s.ListContacts(ctx(), mb, mb.RootID, contactgraph.Page{Limit: 10})); len(l) != 0 {
		t.Fatalf("old folder lists %v", l)
	}
	_, err := s.UpdateContact(ctx(), mb, c.ID, contactIn(t, `{"parentFolderId":"`+contactgraph.NewID()+`"}`), "")
	wantCode(t, err, contactgraph.ENotFound)
	if err := s.DeleteContact(ctx(), mb, c.ID, ""); err != nil {
		t.Fatal(err)
	}
	_, err = s.Contact(ctx(), mb, c.ID)
	wantCode(t, err, contactgraph.ENotFound)
	wantCode(t, s.DeleteContact(ctx(), mb, c.ID, ""), contactgraph.ENotFound)
	_, err = s.CreateContact(ctx(), mb, contactgraph.NewID(), contactIn(t, `{}`))
	wantCode(t, err, contactgraph.ENotFound)
}

func testContactIfMatch(t *testing.T, s contactgraph.Store, _ *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	c := must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"A"}`)))
	up := must(s.UpdateContact(ctx(), mb, c.ID, contactIn(t, `{"givenName":"B"}`), c.ETag()))
	_, err := s.UpdateContact(ctx(), mb, c.ID, contactIn(t, `{"givenName":"C"}`), c.ETag())
	wantCode(t, err, contactgraph.EPrecondition)
	if !errors.Is(err, contactgraph.ErrPreconditionFails) {
		t.Fatal("errors.Is must match the sentinel")
	}
	wantCode(t, s.DeleteContact(ctx(), mb, c.ID, c.ETag()), contactgraph.EPrecondition)
	must(s.UpdateContact(ctx(), mb, c.ID, contactIn(t, `{"givenName":"D"}`), "*"))
	cur := must(s.Contact(ctx(), mb, c.ID))
	if cur.ChangeKey == up.ChangeKey {
		t.Fatal("changeKey did not advance")
	}
	if err := s.DeleteContact(ctx(), mb, c.ID, cur.ETag()); err != nil {
		t.Fatal(err)
	}
}

func testTenantIsolation(t *testing.T, s contactgraph.Store, _ *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	other := contactgraph.TenantID("fabrikam")
	mb2 := must(s.EnsureMailbox(ctx(), other, contactgraph.UserID(other, "alice@contoso.com"), "alice@contoso.com"))
	f := must(s.CreateFolder(ctx(), mb, "", folderIn("F")))
	c := must(s.CreateContact(ctx(), mb, f.ID, contactIn(t, `{"givenName":"A"}`)))
	// Another tenant's mailbox, even pointed at this mailbox's ids, finds nothing.
	foreign := contactgraph.Mailbox{TenantID: other, UserID: mb.UserID, RootID: mb.RootID}
	for _, m := range []contactgraph.Mailbox{mb2, foreign} {
		_, err := s.Contact(ctx(), m, c.ID)
		wantCode(t, err, contactgraph.ENotFound)
		_, err = s.Folder(ctx(), m, f.ID)
		wantCode(t, err, contactgraph.ENotFound)
		_, err = s.UpdateContact(ctx(), m, c.ID, contactIn(t, `{}`), "")
		if code := contactgraph.ErrorCode(err); code != contactgraph.ENotFound && code != contactgraph.EUserNotFound {
			t.Fatalf("foreign update: %v", err)
		}
		_, err = s.ContactChanges(ctx(), m, f.ID, contactgraph.ChangeQuery{Limit: 10})
		wantCode(t, err, contactgraph.ENotFound)
	}
	_, err := s.User(ctx(), other, mb.UserID)
	wantCode(t, err, contactgraph.ENotFound)
}
