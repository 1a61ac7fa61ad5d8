package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/client"
)

// state is a mailbox and its tenant's org contacts read in full through
// the list endpoints.
type state struct {
	root     string
	folders  map[string]object // every folder but the root
	contacts map[string]object // every contact of every folder
	org      map[string]object // live org contacts
	orgGone  map[string]object // soft-deleted org contacts
}

// readState reads the folder tree from root down, every folder's contacts
// and, with org, the org contacts and the deleted ones.
func readState(ctx context.Context, a *api, root string, org bool) (*state, error) {
	st := &state{root: root, folders: map[string]object{}, contacts: map[string]object{}, org: map[string]object{}, orgGone: map[string]object{}}
	queue := []string{root}
	for len(queue) > 0 {
		f := queue[0]
		queue = queue[1:]
		children, contacts := "/me/contactFolders/"+f+"/childFolders?$top=1000", "/me/contactFolders/"+f+"/contacts?$top=1000"
		if f == root {
			children, contacts = "/me/contactFolders?$top=1000", "/me/contacts?$top=1000"
		}
		fs, err := a.list(ctx, children)
		if err != nil {
			return nil, err
		}
		for _, o := range fs {
			id := str(o, "id")
			if _, dup := st.folders[id]; dup || str(o, "parentFolderId") != f {
				return nil, fmt.Errorf("folder %s listed twice or under the wrong parent (%s): %s", id, f, compact(o))
			}
			st.folders[id] = o
			queue = append(queue, id)
		}
		cs, err := a.list(ctx, contacts)
		if err != nil {
			return nil, err
		}
		for _, o := range cs {
			id := str(o, "id")
			if _, dup := st.contacts[id]; dup || str(o, "parentFolderId") != f {
				return nil, fmt.Errorf("contact %s listed twice or in the wrong folder (%s): %s", id, f, compact(o))
			}
			st.contacts[id] = o
		}
	}
	if !org {
		return st, nil
	}
	for path, into := range map[string]map[string]object{
		"/contacts?$top=999": st.org,
		"/directory/deletedItems/microsoft.graph.orgContact?$top=999": st.orgGone,
	} {
		os, err := a.list(ctx, path)
		if err != nil {
			return nil, err
		}
		for _, o := range os {
			into[str(o, "id")] = o
		}
	}
	return st, nil
}

// equal reports whether two reads found the same data.
func (st *state) equal(o *state) bool {
	return reflect.DeepEqual(st.folders, o.folders) && reflect.DeepEqual(st.contacts, o.contacts) &&
		reflect.DeepEqual(st.org, o.org) && reflect.DeepEqual(st.orgGone, o.orgGone)
}

// look returns an object's state for ledger.verify.
func (st *state) look(k kind, id string) observed {
	switch k {
	case kContact:
		if o, ok := st.contacts[id]; ok {
			return observed{effect: present, doc: o}
		}
	case kFolder:
		if o, ok := st.folders[id]; ok {
			return observed{effect: present, doc: o}
		}
	case kOrg:
		if o, ok := st.org[id]; ok {
			return observed{effect: present, doc: o}
		}
		if o, ok := st.orgGone[id]; ok {
			return observed{effect: softDeleted, doc: o}
		}
	}
	return observed{effect: gone}
}

// all returns the ids of every object of a kind, for ledger.verify.
func (st *state) all(k kind) []string {
	var m map[string]object
	switch k {
	case kContact:
		m = st.contacts
	case kFolder:
		m = st.folders
	case kOrg:
		out := keys(st.org)
		return append(out, keys(st.orgGone)...)
	}
	return keys(m)
}

func keys(m map[string]object) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// contactsIn returns the contacts of a folder with $select applied (sel
// nil: every property): what a contact delta mirror of it must hold.
func (st *state) contactsIn(folder string, sel []string) map[string]object {
	out := map[string]object{}
	for id, o := range st.contacts {
		if str(o, "parentFolderId") == folder {
			out[id] = project(o, sel)
		}
	}
	return out
}

// foldersUnder returns the folders whose parent is parent, or every folder
// when parent is "": what a folder delta mirror must hold.
func (st *state) foldersUnder(parent string) map[string]object {
	out := map[string]object{}
	for id, o := range st.folders {
		if parent == "" || str(o, "parentFolderId") == parent {
			out[id] = project(o, nil)
		}
	}
	return out
}

// orgContacts returns the live org contacts with sel applied, without the
// properties at their default: an org contact delta item carries only
// properties ever set, so a mirror holds a subset of them, and a property
// set and cleared again is at its default.
func (st *state) orgContacts(sel []string) map[string]object {
	out := map[string]object{}
	for id, o := range st.org {
		out[id] = withoutDefaults(project(o, sel))
	}
	return out
}

// project keeps id and the selected members (all but annotations when
// sel is nil).
func project(o object, sel []string) object {
	out := object{}
	for k, v := range o {
		if strings.Contains(k, "@") {
			continue
		}
		if k == "id" || sel == nil || slices.Contains(sel, k) {
			out[k] = v
		}
	}
	return out
}

// withoutDefaults drops the org contact properties that are at the value
// of a property never set.
func withoutDefaults(o object) object {
	out := object{}
	for k, v := range o {
		if p, ok := contactgraph.OrgContactSchema.Lookup(k); ok && k != "id" && jsonEqual(v, p.Kind.DefaultValue()) {
			continue
		}
		out[k] = v
	}
	return out
}

// mirrorObjects returns a mirror's objects; with noDefaults, org contact
// properties at their default value are dropped (see orgContacts).
func mirrorObjects(m *client.MapMirror, noDefaults bool) map[string]object {
	out := map[string]object{}
	for _, id := range m.IDs() {
		o, _ := m.Get(id)
		if noDefaults {
			o = withoutDefaults(o)
		}
		out[id] = o
	}
	return out
}

// diffObjects describes how got differs from want (at most a few
// objects), or returns "".
func diffObjects(got, want map[string]object) string {
	var lines []string
	for _, id := range keys(want) {
		g, ok := got[id]
		switch {
		case !ok:
			lines = append(lines, fmt.Sprintf("missing %s: want %s", id, compact(want[id])))
		case !sameMembers(g, want[id]):
			lines = append(lines, fmt.Sprintf("differs %s:\n    got  %s\n    want %s", id, compact(g), compact(want[id])))
		}
	}
	for _, id := range keys(got) {
		if _, ok := want[id]; !ok {
			lines = append(lines, fmt.Sprintf("extra %s: %s", id, compact(got[id])))
		}
	}
	if len(lines) == 0 {
		return ""
	}
	n := len(lines)
	if n > 8 {
		lines = append(lines[:8], fmt.Sprintf("... and %d more", n-8))
	}
	return fmt.Sprintf("%d differences (%d objects wanted, %d mirrored):\n  %s", n, len(want), len(got), strings.Join(lines, "\n  "))
}

// sameMembers compares two objects member by member, by JSON meaning.
func sameMembers(a, b object) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !jsonEqual(v, w) {
			return false
		}
	}
	return true
}

// changeKeys returns a contact mirror's id -> changeKey.
func changeKeys(m *client.MapMirror) map[string]string {
	out := map[string]string{}
	for _, id := range m.IDs() {
		o, _ := m.Get(id)
		var k string
		json.Unmarshal(o["changeKey"], &k)
		out[id] = k
	}
	return out
}

// onHost returns link with its host:port replaced by addr: links are
// absolute on the base URL the client used, so a link of one server is
// sent to another by changing its host.
func onHost(link, addr string) (string, error) {
	u, err := url.Parse(link)
	if err != nil {
		return "", err
	}
	u.Host = addr
	return u.String(), nil
}
