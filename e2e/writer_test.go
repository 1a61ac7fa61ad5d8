package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"
)

// op is a kind of write.
type op int

const (
	opCreateContact op = iota
	opUpdateContact
	opMoveContact
	opDeleteContact
	opCreateFolder
	opUpdateFolder
	opDeleteFolder
	opCreateOrg
	opUpdateOrg
	opDeleteOrg
	opRestoreOrg
	opPurgeOrg
	numOps
)

// workload is what the writers of a test do.
type workload struct {
	api    *api
	ledger *ledger
	// stable are the folders contacts are created in and moved among (the
	// root first); they are never changed. Writers create their own
	// folders under them, and contacts in those, which stay there.
	stable  []string
	weights [numOps]int   // relative frequency of each write
	objects int           // objects of each kind a writer keeps before it prefers deletes
	pace    time.Duration // the longest random pause between two writes of a writer
}

// orgStatus is what a writer believes of one of its org contacts.
type orgStatus int

const (
	orgLive orgStatus = iota
	orgDeleted
	orgUnsure
)

// writer makes random writes of its own objects and records each in the
// ledger. Objects are never shared between writers, so the writes of an
// object are ordered.
type writer struct {
	w        *workload
	n        int
	rnd      *rand.Rand
	contacts map[string]string // own contact -> its folder
	keys     map[string]string // own contact -> last acknowledged changeKey ("" when unsure)
	folders  []string          // own folders
	orgs     map[string]orgStatus
	names    int // names made, for unique names and values
}

func newWriter(w *workload, n int, seed uint64) *writer {
	return &writer{w: w, n: n, rnd: rand.New(rand.NewPCG(seed, uint64(n))),
		contacts: map[string]string{}, keys: map[string]string{}, orgs: map[string]orgStatus{}}
}

// run writes until stop is closed or ctx ends.
func (wr *writer) run(ctx context.Context, stop <-chan struct{}) {
	// No server up: wait for one.
	repeat(ctx, stop, wr.rnd, wr.w.pace, 50*time.Millisecond, func() bool { return wr.step(ctx) == unsent })
}

// repeat runs step until stop is closed or ctx ends, with a random pause
// of up to pause after each step, or up to failed after one that reports
// failing.
func repeat(ctx context.Context, stop <-chan struct{}, rnd *rand.Rand, pause, failed time.Duration, step func() (failing bool)) {
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		p := pause
		if step() {
			p = failed
		}
		if p > 0 {
			time.Sleep(time.Duration(rnd.Int64N(int64(p)))) // pacing the load, not synchronization
		}
	}
}

// pick returns a random op by the workload's weights.
func (wr *writer) pick() op {
	total := 0
	for _, w := range wr.w.weights {
		total += w
	}
	x := wr.rnd.IntN(total)
	for o, w := range wr.w.weights {
		if x < w {
			return op(o)
		}
		x -= w
	}
	return opCreateContact
}

// step makes one write and returns its outcome.
func (wr *writer) step(ctx context.Context) outcome {
	o := wr.pick()
	switch {
	case o == opCreateContact && len(wr.contacts) >= wr.w.objects && wr.w.weights[opDeleteContact] > 0:
		o = opDeleteContact
	case o == opCreateFolder && len(wr.folders) >= max(wr.w.objects/8, 2) && wr.w.weights[opDeleteFolder] > 0:
		o = opDeleteFolder
	case o == opCreateOrg && len(wr.orgs) >= wr.w.objects && wr.w.weights[opPurgeOrg] > 0:
		o = opPurgeOrg
		if wr.anyOrg(o) == "" {
			o = opDeleteOrg
		}
	}
	switch o {
	case opUpdateContact, opMoveContact, opDeleteContact:
		id := wr.anyContact(o == opMoveContact)
		switch {
		case id == "":
			return wr.createContact(ctx)
		case o == opUpdateContact:
			return wr.updateContact(ctx, id)
		case o == opMoveContact:
			return wr.moveContact(ctx, id)
		}
		return wr.deleteContact(ctx, id)
	case opCreateFolder:
		return wr.createFolder(ctx)
	case opUpdateFolder, opDeleteFolder:
		if len(wr.folders) == 0 {
			return wr.createFolder(ctx)
		}
		f := wr.folders[wr.rnd.IntN(len(wr.folders))]
		if o == opUpdateFolder {
			return wr.updateFolder(ctx, f)
		}
		return wr.deleteFolder(ctx, f)
	case opCreateOrg:
		return wr.createOrg(ctx)
	case opUpdateOrg, opDeleteOrg, opRestoreOrg, opPurgeOrg:
		if id := wr.anyOrg(o); id != "" {
			return wr.writeOrg(ctx, o, id)
		}
		return wr.createOrg(ctx)
	}
	return wr.createContact(ctx)
}

// send makes one write request and classifies the answer.
func (wr *writer) send(ctx context.Context, method, path string, body any, hdr ...string) (reply, outcome) {
	began := time.Now()
	r, err := wr.w.api.do(ctx, method, path, body, hdr...)
	return classify(wr.w.ledger, began, r, err)
}

// classify records how long a write exchange that began at began took and
// tells its outcome from the answer; a 5xx is an anomaly.
func classify(l *ledger, began time.Time, r reply, err error) (reply, outcome) {
	l.took(time.Since(began), r)
	switch {
	case errors.Is(err, errNoServer):
		return r, unsent
	case err != nil:
		r.status, r.body = 0, []byte("transport error: "+err.Error())
		return r, unknown
	case r.status >= 500:
		l.anomaly("a %d answer to a write (its outcome is unknown):\n%s", r.status, r)
		return r, unknown
	case r.status >= 400:
		return r, rejected
	}
	return r, acked
}

// refused records an anomaly when a write of an object whose state was
// known, and which that state allows, was answered with a 4xx.
func (wr *writer) refused(r reply, o outcome, wasDefinite bool, what string) {
	if o == rejected && wasDefinite {
		wr.w.ledger.anomaly("%s: refused although every earlier write of it was acknowledged:\n%s", what, r)
	}
}

// doc decodes an acked answer's body; a body that is not an object is an
// anomaly.
func (wr *writer) doc(r reply, o outcome) object {
	if o != acked || r.status == http.StatusNoContent {
		return nil
	}
	d, err := r.obj()
	if err != nil || str(d, "id") == "" {
		wr.w.ledger.anomaly("an acknowledged write answered no object: %s", r)
		return nil
	}
	return d
}

// note describes an exchange for the ledger: one line for an acked write
// (the answered object is kept anyway), everything otherwise.
func note(r reply, o outcome) string {
	if o == acked {
		return r.summary()
	}
	return r.String()
}

func (wr *writer) tag() string {
	wr.names++
	return fmt.Sprintf("w%d-%d", wr.n, wr.names)
}

func (wr *writer) anyContact(movable bool) string {
	var ids []string
	for id, f := range wr.contacts {
		if !movable || slices.Contains(wr.w.stable, f) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return ""
	}
	slices.Sort(ids) // map order is random; the seed should decide
	return ids[wr.rnd.IntN(len(ids))]
}

// contactsPath returns the contact collection path of a folder.
func (wr *writer) contactsPath(folder string) string { return contactsPath(wr.w.stable[0], folder) }

// contactsPath returns the contact collection path of a folder of the
// mailbox whose default folder is root.
func contactsPath(root, folder string) string {
	if folder == root {
		return "/me/contacts"
	}
	return "/me/contactFolders/" + folder + "/contacts"
}

func (wr *writer) createContact(ctx context.Context) outcome {
	targets := append(slices.Clone(wr.w.stable), wr.folders...)
	folder := targets[wr.rnd.IntN(len(targets))]
	tag := wr.tag()
	body := object{"givenName": jsonOf("G" + tag), "surname": jsonOf("S" + tag)}
	for k, v := range contactPatch(wr.rnd, tag) {
		body[k] = v
	}
	l := wr.w.ledger
	l.beginCreate(kContact)
	r, o := wr.send(ctx, http.MethodPost, wr.contactsPath(folder), body)
	doc := wr.doc(r, o)
	patch := object{"parentFolderId": jsonOf(folder)}
	id := l.endCreate(kContact, o, doc, patch, note(r, o))
	wr.refused(r, o, true, "create of a contact in folder "+folder)
	if id != "" {
		wr.contacts[id], wr.keys[id] = folder, str(doc, "changeKey")
	}
	return o
}

// acknowledge keeps what an answer tells of an own contact.
func (wr *writer) acknowledge(id string, o outcome, doc object) {
	switch {
	case doc != nil:
		wr.contacts[id], wr.keys[id] = str(doc, "parentFolderId"), str(doc, "changeKey")
	case o == unknown:
		wr.keys[id] = ""
	}
}

func (wr *writer) updateContact(ctx context.Context, id string) outcome {
	l := wr.w.ledger
	patch := contactPatch(wr.rnd, wr.tag())
	definite := l.definite(id)
	var hdr []string
	if definite && wr.keys[id] != "" && wr.rnd.IntN(3) == 0 {
		// The acknowledged changeKey must still be the current one.
		hdr = []string{"If-Match", `W/"` + wr.keys[id] + `"`}
	}
	i := l.begin(id, "update", present, patch)
	r, o := wr.send(ctx, http.MethodPatch, "/me/contacts/"+id, patch, hdr...)
	doc := wr.doc(r, o)
	l.end(id, i, o, doc, note(r, o))
	wr.refused(r, o, definite, "update of contact "+id)
	wr.acknowledge(id, o, doc)
	return o
}

func (wr *writer) moveContact(ctx context.Context, id string) outcome {
	l := wr.w.ledger
	var to []string
	for _, f := range wr.w.stable {
		if f != wr.contacts[id] {
			to = append(to, f)
		}
	}
	if len(to) == 0 {
		return wr.updateContact(ctx, id)
	}
	patch := object{"parentFolderId": jsonOf(to[wr.rnd.IntN(len(to))])}
	definite := l.definite(id)
	i := l.begin(id, "move", present, patch)
	r, o := wr.send(ctx, http.MethodPatch, "/me/contacts/"+id, patch)
	doc := wr.doc(r, o)
	l.end(id, i, o, doc, note(r, o))
	wr.refused(r, o, definite, "move of contact "+id)
	wr.acknowledge(id, o, doc)
	return o
}

func (wr *writer) deleteContact(ctx context.Context, id string) outcome {
	l := wr.w.ledger
	definite := l.definite(id)
	i := l.begin(id, "delete", gone, nil)
	r, o := wr.send(ctx, http.MethodDelete, "/me/contacts/"+id, nil)
	l.end(id, i, o, nil, note(r, o))
	wr.refused(r, o, definite, "delete of contact "+id)
	if o != unsent {
		delete(wr.contacts, id) // gone, or of unknown state: written no more
		delete(wr.keys, id)
	}
	return o
}

func (wr *writer) createFolder(ctx context.Context) outcome {
	l := wr.w.ledger
	parent := wr.w.stable[wr.rnd.IntN(len(wr.w.stable))]
	name := "folder " + wr.tag()
	path := "/me/contactFolders/" + parent + "/childFolders"
	if parent == wr.w.stable[0] {
		path = "/me/contactFolders"
	}
	l.beginCreate(kFolder)
	r, o := wr.send(ctx, http.MethodPost, path, object{"displayName": jsonOf(name)})
	doc := wr.doc(r, o)
	id := l.endCreate(kFolder, o, doc, object{"displayName": jsonOf(name), "parentFolderId": jsonOf(parent)}, note(r, o))
	wr.refused(r, o, true, "create of a folder under "+parent)
	if id != "" {
		wr.folders = append(wr.folders, id)
	}
	return o
}

func (wr *writer) updateFolder(ctx context.Context, id string) outcome {
	l := wr.w.ledger
	patch := object{}
	if wr.rnd.IntN(2) == 0 {
		patch["displayName"] = jsonOf("folder " + wr.tag())
	}
	if len(patch) == 0 || wr.rnd.IntN(2) == 0 {
		patch["parentFolderId"] = jsonOf(wr.w.stable[wr.rnd.IntN(len(wr.w.stable))])
	}
	definite := l.definite(id)
	i := l.begin(id, "update", present, patch)
	r, o := wr.send(ctx, http.MethodPatch, "/me/contactFolders/"+id, patch)
	l.end(id, i, o, wr.doc(r, o), note(r, o))
	wr.refused(r, o, definite, "update of folder "+id)
	return o
}

// deleteFolder deletes an own folder with the contacts created in it.
func (wr *writer) deleteFolder(ctx context.Context, id string) outcome {
	l := wr.w.ledger
	definite := l.definite(id)
	var inside []string
	for c, f := range wr.contacts {
		if f == id {
			inside = append(inside, c)
		}
	}
	i := l.begin(id, "delete", gone, nil)
	idx := make([]int, len(inside))
	for k, c := range inside {
		idx[k] = l.begin(c, "deleted with its folder", gone, nil)
	}
	r, o := wr.send(ctx, http.MethodDelete, "/me/contactFolders/"+id, nil)
	l.end(id, i, o, nil, note(r, o))
	for k, c := range inside {
		l.end(c, idx[k], o, nil, "the delete of folder "+id)
	}
	wr.refused(r, o, definite, "delete of folder "+id)
	if o == unsent {
		return o
	}
	wr.folders = slices.DeleteFunc(wr.folders, func(f string) bool { return f == id })
	for _, c := range inside {
		delete(wr.contacts, c)
		delete(wr.keys, c)
	}
	return o
}

func (wr *writer) createOrg(ctx context.Context) outcome {
	l := wr.w.ledger
	tag := wr.tag()
	body := object{"displayName": jsonOf("Org " + tag)}
	for k, v := range orgPatch(wr.rnd, tag) {
		body[k] = v
	}
	l.beginCreate(kOrg)
	r, o := wr.send(ctx, http.MethodPost, "/contacts", body)
	id := l.endCreate(kOrg, o, wr.doc(r, o), body, note(r, o))
	wr.refused(r, o, true, "create of an org contact")
	if id != "" {
		wr.orgs[id] = orgLive
	}
	return o
}

// anyOrg returns an own org contact that op may apply to.
func (wr *writer) anyOrg(o op) string {
	var ids []string
	for id, s := range wr.orgs {
		live := o == opUpdateOrg || o == opDeleteOrg
		if s == orgUnsure || (live && s == orgLive) || (!live && s == orgDeleted) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return ""
	}
	slices.Sort(ids)
	return ids[wr.rnd.IntN(len(ids))]
}

// writeOrg updates, soft-deletes, restores or purges an own org contact.
func (wr *writer) writeOrg(ctx context.Context, o op, id string) outcome {
	l := wr.w.ledger
	var (
		method, path, name string
		body               any
		eff                effect
		patch              object
		after              orgStatus
	)
	switch o {
	case opUpdateOrg:
		patch = orgPatch(wr.rnd, wr.tag())
		method, path, name, body, eff, after = http.MethodPatch, "/contacts/"+id, "update", patch, present, orgLive
	case opDeleteOrg:
		method, path, name, eff, after = http.MethodDelete, "/contacts/"+id, "soft delete", softDeleted, orgDeleted
	case opRestoreOrg:
		method, path, name, eff, after = http.MethodPost, "/directory/deletedItems/"+id+"/restore", "restore", present, orgLive
	default:
		method, path, name, eff = http.MethodDelete, "/directory/deletedItems/"+id, "purge", gone
	}
	definite := l.definite(id) && wr.orgs[id] != orgUnsure
	i := l.begin(id, name, eff, patch)
	r, oc := wr.send(ctx, method, path, body)
	l.end(id, i, oc, wr.doc(r, oc), note(r, oc))
	wr.refused(r, oc, definite, name+" of org contact "+id)
	switch {
	case oc == acked && eff == gone, oc == unknown && eff == gone:
		delete(wr.orgs, id)
	case oc == acked:
		wr.orgs[id] = after
	case oc == unknown:
		wr.orgs[id] = orgUnsure
	}
	return oc
}

func jsonOf(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// contactPatch returns one to four random contact properties, in their
// canonical form (the server stores them as sent).
func contactPatch(rnd *rand.Rand, tag string) object {
	gens := []func() (string, any){
		func() (string, any) { return "jobTitle", "Job " + tag },
		func() (string, any) { return "jobTitle", nil },
		func() (string, any) { return "companyName", "Company " + tag },
		func() (string, any) { return "givenName", "Given " + tag },
		func() (string, any) { return "surname", "Surname " + tag },
		func() (string, any) { return "displayName", "Display " + tag },
		func() (string, any) { return "personalNotes", "Notes of " + tag + ": " + fmt.Sprint(rnd.Uint64()) },
		func() (string, any) {
			return "businessPhones", []string{"+1 555 01" + fmt.Sprintf("%02d", rnd.IntN(100))}
		},
		func() (string, any) { return "categories", []string{"Red category", tag} },
		func() (string, any) { return "categories", []string{} },
		func() (string, any) {
			return "emailAddresses", []map[string]string{{"address": tag + "@example.com", "name": "Mail " + tag}}
		},
		func() (string, any) {
			return "homeAddress", map[string]string{"city": "City " + tag, "street": "1 Main St"}
		},
		func() (string, any) { return "birthday", "1985-03-04T00:00:00Z" },
		func() (string, any) { return "mobilePhone", "+1 555 0199" },
	}
	out := object{}
	for n := 1 + rnd.IntN(4); n > 0; n-- {
		k, v := gens[rnd.IntN(len(gens))]()
		out[k] = jsonOf(v)
	}
	return out
}

// orgPatch returns one to four random org contact properties, in their
// canonical form; a string is sometimes cleared with null.
func orgPatch(rnd *rand.Rand, tag string) object {
	strs := []string{"companyName", "department", "displayName", "givenName", "jobTitle", "mailNickname", "surname"}
	gens := []func() (string, any){
		func() (string, any) {
			k := strs[rnd.IntN(len(strs))]
			if rnd.IntN(4) == 0 && k != "displayName" {
				return k, nil
			}
			return k, k + " " + tag
		},
		func() (string, any) { return "mail", tag + "@fabrikam.com" },
		func() (string, any) { return "mail", nil },
		func() (string, any) {
			return "phones", []map[string]string{{"number": "+1 555 01" + fmt.Sprintf("%02d", rnd.IntN(100)), "type": "business"}}
		},
		func() (string, any) {
			return "addresses", []map[string]string{{"city": "City " + tag, "officeLocation": "B" + tag}}
		},
		func() (string, any) { return "proxyAddresses", []string{"SMTP:" + tag + "@fabrikam.com"} },
	}
	out := object{}
	for n := 1 + rnd.IntN(4); n > 0; n-- {
		k, v := gens[rnd.IntN(len(gens))]()
		out[k] = jsonOf(v)
	}
	return out
}
