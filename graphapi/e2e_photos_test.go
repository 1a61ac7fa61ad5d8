package graphapi

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/storetest"
)

// contactPath is one way of addressing a contact.
type contactPath struct{ name, path, id string }

// photoFixture makes a folder with a child folder, and a contact in the
// default folder, the folder and the child.
func (e *env) photoFixture(t *testing.T, u user) (inRoot, inFolder, inChild string, folder, child string) {
	t.Helper()
	folder = str(t, e.post(t, "/v1.0/me/contactFolders", u.token, `{"displayName":"Photos"}`), "id")
	child = str(t, e.post(t, "/v1.0/me/contactFolders/"+folder+"/childFolders", u.token, `{"displayName":"Child"}`), "id")
	inRoot = str(t, e.post(t, "/v1.0/me/contacts", u.token, `{"givenName":"Root"}`), "id")
	inFolder = str(t, e.post(t, "/v1.0/me/contactFolders/"+folder+"/contacts", u.token, `{"givenName":"Folder"}`), "id")
	inChild = str(t, e.post(t, "/v1.0/me/contactFolders/"+folder+"/childFolders/"+child+"/contacts", u.token, `{"givenName":"Child"}`), "id")
	return
}

// contactPaths returns every form of path to the fixture's contacts: /me,
// /users/{upn} and /users/{id}, each through /contacts/{id} and through
// the folders, with the token to use.
func contactPaths(u user, app, root, inFolder, inChild, folder, child string) ([]contactPath, map[string]string) {
	var paths []contactPath
	tokens := map[string]string{}
	for _, mb := range []struct{ name, prefix, token string }{
		{"me", "/v1.0/me", u.token}, {"upn", "/v1.0/users/" + u.upn, app}, {"id", "/v1.0/users/" + u.id, app},
	} {
		for _, p := range []contactPath{
			{mb.name + " default folder", mb.prefix + "/contacts/" + root, root},
			{mb.name + " any folder's contact", mb.prefix + "/contacts/" + inChild, inChild},
			{mb.name + " folder", mb.prefix + "/contactFolders/" + folder + "/contacts/" + inFolder, inFolder},
			{mb.name + " child folder", mb.prefix + "/contactFolders/" + folder + "/childFolders/" + child + "/contacts/" + inChild, inChild},
			{mb.name + " keyed", mb.prefix + "/contactFolders('" + folder + "')/contacts('" + inFolder + "')", inFolder},
		} {
			paths = append(paths, p)
			tokens[p.path] = mb.token
		}
	}
	return paths, tokens
}

// TestContactPhotoRoutes puts, reads and removes a photo through every
// contact path form, with delegated and application tokens.
func TestContactPhotoRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // MaxBodyBytes 64 KiB: photos have a limit of their own
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	app := e.tokens.app("contoso", "crm", contactgraph.PermContactsReadWrite)
	root, inFolder, inChild, folder, child := e.photoFixture(t, u)
	base := e.srv.URL + "/v1.0"

	paths, tokens := contactPaths(u, app, root, inFolder, inChild, folder, child)
	for i, p := range paths {
		token, id := tokens[p.path], p.id
		before := str(t, ok(t, e.do(t, "GET", p.path, token, nil), 200), "@odata.etag")

		img := storetest.JPEG(t, 40+i, 30)
		ok200(t, e.do(t, "PUT", p.path+"/photo/$value", token, img, "Content-Type", "image/jpeg"))
		meta := ok(t, e.do(t, "GET", p.path+"/photo", token, nil), 200)
		wantCtx := base + "/$metadata#users('" + u.id + "')/contacts('" + id + "')/photo/$entity"
		if meta["@odata.context"] != wantCtx || meta["@odata.mediaContentType"] != "image/jpeg" || meta["id"] != fmt.Sprintf("%dx30", 40+i) ||
			meta["width"] != float64(40+i) || meta["height"] != float64(30) || !strings.HasPrefix(str(t, meta, "@odata.mediaEtag"), `"`) {
			t.Fatalf("%s: photo metadata %v", p.name, meta)
		}
		v := e.do(t, "GET", p.path+"/photo/$value", token, nil)
		if v.status != 200 || !bytes.Equal(v.body, img) || v.header.Get("Content-Type") != "image/jpeg" || v.header.Get("ETag") != meta["@odata.mediaEtag"] {
			t.Fatalf("%s: $value %d %q %q, %d bytes", p.name, v.status, v.header.Get("Content-Type"), v.header.Get("ETag"), len(v.body))
		}
		after := str(t, ok(t, e.do(t, "GET", p.path, token, nil), 200), "@odata.etag")
		if after == before {
			t.Fatalf("%s: the photo did not change the contact's etag", p.name)
		}
		// PATCH works as PUT; a PNG may come as application/octet-stream,
		// as the SDKs send it, and gzip-compressed.
		png := storetest.PNG(t, 7, 9)
		ok200(t, e.do(t, "PATCH", p.path+"/photo/$value", token, gzipBytes(t, png), "Content-Type", "application/octet-stream", "Content-Encoding", "gzip"))
		if got := e.do(t, "GET", p.path+"/photo/$value", token, nil); !bytes.Equal(got.body, png) || got.header.Get("Content-Type") != "image/png" {
			t.Fatalf("%s: after PATCH: %q, %d bytes", p.name, got.header.Get("Content-Type"), len(got.body))
		}
		ok(t, e.do(t, "DELETE", p.path+"/photo/$value", token, nil), 204)
		fails(t, e.do(t, "GET", p.path+"/photo", token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "GET", p.path+"/photo/$value", token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "DELETE", p.path+"/photo/$value", token, nil), 404, "ErrorItemNotFound")
	}

	// A contact under the wrong folder, and contacts that do not exist.
	ghost := contactgraph.NewID()
	for _, p := range []string{
		"/v1.0/me/contactFolders/" + folder + "/contacts/" + root,
		"/v1.0/me/contactFolders/" + folder + "/childFolders/" + child + "/contacts/" + inFolder,
		"/v1.0/me/contacts/" + ghost,
		"/v1.0/me/contactFolders/" + folder + "/contacts/" + ghost,
	} {
		fails(t, e.do(t, "GET", p+"/photo", u.token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "GET", p+"/photo/$value", u.token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "PUT", p+"/photo/$value", u.token, storetest.JPEG(t, 2, 2), "Content-Type", "image/jpeg"), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "PUT", p+"/photo/$value", u.token, []byte("not an image"), "Content-Type", "text/plain"), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "DELETE", p+"/photo/$value", u.token, nil), 404, "ErrorItemNotFound")
	}
	fails(t, e.do(t, "GET", "/v1.0/me/contacts/not-an-id/photo", u.token, nil), 400, "ErrorInvalidIdMalformed")
	fails(t, e.do(t, "POST", "/v1.0/me/contacts/"+root+"/photo/$value", u.token, nil), 405, "BadRequest")
	fails(t, e.do(t, "PUT", "/v1.0/me/contacts/"+root+"/photo", u.token, nil), 405, "BadRequest")
	fails(t, e.do(t, "GET", "/v1.0/me/contacts/"+root+"/photo/$value?$select=id", u.token, nil), 400, "ErrorInvalidUrlQuery")
}

// TestContactPhotoRefusals: the sizes and types a photo upload may not
// have, with Graph's codes, and a refusal leaves the contact as it was.
func TestContactPhotoRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // MaxBodyBytes 64 KiB
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	id := str(t, e.post(t, "/v1.0/me/contacts", u.token, `{"givenName":"Ada"}`), "id")
	path := "/v1.0/me/contacts/" + id + "/photo/$value"
	jpg := storetest.JPEG(t, 16, 16)
	etag := str(t, ok(t, e.do(t, "GET", "/v1.0/me/contacts/"+id, u.token, nil), 200), "@odata.etag")

	// Up to 4 MiB, over the server's 64 KiB body limit, is accepted.
	maxed := append(slices.Clone(jpg), make([]byte, contactgraph.MaxPhotoBytes-len(jpg))...)
	ok200(t, e.do(t, "PUT", path, u.token, maxed, "Content-Type", "image/jpeg"))
	if got := e.do(t, "GET", path, u.token, nil); len(got.body) != contactgraph.MaxPhotoBytes {
		t.Fatalf("a photo of the largest size came back with %d bytes", len(got.body))
	}
	etag = str(t, ok(t, e.do(t, "GET", "/v1.0/me/contacts/"+id, u.token, nil), 200), "@odata.etag")

	over := append(maxed, 0)
	cases := []struct {
		name   string
		call   rawCall
		status int
		code   string
	}{
		{"over 4 MiB", rawCall{method: "PUT", target: path, body: over, hdr: []string{"Content-Type", "image/jpeg"}}, 413, "RequestEntityTooLarge"},
		{"over 4 MiB, chunked", rawCall{method: "PUT", target: path, body: over, chunked: true, hdr: []string{"Content-Type", "image/jpeg"}}, 413, "RequestEntityTooLarge"},
		{"over 4 MiB once decompressed", rawCall{method: "PUT", target: path, body: gzipBytes(t, over), hdr: []string{"Content-Type", "image/jpeg", "Content-Encoding", "gzip"}}, 413, "RequestEntityTooLarge"},
		{"gif", rawCall{method: "PUT", target: path, body: []byte("GIF89a\x01\x00\x01\x00"), hdr: []string{"Content-Type", "image/gif"}}, 415, "UnsupportedMediaType"},
		{"json", rawCall{method: "PUT", target: path, body: []byte(`{"photo":1}`), hdr: []string{"Content-Type", "application/json"}}, 415, "UnsupportedMediaType"},
		{"text", rawCall{method: "PATCH", target: path, body: jpg, hdr: []string{"Content-Type", "text/plain"}}, 415, "UnsupportedMediaType"},
		{"png declared as jpeg", rawCall{method: "PUT", target: path, body: storetest.PNG(t, 2, 2), hdr: []string{"Content-Type", "image/jpeg"}}, 400, "ErrorInvalidRequest"},
		{"not an image", rawCall{method: "PUT", target: path, body: []byte("hello"), hdr: []string{"Content-Type", "application/octet-stream"}}, 400, "ErrorInvalidRequest"},
		{"a truncated header", rawCall{method: "PUT", target: path, body: jpg[:12], hdr: []string{"Content-Type", "image/jpeg"}}, 400, "ErrorInvalidRequest"},
		{"empty", rawCall{method: "PUT", target: path, body: []byte{}, hdr: []string{"Content-Type", "image/jpeg"}}, 400, "ErrorInvalidRequest"},
		{"stale If-Match", rawCall{method: "PUT", target: path, body: jpg, hdr: []string{"Content-Type", "image/jpeg", "If-Match", `W/"stale"`}}, 412, "ErrorIrresolvableConflict"},
		{"stale If-Match on delete", rawCall{method: "DELETE", target: path, hdr: []string{"If-Match", `W/"stale"`}}, 412, "ErrorIrresolvableConflict"},
	}
	for _, c := range cases {
		c.call.token = u.token
		r := e.rawDo(t, c.call)
		if r.status != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, r.status, c.status, short(string(r.body)))
			continue
		}
		fails(t, r, c.status, c.code)
	}
	if now := str(t, ok(t, e.do(t, "GET", "/v1.0/me/contacts/"+id, u.token, nil), 200), "@odata.etag"); now != etag {
		t.Fatalf("a refused upload changed the contact: %s, was %s", now, etag)
	}
	// If-Match with the contact's etag, or with the photo's media etag.
	ok200(t, e.do(t, "PUT", path, u.token, jpg, "Content-Type", "image/jpeg", "If-Match", etag))
	media := str(t, ok(t, e.do(t, "GET", "/v1.0/me/contacts/"+id+"/photo", u.token, nil), 200), "@odata.mediaEtag")
	ok200(t, e.do(t, "PUT", path, u.token, storetest.PNG(t, 3, 3), "Content-Type", "image/png", "If-Match", media))
	ok200(t, e.do(t, "PUT", path, u.token, jpg, "Content-Type", "image/jpeg; charset=binary", "If-Match", "*"))
}

// TestContactPartsAreChanges: a photo set or removed, an extension
// created, changed or deleted, an extended property set: each is in the
// next delta round, at the contact's new changeKey, and notifies "updated".
func TestContactPartsAreChanges(t *testing.T) {
	e := emulatorEnv(t, func(c *Config) { c.Now = time.Now })
	startSender(t, e)
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	id := str(t, e.post(t, "/v1.0/me/contacts", u.token, `{"givenName":"Ada"}`), "id")
	e.post(t, "/v1.0/me/contacts", u.token, `{"givenName":"Other"}`)
	_, delta := e.round(t, "/v1.0/me/contacts/delta", u.token)
	h := newHook(t, "ok")
	ok(t, e.do(t, "POST", "/v1.0/subscriptions", u.token, subBody(h, "me/contacts", time.Now().Add(time.Hour))), http.StatusCreated)

	res := "Users/" + u.id + "/Contacts/" + id
	item := "/v1.0/me/contacts/" + id
	for i, step := range []func(){
		func() {
			ok200(t, e.do(t, "PUT", item+"/photo/$value", u.token, storetest.JPEG(t, 5, 5), "Content-Type", "image/jpeg"))
		},
		func() { ok(t, e.do(t, "DELETE", item+"/photo/$value", u.token, nil), 204) },
		func() { e.post(t, item+"/extensions", u.token, `{"extensionName":"Com.Contoso.Sync","v":1}`) },
		func() { ok(t, e.do(t, "PATCH", item+"/extensions/Com.Contoso.Sync", u.token, []byte(`{"v":2}`)), 200) },
		func() { ok(t, e.do(t, "DELETE", item+"/extensions/Com.Contoso.Sync", u.token, nil), 204) },
		func() {
			ok(t, e.do(t, "PATCH", item, u.token, []byte(`{"singleValueExtendedProperties":[{"id":"String {66f5a359-4659-4830-9070-00047ec6ac6e} Name CrmId","value":"1"}]}`)), 200)
		},
	} {
		step()
		items, next := e.round(t, delta, u.token)
		delta = next
		cur := ok(t, e.do(t, "GET", "/v1.0/me/contacts/"+id, u.token, nil), 200)
		if len(items) != 1 || items[0]["id"] != id || items[0]["changeKey"] != cur["changeKey"] {
			t.Fatalf("step %d: the next round returned %v, want the contact at changeKey %v", i, items, cur["changeKey"])
		}
		got := summary(h.await(t, i+1))
		if want := slices.Repeat([]string{"updated " + res}, i+1); !slices.Equal(got, want) {
			t.Fatalf("step %d: notifications %q, want %q", i, got, want)
		}
	}
	if items, _ := e.round(t, delta, u.token); len(items) != 0 {
		t.Fatalf("a quiet round returned %v", items)
	}
}
