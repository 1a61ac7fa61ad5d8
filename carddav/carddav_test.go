package carddav_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/auth"
	"github.com/contactgraph/contactgraph/vcard"
)

const propfindBook = `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/">
<D:prop><D:resourcetype/><D:displayname/><CS:getctag/><D:sync-token/><D:supported-report-set/><C:supported-address-data/><D:getetag/><X:nope xmlns:X="urn:x"/></D:prop></D:propfind>`

func TestDiscovery(t *testing.T) {
	e := newEnv(t)
	resp, body := e.do("GET", "/.well-known/carddav", "")
	want(t, resp, body, http.StatusMovedPermanently)
	if loc := resp.Header.Get("Location"); loc != "/dav/" {
		t.Fatalf("Location %q", loc)
	}
	resp, body = e.do("OPTIONS", "/dav/", "")
	want(t, resp, body, http.StatusOK)
	if dav := resp.Header.Get("DAV"); dav != "1, 3, addressbook, extended-mkcol" {
		t.Fatalf("DAV %q", dav)
	}
	resp, body = e.do("PROPFIND", "/dav/", `<D:propfind xmlns:D="DAV:"><D:prop><D:current-user-principal/></D:prop></D:propfind>`, "Depth", "0")
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "<D:current-user-principal><D:href>/dav/"+e.user+"/</D:href>")
	resp, body = e.do("PROPFIND", "/dav/"+e.user+"/", `<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:addressbook-home-set/></D:prop></D:propfind>`, "Depth", "0")
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "<C:addressbook-home-set><D:href>/dav/"+e.user+"/contacts/</D:href>")

	// A second folder is a second address book.
	resp, body = e.graph("POST", "/me/contactFolders", `{"displayName":"Friends"}`)
	want(t, resp, body, http.StatusCreated)
	resp, body = e.do("PROPFIND", "/dav/"+e.user+"/contacts/", propfindBook, "Depth", "1")
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "<D:href>"+e.book()+"</D:href>", "<C:addressbook/>", "<D:displayname>Contacts</D:displayname>",
		"<D:displayname>Friends</D:displayname>", "<CS:getctag>rev-", "<D:sync-token>urn:x-contactgraph:sync:d:",
		"<D:sync-collection/>", "<C:addressbook-multiget/>", `version="4.0"`, "404 Not Found", `<X:nope xmlns:X="urn:x"/>`)
	// Two folders and the directory.
	if n := strings.Count(body, "<C:addressbook/>"); n != 3 {
		t.Fatalf("%d address books, want 3:\n%s", n, body)
	}
}

func TestSignIn(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("PROPFIND", e.srv.URL+"/dav/", nil)
	resp, body := e.send(req)
	want(t, resp, body, http.StatusUnauthorized)
	if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Fatalf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
	}
	for _, c := range []struct{ user, pass string }{
		{e.upn, e.pass + "x"}, {"eve@contoso.com", e.pass}, {e.upn, "garbage"}, {e.upn, ""},
	} {
		req, _ := http.NewRequest("PROPFIND", e.srv.URL+"/dav/", nil)
		req.SetBasicAuth(c.user, c.pass)
		resp, body := e.send(req)
		want(t, resp, body, http.StatusUnauthorized)
	}
	// The UPN compares without regard to case; a bearer token works too.
	req, _ = http.NewRequest("PROPFIND", e.srv.URL+"/dav/", nil)
	req.SetBasicAuth(strings.ToUpper(e.upn), e.pass)
	resp, body = e.send(req)
	want(t, resp, body, http.StatusMultiStatus)
	req, _ = http.NewRequest("PROPFIND", e.srv.URL+e.book(), nil)
	req.Header.Set("Authorization", "Bearer "+e.bearer)
	resp, body = e.send(req)
	want(t, resp, body, http.StatusMultiStatus)
	// Another user's paths are not found.
	resp, body = e.do("PROPFIND", "/dav/00000000-0000-5000-8000-000000000000/contacts/", "")
	want(t, resp, body, http.StatusNotFound)
}

// TestSignInAfterUserDelete: an app password the server accepted (and so
// caches) is refused at once when the Graph API deletes its user.
func TestSignInAfterUserDelete(t *testing.T) {
	e := newEnv(t)
	propfind := func() (*http.Response, string) {
		return e.do("PROPFIND", "/dav/", `<D:propfind xmlns:D="DAV:"><D:prop><D:current-user-principal/></D:prop></D:propfind>`, "Depth", "0")
	}
	for range 2 {
		resp, body := propfind()
		want(t, resp, body, http.StatusMultiStatus)
	}
	admin, err := e.issuer.Mint(auth.MintOptions{TenantName: "contoso", UPN: "admin@contoso.com", Scopes: []string{contactgraph.PermUserReadWrite}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+"/v1.0/users/"+e.upn, nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, body := e.send(req)
	want(t, resp, body, http.StatusNoContent)
	resp, body = propfind()
	want(t, resp, body, http.StatusUnauthorized)
}

const card1 = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:client-uid-1\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;King;;\r\n" +
	"ORG:Analytical Engines;Research\r\nTITLE:Countess\r\nEMAIL;TYPE=INTERNET:ada@example.com\r\n" +
	"TEL;TYPE=WORK:+44 1\r\nTEL;TYPE=CELL:+44 2\r\nTEL;TYPE=HOME:+44 3\r\nTEL;TYPE=FAX:+44 4\r\n" +
	"ADR;TYPE=HOME:;;12 St James's Square;London;;SW1;UK\r\nURL:https://example.com/ada\r\nBDAY:1815-12-10\r\n" +
	"NOTE:first line\\nsecond\\, with comma\r\nCATEGORIES:math,poetry\r\nX-ABLabel:kept as it is\r\n" +
	"item1.X-SOCIAL;TYPE=mastodon:@ada@example.social\r\nEND:VCARD\r\n"

var etagRE = regexp.MustCompile(`<D:getetag>([^<]+)</D:getetag>`)

func TestCardLifecycle(t *testing.T) {
	e := newEnv(t)
	href := e.book() + "my%20card.vcf"
	resp, body := e.do("PUT", href, card1, "Content-Type", "text/vcard", "If-None-Match", "*")
	want(t, resp, body, http.StatusCreated)
	tag1 := resp.Header.Get("ETag")
	if tag1 == "" {
		t.Fatal("no ETag")
	}
	resp, body = e.do("PUT", href, card1, "Content-Type", "text/vcard", "If-None-Match", "*")
	want(t, resp, body, http.StatusPreconditionFailed)

	resp, body = e.do("GET", href, "")
	want(t, resp, body, http.StatusOK)
	if resp.Header.Get("ETag") != tag1 {
		t.Fatalf("GET ETag %q, PUT gave %q", resp.Header.Get("ETag"), tag1)
	}
	contains(t, body, "VERSION:3.0", "UID:client-uid-1", "FN:Ada Lovelace", "N:Lovelace;Ada;King;;", "ORG:Analytical Engines;Research",
		"TITLE:Countess", "EMAIL;TYPE=INTERNET:ada@example.com", "TEL;TYPE=WORK,VOICE:+44 1", "TEL;TYPE=CELL:+44 2",
		"TEL;TYPE=HOME,VOICE:+44 3", "TEL;TYPE=FAX:+44 4", "ADR;TYPE=HOME:;;12 St James's Square;London;;SW1;UK",
		"URL:https://example.com/ada", "BDAY:1815-12-10", `NOTE:first line\nsecond\, with comma`, "CATEGORIES:math,poetry",
		"X-ABLabel:kept as it is", "item1.X-SOCIAL;TYPE=mastodon:@ada@example.social")
	resp, body = e.do("GET", href, "", "Accept", "text/vcard; version=4.0")
	want(t, resp, body, http.StatusOK)
	contains(t, body, "VERSION:4.0", "BDAY:18151210", "TEL;VALUE=text;TYPE=cell:+44 2")

	// The card is a Graph contact.
	resp, body = e.graph("GET", "/me/contacts?$select=givenName,surname,jobTitle,mobilePhone,birthday,personalNotes", "")
	want(t, resp, body, http.StatusOK)
	contains(t, body, `"givenName":"Ada"`, `"surname":"Lovelace"`, `"jobTitle":"Countess"`, `"mobilePhone":"+44 2"`,
		`"birthday":"1815-12-10T00:00:00Z"`, `"personalNotes":"first line\nsecond, with comma"`)
	id := regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(body)[1]

	// If-Match: stale is 412; current replaces the card (a removed field is cleared).
	edited := strings.Replace(strings.Replace(card1, "TITLE:Countess\r\n", "", 1), "FN:Ada Lovelace", "FN:Ada King", 1)
	resp, body = e.do("PUT", href, edited, "Content-Type", "text/vcard", "If-Match", `"stale"`)
	want(t, resp, body, http.StatusPreconditionFailed)
	resp, body = e.do("PUT", href, edited, "Content-Type", "text/vcard", "If-Match", tag1)
	want(t, resp, body, http.StatusNoContent)
	tag2 := resp.Header.Get("ETag")
	if tag2 == "" || tag2 == tag1 {
		t.Fatalf("ETag after PUT %q (was %q)", tag2, tag1)
	}
	resp, body = e.graph("GET", "/me/contacts/"+id, "")
	want(t, resp, body, http.StatusOK)
	contains(t, body, `"displayName":"Ada King"`, `"jobTitle":null`)

	// A Graph PATCH changes the ETag, keeps UID and the kept properties.
	resp, body = e.graph("PATCH", "/me/contacts/"+id, `{"jobTitle":"Analyst"}`)
	want(t, resp, body, http.StatusOK)
	resp, body = e.do("GET", href, "")
	want(t, resp, body, http.StatusOK)
	tag3 := resp.Header.Get("ETag")
	if tag3 == tag2 {
		t.Fatal("a Graph PATCH did not change the ETag")
	}
	contains(t, body, "TITLE:Analyst", "UID:client-uid-1", "X-ABLabel:kept as it is")

	// PROPFIND Depth 1 and multiget list the card under its own name.
	resp, body = e.do("PROPFIND", e.book(), `<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getcontenttype/></D:prop></D:propfind>`, "Depth", "1")
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "<D:href>"+href+"</D:href>", "<D:getetag>"+strings.ReplaceAll(tag3, `"`, "&#34;")+"</D:getetag>", "text/vcard")
	resp, body = e.do("REPORT", e.book(), `<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop><D:href>`+href+`</D:href><D:href>`+e.book()+`nope.vcf</D:href></C:addressbook-multiget>`, "Depth", "1")
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "FN:Ada King", "<D:href>"+e.book()+"nope.vcf</D:href><D:status>HTTP/1.1 404 Not Found</D:status>")

	// DELETE with a stale ETag is 412, then it goes.
	resp, body = e.do("DELETE", href, "", "If-Match", tag2)
	want(t, resp, body, http.StatusPreconditionFailed)
	resp, body = e.do("DELETE", href, "", "If-Match", tag3)
	want(t, resp, body, http.StatusNoContent)
	resp, body = e.do("GET", href, "")
	want(t, resp, body, http.StatusNotFound)
	resp, body = e.graph("GET", "/me/contacts/"+id, "")
	want(t, resp, body, http.StatusNotFound)
}

func TestBadCards(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name, card string
		status     int
	}{
		{"no FN", "BEGIN:VCARD\r\nVERSION:3.0\r\nN:X;Y;;;\r\nEND:VCARD\r\n", http.StatusBadRequest},
		{"no END", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:X\r\n", http.StatusBadRequest},
		{"no colon", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN X\r\nEND:VCARD\r\n", http.StatusBadRequest},
		{"two cards", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:X\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN:Y\r\nEND:VCARD\r\n", http.StatusBadRequest},
		{"version 2.1", "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:X\r\nEND:VCARD\r\n", http.StatusBadRequest},
		{"not UTF-8", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:\xff\r\nEND:VCARD\r\n", http.StatusBadRequest},
		{"huge", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:X\r\nNOTE:" + strings.Repeat("a", vcard.MaxBytes) + "\r\nEND:VCARD\r\n", http.StatusRequestEntityTooLarge},
		{"huge kept property", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:X\r\nX-BIG:" + strings.Repeat("a", 40<<10) + "\r\nEND:VCARD\r\n", http.StatusRequestEntityTooLarge},
		{"note over the Graph limit", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:X\r\nNOTE:" + strings.Repeat("a", 70<<10) + "\r\nEND:VCARD\r\n", http.StatusBadRequest},
	} {
		resp, body := e.do("PUT", e.book()+"bad.vcf", c.card, "Content-Type", "text/vcard")
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, resp.StatusCode, c.status, body)
		}
	}
	resp, body := e.graph("GET", "/me/contacts", "")
	want(t, resp, body, http.StatusOK)
	contains(t, body, `"value":[]`)
}

func TestSyncCollection(t *testing.T) {
	e := newEnv(t)
	// A bad or foreign token is 403 valid-sync-token.
	for _, tok := range []string{"urn:x-contactgraph:sync:d:garbage", "http://example.com/sync/1"} {
		resp, body := e.do("REPORT", e.book(), syncBody(tok, 0), "Depth", "1")
		want(t, resp, body, http.StatusForbidden)
		contains(t, body, "<D:valid-sync-token/>")
	}
	var ids []string
	for _, n := range []string{"A", "B", "C", "D", "E"} {
		resp, body := e.graph("POST", "/me/contacts", `{"givenName":"`+n+`"}`)
		want(t, resp, body, http.StatusCreated)
		ids = append(ids, regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(body)[1])
	}
	// Initial sync: all five, across store pages of two.
	resp, body := e.do("REPORT", e.book(), syncBody("", 0), "Depth", "1")
	want(t, resp, body, http.StatusMultiStatus)
	if n := strings.Count(body, "<D:getetag>"); n != 5 {
		t.Fatalf("%d cards, want 5:\n%s", n, body)
	}
	tok := syncToken(t, body)

	// Nothing changed: nothing reported.
	resp, body = e.do("REPORT", e.book(), syncBody(tok, 0), "Depth", "1")
	want(t, resp, body, http.StatusMultiStatus)
	if strings.Contains(body, "<D:response>") {
		t.Fatalf("changes reported with none made:\n%s", body)
	}

	// A Graph PATCH and a Graph DELETE show; the deleted card as a 404.
	resp, body = e.graph("PATCH", "/me/contacts/"+ids[1], `{"surname":"Changed"}`)
	want(t, resp, body, http.StatusOK)
	resp, body = e.graph("DELETE", "/me/contacts/"+ids[2], "")
	want(t, resp, body, http.StatusNoContent)
	resp, body = e.do("REPORT", e.book(), syncBody(tok, 0), "Depth", "1")
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "<D:href>"+e.book()+ids[1]+".vcf</D:href>",
		"<D:href>"+e.book()+ids[2]+".vcf</D:href><D:status>HTTP/1.1 404 Not Found</D:status>")
	if n := strings.Count(body, "<D:response>"); n != 2 {
		t.Fatalf("%d responses, want 2:\n%s", n, body)
	}

	// A limit truncates with 507, and the token continues the round.
	resp, body = e.do("REPORT", e.book(), syncBody("", 3), "Depth", "1")
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "<D:href>"+e.book()+"</D:href><D:status>HTTP/1.1 507 Insufficient Storage</D:status>")
	if n := strings.Count(body, "<D:getetag>"); n != 3 {
		t.Fatalf("%d cards under limit 3:\n%s", n, body)
	}
	seen := map[string]bool{}
	hrefRE := regexp.MustCompile(`<D:href>([^<]+\.vcf)</D:href><D:propstat>`)
	for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
		seen[m[1]] = true
	}
	// A round may carry a card twice (its older log entry, then its
	// newer one); a client just reads it again.
	resp, body = e.do("REPORT", e.book(), syncBody(syncToken(t, body), 3), "Depth", "1")
	want(t, resp, body, http.StatusMultiStatus)
	for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
		seen[m[1]] = true
	}
	if len(seen) != 4 || strings.Contains(body, "507") {
		t.Fatalf("the two parts hold %d cards, want the 4 live ones, and no 507 at the end:\n%s", len(seen), body)
	}
	// A token of another address book is refused.
	resp, body = e.graph("POST", "/me/contactFolders", `{"displayName":"Other"}`)
	want(t, resp, body, http.StatusCreated)
	other := regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(body)[1]
	resp, body = e.do("REPORT", "/dav/"+e.user+"/contacts/"+other+"/", syncBody(tok, 0), "Depth", "1")
	want(t, resp, body, http.StatusForbidden)
	contains(t, body, "<D:valid-sync-token/>")

	// The getctag and sync-token of PROPFIND move with a change.
	ctag := func() string {
		resp, body := e.do("PROPFIND", e.book(), `<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:getctag/></D:prop></D:propfind>`, "Depth", "0")
		want(t, resp, body, http.StatusMultiStatus)
		return regexp.MustCompile(`<CS:getctag>([^<]+)<`).FindStringSubmatch(body)[1]
	}
	before := ctag()
	resp, body = e.do("PUT", e.book()+"new.vcf", "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:New One\r\nEND:VCARD\r\n", "Content-Type", "text/vcard")
	want(t, resp, body, http.StatusCreated)
	if ctag() == before {
		t.Fatal("getctag did not move")
	}
	resp, body = e.do("REPORT", e.book(), syncBody(tok, 0), "Depth", "1")
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "<D:href>"+e.book()+"new.vcf</D:href>")
}
