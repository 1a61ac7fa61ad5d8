package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/vcard"
)

// TestMixedTorture runs Graph writers and CardDAV writers on the same
// three folders, Graph delta mirrors and CardDAV sync-collection mirrors
// of each (one signed in with an app password, one with a bearer token and
// a small DAV:limit, so that it follows 507 truncations), while the server
// is killed with SIGKILL and restarted (on PostgreSQL one of two replicas
// behind a balancer, so that tokens of one replica go to the other). The
// first CardDAV mirror of each folder also sends forged sync-tokens now
// and then, which must be refused with 403 DAV:valid-sync-token, and
// resyncs in full; the second runs incremental rounds only, so that a
// deletion the server fails to report stays in it. At the end every mirror
// must equal the state read in full: the Graph ones its contacts, the
// CardDAV ones the cards of a PROPFIND (hrefs, ETags and data), each card
// the vCard of its contact. The torture flags (-torture.seed,
// -torture.duration, ...) apply.
func TestMixedTorture(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { mixedTorture(t, sqliteDB(t), 1) })
	t.Run("postgres two replicas", func(t *testing.T) { mixedTorture(t, postgresDB(t), 2) })
}

func mixedTorture(t *testing.T, db string, replicas int) {
	seed, duration, restarts, rnd := tortureParams(t, 0)
	t.Logf("seed %d (-torture.seed=%d replays the random choices), %v, %d Graph and %d CardDAV writers, %d replicas, %d restarts", seed, seed, duration, *tortureWriters, *tortureWriters, replicas, restarts)
	defer func() {
		if t.Failed() {
			t.Logf("failed with seed %d: replay with -torture.seed=%d", seed, seed)
		}
	}()
	servers := startServers(t, db, replicaNames(replicas)...)
	const upn = "alice@contoso.com"
	tok := userToken(t, db, upn)
	password := printed(t, "app-password", "--db", db, "--tenant", tenant, "--user", upn)
	user := contactgraph.UserID(contactgraph.TenantID(tenant), upn)
	a := &api{http: newBalancer(servers...).httpClient(), base: servers[0].BaseURL(), token: tok}
	f := newFixture(t, a, 2)
	w := tortureWorkload(a, f)
	w.weights[opCreateContact], w.weights[opUpdateContact], w.weights[opMoveContact], w.weights[opDeleteContact] = 6, 6, 2, 3
	basic, bearer := basicDAV(a, upn, password), bearerDAV(a)

	var clients []*deltaClient
	var mirrors []*davMirror
	for i, folder := range f.stable {
		path := contactsPath(f.root, folder) + "/delta"
		dc := newDeltaClient(fmt.Sprintf("Graph delta of folder %d", i), kContact, a, path, nil, seed+uint64(i))
		dc.scope, dc.ledger, dc.mayAbandon = folder, f.ledger, true
		clients = append(clients, dc)
		book := "/dav/" + user + "/contacts/" + folder + "/"
		limit := 2 + rnd.IntN(4)
		mirrors = append(mirrors,
			newDAVMirror(fmt.Sprintf("CardDAV sync of folder %d (Basic)", i), basic, book, folder, 0, seed+uint64(10+i)),
			newDAVMirror(fmt.Sprintf("CardDAV sync of folder %d (Bearer, DAV:limit %d)", i, limit), bearer, book, folder, limit, seed+uint64(20+i)))
	}
	for _, m := range mirrors {
		m.forges = m.limit == 0
		for _, o := range mirrors {
			if o.book != m.book {
				m.others = append(m.others, o)
			}
		}
	}
	davWriters := workers(*tortureWriters, func(i int) worker {
		d := basic
		if i%2 == 1 {
			d = bearer
		}
		return newDAVWriter(w, d, user, 101+i, seed).run
	})
	run := &tortureRun{}
	runLoad(t, servers, duration, restarts, rnd, run,
		workers(*tortureWriters, func(i int) worker { return newWriter(w, i+1, seed).run }),
		davWriters,
		workers(len(clients), func(i int) worker { return clients[i].run }),
		workers(len(mirrors), func(i int) worker { return mirrors[i].run }))

	more := make([]catcher, len(mirrors))
	for i, m := range mirrors {
		more[i] = m
	}
	st := settle(t, f, false, clients, more...)
	checkLedger(t, f.ledger, st)
	n := checkMirrors(t, st, clients)
	cards := checkDAVMirrors(t, a, basic, st, mirrors)
	var rounds, reports, truncated, forged, resyncs int
	for _, dc := range clients {
		t.Log(dc)
	}
	for _, m := range mirrors {
		t.Log(m)
		rounds, reports, truncated, forged, resyncs = rounds+m.stats.rounds, reports+m.stats.reports, truncated+m.stats.truncated, forged+m.stats.forged, resyncs+m.stats.resyncs
	}
	t.Logf("writes (acknowledged/unknown outcome/refused/not sent): %s; the slowest took %s", f.ledger.summary(), f.ledger.slowestWrite())
	ack, unk := f.ledger.totals()
	t.Logf("mixed torture summary (%d replicas, %v, seed %d): %d writes acknowledged (Graph and CardDAV), %d of unknown outcome; %d SIGKILL restarts (%v down in all); %d Graph delta mirrors and %d CardDAV mirrors equal the state (%d contacts, %d cards); CardDAV: %d rounds, %d reports, %d truncated with 507, %d forged tokens refused, %d full syncs",
		replicas, duration, seed, ack, unk, run.restarts, run.down.Round(time.Millisecond), n, len(mirrors), len(st.contacts), cards,
		rounds, reports, truncated, forged, resyncs)
}

// checkDAVMirrors reads every address book of the mirrors in full
// (PROPFIND, then addressbook-multiget of every card), checks that its
// cards are the contacts of its folder in st, each rendered from its
// contact (ETag, FN and EMAIL), and that every mirror holds exactly those
// cards. It returns the number of cards.
func checkDAVMirrors(t *testing.T, a *api, d *davClient, st *state, mirrors []*davMirror) int {
	t.Helper()
	ctx := context.Background()
	books := map[string]map[string]davCard{}
	total := 0
	for _, m := range mirrors {
		if books[m.book] != nil {
			continue
		}
		cards, err := readBook(ctx, d, m.book)
		if err != nil {
			t.Fatalf("read %s in full: %v", m.book, err)
		}
		books[m.book] = cards
		total += len(cards)
		checkCards(t, ctx, a, st.root, m.folder, cards, st.contactsIn(m.folder, nil))
	}
	for _, m := range mirrors {
		if d := diffObjects(cardObjects(m.cards), cardObjects(books[m.book])); d != "" {
			t.Errorf("%s: the mirror differs from the address book read in full: %s", m.name, d)
		}
		m.issues.report(t, m.name)
	}
	return total
}

// cardObjects turns cards into objects for diffObjects: the ETag and the
// data of each by href.
func cardObjects(cards map[string]davCard) map[string]object {
	out := make(map[string]object, len(cards))
	for href, c := range cards {
		out[href] = object{"etag": jsonOf(c.etag), "data": jsonOf(c.data)}
	}
	return out
}

// readBook lists an address book's cards with PROPFIND and reads them all
// with addressbook-multiget.
func readBook(ctx context.Context, d *davClient, book string) (map[string]davCard, error) {
	r, err := d.do(ctx, "PROPFIND", book, `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`,
		"Content-Type", "application/xml", "Depth", "1")
	if err != nil {
		return nil, err
	}
	es, _, err := r.entries()
	if err != nil {
		return nil, err
	}
	etags := map[string]string{}
	for _, e := range es {
		if hrefPath(e.href) == book {
			continue
		}
		if e.status != http.StatusOK || e.etag == "" {
			return nil, fmt.Errorf("PROPFIND response %s: status %d, ETag %q", e.href, e.status, e.etag)
		}
		etags[e.href] = e.etag
	}
	bodies, err := newDAVMirror("full read", d, book, "", 0, 1).multiget(ctx, etags)
	if err != nil {
		return nil, err
	}
	out := map[string]davCard{}
	for href, etag := range etags {
		c := bodies[href]
		if c == nil || c.etag != etag {
			return nil, fmt.Errorf("card %s changed between PROPFIND (ETag %s) and multiget (%v)", href, etag, c)
		}
		out[href] = *c
	}
	return out, nil
}

// checkCards checks that the cards of a folder's address book are its
// contacts, one card each: the card's UID is the contact's id, or (a card
// a CardDAV writer made) the UID a Graph lookup finds the contact by; its
// ETag is the contact's changeKey; its FN and EMAILs are the contact's
// displayName and email addresses.
func checkCards(t *testing.T, ctx context.Context, a *api, root, folder string, cards map[string]davCard, contacts map[string]object) {
	t.Helper()
	matched := map[string]string{} // contact -> href
	for _, href := range slices.Sorted(maps.Keys(cards)) {
		c := cards[href]
		uids := cardLines(c.data, "UID")
		if len(uids) != 1 {
			t.Errorf("card %s has %d UIDs:\n%s", href, len(uids), c.data)
			continue
		}
		id := uids[0]
		if _, ok := contacts[id]; !ok {
			id = contactOfUID(t, ctx, a, root, folder, uids[0])
		}
		doc, ok := contacts[id]
		switch {
		case !ok:
			t.Errorf("card %s (UID %s) is no contact of folder %s", href, uids[0], folder)
			continue
		case matched[id] != "":
			t.Errorf("contact %s is two cards: %s and %s", id, matched[id], href)
			continue
		}
		matched[id] = href
		if want := `"` + str(doc, "changeKey") + `"`; c.etag != want {
			t.Errorf("card %s has ETag %s, but its contact %s has changeKey %s", href, c.etag, id, want)
		}
		var mails []struct{ Address string }
		json.Unmarshal(doc["emailAddresses"], &mails)
		var wantMails []string
		for _, m := range mails {
			if m.Address != "" {
				wantMails = append(wantMails, m.Address)
			}
		}
		fn := str(doc, "displayName")
		if fn == "" && len(wantMails) > 0 {
			fn = wantMails[0]
		}
		gotFN := cardLines(c.data, "FN")
		var gotMails []string
		for _, m := range cardLines(c.data, "EMAIL") {
			gotMails = append(gotMails, vcard.Unescape(m))
		}
		if len(gotFN) != 1 || vcard.Unescape(gotFN[0]) != fn || !slices.Equal(gotMails, wantMails) {
			t.Errorf("card %s of contact %s has FN %q and EMAIL %q, want %q and %q:\n%s", href, id, gotFN, gotMails, fn, wantMails, c.data)
		}
	}
	for _, id := range keys(contacts) {
		if matched[id] == "" {
			t.Errorf("contact %s of folder %s is no card of its address book: %s", id, folder, compact(contacts[id]))
		}
	}
}

// contactOfUID finds the contact of folder whose card has uid (a UID a
// CardDAV client chose), or "".
func contactOfUID(t *testing.T, ctx context.Context, a *api, root, folder, uid string) string {
	t.Helper()
	list, err := a.list(ctx, uidFilter(contactsPath(root, folder), uid))
	if err != nil {
		t.Fatalf("find the contact of UID %s: %v", uid, err)
	}
	if len(list) != 1 {
		return ""
	}
	return str(list[0], "id")
}

// uidFilter returns the list query of the contacts at path whose card has
// uid: the extended property in which the server keeps a card's own UID.
func uidFilter(path, uid string) string {
	return path + "?$filter=" + url.QueryEscape("singleValueExtendedProperties/any(ep: ep/id eq '"+vcard.UIDProperty+"' and ep/value eq '"+strings.ReplaceAll(uid, "'", "''")+"')")
}
