package carddav_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph/storetest"
	"github.com/contactgraph/contactgraph/vcard"
)

// padded returns img followed by pad zero bytes: a photo of any size whose
// header decodes.
func padded(img []byte, pad int) []byte { return append(img, make([]byte, pad)...) }

// fold folds a content line at 75 octets, as a client writes it.
func fold(line string) string {
	var b strings.Builder
	for len(line) > 75 {
		b.WriteString(line[:75] + "\r\n ")
		line = line[75:]
	}
	return b.String() + line + "\r\n"
}

func photoCard(photoLines string) string {
	return "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:photo-1\r\nFN:Grace Hopper\r\n" + photoLines + "END:VCARD\r\n"
}

// cardPhoto returns the PHOTO properties of a card's text.
func cardPhoto(t *testing.T, text string) []vcard.Property {
	t.Helper()
	c, err := vcard.Parse([]byte(text))
	if err != nil {
		t.Fatalf("%v:\n%.300s", err, text)
	}
	var out []vcard.Property
	for _, p := range c.Props {
		if p.Name == "PHOTO" {
			out = append(out, p)
		}
	}
	return out
}

// A card's inline PHOTO is the contact's Graph photo, both ways, in both
// vCard versions; a card without one removes it; a PHOTO with no Graph
// equivalent is kept as it is; a broken one is a 400 that writes nothing.
func TestCardPhoto(t *testing.T) {
	e := newEnv(t)
	href := e.book() + "grace.vcf"
	jpg := padded(storetest.JPEG(t, 3, 2), 3<<20) // a 3 MiB photo: near Graph's limit
	resp, body := e.do("PUT", href, photoCard(fold("PHOTO;ENCODING=b;TYPE=JPEG:"+base64.StdEncoding.EncodeToString(jpg))), "Content-Type", "text/vcard")
	want(t, resp, body, http.StatusCreated)
	resp, body = e.graph("GET", "/me/contacts?$select=displayName", "")
	want(t, resp, body, http.StatusOK)
	id := regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(body)[1]

	graphPhoto := func() (*http.Response, string) {
		return e.graph("GET", "/me/contacts/"+id+"/photo/$value", "")
	}
	resp, body = graphPhoto()
	want(t, resp, body, http.StatusOK)
	if body != string(jpg) || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("Graph photo: %d bytes of %s, want the card's %d", len(body), resp.Header.Get("Content-Type"), len(jpg))
	}
	resp, body = e.graph("GET", "/me/contacts/"+id+"/photo", "")
	want(t, resp, body, http.StatusOK)
	contains(t, body, `"width":3`, `"height":2`)

	// Read back: base64 under ENCODING=b in 3.0, a data: URI in 4.0.
	resp, body = e.do("GET", href, "")
	want(t, resp, body, http.StatusOK)
	tag1 := resp.Header.Get("ETag")
	getLength := resp.Header.Get("Content-Length")
	if resp, _ := e.do("HEAD", href, ""); resp.Header.Get("Content-Length") != getLength {
		t.Fatalf("HEAD Content-Length %s, GET's %s", resp.Header.Get("Content-Length"), getLength)
	}
	if ph := cardPhoto(t, body); len(ph) != 1 || ph[0].Value != base64.StdEncoding.EncodeToString(jpg) || !ph[0].HasType("JPEG") {
		t.Fatalf("3.0 PHOTO: %d properties", len(ph))
	}
	resp, body = e.do("GET", href, "", "Accept", "text/vcard; version=4.0")
	want(t, resp, body, http.StatusOK)
	if ph := cardPhoto(t, body); len(ph) != 1 || ph[0].Value != "data:image/jpeg;base64,"+base64.StdEncoding.EncodeToString(jpg) {
		t.Fatalf("4.0 PHOTO: %d properties", len(ph))
	}

	// A photo set over Graph is the card's, with a new ETag; multiget and
	// sync-collection's address-data carry it.
	pngData := storetest.PNG(t, 4, 4)
	req, _ := http.NewRequest("PUT", e.srv.URL+"/v1.0/me/contacts/"+id+"/photo/$value", bytes.NewReader(pngData))
	req.Header.Set("Authorization", "Bearer "+e.bearer)
	req.Header.Set("Content-Type", "image/png")
	resp, body = e.send(req)
	want(t, resp, body, http.StatusOK)
	resp, body = e.do("REPORT", e.book(), `<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop><D:href>`+href+`</D:href></C:addressbook-multiget>`, "Depth", "1")
	want(t, resp, body, http.StatusMultiStatus)
	if strings.Contains(body, strings.ReplaceAll(tag1, `"`, "&#34;")) {
		t.Fatal("the ETag did not change with the Graph photo")
	}
	contains(t, body, "PHOTO;ENCODING=b;TYPE=PNG:"+base64.StdEncoding.EncodeToString(pngData)[:40])
	resp, body = e.do("REPORT", e.book(), strings.Replace(syncBody("", 0), "<D:getetag/>", `<D:getetag/><C:address-data xmlns:C="urn:ietf:params:xml:ns:carddav" version="4.0"/>`, 1), "Depth", "1")
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "PHOTO:data:image/png;base64,")

	// Broken inline photos are 400 and change nothing.
	resp, body = e.do("GET", href, "")
	before, tag2 := body, resp.Header.Get("ETag")
	for name, line := range map[string]string{
		"not base64":      "PHOTO;ENCODING=b;TYPE=JPEG:***\r\n",
		"empty":           "PHOTO;ENCODING=b;TYPE=JPEG:\r\n",
		"broken header":   "PHOTO;ENCODING=b;TYPE=JPEG:" + base64.StdEncoding.EncodeToString([]byte("\xff\xd8\xffjunk")) + "\r\n",
		"data URI broken": "PHOTO:data:image/png;base64,@@@\r\n",
	} {
		resp, body = e.do("PUT", href, photoCard(line), "Content-Type", "text/vcard")
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400: %s", name, resp.StatusCode, body)
		}
	}
	resp, body = e.do("GET", href, "")
	if body != before || resp.Header.Get("ETag") != tag2 {
		t.Fatal("a refused PUT changed the card")
	}

	// A PHOTO by URI, or of another image type, is kept as it is; the card
	// has no inline JPEG or PNG, so the Graph photo goes.
	gif := "PHOTO;ENCODING=b;TYPE=GIF:" + base64.StdEncoding.EncodeToString([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"))
	uri := "PHOTO;VALUE=uri:https://example.com/grace.jpg"
	resp, body = e.do("PUT", href, photoCard(gif+"\r\n"+uri+"\r\n"), "Content-Type", "text/vcard", "If-Match", tag2)
	want(t, resp, body, http.StatusNoContent)
	resp, body = graphPhoto()
	want(t, resp, body, http.StatusNotFound)
	resp, body = e.do("GET", href, "")
	want(t, resp, body, http.StatusOK)
	contains(t, body, gif, uri)

	// And an inline photo again, then a card without any PHOTO removes it.
	resp, body = e.do("PUT", href, photoCard("PHOTO;ENCODING=b;TYPE=JPEG:"+base64.StdEncoding.EncodeToString(storetest.JPEG(t, 1, 1))+"\r\n"), "Content-Type", "text/vcard")
	want(t, resp, body, http.StatusNoContent)
	resp, body = graphPhoto()
	want(t, resp, body, http.StatusOK)
	resp, body = e.do("PUT", href, photoCard(""), "Content-Type", "text/vcard")
	want(t, resp, body, http.StatusNoContent)
	resp, body = graphPhoto()
	want(t, resp, body, http.StatusNotFound)
}
