package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// davWriter writes its own cards over CardDAV into the stable folders: new
// cards with PUT and If-None-Match: *, replacements with PUT and If-Match
// of the ETag it last saw, and deletes with DELETE and If-Match; it also
// moves them between the folders over Graph. Each write is recorded in the
// ledger as a write of the contact the card is; an acknowledged one is
// read back over Graph (the contact of a new card found by its UID), so
// that the ledger holds the contact's document as for the Graph writers.
type davWriter struct {
	*writer
	d     *davClient
	user  string            // the user id, in the paths
	names map[string]string // own contact -> its card's name
	etags map[string]string // own contact -> the ETag last seen ("" when unsure)
	uids  map[string]string // own contact -> its card's UID
	// origin is the folder an own card was created in and the name it was
	// created with: its name there, "<id>.vcf" in the other folders.
	origin map[string][2]string
	// stale are own contacts whose last write had an unknown outcome: the
	// next write of one sends the ETag from before it, which may be a 412.
	stale map[string]bool
}

func newDAVWriter(w *workload, d *davClient, user string, n int, seed uint64) *davWriter {
	return &davWriter{writer: newWriter(w, n, seed), d: d, user: user, names: map[string]string{}, etags: map[string]string{}, uids: map[string]string{}, origin: map[string][2]string{}, stale: map[string]bool{}}
}

func (dw *davWriter) book(folder string) string {
	return "/dav/" + dw.user + "/contacts/" + folder + "/"
}

func (dw *davWriter) run(ctx context.Context, stop <-chan struct{}) {
	repeat(ctx, stop, dw.rnd, dw.w.pace, 50*time.Millisecond, func() bool { return dw.step(ctx) == unsent })
}

func (dw *davWriter) step(ctx context.Context) outcome {
	x := dw.rnd.IntN(10)
	id := dw.anyContact(false)
	switch {
	case id == "" || (x < 3 && len(dw.contacts) < dw.w.objects):
		return dw.create(ctx)
	case x < 7:
		return dw.replace(ctx, id)
	case x < 8:
		return dw.move(ctx, id)
	}
	return dw.remove(ctx, id)
}

// cardText is a card of tag: FN, N and one or two EMAILs, and a line with
// no Graph field. patch is what the contact's Graph document must carry.
func (dw *davWriter) cardText(uid, tag string) (text string, patch object) {
	given, sur := "Given "+tag, "Sur "+tag
	mails := []string{tag + "@cards.example.com"}
	if dw.rnd.IntN(2) == 0 {
		mails = append(mails, tag+"@other.example.com")
	}
	var b strings.Builder
	b.WriteString("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\n")
	b.WriteString("FN:Card " + tag + "\r\nN:" + sur + ";" + given + ";;;\r\n")
	for _, m := range mails {
		b.WriteString("EMAIL;TYPE=INTERNET:" + m + "\r\n")
	}
	b.WriteString("X-TORTURE:" + tag + "\r\nEND:VCARD\r\n")
	return b.String(), object{"displayName": jsonOf("Card " + tag), "givenName": jsonOf(given), "surname": jsonOf(sur)}
}

func (dw *davWriter) send(ctx context.Context, method, path, body string, hdr ...string) (reply, outcome) {
	began := time.Now()
	r, err := dw.d.do(ctx, method, path, body, hdr...)
	return classify(dw.w.ledger, began, r, err)
}

func (dw *davWriter) create(ctx context.Context) outcome {
	folder := dw.w.stable[dw.rnd.IntN(len(dw.w.stable))]
	tag := dw.tag()
	name, uid := "card-"+tag+".vcf", fmt.Sprintf("uid-%s-%016x", tag, dw.rnd.Uint64())
	text, _ := dw.cardText(uid, tag)
	l := dw.w.ledger
	l.beginCreate(kContact)
	r, o := dw.send(ctx, http.MethodPut, dw.book(folder)+name, text, "Content-Type", "text/vcard; charset=utf-8", "If-None-Match", "*")
	var doc object
	if o == acked {
		if r.status != http.StatusCreated {
			l.anomaly("a PUT of a new card answered %d, want 201:\n%s", r.status, r)
		}
		doc = dw.readBack(ctx, folder, "", uid, r)
	}
	id := l.endCreate(kContact, o, doc, object{"parentFolderId": jsonOf(folder)}, note(r, o))
	dw.refused(r, o, true, "PUT of new card "+name+" in folder "+folder)
	if id != "" {
		dw.contacts[id], dw.names[id], dw.etags[id], dw.uids[id], dw.origin[id] = folder, name, r.header.Get("ETag"), uid, [2]string{folder, name}
	}
	return o
}

// readBack reads the contact an acknowledged PUT wrote over Graph: by id,
// or by the card's UID for a new card. It retries through restarts; the
// contact is the writer's own, so nothing else changes it meanwhile, and
// its changeKey must be the PUT's ETag. nil when it cannot be read.
func (dw *davWriter) readBack(ctx context.Context, folder, id, uid string, put reply) object {
	path := "/me/contacts/" + id
	if id == "" {
		path = uidFilter(dw.contactsPath(folder), uid)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		var doc object
		if id == "" {
			list, err := dw.w.api.list(ctx, path)
			if err != nil {
				time.Sleep(50 * time.Millisecond) // a server is down: pacing, not synchronization
				continue
			}
			if len(list) != 1 {
				dw.w.ledger.anomaly("%d contacts have the UID %s of an acknowledged new card:\n%s", len(list), uid, put)
				return nil
			}
			doc = list[0]
		} else {
			r, err := dw.w.api.do(ctx, http.MethodGet, path, nil)
			if err != nil || r.status >= 500 {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			if doc, err = r.want(http.StatusOK); err != nil {
				dw.w.ledger.anomaly("the contact of an acknowledged card write cannot be read: %v\n%s", err, put)
				return nil
			}
		}
		if want := put.header.Get("ETag"); want != `"`+str(doc, "changeKey")+`"` {
			dw.w.ledger.anomaly("the card write answered ETag %s, but its contact has changeKey %s:\n%s", want, str(doc, "changeKey"), put)
		}
		return doc
	}
	return nil
}

// ifMatch returns the ETag to send for an own card: the one last seen, or
// after a write of unknown outcome the one from before it (which may be
// stale, so that a 412 is legitimate) or a fresh one read with GET.
func (dw *davWriter) ifMatch(ctx context.Context, id string) string {
	if e := dw.etags[id]; e != "" && (!dw.stale[id] || dw.rnd.IntN(2) == 0) {
		return e
	}
	r, err := dw.d.do(ctx, http.MethodGet, dw.book(dw.contacts[id])+dw.names[id], "")
	if err == nil && r.status == http.StatusOK {
		dw.etags[id], dw.stale[id] = r.header.Get("ETag"), false
	}
	return dw.etags[id]
}

func (dw *davWriter) replace(ctx context.Context, id string) outcome {
	l := dw.w.ledger
	definite := l.definite(id) && !dw.stale[id]
	etag := dw.ifMatch(ctx, id)
	if etag == "" {
		return unsent // no server answered: try again later
	}
	tag := dw.tag()
	text, patch := dw.cardText(dw.uids[id], tag) // a replacement keeps the card's UID
	i := l.begin(id, "card replace", present, patch)
	folder := dw.contacts[id]
	r, o := dw.send(ctx, http.MethodPut, dw.book(folder)+dw.names[id], text, "Content-Type", "text/vcard; charset=utf-8", "If-Match", etag)
	var doc object
	switch {
	case o == acked:
		doc = dw.readBack(ctx, folder, id, "", r)
		dw.etags[id], dw.stale[id] = r.header.Get("ETag"), false
		if doc == nil {
			o = unknown // not read back: the ledger cannot know the document
		}
	case o == unknown:
		dw.stale[id] = true
	case o == rejected && r.status == http.StatusPreconditionFailed && !definite:
		dw.etags[id] = "" // legitimate: the write of unknown outcome changed it; read it next time
	case o == rejected && !definite:
		dw.locate(ctx, id) // a move of unknown outcome may have taken the card elsewhere
	}
	l.end(id, i, o, doc, note(r, o))
	dw.refused(r, o, definite, "PUT replacing card "+dw.names[id]+" with If-Match "+etag)
	return o
}

func (dw *davWriter) remove(ctx context.Context, id string) outcome {
	l := dw.w.ledger
	definite := l.definite(id) && !dw.stale[id]
	etag := dw.ifMatch(ctx, id)
	if etag == "" {
		return unsent
	}
	i := l.begin(id, "card delete", gone, nil)
	r, o := dw.send(ctx, http.MethodDelete, dw.book(dw.contacts[id])+dw.names[id], "", "If-Match", etag)
	l.end(id, i, o, nil, note(r, o))
	dw.refused(r, o, definite, "DELETE of card "+dw.names[id]+" with If-Match "+etag)
	switch {
	case o == acked, o == unknown:
		delete(dw.contacts, id) // gone, or of unknown state: written no more
		delete(dw.names, id)
		delete(dw.etags, id)
		delete(dw.stale, id)
		delete(dw.uids, id)
		delete(dw.origin, id)
	case o == rejected && r.status == http.StatusNotFound && !definite:
		dw.locate(ctx, id)
	case o == rejected:
		dw.etags[id] = ""
	}
	return o
}

// move moves an own card to another folder over Graph (writer.moveContact,
// with its ledger entries): the protocols meet on one object. In its new
// folder the card is "<id>.vcf", and again its own name back in the one
// it was created in.
func (dw *davWriter) move(ctx context.Context, id string) outcome {
	o := dw.moveContact(ctx, id)
	switch {
	case o == acked && dw.keys[id] != "":
		dw.etags[id], dw.stale[id] = `"`+dw.keys[id]+`"`, false
	case o == unknown:
		dw.locate(ctx, id)
	}
	dw.names[id] = dw.nameIn(id)
	return o
}

// nameIn is the name of an own card in the folder it is in.
func (dw *davWriter) nameIn(id string) string {
	if o := dw.origin[id]; dw.contacts[id] == o[0] {
		return o[1]
	}
	return id + ".vcf"
}

// locate reads where an own contact is and its changeKey over Graph,
// after a write of unknown outcome that may have moved it; it gives up
// (knowing nothing new) when no server answers for a while.
func (dw *davWriter) locate(ctx context.Context, id string) {
	deadline := time.Now().Add(30 * time.Second)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		r, err := dw.w.api.do(ctx, http.MethodGet, "/me/contacts/"+id, nil)
		if err != nil || r.status >= 500 {
			time.Sleep(50 * time.Millisecond) // a server is down: pacing, not synchronization
			continue
		}
		doc, err := r.want(http.StatusOK)
		if err != nil {
			return // the checks of the ledger report it
		}
		dw.contacts[id], dw.etags[id], dw.stale[id] = str(doc, "parentFolderId"), `"`+str(doc, "changeKey")+`"`, false
		dw.names[id] = dw.nameIn(id)
		return
	}
}
