package delta

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/contactgraph/contactgraph"
)

// These tests pin the round's upper bound. A round captures it on its
// first page and carries it in every nextLink; without it each page reads
// to the current head, and an object delivered on an early page of a first
// round and removed before the round ends loses its tombstone (first rounds
// leave removals out): the deltaLink points past the removal and the client
// keeps the object forever. Each test delivers one object on page 1 of a
// first round of page size 1, changes or removes it, finishes the round,
// runs the next one, and compares the mirror with the store both ways.

// item is a delta item as a client sees it.
type item = map[string]any

// pager answers one call of a round.
type pager func(ctx context.Context, req Request) (Page, error)

// mirror is a client's copy of a collection: id -> item.
type mirror map[string]item

// apply applies a page's items to m and returns them decoded.
func (m mirror) apply(t *testing.T, p Page) []item {
	t.Helper()
	var out []item
	for _, raw := range p.Items {
		var it item
		if err := json.Unmarshal(raw, &it); err != nil {
			t.Fatalf("item is not JSON: %s", raw)
		}
		id, _ := it["id"].(string)
		if id == "" {
			t.Fatalf("item without id: %s", raw)
		}
		if _, gone := it["@removed"]; gone {
			delete(m, id)
		} else {
			m[id] = it
		}
		out = append(out, it)
	}
	return out
}

// follow runs the rest of a round from req (whose first page is p) and
// returns the deltaLink token and every item of the pages after p.
func follow(t *testing.T, call pager, req Request, p Page, m mirror) (string, []item) {
	t.Helper()
	var items []item
	for p.DeltaTok == "" {
		req.Token, req.TokenIsSkip, req.Select, req.Filter = p.SkipToken, true, nil, nil
		var err error
		if p, err = call(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		if (p.SkipToken == "") == (p.DeltaTok == "") {
			t.Fatalf("a page carries exactly one link: %+v", p)
		}
		items = append(items, m.apply(t, p)...)
	}
	return p.DeltaTok, items
}

// midRound runs a first round of page size 1 from req, calls mid with the
// id of the one object of page 1, ends the round, then runs the next round.
// It returns the mirror, the object's id and the items of the next round.
func midRound(t *testing.T, call pager, req Request, mid func(id string)) (mirror, string, []item) {
	t.Helper()
	m := mirror{}
	req.PageSize = 1
	p, err := call(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	first := m.apply(t, p)
	if len(first) != 1 || p.SkipToken == "" {
		t.Fatalf("page 1 of a round of page size 1 over several objects: %d items, nextLink %v", len(first), p.SkipToken != "")
	}
	id := first[0]["id"].(string)
	mid(id)
	tok, _ := follow(t, call, req, p, m)
	req.Token, req.TokenIsSkip, req.Select, req.Filter = tok, false, nil, nil
	p, err = call(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	next := m.apply(t, p)
	_, more := follow(t, call, req, p, m)
	return m, id, append(next, more...)
}

// sameMirror fails unless m holds exactly the objects of truth (id ->
// version), each at that version (version(item) == truth[id]).
func sameMirror(t *testing.T, m mirror, truth map[string]string, version func(item) string) {
	t.Helper()
	for id, v := range truth {
		it, ok := m[id]
		if !ok {
			t.Errorf("mirror lacks %s", id)
		} else if got := version(it); got != v {
			t.Errorf("mirror has %s at %q, the store at %q", id, got, v)
		}
	}
	for id := range m {
		if _, ok := truth[id]; !ok {
			t.Errorf("mirror keeps %s, which the store no longer has in the collection", id)
		}
	}
}

// findItem returns the item of id among items, and whether it is a tombstone.
func findItem(items []item, id string) (it item, removed, ok bool) {
	for _, it := range items {
		if it["id"] == id {
			_, removed = it["@removed"]
			return it, removed, true
		}
	}
	return nil, false, false
}

func changeKey(it item) string { s, _ := it["changeKey"].(string); return s }

func displayName(it item) string { s, _ := it["displayName"].(string); return s }

func (f *fixture) contactTruth(t *testing.T, folder string) map[string]string {
	t.Helper()
	l, err := f.store.ListContacts(context.Background(), f.mb, folder, contactgraph.Page{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	truth := map[string]string{}
	for _, c := range l {
		truth[c.ID] = c.ChangeKey
	}
	return truth
}

func (f *fixture) update(t *testing.T, id, body string) *contactgraph.Contact {
	t.Helper()
	in, err := contactgraph.ParseContactInput([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.store.UpdateContact(context.Background(), f.mb, id, in, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fixture) folder(t *testing.T, parent, name string) *contactgraph.Folder {
	t.Helper()
	fo, err := f.store.CreateFolder(context.Background(), f.mb, parent, contactgraph.FolderInput{DisplayName: ptr(name)})
	if err != nil {
		t.Fatal(err)
	}
	return fo
}

func TestMidRoundContacts(t *testing.T) {
	for _, tc := range []struct {
		name string
		// change changes or removes the contact delivered on page 1.
		change func(t *testing.T, f *fixture, id, elsewhere string)
		// removed: the next round must carry the contact as a tombstone
		// (else at its new state).
		removed bool
	}{
		{"deleted", func(t *testing.T, f *fixture, id, _ string) {
			if err := f.store.DeleteContact(context.Background(), f.mb, id, ""); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"moved out of the folder", func(t *testing.T, f *fixture, id, elsewhere string) {
			f.update(t, id, `{"parentFolderId":"`+elsewhere+`"}`)
		}, true},
		{"changed", func(t *testing.T, f *fixture, id, _ string) {
			f.update(t, id, `{"jobTitle":"Changed mid-round"}`)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			elsewhere := f.folder(t, "", "Elsewhere")
			for i := range 4 {
				f.create(t, f.mb.RootID, fmt.Sprintf(`{"givenName":"G%d"}`, i))
			}
			req := Request{Collection: Contacts, Mailbox: f.mb, Scope: f.mb.RootID, Caller: f.caller}
			m, id, next := midRound(t, f.engine.Contacts, req, func(id string) { tc.change(t, f, id, elsewhere.ID) })
			it, removed, ok := findItem(next, id)
			if !ok || removed != tc.removed {
				t.Errorf("the next round carries the contact changed mid-round: %v, as a tombstone: %v (want %v)", ok, removed, tc.removed)
			}
			if ok && !tc.removed && it["jobTitle"] != "Changed mid-round" {
				t.Errorf("the next round carries the contact at %v, not at its new state", it)
			}
			sameMirror(t, m, f.contactTruth(t, f.mb.RootID), changeKey)
		})
	}
}

// folderTruth returns every folder of the mailbox but the root, flat:
// id -> displayName.
func (f *fixture) folderTruth(t *testing.T) map[string]string {
	t.Helper()
	truth := map[string]string{}
	var walk func(parent string)
	walk = func(parent string) {
		l, err := f.store.ListFolders(context.Background(), f.mb, parent, contactgraph.Page{Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		for _, fo := range l {
			truth[fo.ID] = fo.DisplayName
			walk(fo.ID)
		}
	}
	walk("")
	return truth
}

func TestMidRoundFolders(t *testing.T) {
	for _, tc := range []struct {
		name    string
		change  func(t *testing.T, f *fixture, id string)
		removed bool
	}{
		{"deleted", func(t *testing.T, f *fixture, id string) {
			if err := f.store.DeleteFolder(context.Background(), f.mb, id); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"renamed", func(t *testing.T, f *fixture, id string) {
			if _, err := f.store.UpdateFolder(context.Background(), f.mb, id, contactgraph.FolderInput{DisplayName: ptr("Renamed mid-round")}); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			for i := range 4 {
				f.folder(t, "", fmt.Sprintf("F%d", i))
			}
			req := Request{Collection: Folders, Mailbox: f.mb, Caller: f.caller}
			m, id, next := midRound(t, f.engine.Folders, req, func(id string) { tc.change(t, f, id) })
			if _, removed, ok := findItem(next, id); !ok || removed != tc.removed {
				t.Errorf("the next round carries the folder changed mid-round: %v, as a tombstone: %v (want %v)", ok, removed, tc.removed)
			}
			sameMirror(t, m, f.folderTruth(t), displayName)
		})
	}

	// childFolders delta: a folder moved out of its parent mid-round is a
	// tombstone there in the next round.
	t.Run("moved out of the parent", func(t *testing.T) {
		f := newFixture(t)
		parent := f.folder(t, "", "Parent")
		other := f.folder(t, "", "Other")
		for i := range 4 {
			f.folder(t, parent.ID, fmt.Sprintf("C%d", i))
		}
		req := Request{Collection: Folders, Mailbox: f.mb, Scope: parent.ID, Caller: f.caller}
		m, id, next := midRound(t, f.engine.Folders, req, func(id string) {
			if _, err := f.store.UpdateFolder(context.Background(), f.mb, id, contactgraph.FolderInput{ParentID: ptr(other.ID)}); err != nil {
				t.Fatal(err)
			}
		})
		if _, removed, ok := findItem(next, id); !ok || !removed {
			t.Errorf("the next round carries the moved folder as a tombstone: %v, %v", ok, removed)
		}
		l, err := f.store.ListFolders(context.Background(), f.mb, parent.ID, contactgraph.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		truth := map[string]string{}
		for _, fo := range l {
			truth[fo.ID] = fo.DisplayName
		}
		sameMirror(t, m, truth, displayName)
	})
}

func TestMidRoundOrgContacts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, f *fixture, id string)
		reason string // the next round's @removed reason; "" for an update
	}{
		{"soft-deleted", func(t *testing.T, f *fixture, id string) {
			if err := f.store.DeleteOrgContact(context.Background(), f.mb.TenantID, id); err != nil {
				t.Fatal(err)
			}
		}, contactgraph.RemovedChanged},
		{"soft-deleted, then permanently deleted", func(t *testing.T, f *fixture, id string) {
			if err := f.store.DeleteOrgContact(context.Background(), f.mb.TenantID, id); err != nil {
				t.Fatal(err)
			}
			if err := f.store.PurgeOrgContact(context.Background(), f.mb.TenantID, id); err != nil {
				t.Fatal(err)
			}
		}, contactgraph.RemovedDeleted},
		{"changed", func(t *testing.T, f *fixture, id string) {
			f.orgUpdate(t, id, `{"displayName":"Renamed mid-round"}`)
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			for i := range 4 {
				f.org(t, fmt.Sprintf(`{"displayName":"O%d"}`, i))
			}
			m, id, next := midRound(t, f.engine.OrgContacts, f.orgReq(), func(id string) { tc.change(t, f, id) })
			it, removed, ok := findItem(next, id)
			switch {
			case !ok:
				t.Errorf("the next round lacks the org contact changed mid-round")
			case tc.reason != "" && (!removed || it["@removed"].(map[string]any)["reason"] != tc.reason):
				t.Errorf("the next round carries %v, want a removal with reason %q", it, tc.reason)
			case tc.reason == "" && (removed || it["displayName"] != "Renamed mid-round"):
				t.Errorf("the next round carries %v, want the new name", it)
			}
			l, err := f.store.ListOrgContacts(context.Background(), f.mb.TenantID, contactgraph.Page{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			truth := map[string]string{}
			for _, o := range l {
				var name string
				_ = json.Unmarshal(o.Props["displayName"], &name)
				truth[o.ID] = name
			}
			sameMirror(t, m, truth, displayName)
			if t.Failed() {
				t.Logf("mirror %v, store %v", slices.Sorted(maps.Keys(m)), slices.Sorted(maps.Keys(truth)))
			}
		})
	}
}
