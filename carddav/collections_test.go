package carddav_test

import (
	"net/http"
	"strings"
	"testing"
)

const mkcolBody = `<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>` +
	`<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>Work people</D:displayname></D:prop></D:set></D:mkcol>`

func proppatchBody(set string) string {
	return `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>` + set + `</D:prop></D:set></D:propertyupdate>`
}

func TestAddressBookCollections(t *testing.T) {
	e := newEnv(t)
	home := "/dav/" + e.user + "/contacts/"
	resp, body := e.do("OPTIONS", home, "")
	want(t, resp, body, http.StatusOK)
	contains(t, resp.Header.Get("Allow"), "PROPPATCH", "MKCOL")

	// Extended MKCOL makes a folder under the root; the book lives at the
	// URL of the MKCOL, and the home set lists it there.
	resp, body = e.do("MKCOL", home+"new-book/", mkcolBody)
	want(t, resp, body, http.StatusCreated)
	loc := resp.Header.Get("Location")
	if loc != home+"new-book/" {
		t.Fatalf("Location %q", loc)
	}
	resp, body = e.do("PROPFIND", home, `<D:propfind xmlns:D="DAV:"><D:prop><D:displayname/></D:prop></D:propfind>`, "Depth", "1")
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "<D:href>"+loc+"</D:href>")
	resp, body = e.graph("GET", "/me/contactFolders", "")
	want(t, resp, body, http.StatusOK)
	contains(t, body, `"displayName":"Work people"`)
	resp, body = e.do("PROPFIND", loc, `<D:propfind xmlns:D="DAV:"><D:prop><D:displayname/><D:resourcetype/></D:prop></D:propfind>`, "Depth", "0")
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "<D:displayname>Work people</D:displayname>", "<C:addressbook/>")
	// The same name again is a conflict; a plain MKCOL names the book by its URL.
	resp, body = e.do("MKCOL", home+"again/", mkcolBody)
	want(t, resp, body, http.StatusConflict)
	resp, body = e.do("MKCOL", home+"Plain%20one/", "")
	want(t, resp, body, http.StatusCreated)
	resp, body = e.graph("GET", "/me/contactFolders", "")
	contains(t, body, `"displayName":"Plain one"`)
	resp, body = e.do("PROPFIND", home+"Plain%20one/", "", "Depth", "0")
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "<D:href>"+home+"Plain%20one/</D:href>")
	// MKCOL of an existing book is 405; a non-address-book type or an
	// unknown property is 403 with per-property statuses, and nothing is made.
	resp, body = e.do("MKCOL", loc, mkcolBody)
	want(t, resp, body, http.StatusMethodNotAllowed)
	resp, body = e.do("MKCOL", home+"cal/", strings.Replace(mkcolBody, "<C:addressbook/>", `<X:calendar xmlns:X="urn:ietf:params:xml:ns:caldav"/>`, 1))
	want(t, resp, body, http.StatusForbidden)
	contains(t, body, "<D:mkcol-response", "<D:valid-resourcetype/>", "424 Failed Dependency")
	resp, body = e.do("MKCOL", home+"desc/", strings.Replace(mkcolBody, "</D:prop>", "<C:addressbook-description>x</C:addressbook-description></D:prop>", 1))
	want(t, resp, body, http.StatusForbidden)
	contains(t, body, "<C:addressbook-description/></D:prop><D:status>HTTP/1.1 403 Forbidden</D:status><D:error><D:cannot-modify-protected-property/>")
	resp, body = e.do("MKCOL", home+"weird/", "this is not XML")
	want(t, resp, body, http.StatusUnsupportedMediaType)
	resp, body = e.do("MKCOL", home+"weird/", `<D:propfind xmlns:D="DAV:"/>`)
	want(t, resp, body, http.StatusUnsupportedMediaType)
	resp, body = e.do("MKCOL", e.book()+"nested/", mkcolBody)
	want(t, resp, body, http.StatusForbidden)
	resp, body = e.do("MKCOL", home+"missing/nested/", mkcolBody)
	want(t, resp, body, http.StatusConflict)
	resp, body = e.graph("GET", "/me/contactFolders", "")
	if n := strings.Count(body, `"displayName"`); n != 2 {
		t.Fatalf("%d folders:\n%s", n, body)
	}

	// PROPPATCH displayname renames the folder.
	resp, body = e.do("PROPPATCH", loc, proppatchBody("<D:displayname>Colleagues</D:displayname>"))
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "<D:displayname/></D:prop><D:status>HTTP/1.1 200 OK</D:status>")
	resp, body = e.graph("GET", "/me/contactFolders", "")
	contains(t, body, `"displayName":"Colleagues"`)
	// With another property, nothing changes: 403 for it, 424 for displayname.
	resp, body = e.do("PROPPATCH", loc, proppatchBody(`<D:displayname>Other</D:displayname><X:color xmlns:X="http://apple.com/ns/ical/">red</X:color>`))
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "<D:displayname/></D:prop><D:status>HTTP/1.1 424 Failed Dependency</D:status>",
		"403 Forbidden</D:status><D:error><D:cannot-modify-protected-property/></D:error>")
	resp, body = e.graph("GET", "/me/contactFolders", "")
	contains(t, body, `"displayName":"Colleagues"`)
	// A name taken by a sibling is 409 for displayname.
	resp, body = e.do("PROPPATCH", loc, proppatchBody("<D:displayname>Plain one</D:displayname>"))
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "409 Conflict")
	// The default book cannot be renamed; other resources cannot be patched.
	resp, body = e.do("PROPPATCH", e.book(), proppatchBody("<D:displayname>Mine</D:displayname>"))
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "403 Forbidden")
	resp, body = e.do("PROPPATCH", home, proppatchBody("<D:displayname>Mine</D:displayname>"))
	want(t, resp, body, http.StatusForbidden)

	// DELETE of a book deletes the folder with its cards; not the default one.
	resp, body = e.do("PUT", loc+"x.vcf", vcf("uid-x", "X", ""), "Content-Type", "text/vcard")
	want(t, resp, body, http.StatusCreated)
	resp, body = e.do("DELETE", loc, "")
	want(t, resp, body, http.StatusNoContent)
	resp, body = e.do("PROPFIND", loc, "", "Depth", "0")
	want(t, resp, body, http.StatusNotFound)
	resp, body = e.graph("GET", "/me/contactFolders", "")
	if strings.Contains(body, "Colleagues") {
		t.Fatalf("folder left:\n%s", body)
	}
	// The name went with the folder: a new book may take it.
	resp, body = e.do("MKCOL", loc, strings.Replace(mkcolBody, "Work people", "Reborn", 1))
	want(t, resp, body, http.StatusCreated)
	resp, body = e.do("GET", loc+"x.vcf", "")
	want(t, resp, body, http.StatusNotFound)
	resp, body = e.do("DELETE", e.book(), "")
	want(t, resp, body, http.StatusForbidden)
	contains(t, body, "<D:need-privileges/>")
	resp, body = e.do("DELETE", home+"directory/", "")
	want(t, resp, body, http.StatusForbidden)
}
