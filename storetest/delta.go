package storetest

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

// mirror is a client's copy of a collection, built only from delta pages.
type mirror map[string]string // id -> changeKey (contacts) or displayName|parent (folders)

// contactRound runs one delta round from since with pages of size limit,
// applies it to m and returns the new position and the changes seen.
func contactRound(t *testing.T, s contactgraph.Store, mb contactgraph.Mailbox, folder string, since int64, limit int, m mirror) (int64, []contactgraph.ContactChange) {
	t.Helper()
	q := contactgraph.ChangeQuery{Since: since, After: since, Limit: limit}
	var seen []contactgraph.ContactChange
	for pages := 0; ; pages++ {
		if pages > 100000 {
			t.Fatal("round does not end")
		}
		p, err := s.ContactChanges(ctx(), mb, folder, q)
		if err != nil {
			t.Fatalf("delta page: %v", err)
		}
		if len(p.Changes) > limit {
			t.Fatalf("page of %d over the limit %d", len(p.Changes), limit)
		}
		for _, ch := range p.Changes {
			if ch.Removed {
				delete(m, ch.ID)
			} else {
				m[ch.ID] = ch.Contact.ChangeKey
			}
		}
		seen = append(seen, p.Changes...)
		q.Until, q.After = p.Until, max(q.After, p.Last)
		if !p.More {
			return p.Until, seen
		}
	}
}

func folderRound(t *testing.T, s contactgraph.Store, mb contactgraph.Mailbox, parent string, since int64, limit int, m mirror) int64 {
	t.Helper()
	q := contactgraph.ChangeQuery{Since: since, After: since, Limit: limit}
	for {
		p, err := s.FolderChanges(ctx(), mb, parent, q)
		if err != nil {
			t.Fatalf("folder delta page: %v", err)
		}
		for _, ch := range p.Changes {
			if ch.Removed {
				delete(m, ch.ID)
			} else {
				m[ch.ID] = ch.Folder.DisplayName + "|" + ch.Folder.ParentID
			}
		}
		q.Until, q.After = p.Until, max(q.After, p.Last)
		if !p.More {
			return p.Until
		}
	}
}

// truth reads a folder's contacts in full.
func truth(t *testing.T, s contactgraph.Store, mb contactgraph.Mailbox, folder string) mirror {
	t.Helper()
	m := mirror{}
	after := ""
	for {
		l := must(s.ListContacts(ctx(), mb, folder, contactgraph.Page{After: after, Limit: 500}))
		for _, c := range l {
			m[c.ID] = c.ChangeKey
		}
		if len(l) < 500 {
			return m
		}
		after = l[len(l)-1].ID
	}
}

func sameMirror(t *testing.T, what string, got, want mirror) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: mirror has %d objects, the store %d", what, len(got), len(want))
	}
	for id, v := range want {
		if got[id] != v {
			t.Fatalf("%s: object %s is %q in the mirror, %q in the store", what, id, got[id], v)
		}
	}
}

func testDeltaFirstRound(t *testing.T, s contactgraph.Store, _ *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	var deleted string
	for i := 0; i < 25; i++ {
		c := must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, fmt.Sprintf(`{"givenName":"C%d"}`, i))))
		if i == 3 {
			deleted = c.ID
		}
	}
	if err := s.DeleteContact(ctx(), mb, deleted, ""); err != nil {
		t.Fatal(err)
	}
	want := truth(t, s, mb, mb.RootID)
	for _, limit := range []int{2, 10, 200} {
		m := mirror{}
		_, seen := contactRound(t, s, mb, mb.RootID, 0, limit, m)
		sameMirror(t, fmt.Sprintf("first round by %d", limit), m, want)
		for _, ch := range seen {
			if ch.Removed {
				t.Fatalf("a first round must not carry tombstones: %+v", ch)
			}
		}
	}
}

// testDeltaPageBoundary checks More at the edge of a page: a page that
// takes the last entries of a round says there are no more, also when they
// exactly fill it.
func testDeltaPageBoundary(t *testing.T, s contactgraph.Store, _ *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	for i := 0; i < 4; i++ {
		must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, fmt.Sprintf(`{"givenName":"C%d"}`, i))))
	}
	for _, tt := range []struct {
		limit int
		pages []int // changes per page; every page but the last has More
	}{
		{limit: 5, pages: []int{4}},
		{limit: 4, pages: []int{4}},
		{limit: 3, pages: []int{3, 1}},
		{limit: 2, pages: []int{2, 2}},
	} {
		q := contactgraph.ChangeQuery{Limit: tt.limit}
		var got []int
		for len(got) <= len(tt.pages) {
			p := must(s.ContactChanges(ctx(), mb, mb.RootID, q))
			got = append(got, len(p.Changes))
			if more := len(got) < len(tt.pages); p.More != more {
				t.Fatalf("limit %d, page %d: More %v, want %v", tt.limit, len(got), p.More, more)
			}
			if !p.More {
				break
			}
			q.Until, q.After = p.Until, p.Last
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.pages) {
			t.Fatalf("limit %d: pages of %v changes, want %v", tt.limit, got, tt.pages)
		}
	}
}

func testDeltaLaterRounds(t *testing.T, s contactgraph.Store, _ *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	other := must(s.CreateFolder(ctx(), mb, "", folderIn("Other")))
	var ids []string
	for i := 0; i < 6; i++ {
		ids = append(ids, must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, fmt.Sprintf(`{"givenName":"C%d"}`, i)))).ID)
	}
	m, mo := mirror{}, mirror{}
	pos, _ := contactRound(t, s, mb, mb.RootID, 0, 3, m)
	posOther, _ := contactRound(t, s, mb, other.ID, 0, 3, mo)

	// An empty round ends at the same position with no changes.
	again, seen := contactRound(t, s, mb, mb.RootID, pos, 3, m)
	if len(seen) != 0 || again != pos {
		t.Fatalf("empty round: %d changes, position %d -> %d", len(seen), pos, again)
	}
	// Updates (twice to one contact), a delete, a create, a move out.
	must(s.UpdateContact(ctx(), mb, ids[0], contactIn(t, `{"jobTitle":"x"}`), ""))
	must(s.UpdateContact(ctx(), mb, ids[0], contactIn(t, `{"jobTitle":"y"}`), ""))
	if err := s.DeleteContact(ctx(), mb, ids[1], ""); err != nil {
		t.Fatal(err)
	}
	created := must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"New"}`)))
	must(s.UpdateContact(ctx(), mb, ids[2], contactIn(t, `{"parentFolderId":"`+other.ID+`"}`), ""))
	pos2, seen := contactRound(t, s, mb, mb.RootID, pos, 2, m)
	sameMirror(t, "after changes", m, truth(t, s, mb, mb.RootID))
	kinds := map[string]bool{}
	for _, ch := range seen {
		kinds[fmt.Sprintf("%s/%v", ch.ID, ch.Removed)] = true
	}
	for _, want := range []string{ids[0] + "/false", ids[1] + "/true", created.ID + "/false", ids[2] + "/true"} {
		if !kinds[want] {
			t.Fatalf("round lacks change %s: %v", want, kinds)
		}
	}
	if len(seen) != 4 {
		t.Fatalf("round has %d changes, want 4 (one per object)", len(seen))
	}
	_, _ = contactRound(t, s, mb, other.ID, posOther, 2, mo)
	sameMirror(t, "moved-into folder", mo, truth(t, s, mb, other.ID))
	if pos2 <= pos {
		t.Fatalf("position did not advance: %d -> %d", pos, pos2)
	}
	// Replaying the old position gives a superset.
	replay := mirror{}
	for k, v := range m {
		replay[k] = v
	}
	contactRound(t, s, mb, mb.RootID, pos, 5, replay)
	sameMirror(t, "replay", replay, m)
}

// testDeltaUpperBound checks the consistency invariant for a round that
// pages while writes happen: the round ends at its upper bound, every object
// whose last change came before the round started is delivered in the round
// (at that state or newer, also when it changed again meanwhile), and a
// change made during the round lands in the next one.
func testDeltaUpperBound(t *testing.T, s contactgraph.Store, _ *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	var ids []string
	for i := 0; i < 10; i++ {
		ids = append(ids, must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, fmt.Sprintf(`{"givenName":"C%d"}`, i)))).ID)
	}
	m := mirror{}
	q := contactgraph.ChangeQuery{Limit: 3}
	p := must(s.ContactChanges(ctx(), mb, mb.RootID, q))
	for _, ch := range p.Changes {
		m[ch.ID] = ch.Contact.ChangeKey
	}
	q.Until, q.After = p.Until, p.Last
	// Mid-round: update a contact already sent and, twice, one not yet sent; add one.
	sent := must(s.UpdateContact(ctx(), mb, p.Changes[0].ID, contactIn(t, `{"jobTitle":"late"}`), ""))
	must(s.UpdateContact(ctx(), mb, ids[9], contactIn(t, `{"jobTitle":"late"}`), ""))
	unsent := must(s.UpdateContact(ctx(), mb, ids[9], contactIn(t, `{"jobTitle":"later"}`), ""))
	late := must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"late"}`)))
	for p.More {
		p = must(s.ContactChanges(ctx(), mb, mb.RootID, q))
		for _, ch := range p.Changes {
			if ch.Rev > q.Until {
				t.Fatalf("change at %d past the round's bound %d", ch.Rev, q.Until)
			}
			m[ch.ID] = ch.Contact.ChangeKey
		}
		q.After = max(q.After, p.Last)
	}
	if len(m) != 10 {
		t.Fatalf("the round delivered %d contacts, want the 10 that existed when it started", len(m))
	}
	if m[ids[9]] != unsent.ChangeKey {
		t.Fatalf("a contact changed during the round before it was sent must come at its newer state")
	}
	if _, ok := m[late.ID]; ok {
		t.Fatal("a contact created during the round belongs to the next round")
	}
	_, seen := contactRound(t, s, mb, mb.RootID, q.Until, 3, m)
	got := map[string]bool{}
	for _, ch := range seen {
		got[ch.ID] = true
	}
	if !got[sent.ID] || !got[late.ID] {
		t.Fatalf("the next round lacks the changes made during the previous one: %v", got)
	}
	sameMirror(t, "after the next round", m, truth(t, s, mb, mb.RootID))
}

func testDeltaFolders(t *testing.T, s contactgraph.Store, _ *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	a := must(s.CreateFolder(ctx(), mb, "", folderIn("A")))
	b := must(s.CreateFolder(ctx(), mb, a.ID, folderIn("B")))
	all, kids := mirror{}, mirror{}
	pos := folderRound(t, s, mb, "", 0, 1, all)
	kpos := folderRound(t, s, mb, a.ID, 0, 1, kids)
	if len(all) != 2 || len(kids) != 1 || kids[b.ID] == "" {
		t.Fatalf("first rounds: all=%v kids=%v", all, kids)
	}
	c := must(s.CreateFolder(ctx(), mb, "", folderIn("C")))
	must(s.UpdateFolder(ctx(), mb, a.ID, contactgraph.FolderInput{DisplayName: str("A2")}))
	must(s.UpdateFolder(ctx(), mb, b.ID, contactgraph.FolderInput{ParentID: &c.ID}))
	pos = folderRound(t, s, mb, "", pos, 2, all)
	kpos = folderRound(t, s, mb, a.ID, kpos, 2, kids)
	if all[a.ID] != "A2|"+mb.RootID || all[b.ID] != "B|"+c.ID || all[c.ID] == "" || len(all) != 3 {
		t.Fatalf("after rename and move: %v", all)
	}
	if len(kids) != 0 {
		t.Fatalf("a folder moved out must leave a tombstone: %v", kids)
	}
	if err := s.DeleteFolder(ctx(), mb, c.ID); err != nil {
		t.Fatal(err)
	}
	folderRound(t, s, mb, "", pos, 2, all)
	if len(all) != 1 || all[a.ID] == "" {
		t.Fatalf("after deleting C with B inside: %v", all)
	}
}

// testDeltaFolderFirstRound checks that a first folder round, flat or of
// one parent, carries no tombstones for folders deleted before it.
func testDeltaFolderFirstRound(t *testing.T, s contactgraph.Store, _ *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	a := must(s.CreateFolder(ctx(), mb, "", folderIn("A")))
	b := must(s.CreateFolder(ctx(), mb, a.ID, folderIn("B")))
	c := must(s.CreateFolder(ctx(), mb, a.ID, folderIn("C")))
	if err := s.DeleteFolder(ctx(), mb, b.ID); err != nil {
		t.Fatal(err)
	}
	for parent, want := range map[string][]string{"": {a.ID, c.ID}, a.ID: {c.ID}} {
		p := must(s.FolderChanges(ctx(), mb, parent, contactgraph.ChangeQuery{Limit: 10}))
		var got []string
		for _, ch := range p.Changes {
			if ch.Removed {
				t.Fatalf("parent %q: a first round must not carry tombstones: %+v", parent, ch)
			}
			got = append(got, ch.ID)
		}
		sort.Strings(got)
		sort.Strings(want)
		if fmt.Sprint(got) != fmt.Sprint(want) || p.More {
			t.Fatalf("parent %q: first round %v (more %v), want %v", parent, got, p.More, want)
		}
	}
}

func testDeltaDeletedFolder(t *testing.T, s contactgraph.Store, _ *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	f := must(s.CreateFolder(ctx(), mb, "", folderIn("F")))
	must(s.CreateContact(ctx(), mb, f.ID, contactIn(t, `{"givenName":"x"}`)))
	pos, _ := contactRound(t, s, mb, f.ID, 0, 10, mirror{})
	if err := s.DeleteFolder(ctx(), mb, f.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.ContactChanges(ctx(), mb, f.ID, contactgraph.ChangeQuery{Since: pos, After: pos, Limit: 10})
	wantCode(t, err, contactgraph.ENotFound)
}

func testPrune(t *testing.T, s contactgraph.Store, clock *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	var ids []string
	for i := 0; i < 4; i++ {
		ids = append(ids, must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"x"}`))).ID)
	}
	m := mirror{}
	old, _ := contactRound(t, s, mb, mb.RootID, 0, 10, m)
	if err := s.DeleteContact(ctx(), mb, ids[0], ""); err != nil {
		t.Fatal(err)
	}
	clock.Advance(48 * time.Hour)
	recent, _ := contactRound(t, s, mb, mb.RootID, 0, 10, mirror{})
	if err := s.DeleteContact(ctx(), mb, ids[1], ""); err != nil {
		t.Fatal(err)
	}
	n := must(s.Prune(ctx(), contactgraph.Retention{Items: clock.Now().Add(-24 * time.Hour)}))
	if n != 1 {
		t.Fatalf("pruned %d tombstones, want 1", n)
	}
	// The old position needed the pruned tombstone: refused, never partial.
	_, err := s.ContactChanges(ctx(), mb, mb.RootID, contactgraph.ChangeQuery{Since: old, After: old, Limit: 10})
	wantCode(t, err, contactgraph.ESyncStateExpired)
	// A position after the pruned tombstone still gets exactly its changes.
	mr := truthCopyWith(t, s, mb, ids[1])
	_, seen := contactRound(t, s, mb, mb.RootID, recent, 10, mr)
	if len(seen) != 1 || !seen[0].Removed || seen[0].ID != ids[1] {
		t.Fatalf("recent round saw %+v, want the one tombstone", seen)
	}
	sameMirror(t, "after prune", mr, truth(t, s, mb, mb.RootID))
	// The first round is always answerable.
	first := mirror{}
	contactRound(t, s, mb, mb.RootID, 0, 10, first)
	sameMirror(t, "first round after prune", first, truth(t, s, mb, mb.RootID))
}

// truthCopyWith is the store's folder content plus one extra id.
func truthCopyWith(t *testing.T, s contactgraph.Store, mb contactgraph.Mailbox, extra string) mirror {
	m := truth(t, s, mb, mb.RootID)
	m[extra] = "gone"
	return m
}

// testConcurrentMirror runs writers and delta readers at once; at the end
// every reader's mirror, built only from delta pages, must equal the folder.
func testConcurrentMirror(t *testing.T, s contactgraph.Store, _ *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	ConcurrentMirror(t, s, mb, 4, 3, 150)
}

// ConcurrentMirror runs writers goroutines making ops random creates,
// updates, moves and deletes in one folder while readers goroutines run
// delta rounds continuously with random page sizes. It fails the test when
// a reader's final mirror differs from the folder's content.
func ConcurrentMirror(t *testing.T, s contactgraph.Store, mb contactgraph.Mailbox, writers, readers, ops int) {
	t.Helper()
	folder := mb.RootID
	side := must(s.CreateFolder(ctx(), mb, "", folderIn(fmt.Sprintf("side-%d", rand.Int()))))
	var mu sync.Mutex
	live := []string{}
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	done := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 1))
			for i := 0; i < ops; i++ {
				mu.Lock()
				var id string
				if len(live) > 0 {
					id = live[r.IntN(len(live))]
				}
				mu.Unlock()
				var err error
				switch op := r.IntN(10); {
				case op < 4 || id == "":
					var c *contactgraph.Contact
					in, _ := contactgraph.ParseContactInput([]byte(fmt.Sprintf(`{"givenName":"w%d-%d"}`, seed, i)))
					c, err = s.CreateContact(ctx(), mb, folder, in)
					if err == nil {
						mu.Lock()
						live = append(live, c.ID)
						mu.Unlock()
					}
				case op < 7:
					in, _ := contactgraph.ParseContactInput([]byte(fmt.Sprintf(`{"jobTitle":"j%d"}`, i)))
					_, err = s.UpdateContact(ctx(), mb, id, in, "")
				case op < 8:
					in, _ := contactgraph.ParseContactInput([]byte(`{"parentFolderId":"` + side.ID + `"}`))
					_, err = s.UpdateContact(ctx(), mb, id, in, "")
				default:
					err = s.DeleteContact(ctx(), mb, id, "")
				}
				if contactgraph.ErrorCode(err) == contactgraph.ENotFound {
					err = nil // raced with another writer's delete or move
				}
				if err != nil {
					errs <- fmt.Errorf("writer: %w", err)
					return
				}
			}
		}(uint64(w + 1))
	}
	mirrors := make([]mirror, readers)
	positions := make([]int64, readers)
	var rwg sync.WaitGroup
	for rd := 0; rd < readers; rd++ {
		rwg.Add(1)
		go func(rd int) {
			defer rwg.Done()
			r := rand.New(rand.NewPCG(uint64(rd), 2))
			m := mirror{}
			var pos int64
			for {
				select {
				case <-done:
					mirrors[rd], positions[rd] = m, pos
					return
				default:
				}
				var err error
				pos, err = roundErr(s, mb, folder, pos, 1+r.IntN(7), m)
				if err != nil {
					errs <- fmt.Errorf("reader: %w", err)
					return
				}
			}
		}(rd)
	}
	wg.Wait()
	close(done)
	rwg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := truth(t, s, mb, folder)
	for rd := range mirrors {
		// One more round after the writers stopped catches up the tail.
		pos, err := roundErr(s, mb, folder, positions[rd], 5, mirrors[rd])
		if err != nil {
			t.Fatal(err)
		}
		_ = pos
		sameMirror(t, fmt.Sprintf("reader %d", rd), mirrors[rd], want)
	}
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	t.Logf("%d writers x %d ops, %d readers: %d contacts mirrored exactly", writers, ops, readers, len(ids))
}

// roundErr is contactRound for goroutines: it returns errors instead of failing.
func roundErr(s contactgraph.Store, mb contactgraph.Mailbox, folder string, since int64, limit int, m mirror) (int64, error) {
	q := contactgraph.ChangeQuery{Since: since, After: since, Limit: limit}
	for {
		p, err := s.ContactChanges(ctx(), mb, folder, q)
		if err != nil {
			return since, err
		}
		for _, ch := range p.Changes {
			if ch.Removed {
				delete(m, ch.ID)
			} else {
				m[ch.ID] = ch.Contact.ChangeKey
			}
		}
		q.Until, q.After = p.Until, max(q.After, p.Last)
		if !p.More {
			return p.Until, nil
		}
	}
}

// testDeltaRecreatedUser: a user deleted and created again (same UPN, so
// the same id) gets a new mailbox whose delta never answers a token of
// the old one, however many changes the new mailbox makes.
func testDeltaRecreatedUser(t *testing.T, s contactgraph.Store, _ *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	f := must(s.CreateFolder(ctx(), mb, "", folderIn("Old")))
	old := folderRound(t, s, mb, "", 0, 10, mirror{})
	if err := s.DeleteUser(ctx(), tenant, mb.UserID); err != nil {
		t.Fatal(err)
	}
	mb2 := mailbox(t, s, "alice@contoso.com")
	for i := 0; i < int(old)+5; i++ {
		must(s.CreateFolder(ctx(), mb2, "", folderIn(fmt.Sprintf("New %d", i))))
	}
	_, err := s.FolderChanges(ctx(), mb2, "", contactgraph.ChangeQuery{Since: old, After: old, Limit: 10})
	wantCode(t, err, contactgraph.ESyncStateExpired)
	if _, err := s.Folder(ctx(), mb2, f.ID); contactgraph.ErrorCode(err) != contactgraph.ENotFound {
		t.Fatalf("the old mailbox's folder survived: %v", err)
	}
	// Resetting the tenant refuses every older position too, org contacts included.
	must(s.CreateOrgContact(ctx(), tenant, orgIn(t, `{"displayName":"A"}`)))
	_, orgPos := orgRound(t, s, nil, 0, 10)
	mbPos := folderRound(t, s, mb2, "", 0, 100, mirror{})
	if err := s.ResetTenant(ctx(), tenant); err != nil {
		t.Fatal(err)
	}
	must(s.CreateOrgContact(ctx(), tenant, orgIn(t, `{"displayName":"B"}`)))
	_, err = s.OrgContactChanges(ctx(), tenant, nil, contactgraph.ChangeQuery{Since: orgPos, After: orgPos, Limit: 10})
	wantCode(t, err, contactgraph.ESyncStateExpired)
	mb3 := mailbox(t, s, "alice@contoso.com")
	_, err = s.FolderChanges(ctx(), mb3, "", contactgraph.ChangeQuery{Since: mbPos, After: mbPos, Limit: 10})
	if code := contactgraph.ErrorCode(err); code != contactgraph.ESyncStateExpired && code != contactgraph.EResyncRequired {
		t.Fatalf("a position of the reset mailbox: %v", err)
	}
	if l := must(s.ListOrgContacts(ctx(), tenant, contactgraph.Page{Limit: 10})); len(l) != 1 {
		t.Fatalf("after reset the tenant has %d org contacts, want the 1 created since", len(l))
	}
}

// testPruneMany prunes tombstones and superseded rows of two folders
// written at different times, so that a store pruning in batches crosses
// several of them (its batch bounds fall between the rows' times): the
// counts, the refused and the still-answerable positions are those of one
// prune at once.
func testPruneMany(t *testing.T, s contactgraph.Store, clock *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	other := must(s.CreateFolder(ctx(), mb, "", folderIn("Other")))
	create := func(folder string, n int) []string {
		var ids []string
		for i := 0; i < n; i++ {
			ids = append(ids, must(s.CreateContact(ctx(), mb, folder, contactIn(t, `{"givenName":"x"}`))).ID)
		}
		return ids
	}
	root, kept := create(mb.RootID, 7), create(other.ID, 5)
	oldRoot, _ := contactRound(t, s, mb, mb.RootID, 0, 100, mirror{})
	oldOther, _ := contactRound(t, s, mb, other.ID, 0, 100, mirror{})
	// Old: 5 deletes in the root and 3 in the other folder, a second apart
	// (each leaves a tombstone and supersedes its contact's row), and two
	// updates of one contact (each supersedes the row before).
	for i, id := range append(root[:5:5], kept[:3]...) {
		clock.Advance(time.Second)
		if err := s.DeleteContact(ctx(), mb, id, ""); err != nil {
			t.Fatalf("delete %d: %v", i, err)
		}
	}
	for _, title := range []string{"a", "b"} {
		clock.Advance(time.Second)
		must(s.UpdateContact(ctx(), mb, root[5], contactIn(t, `{"jobTitle":"`+title+`"}`), ""))
	}
	clock.Advance(48 * time.Hour)
	recentRoot, _ := contactRound(t, s, mb, mb.RootID, 0, 100, mirror{})
	recentOther, _ := contactRound(t, s, mb, other.ID, 0, 100, mirror{})
	if err := s.DeleteContact(ctx(), mb, root[6], ""); err != nil {
		t.Fatal(err)
	}

	cutoff := clock.Now().Add(-24 * time.Hour)
	n := must(s.Prune(ctx(), contactgraph.Retention{Items: cutoff, Superseded: cutoff}))
	// 8 old tombstones, the 8 rows they superseded and the 2 the updates did.
	if n != 18 {
		t.Fatalf("pruned %d rows, want 18", n)
	}
	if again := must(s.Prune(ctx(), contactgraph.Retention{Items: cutoff, Superseded: cutoff})); again != 0 {
		t.Fatalf("a second prune removed %d rows, want 0", again)
	}
	for name, c := range map[string]struct {
		folder string
		pos    int64
	}{"root": {mb.RootID, oldRoot}, "other": {other.ID, oldOther}} {
		_, err := s.ContactChanges(ctx(), mb, c.folder, contactgraph.ChangeQuery{Since: c.pos, After: c.pos, Limit: 10})
		if contactgraph.ErrorCode(err) != contactgraph.ESyncStateExpired {
			t.Errorf("%s: a position before pruned tombstones gave %v, want %s", name, err, contactgraph.ESyncStateExpired)
		}
	}
	mr := truthCopyWith(t, s, mb, root[6])
	_, seen := contactRound(t, s, mb, mb.RootID, recentRoot, 10, mr)
	if len(seen) != 1 || !seen[0].Removed || seen[0].ID != root[6] {
		t.Fatalf("recent root round saw %+v, want the one tombstone", seen)
	}
	sameMirror(t, "root after prune", mr, truth(t, s, mb, mb.RootID))
	if _, seen := contactRound(t, s, mb, other.ID, recentOther, 10, truth(t, s, mb, other.ID)); len(seen) != 0 {
		t.Fatalf("recent round of the other folder saw %+v, want nothing", seen)
	}
	for _, folder := range []string{mb.RootID, other.ID} {
		first := mirror{}
		contactRound(t, s, mb, folder, 0, 100, first)
		sameMirror(t, "first round after prune", first, truth(t, s, mb, folder))
	}
}
