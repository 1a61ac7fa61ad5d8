package carddav_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/contactgraph/contactgraph"
)

func simpleCard(uid, fn string) string {
	return "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + fn + "\r\nN:" + fn + ";;;;\r\nEND:VCARD\r\n"
}

// contactIDs lists the ids of the contacts of folder.
func (e *env) contactIDs(folder string) []string {
	e.t.Helper()
	mb, err := e.store.Mailbox(context.Background(), contactgraph.TenantID("contoso"), e.user)
	if err != nil {
		e.t.Fatal(err)
	}
	list, err := e.store.ListContacts(context.Background(), mb, folder, contactgraph.Page{Limit: 1000})
	if err != nil {
		e.t.Fatal(err)
	}
	ids := make([]string, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	return ids
}

// TestGraphDeleteOfNamedCard: a card a client named, deleted over Graph,
// shows in sync-collection as a 404 under the client's name, not under
// "<id>.vcf" (the name used to be deleted with the contact).
func TestGraphDeleteOfNamedCard(t *testing.T) {
	e := newEnv(t)
	resp, body := e.do("PUT", e.book()+"phone%20card.vcf", simpleCard("u-1", "Ada"), "Content-Type", "text/vcard", "If-None-Match", "*")
	want(t, resp, body, http.StatusCreated)
	resp, body = e.do("REPORT", e.book(), syncBody("", 0))
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "<D:href>"+e.book()+"phone%20card.vcf</D:href>")
	tok := syncToken(t, body)
	ids := e.contactIDs(e.root)
	if len(ids) != 1 {
		t.Fatalf("contacts %v", ids)
	}
	resp, body = e.graph("DELETE", "/me/contacts/"+ids[0], "")
	want(t, resp, body, http.StatusNoContent)
	resp, body = e.do("REPORT", e.book(), syncBody(tok, 0))
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "<D:href>"+e.book()+"phone%20card.vcf</D:href>", "404 Not Found")
	// The name is free again for a new card.
	resp, body = e.do("PUT", e.book()+"phone%20card.vcf", simpleCard("u-2", "Bob"), "Content-Type", "text/vcard", "If-None-Match", "*")
	want(t, resp, body, http.StatusCreated)
}

// TestConcurrentPutsOfOneName: PUTs racing to create one new href make
// one contact; under If-None-Match: * one wins and the others are 412.
func TestConcurrentPutsOfOneName(t *testing.T) {
	e := newEnv(t)
	race := func(name string, hdr ...string) []int {
		var wg sync.WaitGroup
		start := make(chan struct{})
		codes := make([]int, 6)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, err := http.NewRequest("PUT", e.srv.URL+e.book()+name, strings.NewReader(simpleCard("race", "Racer")))
				if err != nil {
					return
				}
				req.SetBasicAuth(e.upn, e.pass)
				req.Header.Set("Content-Type", "text/vcard")
				for j := 0; j+1 < len(hdr); j += 2 {
					req.Header.Set(hdr[j], hdr[j+1])
				}
				<-start
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return
				}
				resp.Body.Close()
				codes[i] = resp.StatusCode
			}()
		}
		close(start)
		wg.Wait()
		return codes
	}
	codes := race("a.vcf")
	if n := len(e.contactIDs(e.root)); n != 1 {
		t.Fatalf("concurrent PUTs of one href made %d contacts (statuses %v)", n, codes)
	}
	for _, c := range codes {
		if c != http.StatusCreated && c != http.StatusNoContent {
			t.Fatalf("statuses %v", codes)
		}
	}
	codes = race("b.vcf", "If-None-Match", "*")
	created := 0
	for _, c := range codes {
		switch c {
		case http.StatusCreated:
			created++
		case http.StatusPreconditionFailed:
		default:
			t.Fatalf("statuses %v", codes)
		}
	}
	if created != 1 || len(e.contactIDs(e.root)) != 2 {
		t.Fatalf("If-None-Match race: statuses %v, %d contacts", codes, len(e.contactIDs(e.root)))
	}
}

var idRE = regexp.MustCompile(`"id":"([^"]+)"`)

var ctagRE = regexp.MustCompile(`<CS:getctag>([^<]+)</CS:getctag>`)

// TestStableSyncToken: an address book's sync-token and getctag stay the
// same while its contacts do not change (also across changes of other
// folders), the token that ends a sync-collection is the PROPFIND one,
// and both move with a change of the folder.
func TestStableSyncToken(t *testing.T) {
	e := newEnv(t)
	state := func() (tok, ctag string) {
		t.Helper()
		resp, body := e.do("PROPFIND", e.book(), propfindBook, "Depth", "0")
		want(t, resp, body, http.StatusMultiStatus)
		m := ctagRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no getctag:\n%s", body)
		}
		return syncToken(t, body), m[1]
	}
	resp, body := e.do("PUT", e.book()+"one.vcf", simpleCard("u-1", "Ada"), "Content-Type", "text/vcard")
	want(t, resp, body, http.StatusCreated)
	tok1, ctag1 := state()
	if tok, ctag := state(); tok != tok1 || ctag != ctag1 {
		t.Fatalf("two PROPFINDs of an unchanged book: %s %s, then %s %s", tok1, ctag1, tok, ctag)
	}
	resp, body = e.graph("POST", "/me/contactFolders", `{"displayName":"Other"}`)
	want(t, resp, body, http.StatusCreated)
	other := idRE.FindStringSubmatch(body)[1]
	resp, body = e.graph("POST", "/me/contacts", `{"givenName":"Elsewhere"}`)
	want(t, resp, body, http.StatusCreated)
	resp, body = e.graph("DELETE", "/me/contacts/"+idRE.FindStringSubmatch(body)[1], "")
	want(t, resp, body, http.StatusNoContent)
	// The Graph create and delete were in this folder (the default one):
	// it changed. A change of another folder must not move it.
	tok2, ctag2 := state()
	if tok2 == tok1 || ctag2 == ctag1 {
		t.Fatalf("a change of the folder kept token %s and ctag %s", tok2, ctag2)
	}
	resp, body = e.graph("POST", "/me/contactFolders/"+other+"/contacts", `{"givenName":"Elsewhere"}`)
	want(t, resp, body, http.StatusCreated)
	if tok, ctag := state(); tok != tok2 || ctag != ctag2 {
		t.Fatalf("a change of another folder moved the book: %s %s, was %s %s", tok, ctag, tok2, ctag2)
	}
	// sync-collection from the token: no changes, and the same token back.
	resp, body = e.do("REPORT", e.book(), syncBody(tok2, 0))
	want(t, resp, body, http.StatusMultiStatus)
	if got := syncToken(t, body); got != tok2 {
		t.Fatalf("sync-collection of an unchanged book gave %s, PROPFIND %s", got, tok2)
	}
	// A full sync ends at the PROPFIND token too.
	resp, body = e.do("REPORT", e.book(), syncBody("", 0))
	want(t, resp, body, http.StatusMultiStatus)
	if got := syncToken(t, body); got != tok2 {
		t.Fatalf("full sync-collection gave %s, PROPFIND %s", got, tok2)
	}
}
