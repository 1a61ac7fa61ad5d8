package graphapi

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
)

// TestContactExtensionRoutes creates, reads, replaces and deletes an open
// extension through every contact path form.
func TestContactExtensionRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	app := e.tokens.app("contoso", "crm", contactgraph.PermContactsReadWrite)
	root, inFolder, inChild, folder, child := e.photoFixture(t, u)
	base := e.srv.URL + "/v1.0"
	const name = "Com.Contoso.Deal"
	fullID := contactgraph.ExtensionIDPrefix + name

	paths, tokens := contactPaths(u, app, root, inFolder, inChild, folder, child)
	for _, p := range paths {
		token := tokens[p.path]
		before := str(t, ok(t, e.do(t, "GET", p.path, token, nil), 200), "@odata.etag")
		r := e.do(t, "POST", p.path+"/extensions", token, []byte(`{"@odata.type":"microsoft.graph.openTypeExtension","extensionName":"`+name+`",
			"companyName":"Wingtip Toys","dealValue":500050,"expirationDate":"2015-12-03T10:00:00.000Z","topPicks":["a","b"]}`))
		ok(t, r, 201)
		wantCtx := base + "/$metadata#users('" + u.id + "')/contacts('" + p.id + "')/extensions/$entity"
		want := `{"@odata.context":"` + wantCtx + `","@odata.type":"#microsoft.graph.openTypeExtension","id":"` + fullID + `","extensionName":"` + name +
			`","companyName":"Wingtip Toys","dealValue":500050,"expirationDate":"2015-12-03T10:00:00.000Z","topPicks":["a","b"]}`
		if string(r.body) != want {
			t.Fatalf("%s: created\n %s\nwant\n %s", p.name, r.body, want)
		}
		if loc := r.header.Get("Location"); loc != base+"/users/"+u.id+"/contacts/"+p.id+"/extensions/"+fullID {
			t.Errorf("%s: Location %q", p.name, loc)
		}
		after := str(t, ok(t, e.do(t, "GET", p.path, token, nil), 200), "@odata.etag")
		if after == before {
			t.Fatalf("%s: creating an extension did not change the contact's etag", p.name)
		}
		fails(t, e.do(t, "POST", p.path+"/extensions", token, []byte(`{"extensionName":"com.contoso.deal"}`)), 409, "ErrorConflict")

		list := ok(t, e.do(t, "GET", p.path+"/extensions", token, nil), 200)
		if vs := values(t, list); len(vs) != 1 || vs[0]["id"] != fullID || list["@odata.context"] != base+"/$metadata#users('"+u.id+"')/contacts('"+p.id+"')/extensions" {
			t.Fatalf("%s: list %v", p.name, list)
		}
		for _, ref := range []string{name, fullID, "microsoft.graph.openTypeExtension." + name, "COM.CONTOSO.DEAL", "('" + fullID + "')"} {
			path := p.path + "/extensions/" + ref
			if strings.HasPrefix(ref, "(") {
				path = p.path + "/extensions" + ref
			}
			got := ok(t, e.do(t, "GET", path, token, nil), 200)
			if got["extensionName"] != name || got["dealValue"] != float64(500050) {
				t.Fatalf("%s: GET by %s: %v", p.name, ref, got)
			}
		}
		// PATCH replaces the custom data; what it leaves out is gone.
		fails(t, e.do(t, "PATCH", p.path+"/extensions/"+name, token, []byte(`{"dealValue":1}`), "If-Match", before), 412, "ErrorIrresolvableConflict")
		fails(t, e.do(t, "PATCH", p.path+"/extensions/"+name, token, []byte(`{"extensionName":"Com.Contoso.Other"}`)), 400, "ErrorInvalidRequest")
		up := ok(t, e.do(t, "PATCH", p.path+"/extensions/"+name, token, []byte(`{"extensionName":"`+name+`","companyName":"Wingtip Toys (USA)","updated":true}`), "If-Match", after), 200)
		if up["companyName"] != "Wingtip Toys (USA)" || up["updated"] != true || up["dealValue"] != nil || up["@odata.context"] != wantCtx {
			t.Fatalf("%s: updated %v", p.name, up)
		}
		ok(t, e.do(t, "DELETE", p.path+"/extensions/"+fullID, token, nil), 204)
		fails(t, e.do(t, "GET", p.path+"/extensions/"+name, token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "DELETE", p.path+"/extensions/"+name, token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "PATCH", p.path+"/extensions/"+name, token, []byte(`{}`)), 404, "ErrorItemNotFound")
		if vs := values(t, ok(t, e.do(t, "GET", p.path+"/extensions", token, nil), 200)); len(vs) != 0 {
			t.Fatalf("%s: extensions left: %v", p.name, vs)
		}
	}

	// Refusals.
	item := "/v1.0/me/contacts/" + root
	for body, code := range map[string]string{
		`{"companyName":"x"}`:                       "ErrorInvalidRequest", // no extensionName
		`{"extensionName":"has space"}`:             "ErrorInvalidRequest",
		`{"extensionName":"A","nested":{"a":1}}`:    "ErrorInvalidRequest",
		`{"extensionName":"A","deep":[[1]]}`:        "ErrorInvalidRequest",
		`{"extensionName":"A","extensionName":"B"}`: "ErrorInvalidRequest",
		`["not an object"]`:                         "ErrorInvalidRequest",
	} {
		fails(t, e.do(t, "POST", item+"/extensions", u.token, []byte(body)), 400, code)
	}
	fails(t, e.do(t, "GET", item+"/extensions/bad%20name", u.token, nil), 400, "ErrorInvalidIdMalformed")
	fails(t, e.do(t, "GET", item+"/extensions/Com.Contoso.None", u.token, nil), 404, "ErrorItemNotFound")
	ghost := contactgraph.NewID()
	for _, p := range []string{"/v1.0/me/contacts/" + ghost, "/v1.0/me/contactFolders/" + folder + "/contacts/" + root} {
		fails(t, e.do(t, "GET", p+"/extensions", u.token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "POST", p+"/extensions", u.token, []byte(`{"extensionName":"A"}`)), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "GET", p+"/extensions/A", u.token, nil), 404, "ErrorItemNotFound")
		fails(t, e.do(t, "DELETE", p+"/extensions/A", u.token, nil), 404, "ErrorItemNotFound")
	}
	fails(t, e.do(t, "PUT", item+"/extensions/A", u.token, []byte(`{}`)), 405, "BadRequest")
	fails(t, e.do(t, "GET", item+"/extensions?$top=1", u.token, nil), 400, "ErrorInvalidUrlQuery")
}

// TestContactExpand: extensions and extended properties are returned only
// when $expand asks, on items and on list pages (whose nextLinks carry
// the $expand); contacts created with extensions come back expanded.
func TestContactExpand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	const (
		color   = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name Color"
		crm     = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name CrmId"
		palette = "StringArray {66f5a359-4659-4830-9070-00047ec6ac6e} Name Palette"
	)
	r := e.do(t, "POST", "/v1.0/me/contacts", u.token, []byte(`{"givenName":"Grace","surname":"Hopper",
		"extensions":[{"@odata.type":"microsoft.graph.openTypeExtension","extensionName":"Com.Contoso.Referral","companyName":"Wingtip Toys"}],
		"singleValueExtendedProperties":[{"id":"`+color+`","value":"Green"},{"id":"`+crm+`","value":"CRM-1906"}],
		"multiValueExtendedProperties":[{"id":"`+palette+`","value":["Green","Aqua"]}]}`))
	created := ok(t, r, 201)
	id := str(t, created, "id")
	exts, _ := created["extensions"].([]any)
	if len(exts) != 1 || exts[0].(map[string]any)["extensionName"] != "Com.Contoso.Referral" || created["singleValueExtendedProperties"] != nil {
		t.Fatalf("a contact created with an extension comes back expanded with it, without its extended properties: %s", r.body)
	}
	item := "/v1.0/me/contacts/" + id
	plain := ok(t, e.do(t, "GET", item, u.token, nil), 200)
	for _, nav := range []string{"extensions", "singleValueExtendedProperties", "multiValueExtendedProperties"} {
		if _, has := plain[nav]; has {
			t.Errorf("GET without $expand returns %s", nav)
		}
	}

	get := func(q string) map[string]any {
		t.Helper()
		return ok(t, e.do(t, "GET", item+"?"+q, u.token, nil), 200)
	}
	expand := func(v string) string { return "$expand=" + url.QueryEscape(v) }
	got := get("$select=displayName&" + expand("singleValueExtendedProperties($filter=id eq '"+color+"')"))
	raw, _ := json.Marshal(got["singleValueExtendedProperties"])
	if string(raw) != `[{"id":"`+color+`","value":"Green"}]` || got["displayName"] != "Grace Hopper" || got["givenName"] != nil {
		t.Fatalf("$select with $expand of one property: %v", got)
	}
	// Ids match in any spelling; or joins them; ids of the other kind and
	// of properties the contact lacks match nothing.
	got = get(expand("singleValueExtendedProperties($filter=id eq 'string {66F5A359-4659-4830-9070-00047EC6AC6E} name CrmId' or (id eq '" + color + "') or id eq '" + palette + "'),multiValueExtendedProperties($filter=id eq '" + palette + "'),extensions"))
	if svs, _ := got["singleValueExtendedProperties"].([]any); len(svs) != 2 {
		t.Fatalf("two single-value properties: %v", got["singleValueExtendedProperties"])
	}
	raw, _ = json.Marshal(got["multiValueExtendedProperties"])
	if string(raw) != `[{"id":"`+palette+`","value":["Green","Aqua"]}]` {
		t.Fatalf("multi-value property: %s", raw)
	}
	if es, _ := got["extensions"].([]any); len(es) != 1 || es[0].(map[string]any)["companyName"] != "Wingtip Toys" {
		t.Fatalf("extensions: %v", got["extensions"])
	}
	got = get(expand("singleValueExtendedProperties($filter=id eq 'String {66f5a359-4659-4830-9070-00047ec6ac6e} Name None'),extensions($filter=id eq '" +
		contactgraph.ExtensionIDPrefix + "Com.Contoso.None')"))
	if svs, ok := got["singleValueExtendedProperties"].([]any); !ok || len(svs) != 0 {
		t.Fatalf("no match is an empty array: %v", got["singleValueExtendedProperties"])
	}
	if es, ok := got["extensions"].([]any); !ok || len(es) != 0 {
		t.Fatalf("no extension matched is an empty array: %v", got["extensions"])
	}
	got = get(expand("extensions($filter=id eq 'Microsoft.OutlookServices.OpenTypeExtension.Com.Contoso.Referral')"))
	if es, _ := got["extensions"].([]any); len(es) != 1 {
		t.Fatalf("extension by id: %v", got["extensions"])
	}

	// PATCH sets, replaces and removes (null) properties; the contact changes.
	etag := str(t, plain, "@odata.etag")
	up := ok(t, e.do(t, "PATCH", item, u.token, []byte(`{"singleValueExtendedProperties":[{"id":"`+color+`","value":"Blue"},{"id":"`+crm+`","value":null}]}`), "If-Match", etag), 200)
	if up["@odata.etag"] == etag || up["singleValueExtendedProperties"] != nil {
		t.Fatalf("PATCH of extended properties: %v", up)
	}
	got = get(expand("singleValueExtendedProperties($filter=id eq '" + color + "' or id eq '" + crm + "')"))
	raw, _ = json.Marshal(got["singleValueExtendedProperties"])
	if string(raw) != `[{"id":"`+color+`","value":"Blue"}]` {
		t.Fatalf("after PATCH: %s", raw)
	}

	// Bad $expand.
	for q, code := range map[string]string{
		expand("singleValueExtendedProperties"):                           "ErrorInvalidUrlQuery",
		expand("singleValueExtendedProperties($select=id)"):               "ErrorInvalidUrlQuery",
		expand("singleValueExtendedProperties($filter=value eq 'Green')"): "ErrorInvalidUrlQuery",
		expand("singleValueExtendedProperties($filter=id eq 'Nonsense')"): "ErrorInvalidRequest",
		expand("extensions($filter=id eq 'bad name')"):                    "ErrorInvalidIdMalformed",
		expand("extensions($filter=id eq 'x'"):                            "ErrorInvalidRequest",
		expand("photo"):                                                   "ErrorInvalidRequest",
	} {
		fails(t, e.do(t, "GET", item+"?"+q, u.token, nil), 400, code)
	}
	for body, code := range map[string]string{
		`{"singleValueExtendedProperties":[{"id":"Nonsense","value":"x"}]}`:                                                   "ErrorInvalidRequest",
		`{"singleValueExtendedProperties":[{"id":"` + palette + `","value":"x"}]}`:                                            "ErrorInvalidRequest",
		`{"singleValueExtendedProperties":[{"id":"` + color + `","value":1}]}`:                                                "ErrorInvalidRequest",
		`{"singleValueExtendedProperties":[{"id":"Integer {66f5a359-4659-4830-9070-00047ec6ac6e} Id 0x8012","value":"ten"}]}`: "ErrorInvalidRequest",
		`{"multiValueExtendedProperties":[{"id":"` + palette + `","value":"x"}]}`:                                             "ErrorInvalidRequest",
		`{"singleValueExtendedProperties":{"id":"` + color + `"}}`:                                                            "ErrorInvalidRequest",
		`{"extensions":[{"extensionName":"Com.Contoso.Inline"}]}`:                                                             "ErrorInvalidRequest",
	} {
		fails(t, e.do(t, "PATCH", item, u.token, []byte(body)), 400, code)
	}

	// A list page expands every contact on it, and its nextLink carries $expand.
	for range 3 {
		e.post(t, "/v1.0/me/contacts", u.token, `{"givenName":"More","singleValueExtendedProperties":[{"id":"`+color+`","value":"Red"}]}`)
	}
	link := "/v1.0/me/contacts?$top=2&" + expand("singleValueExtendedProperties($filter=id eq '"+color+"')")
	seen := 0
	for link != "" {
		page := ok(t, e.do(t, "GET", link, u.token, nil), 200)
		for _, v := range values(t, page) {
			svs, _ := v["singleValueExtendedProperties"].([]any)
			if len(svs) != 1 {
				t.Fatalf("a listed contact without its property: %v", v)
			}
			seen++
		}
		link, _ = page["@odata.nextLink"].(string)
		if link != "" && !strings.Contains(link, "$expand=singleValueExtendedProperties") {
			t.Fatalf("nextLink without $expand: %s", link)
		}
	}
	if seen != 4 {
		t.Fatalf("%d contacts listed, want 4", seen)
	}
}
