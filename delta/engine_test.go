package delta

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/sqlite"
	"github.com/contactgraph/contactgraph/storetest"
)

type fixture struct {
	store  *sqlite.DB
	engine *Engine
	clock  *storetest.Clock
	mb     contactgraph.Mailbox
	caller string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := storetest.NewClock()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "cg.db"), sqlite.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tenant := contactgraph.TenantID("contoso")
	user := contactgraph.UserID(tenant, "alice@contoso.com")
	mb, err := db.EnsureMailbox(context.Background(), tenant, user, "alice@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{store: db, clock: clock, mb: mb, caller: "u:" + user,
		engine: &Engine{Store: db, Codec: testCodec(t, "k"), Now: clock.Now, Retention: 30 * 24 * time.Hour}}
}

func (f *fixture) create(t *testing.T, folder, body string) *contactgraph.Contact {
	t.Helper()
	in, err := contactgraph.ParseContactInput([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.store.CreateContact(context.Background(), f.mb, folder, in)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// round follows a whole round from token (a deltaLink token or "") and
// applies it to m: id -> raw item. It returns the deltaLink token and the items.
func (f *fixture) round(t *testing.T, req Request, m map[string]map[string]any) (string, []map[string]any) {
	t.Helper()
	var all []map[string]any
	for i := 0; ; i++ {
		p, err := f.engine.Contacts(context.Background(), req)
		if err != nil {
			t.Fatalf("page %d: %v", i, err)
		}
		if (p.SkipToken == "") == (p.DeltaTok == "") {
			t.Fatalf("a page carries exactly one link: %+v", p)
		}
		for _, raw := range p.Items {
			var item map[string]any
			if err := json.Unmarshal(raw, &item); err != nil {
				t.Fatalf("item is not JSON: %s", raw)
			}
			all = append(all, item)
			id := item["id"].(string)
			if _, gone := item["@removed"]; gone {
				delete(m, id)
			} else {
				m[id] = item
			}
		}
		if p.DeltaTok != "" {
			return p.DeltaTok, all
		}
		req.Token, req.Select, req.TokenIsSkip = p.SkipToken, nil, true
	}
}

func TestRoundsAndSelect(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 5; i++ {
		f.create(t, f.mb.RootID, fmt.Sprintf(`{"givenName":"G%d","surname":"S"}`, i))
	}
	sel, _ := contactgraph.ContactSchema.Select([]string{"displayName"})
	req := Request{Collection: Contacts, Mailbox: f.mb, Scope: f.mb.RootID, Caller: f.caller, Select: sel, PageSize: 2}
	m := map[string]map[string]any{}
	tok, items := f.round(t, req, m)
	if len(items) != 5 || len(m) != 5 {
		t.Fatalf("first round: %d items", len(items))
	}
	for _, it := range items {
		if len(it) != 4 || it["@odata.type"] != contactType || it["@odata.etag"] == nil || it["displayName"] == nil {
			t.Fatalf("selected item has members %v, want @odata.type, @odata.etag, id, displayName", it)
		}
	}
	// $select is carried: a later round without Select still projects.
	c := f.create(t, f.mb.RootID, `{"givenName":"New"}`)
	req.Token, req.Select = tok, nil
	tok2, items := f.round(t, req, m)
	if len(items) != 1 || items[0]["id"] != c.ID || items[0]["givenName"] != nil || items[0]["displayName"] != "New" {
		t.Fatalf("second round: %v", items)
	}
	// An empty round gives no items and a new token.
	req.Token = tok2
	tok3, items := f.round(t, req, m)
	if len(items) != 0 || tok3 == tok2 {
		t.Fatalf("empty round: %d items, token changed %v", len(items), tok3 != tok2)
	}
	// Tombstones have exactly Graph's shape.
	if err := f.store.DeleteContact(context.Background(), f.mb, c.ID, ""); err != nil {
		t.Fatal(err)
	}
	p, err := f.engine.Contacts(context.Background(), Request{Collection: Contacts, Mailbox: f.mb, Scope: f.mb.RootID, Caller: f.caller, Token: tok3, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"@odata.type":"#microsoft.graph.contact","id":"` + c.ID + `","@removed":{"reason":"deleted"}}`
	if len(p.Items) != 1 || string(p.Items[0]) != want {
		t.Fatalf("tombstone = %s, want %s", p.Items, want)
	}
}

func TestTokenBinding(t *testing.T) {
	f := newFixture(t)
	f.create(t, f.mb.RootID, `{"givenName":"A"}`)
	other, err := f.store.CreateFolder(context.Background(), f.mb, "", contactgraph.FolderInput{DisplayName: ptr("Other")})
	if err != nil {
		t.Fatal(err)
	}
	base := Request{Collection: Contacts, Mailbox: f.mb, Scope: f.mb.RootID, Caller: f.caller, PageSize: 10}
	tok, _ := f.round(t, base, map[string]map[string]any{})
	otherTenant := f.mb
	otherTenant.TenantID = contactgraph.TenantID("fabrikam")
	for name, mutate := range map[string]func(r *Request){
		"another folder":     func(r *Request) { r.Scope = other.ID },
		"another collection": func(r *Request) { r.Collection = Folders },
		"another caller":     func(r *Request) { r.Caller = "u:someone" },
		"an app":             func(r *Request) { r.Caller = "a:app" },
		"another tenant":     func(r *Request) { r.Mailbox = otherTenant },
	} {
		r := base
		r.Token = tok
		mutate(&r)
		var err error
		if r.Collection == Folders {
			_, err = f.engine.Folders(context.Background(), r)
		} else {
			_, err = f.engine.Contacts(context.Background(), r)
		}
		if contactgraph.ErrorCode(err) != contactgraph.EBadToken {
			t.Errorf("%s: err = %v, want a bad token", name, err)
		}
	}
}

func TestExpiry(t *testing.T) {
	f := newFixture(t)
	f.create(t, f.mb.RootID, `{"givenName":"A"}`)
	req := Request{Collection: Contacts, Mailbox: f.mb, Scope: f.mb.RootID, Caller: f.caller, PageSize: 10}
	m := map[string]map[string]any{}
	tok, _ := f.round(t, req, m)
	f.clock.Advance(29 * 24 * time.Hour)
	c := f.create(t, f.mb.RootID, `{"givenName":"B"}`)
	req.Token = tok
	fresh, items := f.round(t, req, m)
	if len(items) != 1 || items[0]["id"] != c.ID {
		t.Fatalf("within retention: %v, want exactly the one new contact", items)
	}
	f.clock.Advance(31 * 24 * time.Hour)
	_, err := f.engine.Contacts(context.Background(), req) // the old token, now 60 days old
	if contactgraph.ErrorCode(err) != contactgraph.ESyncStateExpired {
		t.Fatalf("past retention: err = %v, want expired", err)
	}
	req.Token = fresh // 31 days old
	if _, err := f.engine.Contacts(context.Background(), req); contactgraph.ErrorCode(err) != contactgraph.ESyncStateExpired {
		t.Fatalf("past retention: err = %v, want expired", err)
	}
}

func ptr(s string) *string { return &s }

// mirrorRun runs writers against the store and readers through the engine,
// then compares every reader's mirror with the folder both ways: no object
// missing, none at an old state, none extra. Writers create, update, delete
// and move contacts out of the folder. It returns how many readers ended
// with a wrong mirror; a reader that hits an error fails the test.
func mirrorRun(t *testing.T, f *fixture, writers, readers, ops int) int {
	t.Helper()
	ctx := context.Background()
	elsewhere, err := f.store.CreateFolder(ctx, f.mb, "", contactgraph.FolderInput{DisplayName: ptr("Elsewhere")})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			if err := mirrorWriter(ctx, f, elsewhere.ID, w, ops); err != nil {
				t.Errorf("writer %d: %v", w, err)
			}
		}(w)
	}
	stop := make(chan struct{})
	results := make([]mirror, readers)
	tokens := make([]string, readers)
	var rwg sync.WaitGroup
	for rd := 0; rd < readers; rd++ {
		rwg.Add(1)
		go func(rd int) {
			defer rwg.Done()
			m, tok := mirror{}, ""
			defer func() { results[rd], tokens[rd] = m, tok }()
			for n := 1; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if n%4 == 0 {
					// Start over now and then, as a client that resyncs:
					// first rounds under concurrent writes are tested too.
					m, tok = mirror{}, ""
				}
				next, err := mirrorRound(ctx, f, tok, 1+rd, m)
				if err != nil {
					t.Errorf("reader %d: %v", rd, err)
					return
				}
				tok = next
			}
		}(rd)
	}
	wg.Wait()
	close(stop)
	rwg.Wait()
	if t.Failed() {
		return 0
	}
	truth := f.contactTruth(t, f.mb.RootID)
	wrong := 0
	for rd, m := range results {
		// One more round after the writers stopped.
		if _, err := mirrorRound(ctx, f, tokens[rd], 50, m); err != nil {
			t.Fatalf("reader %d, last round: %v", rd, err)
		}
		if !mirrorEqual(m, truth) {
			wrong++
		}
	}
	return wrong
}

// mirrorWriter creates, updates, deletes and moves away contacts of the
// default folder.
func mirrorWriter(ctx context.Context, f *fixture, elsewhere string, w, ops int) error {
	r := rand.New(rand.NewPCG(uint64(w), 9))
	var mine []string
	for i := 0; i < ops; i++ {
		if len(mine) == 0 || r.IntN(3) == 0 {
			in, _ := contactgraph.ParseContactInput([]byte(fmt.Sprintf(`{"givenName":"w%d-%d"}`, w, i)))
			c, err := f.store.CreateContact(ctx, f.mb, f.mb.RootID, in)
			if err != nil {
				return err
			}
			mine = append(mine, c.ID)
			continue
		}
		k := r.IntN(len(mine))
		id := mine[k]
		switch n := r.IntN(10); {
		case n == 0:
			mine = slices.Delete(mine, k, k+1)
			if err := f.store.DeleteContact(ctx, f.mb, id, ""); err != nil {
				return err
			}
		case n == 1:
			mine = slices.Delete(mine, k, k+1)
			in, _ := contactgraph.ParseContactInput([]byte(`{"parentFolderId":"` + elsewhere + `"}`))
			if _, err := f.store.UpdateContact(ctx, f.mb, id, in, ""); err != nil {
				return err
			}
		default:
			in, _ := contactgraph.ParseContactInput([]byte(fmt.Sprintf(`{"jobTitle":"%d"}`, i)))
			if _, err := f.store.UpdateContact(ctx, f.mb, id, in, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// mirrorRound follows one whole round of the default folder from tok (""
// for a first round) into m and returns the deltaLink token.
func mirrorRound(ctx context.Context, f *fixture, tok string, size int, m mirror) (string, error) {
	req := Request{Collection: Contacts, Mailbox: f.mb, Scope: f.mb.RootID, Caller: f.caller, Token: tok, PageSize: size}
	for {
		p, err := f.engine.Contacts(ctx, req)
		if err != nil {
			return "", err
		}
		for _, raw := range p.Items {
			var it item
			if err := json.Unmarshal(raw, &it); err != nil {
				return "", fmt.Errorf("item is not JSON: %s", raw)
			}
			id, _ := it["id"].(string)
			if _, gone := it["@removed"]; gone {
				delete(m, id)
			} else {
				m[id] = it
			}
		}
		if p.DeltaTok != "" {
			return p.DeltaTok, nil
		}
		req.Token, req.TokenIsSkip = p.SkipToken, true
	}
}

// mirrorEqual reports whether m holds exactly the contacts of truth (id ->
// changeKey), each at its changeKey.
func mirrorEqual(m mirror, truth map[string]string) bool {
	if len(m) != len(truth) {
		return false
	}
	for id, ck := range truth {
		if it, ok := m[id]; !ok || changeKey(it) != ck {
			return false
		}
	}
	return true
}

// TestConcurrentMirror: several writers change a folder while several
// readers run delta rounds continuously; every reader's mirror, built only
// from delta pages, ends equal to the folder.
func TestConcurrentMirror(t *testing.T) {
	f := newFixture(t)
	if wrong := mirrorRun(t, f, 4, 3, 120); wrong != 0 {
		t.Fatalf("%d of 3 readers lost changes", wrong)
	}
}

// TestConcurrentMirrorCatchesNaiveDesign shows that the concurrency test
// can fail: the classic design without a round upper bound (the next
// position read after the last page) loses changes under it.
func TestConcurrentMirrorCatchesNaiveDesign(t *testing.T) {
	for attempt := 1; attempt <= 10; attempt++ {
		f := newFixture(t)
		f.engine.naive = true
		if wrong := mirrorRun(t, f, 4, 3, 120); wrong > 0 {
			t.Logf("attempt %d: the naive design lost changes for %d of 3 readers", attempt, wrong)
			return
		}
	}
	t.Fatal("the naive design never lost a change: the concurrency test cannot tell a broken feed from a correct one")
}

// Two folders other than the default one never share a binding: a token
// of one is refused on the other.
func TestTokenBindingBetweenFolders(t *testing.T) {
	f := newFixture(t)
	a := f.folder(t, "", "A")
	b := f.folder(t, "", "B")
	f.create(t, a.ID, `{"givenName":"A"}`)
	req := Request{Collection: Contacts, Mailbox: f.mb, Scope: a.ID, Caller: f.caller, PageSize: 10}
	tok, _ := f.round(t, req, map[string]map[string]any{})
	req.Scope, req.Token = b.ID, tok
	if _, err := f.engine.Contacts(context.Background(), req); contactgraph.ErrorCode(err) != contactgraph.EBadToken {
		t.Fatalf("folder A's token on folder B: err = %v, want a bad token", err)
	}
}

// A zero Retention or RoundLifetime keeps positions and rounds answerable
// however old they are.
func TestZeroLimitsKeepTokens(t *testing.T) {
	f := newFixture(t)
	f.engine.Retention, f.engine.RoundLifetime = 0, 0
	for i := range 3 {
		f.create(t, f.mb.RootID, fmt.Sprintf(`{"givenName":"G%d"}`, i))
	}
	req := Request{Collection: Contacts, Mailbox: f.mb, Scope: f.mb.RootID, Caller: f.caller, PageSize: 1}
	p, err := f.engine.Contacts(context.Background(), req)
	if err != nil || p.SkipToken == "" {
		t.Fatalf("page 1: %v, %+v", err, p)
	}
	f.clock.Advance(1000 * 24 * time.Hour)
	req.Token, req.TokenIsSkip = p.SkipToken, true
	if _, err := f.engine.Contacts(context.Background(), req); err != nil {
		t.Fatalf("a nextLink 1000 days old without a round lifetime: %v", err)
	}
	tok, _ := f.round(t, Request{Collection: Contacts, Mailbox: f.mb, Scope: f.mb.RootID, Caller: f.caller, PageSize: 10}, map[string]map[string]any{})
	f.clock.Advance(1000 * 24 * time.Hour)
	req.Token, req.TokenIsSkip = tok, false
	if _, err := f.engine.Contacts(context.Background(), req); err != nil {
		t.Fatalf("a deltaLink 1000 days old without retention: %v", err)
	}
}

// A nextLink is refused once its round is older than RoundLifetime, and
// answered before; a deltaLink is not subject to it.
func TestRoundLifetime(t *testing.T) {
	f := newFixture(t)
	f.engine.RoundLifetime = time.Hour
	for i := range 3 {
		f.create(t, f.mb.RootID, fmt.Sprintf(`{"givenName":"G%d"}`, i))
	}
	req := Request{Collection: Contacts, Mailbox: f.mb, Scope: f.mb.RootID, Caller: f.caller, PageSize: 1}
	p, err := f.engine.Contacts(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(59 * time.Minute)
	req.Token, req.TokenIsSkip = p.SkipToken, true
	p2, err := f.engine.Contacts(context.Background(), req)
	if err != nil {
		t.Fatalf("a nextLink within the round lifetime: %v", err)
	}
	f.clock.Advance(2 * time.Minute)
	if _, err := f.engine.Contacts(context.Background(), req); contactgraph.ErrorCode(err) != contactgraph.ESyncStateExpired {
		t.Fatalf("a nextLink of a round 61 minutes old: err = %v, want expired", err)
	}
	// The round's age counts from its first page: page 2's link is as old.
	req.Token = p2.SkipToken
	if _, err := f.engine.Contacts(context.Background(), req); contactgraph.ErrorCode(err) != contactgraph.ESyncStateExpired {
		t.Fatalf("page 2's nextLink of the same round: err = %v, want expired", err)
	}
	tok, _ := f.round(t, Request{Collection: Contacts, Mailbox: f.mb, Scope: f.mb.RootID, Caller: f.caller, PageSize: 10}, map[string]map[string]any{})
	f.clock.Advance(2 * time.Hour)
	req.Token, req.TokenIsSkip = tok, false
	if _, err := f.engine.Contacts(context.Background(), req); err != nil {
		t.Fatalf("a deltaLink two hours old: %v", err)
	}
}

// TestAppendJSONReservesOnce: a page's body is written into one
// reservation of its size: the buffer is not grown (which doubles it)
// while the items are written, however long they are.
func TestAppendJSONReservesOnce(t *testing.T) {
	p := Page{DeltaTok: strings.Repeat("t", 120)}
	for i := range 200 {
		p.Items = append(p.Items, json.RawMessage(`{"id":"`+strconv.Itoa(i)+`","note":"`+strings.Repeat("x", 1400)+`"}`))
	}
	var b bytes.Buffer
	p.AppendJSON(&b, "https://graph.example/v1.0/$metadata#Collection(contact)", "https://graph.example/v1.0/me/contacts/delta")
	if slack := b.Cap() - b.Len(); slack > b.Len()/16 {
		t.Errorf("a body of %d bytes left a buffer of %d: it grew while writing", b.Len(), b.Cap())
	}
}
