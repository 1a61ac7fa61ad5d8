package graphapi

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
)

func TestContacts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	root := e.rootID(t, u)
	base := e.srv.URL + "/v1.0"
	ctxEntity := base + "/$metadata#users('" + u.id + "')/contacts/$entity"

	body := map[string]any{
		"@odata.type":    "#microsoft.graph.contact",
		"givenName":      "Pavel",
		"surname":        "Bansky",
		"emailAddresses": []any{map[string]any{"address": "pavelb@contoso.com", "name": "Pavel Bansky"}},
		"businessPhones": []any{"+1 732 555 0102"},
	}
	r := e.do(t, "POST", "/v1.0/me/contacts", u.token, body)
	c := ok(t, r, 201)
	id := str(t, c, "id")
	if str(t, c, "displayName") != "Pavel Bansky" || str(t, c, "parentFolderId") != root || str(t, c, "@odata.context") != ctxEntity ||
		str(t, c, "@odata.etag") != `W/"`+str(t, c, "changeKey")+`"` {
		t.Fatalf("created %s", r.body)
	}
	if !strings.HasPrefix(string(r.body), `{"@odata.context":"`+ctxEntity+`","@odata.etag":"W/\"`) {
		t.Errorf("annotations do not lead: %s", r.body)
	}
	if loc := r.header.Get("Location"); loc != base+"/users/"+u.id+"/contacts/"+id {
		t.Errorf("Location %q", loc)
	}
	if _, has := c["@odata.type"]; has {
		t.Errorf("entity echoes @odata.type: %s", r.body)
	}
	etag1 := str(t, c, "@odata.etag")

	t.Run("get", func(t *testing.T) {
		got := e.do(t, "GET", "/v1.0/me/contacts/"+id, u.token, nil)
		ok(t, got, 200)
		if string(got.body) != string(r.body) {
			t.Errorf("GET differs from POST:\n%s\n%s", got.body, r.body)
		}
		ok(t, e.do(t, "GET", "/v1.0/me/contacts('"+id+"')", u.token, nil), 200)
		ok(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+root+"/contacts/"+id, u.token, nil), 200)
	})
	t.Run("select", func(t *testing.T) {
		got := e.do(t, "GET", "/v1.0/me/contacts/"+id+"?%24select=surname,GivenName", u.token, nil)
		ok(t, got, 200)
		want := `{"@odata.context":"` + ctxEntity + `","@odata.etag":` + jsonValue(etag1) + `,"id":"` + id + `","givenName":"Pavel","surname":"Bansky"}`
		if string(got.body) != want {
			t.Errorf("$select:\n got %s\nwant %s", got.body, want)
		}
		er := fails(t, e.do(t, "GET", "/v1.0/me/contacts/"+id+"?$select=givenName,shoeSize", u.token, nil), 400, "ErrorInvalidRequest")
		if !strings.Contains(er.Message, "shoeSize") {
			t.Errorf("message does not name the property: %q", er.Message)
		}
		fails(t, e.do(t, "GET", "/v1.0/me/contacts/"+id+"?$expand=shoeSize", u.token, nil), 400, "ErrorInvalidRequest")
	})
	var etag2 string
	t.Run("patch", func(t *testing.T) {
		got := ok(t, e.do(t, "PATCH", "/v1.0/me/contacts/"+id, u.token, map[string]any{"jobTitle": "Engineer"}, "If-Match", etag1), 200)
		etag2 = str(t, got, "@odata.etag")
		if str(t, got, "jobTitle") != "Engineer" || str(t, got, "givenName") != "Pavel" || etag2 == etag1 || str(t, got, "@odata.context") != ctxEntity {
			t.Fatalf("patched %v", got)
		}
		fails(t, e.do(t, "PATCH", "/v1.0/me/contacts/"+id, u.token, map[string]any{"jobTitle": "Boss"}, "If-Match", etag1), 412, "ErrorIrresolvableConflict")
		fails(t, e.do(t, "DELETE", "/v1.0/me/contacts/"+id, u.token, nil, "If-Match", etag1), 412, "ErrorIrresolvableConflict")
		if got := ok(t, e.do(t, "GET", "/v1.0/me/contacts/"+id, u.token, nil), 200); str(t, got, "jobTitle") != "Engineer" {
			t.Errorf("a refused PATCH changed the contact: %v", got)
		}
	})
	t.Run("bad bodies", func(t *testing.T) {
		for name, b := range map[string][]byte{
			"unknown property": []byte(`{"givenName":"A","shoeSize":"44"}`),
			"wrong type":       []byte(`{"givenName":42}`),
			"string for array": []byte(`{"businessPhones":"+1 555"}`),
			"bad email":        []byte(`{"emailAddresses":[{"address":"not an email"}]}`),
			"non-JSON":         []byte(`givenName=A`),
			"array body":       []byte(`[{"givenName":"A"}]`),
			"two values":       []byte(`{"givenName":"A"}{"givenName":"B"}`),
			"truncated":        []byte(`{"givenName":"A"`),
			"empty":            []byte(``),
			"invalid UTF-8":    []byte("{\"givenName\":\"\xff\xfe\"}"),
		} {
			t.Run(name, func(t *testing.T) {
				fails(t, e.do(t, "POST", "/v1.0/me/contacts", u.token, b), 400, "ErrorInvalidRequest")
				fails(t, e.do(t, "PATCH", "/v1.0/me/contacts/"+id, u.token, b), 400, "ErrorInvalidRequest")
			})
		}
	})
	t.Run("in folders", func(t *testing.T) {
		f := ok(t, e.do(t, "POST", "/v1.0/me/contactFolders", u.token, map[string]any{"displayName": "Work"}), 201)
		fID := str(t, f, "id")
		g := ok(t, e.do(t, "POST", "/v1.0/me/contactFolders/"+fID+"/childFolders", u.token, map[string]any{"displayName": "Team"}), 201)
		gID := str(t, g, "id")
		in := ok(t, e.do(t, "POST", "/v1.0/me/contactFolders/"+fID+"/contacts", u.token, map[string]any{"givenName": "Grace"}), 201)
		inID := str(t, in, "id")
		if str(t, in, "parentFolderId") != fID {
			t.Fatalf("created in folder %v", in)
		}
		deep := ok(t, e.do(t, "POST", "/v1.0/me/contactFolders/"+fID+"/childFolders/"+gID+"/contacts", u.token, map[string]any{"givenName": "Linus"}), 201)
		deepID := str(t, deep, "id")
		if str(t, deep, "parentFolderId") != gID {
			t.Fatalf("created in child folder %v", deep)
		}
		ok(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+fID+"/contacts/"+inID, u.token, nil), 200)
		ok(t, e.do(t, "GET", "/v1.0/me/contacts/"+inID, u.token, nil), 200) // any folder
		ok(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+fID+"/childFolders/"+gID+"/contacts/"+deepID, u.token, nil), 200)
		ok(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+gID+"/contacts/"+deepID, u.token, nil), 200)
		// Wrong folder.
		fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+fID+"/contacts/"+id, u.token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+fID+"/contacts/"+deepID, u.token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "PATCH", "/v1.0/me/contactFolders/"+gID+"/contacts/"+inID, u.token, map[string]any{"givenName": "X"}), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "DELETE", "/v1.0/me/contactFolders/"+gID+"/contacts/"+inID, u.token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+gID+"/childFolders/"+fID+"/contacts", u.token, nil), 404, "ErrorItemNotFound")
		// Lists are per folder.
		l := ok(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+fID+"/contacts", u.token, nil), 200)
		if vs := values(t, l); len(vs) != 1 || str(t, vs[0], "id") != inID || vs[0]["@odata.etag"] == nil {
			t.Errorf("folder list %v", vs)
		}
		if str(t, l, "@odata.context") != base+"/$metadata#users('"+u.id+"')/contactFolders('"+fID+"')/contacts" {
			t.Errorf("context %v", l["@odata.context"])
		}
		// PATCH through a folder path, moving the contact.
		moved := ok(t, e.do(t, "PATCH", "/v1.0/me/contactFolders/"+fID+"/contacts/"+inID, u.token, map[string]any{"parentFolderId": gID}), 200)
		if str(t, moved, "parentFolderId") != gID {
			t.Errorf("moved %v", moved)
		}
		fails(t, e.do(t, "PATCH", "/v1.0/me/contacts/"+inID, u.token, map[string]any{"parentFolderId": "nope"}), 400, "ErrorInvalidIdMalformed")
		fails(t, e.do(t, "PATCH", "/v1.0/me/contacts/"+inID, u.token, map[string]any{"parentFolderId": contactgraph.NewID()}), 404, "ErrorItemNotFound")
		ok(t, e.do(t, "DELETE", "/v1.0/me/contactFolders/"+fID+"/childFolders/"+gID+"/contacts/"+inID, u.token, nil), 204)
		fails(t, e.do(t, "GET", "/v1.0/me/contacts/"+inID, u.token, nil), 404, "ErrorItemNotFound")
		// A missing folder.
		fails(t, e.do(t, "POST", "/v1.0/me/contactFolders/"+contactgraph.NewID()+"/contacts", u.token, map[string]any{"givenName": "X"}), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+contactgraph.NewID()+"/contacts", u.token, nil), 404, "ErrorItemNotFound")
	})
	t.Run("ids", func(t *testing.T) {
		for _, p := range []string{"/v1.0/me/contacts/123", "/v1.0/me/contacts/" + id + "x", "/v1.0/me/contacts/" + id[:16] + "%2F" + id[17:], "/v1.0/me/contactFolders/" + id[:31] + "%3D/contacts"} {
			fails(t, e.do(t, "GET", p, u.token, nil), 400, "ErrorInvalidIdMalformed")
		}
		fails(t, e.do(t, "DELETE", "/v1.0/me/contacts/x", u.token, nil), 400, "ErrorInvalidIdMalformed")
		fails(t, e.do(t, "GET", "/v1.0/me/contacts/"+contactgraph.NewID(), u.token, nil), 404, "ErrorItemNotFound")
	})
	t.Run("delete", func(t *testing.T) {
		ok(t, e.do(t, "DELETE", "/v1.0/me/contacts/"+id, u.token, nil, "If-Match", etag2), 204)
		er := fails(t, e.do(t, "GET", "/v1.0/me/contacts/"+id, u.token, nil), 404, "ErrorItemNotFound")
		if er.Message == "" {
			t.Error("no message")
		}
		fails(t, e.do(t, "DELETE", "/v1.0/me/contacts/"+id, u.token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "PATCH", "/v1.0/me/contacts/"+id, u.token, map[string]any{"givenName": "Z"}), 404, "ErrorItemNotFound")
	})
}

// TestListPaging follows nextLinks through lists of contacts, folders and
// users: every item once, links absolute and carrying $select and $top, no
// nextLink on the last page.
func TestListPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	dir := e.tokens.app("contoso", "dir", contactgraph.PermUserReadWrite)
	created := map[string]bool{}
	for i := range 12 {
		c := ok(t, e.do(t, "POST", "/v1.0/me/contacts", u.token, map[string]any{"givenName": strings.Repeat("x", i+1)}), 201)
		created[str(t, c, "id")] = true
	}
	for i := range 3 {
		ok(t, e.do(t, "POST", "/v1.0/me/contactFolders", u.token, map[string]any{"displayName": strings.Repeat("f", i+1)}), 201)
	}
	for i := range 4 {
		ok(t, e.do(t, "POST", "/v1.0/users", dir, map[string]any{"userPrincipalName": strings.Repeat("u", i+1) + "@contoso.com"}), 201)
	}

	// follow reads every page from first and returns the items and pages.
	follow := func(t *testing.T, token, first string) ([]map[string]any, int) {
		t.Helper()
		var items []map[string]any
		pages := 0
		link := first
		for link != "" {
			m := ok(t, e.do(t, "GET", link, token, nil), 200)
			items = append(items, values(t, m)...)
			pages++
			link = ""
			if v, has := m["@odata.nextLink"]; has {
				link, _ = v.(string)
				if !strings.HasPrefix(link, e.srv.URL+"/v1.0/") {
					t.Fatalf("nextLink %v not absolute on the base URL", v)
				}
			}
			if pages > 20 {
				t.Fatal("paging does not end")
			}
		}
		return items, pages
	}

	t.Run("contacts default top", func(t *testing.T) {
		items, pages := follow(t, u.token, "/v1.0/me/contacts")
		if len(items) != 12 || pages != 2 {
			t.Fatalf("%d items in %d pages", len(items), pages)
		}
		for _, it := range items {
			if !created[str(t, it, "id")] {
				t.Errorf("unknown item %v", it)
			}
		}
	})
	t.Run("contacts with top and select", func(t *testing.T) {
		first := ok(t, e.do(t, "GET", "/v1.0/me/contacts?%24top=5&%24select=givenName", u.token, nil), 200)
		next := str(t, first, "@odata.nextLink")
		if !strings.Contains(next, "$select=givenName") || !strings.Contains(next, "$top=5") || !strings.Contains(next, "$skiptoken=") {
			t.Errorf("nextLink %s", next)
		}
		items, pages := follow(t, u.token, "/v1.0/me/contacts?$top=5&$select=givenName")
		if len(items) != 12 || pages != 3 {
			t.Fatalf("%d items in %d pages", len(items), pages)
		}
		seen := map[string]bool{}
		for _, it := range items {
			if len(it) != 3 || it["givenName"] == nil || it["@odata.etag"] == nil {
				t.Errorf("item %v", it)
			}
			seen[str(t, it, "id")] = true
		}
		if len(seen) != 12 {
			t.Errorf("%d distinct items", len(seen))
		}
	})
	t.Run("exact page", func(t *testing.T) {
		m := ok(t, e.do(t, "GET", "/v1.0/me/contacts?$top=12", u.token, nil), 200)
		if _, has := m["@odata.nextLink"]; has || len(values(t, m)) != 12 {
			t.Errorf("a full last page: %v", m["@odata.nextLink"])
		}
	})
	t.Run("folders", func(t *testing.T) {
		items, pages := follow(t, u.token, "/v1.0/me/contactFolders?$top=2")
		if len(items) != 3 || pages != 2 {
			t.Fatalf("%d items in %d pages", len(items), pages)
		}
	})
	t.Run("users", func(t *testing.T) {
		items, pages := follow(t, dir, "/v1.0/users?$top=2&$select=userPrincipalName")
		// 4 created, plus ada from her first mailbox access.
		if len(items) != 5 || pages != 3 {
			t.Fatalf("%d items in %d pages", len(items), pages)
		}
		for _, it := range items {
			if len(it) != 2 || it["userPrincipalName"] == nil {
				t.Errorf("item %v", it)
			}
		}
	})
	t.Run("bad options", func(t *testing.T) {
		for q, code := range map[string]string{
			"$top=0":                                 "ErrorInvalidRequest",
			"$top=-2":                                "ErrorInvalidRequest",
			"$top=ten":                               "ErrorInvalidRequest",
			"$skiptoken=garbage!":                    "BadRequest",
			"$skiptoken=" + encodeSkipToken("short"): "BadRequest",
			"$filter=personalNotes%20eq%20'x'":       "ErrorInvalidUrlQueryFilter",
			"$filter=givenName%20eq":                 "BadRequest",
			"$orderby=personalNotes":                 "ErrorInvalidUrlQuery",
			"$orderby=nope":                          "BadRequest",
			"$search=x":                              "ErrorInvalidUrlQuery",
			"$expand=shoeSize":                       "ErrorInvalidRequest",
			"$skip=-1":                               "ErrorInvalidRequest",
			"$deltatoken=x":                          "ErrorInvalidUrlQuery",
			"$select=nope":                           "ErrorInvalidRequest",
			"$bogus=1":                               "ErrorInvalidRequest",
			"$top=1&$TOP=2":                          "ErrorInvalidRequest",
		} {
			fails(t, e.do(t, "GET", "/v1.0/me/contacts?"+q, u.token, nil), 400, code)
		}
		fails(t, e.do(t, "GET", "/v1.0/users?$filter=x", dir, nil), 400, "Request_UnsupportedQuery")
		fails(t, e.do(t, "GET", "/v1.0/users?$top=0", dir, nil), 400, "Request_BadRequest")
		ok(t, e.do(t, "GET", "/v1.0/me/contacts?$count=true&foo=bar", u.token, nil), 200)
	})
}

// TestBodies checks gzip bodies, size limits and encodings end to end.
func TestBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // MaxBodyBytes 64 KiB
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	j, _ := json.Marshal(map[string]any{"givenName": "Zipped", "personalNotes": strings.Repeat("n", 1000)})

	c := ok(t, e.do(t, "POST", "/v1.0/me/contacts", u.token, gzipBytes(t, j), "Content-Encoding", "gzip"), 201)
	if str(t, c, "givenName") != "Zipped" {
		t.Fatalf("gzip create %v", c)
	}
	p := ok(t, e.do(t, "PATCH", "/v1.0/me/contacts/"+str(t, c, "id"), u.token, gzipBytes(t, []byte(`{"surname":"Z"}`)), "Content-Encoding", "gzip"), 200)
	if str(t, p, "displayName") != "Zipped Z" {
		t.Errorf("gzip patch %v", p)
	}
	ok(t, e.do(t, "POST", "/v1.0/me/contactFolders", u.token, gzipBytes(t, []byte(`{"displayName":"Z"}`)), "Content-Encoding", "gzip"), 201)

	fails(t, e.do(t, "POST", "/v1.0/me/contacts", u.token, []byte("\x1f\x8b\x08garbage"), "Content-Encoding", "gzip"), 400, "ErrorInvalidRequest")
	fails(t, e.do(t, "POST", "/v1.0/me/contacts", u.token, j, "Content-Encoding", "gzip"), 400, "ErrorInvalidRequest")
	fails(t, e.do(t, "POST", "/v1.0/me/contacts", u.token, j, "Content-Encoding", "br"), 415, "UnsupportedMediaType")

	huge := []byte(`{"personalNotes":"` + strings.Repeat("a", 70<<10) + `"}`)
	fails(t, e.do(t, "POST", "/v1.0/me/contacts", u.token, huge), 413, "RequestEntityTooLarge")
	fails(t, e.do(t, "POST", "/v1.0/me/contacts", u.token, gzipBytes(t, huge), "Content-Encoding", "gzip"), 413, "RequestEntityTooLarge")
	bomb := gzipBytes(t, []byte(`{"personalNotes":"`+strings.Repeat("a", 8<<20)+`"}`))
	fails(t, e.do(t, "POST", "/v1.0/me/contacts", u.token, bomb, "Content-Encoding", "gzip"), 413, "RequestEntityTooLarge")
	fails(t, e.do(t, "PATCH", "/v1.0/me/contactFolders/"+contactgraph.NewID(), u.token, huge), 413, "RequestEntityTooLarge")

	// No Content-Type needed on GET, and none required on POST either.
	ok(t, e.do(t, "GET", "/v1.0/me/contacts", u.token, nil), 200)
}

// TestPermanentDelete: POST …/permanentDelete deletes a contact or a
// folder as DELETE does (204, a tombstone in delta); the default folder
// stays.
func TestPermanentDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	root := e.rootID(t, u)
	id := str(t, e.post(t, "/v1.0/me/contacts", u.token, `{"givenName":"Gone"}`), "id")
	_, dl := e.round(t, "/v1.0/me/contacts/delta", u.token)
	ok(t, e.do(t, "POST", "/v1.0/me/contacts/"+id+"/permanentDelete", u.token, nil), 204)
	fails(t, e.do(t, "GET", "/v1.0/me/contacts/"+id, u.token, nil), 404, "ErrorItemNotFound")
	fails(t, e.do(t, "POST", "/v1.0/me/contacts/"+id+"/permanentDelete", u.token, nil), 404, "ErrorItemNotFound")
	items, _ := e.round(t, dl, u.token)
	if len(items) != 1 || items[0]["id"] != id || items[0]["@removed"] == nil {
		t.Errorf("delta after permanentDelete: %v", items)
	}
	f := str(t, e.post(t, "/v1.0/me/contactFolders", u.token, `{"displayName":"Old"}`), "id")
	ok(t, e.do(t, "POST", "/v1.0/me/contactFolders/"+f+"/microsoft.graph.permanentDelete", u.token, nil), 204)
	fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+f, u.token, nil), 404, "ErrorItemNotFound")
	fails(t, e.do(t, "POST", "/v1.0/me/contactFolders/"+root+"/permanentDelete", u.token, nil), 400, "ErrorDeleteDistinguishedFolder")
	fails(t, e.do(t, "GET", "/v1.0/me/contacts/"+id+"/permanentDelete", u.token, nil), 405, "BadRequest")
	reader := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsRead)
	other := str(t, e.post(t, "/v1.0/me/contacts", u.token, `{"givenName":"Kept"}`), "id")
	fails(t, e.do(t, "POST", "/v1.0/me/contacts/"+other+"/permanentDelete", reader.token, nil), 403, "ErrorAccessDenied")
}
