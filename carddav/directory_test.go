package carddav_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/contactgraph/contactgraph"
)

// TestDirectoryBook: the tenant's org contacts are a read-only address
// book in the home set, synced over the org contact delta.
func TestDirectoryBook(t *testing.T) {
	e := newEnv(t)
	tid := contactgraph.TenantID("contoso")
	in, err := contactgraph.ParseOrgContactInput([]byte(`{"displayName":"Grace Hopper","givenName":"Grace","surname":"Hopper","mail":"grace@contoso.com","jobTitle":"Rear Admiral","phones":[{"type":"business","number":"+1 555"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	o, err := e.store.CreateOrgContact(context.Background(), tid, in)
	if err != nil {
		t.Fatal(err)
	}
	dir := "/dav/" + e.user + "/contacts/directory/"
	resp, body := e.do("PROPFIND", "/dav/"+e.user+"/contacts/", propfindBook, "Depth", "1")
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "<D:href>"+dir+"</D:href>", "<D:displayname>Directory</D:displayname>")
	resp, body = e.do("REPORT", dir, `<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/><C:address-data/></D:prop></D:sync-collection>`)
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "<D:href>"+dir+o.ID+".vcf</D:href>", "FN:Grace Hopper", "EMAIL", "grace@contoso.com", "TITLE:Rear Admiral", "+1 555")
	tok := syncToken(t, body)
	resp, body = e.do("PROPFIND", dir, propfindBook, "Depth", "0")
	want(t, resp, body, http.StatusMultiStatus)
	if got := syncToken(t, body); got != tok {
		t.Fatalf("PROPFIND token %s, sync-collection %s", got, tok)
	}
	resp, body = e.do("GET", dir+o.ID+".vcf", "")
	want(t, resp, body, http.StatusOK)
	contains(t, body, "UID:"+o.ID, "FN:Grace Hopper")

	for _, m := range []struct{ method, path string }{{"PUT", dir + "new.vcf"}, {"PUT", dir + o.ID + ".vcf"}, {"DELETE", dir + o.ID + ".vcf"}, {"DELETE", dir}} {
		resp, body = e.do(m.method, m.path, simpleCard("x", "X"), "Content-Type", "text/vcard")
		want(t, resp, body, http.StatusForbidden)
		contains(t, body, "<D:need-privileges/>")
	}
	if err := e.store.DeleteOrgContact(context.Background(), tid, o.ID); err != nil {
		t.Fatal(err)
	}
	resp, body = e.do("REPORT", dir, syncBody(tok, 0))
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "<D:href>"+dir+o.ID+".vcf</D:href>", "404 Not Found")
}
