package graphapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/storetest"
)

// round follows a delta round from link with Prefer on every page and
// returns the items and the deltaLink; it checks every page's shape.
func (e *env) round(t *testing.T, link, token string, hdr ...string) ([]map[string]any, string) {
	t.Helper()
	var items []map[string]any
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("round does not end")
		}
		m := ok(t, e.do(t, http.MethodGet, link, token, nil, hdr...), http.StatusOK)
		_, hasNext := m["@odata.nextLink"]
		_, hasDelta := m["@odata.deltaLink"]
		if hasNext == hasDelta {
			t.Fatalf("a page carries exactly one link: %v", m)
		}
		if _, ok := m["value"].([]any); !ok {
			t.Fatalf("a page always carries value: %v", m)
		}
		items = append(items, values(t, m)...)
		if hasDelta {
			return items, str(t, m, "@odata.deltaLink")
		}
		link = str(t, m, "@odata.nextLink")
	}
}

func (e *env) post(t *testing.T, path, token, body string) map[string]any {
	t.Helper()
	return ok(t, e.do(t, http.MethodPost, path, token, []byte(body)), http.StatusCreated)
}

func TestDeltaRoundsOverHTTP(t *testing.T) {
	e := newEnv(t)
	u := e.newUser("contoso", "alice@contoso.com", "Contacts.ReadWrite")
	var ids []string
	for i := 0; i < 25; i++ {
		ids = append(ids, str(t, e.post(t, "/v1.0/me/contacts", u.token, fmt.Sprintf(`{"givenName":"G%d","surname":"S"}`, i)), "id"))
	}
	for _, size := range []int{2, 10, 200} {
		items, _ := e.round(t, "/v1.0/me/contacts/delta", u.token, "Prefer", fmt.Sprintf("odata.maxpagesize=%d", size))
		if len(items) != 25 {
			t.Fatalf("pages of %d: %d items", size, len(items))
		}
	}
	// $select is carried in the links; Prefer is read on every call.
	first := ok(t, e.do(t, http.MethodGet, "/v1.0/me/contacts/delta?$select=displayName", u.token, nil, "Prefer", "odata.maxpagesize=2"), http.StatusOK)
	if got := first["@odata.context"]; got != e.srv.URL+"/v1.0/$metadata#Collection(contact)" {
		t.Fatalf("@odata.context = %v", got)
	}
	next := str(t, first, "@odata.nextLink")
	if strings.Contains(next, "select") || !strings.HasPrefix(next, e.srv.URL+"/v1.0/me/contacts/delta?$skiptoken=") {
		t.Fatalf("nextLink %s must be absolute and carry options only inside its token", next)
	}
	items, dl := e.round(t, next, u.token, "Prefer", "odata.maxpagesize=5")
	for _, it := range items {
		if len(it) != 4 || it["displayName"] == nil || it["@odata.etag"] == nil || it["@odata.type"] != "#microsoft.graph.contact" {
			t.Fatalf("selected item %v", it)
		}
	}
	// Replaying a nextLink gives the same items or a superset.
	again, _ := e.round(t, next, u.token, "Prefer", "odata.maxpagesize=5")
	if len(again) < len(items) {
		t.Fatalf("replay: %d items, first time %d", len(again), len(items))
	}
	// An empty round: no items, a new deltaLink.
	empty, dl2 := e.round(t, dl, u.token)
	if len(empty) != 0 || dl2 == dl {
		t.Fatalf("empty round: %d items, same link %v", len(empty), dl2 == dl)
	}
	// Changes: an update, a delete, a create, a move out.
	folder := str(t, e.post(t, "/v1.0/me/contactFolders", u.token, `{"displayName":"Other"}`), "id")
	ok(t, e.do(t, http.MethodPatch, "/v1.0/me/contacts/"+ids[0], u.token, []byte(`{"jobTitle":"CEO"}`)), http.StatusOK)
	ok(t, e.do(t, http.MethodDelete, "/v1.0/me/contacts/"+ids[1], u.token, nil), http.StatusNoContent)
	ok(t, e.do(t, http.MethodPatch, "/v1.0/me/contacts/"+ids[2], u.token, []byte(`{"parentFolderId":"`+folder+`"}`)), http.StatusOK)
	created := str(t, e.post(t, "/v1.0/me/contacts", u.token, `{"givenName":"New"}`), "id")
	items, _ = e.round(t, dl2, u.token, "Prefer", "odata.maxpagesize=2")
	got := map[string]string{}
	for _, it := range items {
		if r, ok := it["@removed"]; ok {
			want := map[string]any{"@odata.type": "#microsoft.graph.contact", "id": it["id"], "@removed": map[string]any{"reason": "deleted"}}
			if fmt.Sprint(it) != fmt.Sprint(want) {
				t.Fatalf("tombstone %v, want %v", it, want)
			}
			got[it["id"].(string)] = fmt.Sprint(r)
			continue
		}
		got[it["id"].(string)] = fmt.Sprint(it["displayName"])
	}
	want := map[string]string{ids[0]: "G0 S", ids[1]: "map[reason:deleted]", ids[2]: "map[reason:deleted]", created: "New"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("later round %v, want %v", got, want)
	}
}

func TestDeltaErrorsOverHTTP(t *testing.T) {
	c := storetest.NewClock()
	e := newEnv(t, func(cfg *Config) { cfg.Now = c.Now; cfg.DeltaMaxPageSize = 50 })
	u := e.newUser("contoso", "alice@contoso.com", "Contacts.ReadWrite")
	bob := e.newUser("contoso", "bob@contoso.com", "Contacts.ReadWrite")
	for i := 0; i < 3; i++ {
		e.post(t, "/v1.0/me/contacts", u.token, `{"givenName":"x"}`)
	}
	_, dl := e.round(t, "/v1.0/me/contacts/delta", u.token)
	tok := dl[strings.Index(dl, "$deltatoken=")+len("$deltatoken="):]

	for _, opt := range []string{"$top=5", "$filter=givenName%20eq%20'x'", "$orderby=displayName"} {
		er := fails(t, e.do(t, http.MethodGet, "/v1.0/me/contacts/delta?"+opt, u.token, nil), 400, "ErrorInvalidUrlQuery")
		if !strings.Contains(er.Message, "Prefer: odata.maxpagesize") {
			t.Fatalf("%s: message %q must name the Prefer header", opt, er.Message)
		}
	}
	fails(t, e.do(t, http.MethodGet, "/v1.0/me/contacts/delta?$select=nope", u.token, nil), 400, "ErrorInvalidRequest")
	for _, bad := range []string{"bogus", tok[:len(tok)-2], strings.ToUpper(tok[:5]) + tok[5:], "latest", ""} {
		er := fails(t, e.do(t, http.MethodGet, "/v1.0/me/contacts/delta?$deltatoken="+bad, u.token, nil), 400, "BadRequest")
		if er.Message != "Badly formed token." {
			t.Fatalf("message %q", er.Message)
		}
	}
	// A token without its "$" would start a full round unnoticed: refused.
	org := e.tokens.app("contoso", "crm", "Directory.Read.All")
	for path, tk := range map[string]string{"/v1.0/me/contacts/delta?deltatoken=" + tok: u.token, "/v1.0/me/contacts/delta?SkipToken=" + tok: u.token, "/v1.0/contacts/delta?deltatoken=" + tok: org} {
		er := fails(t, e.do(t, http.MethodGet, path, tk, nil), 400, "BadRequest")
		if !strings.Contains(er.Message, "is not a query option") {
			t.Errorf("%s: message %q", path, er.Message)
		}
	}
	// Another user's token, and a token on another collection: refused alike.
	fails(t, e.do(t, http.MethodGet, "/v1.0/me/contacts/delta?$deltatoken="+tok, bob.token, nil), 400, "BadRequest")
	fails(t, e.do(t, http.MethodGet, "/v1.0/me/contactFolders/delta?$deltatoken="+tok, u.token, nil), 400, "BadRequest")
	// A page size over the cap is capped, and the answer says so.
	r := e.do(t, http.MethodGet, "/v1.0/me/contacts/delta", u.token, nil, "Prefer", "odata.maxpagesize=5000")
	ok(t, r, http.StatusOK)
	if r.header.Get("Preference-Applied") != "odata.maxpagesize=50" {
		t.Fatalf("Preference-Applied = %q", r.header.Get("Preference-Applied"))
	}
	// The delta of a folder that does not exist is 404 from the first round.
	for _, p := range []string{"/contacts/delta", "/childFolders/delta"} {
		fails(t, e.do(t, http.MethodGet, "/v1.0/me/contactFolders/"+contactgraph.NewID()+p, u.token, nil), 404, "ErrorItemNotFound")
	}
	// A deleted folder's contact delta is 404.
	f := str(t, e.post(t, "/v1.0/me/contactFolders", u.token, `{"displayName":"F"}`), "id")
	_, fdl := e.round(t, "/v1.0/me/contactFolders/"+f+"/contacts/delta", u.token)
	ok(t, e.do(t, http.MethodDelete, "/v1.0/me/contactFolders/"+f, u.token, nil), http.StatusNoContent)
	fails(t, e.do(t, http.MethodGet, fdl, u.token, nil), 404, "ErrorItemNotFound")
	// The missing folder is the answer whatever the token: badly formed,
	// or the default folder's, which the engine refuses before reading.
	for _, p := range []string{"/contacts/delta?$deltatoken=garbage", "/contacts/delta?$skiptoken=garbage", "/contacts/delta?$deltatoken=" + tok, "/childFolders/delta?$deltatoken=" + tok} {
		fails(t, e.do(t, http.MethodGet, "/v1.0/me/contactFolders/"+f+p, u.token, nil), 404, "ErrorItemNotFound")
	}
	// Past retention: 410 SyncStateNotFound, never a partial answer.
	c.Advance(31 * 24 * time.Hour)
	fails(t, e.do(t, http.MethodGet, dl, u.token, nil), 410, "SyncStateNotFound")
}

func TestFolderDeltaOverHTTP(t *testing.T) {
	e := newEnv(t)
	u := e.newUser("contoso", "alice@contoso.com", "Contacts.ReadWrite")
	a := str(t, e.post(t, "/v1.0/me/contactFolders", u.token, `{"displayName":"A"}`), "id")
	b := str(t, e.post(t, "/v1.0/me/contactFolders/"+a+"/childFolders", u.token, `{"displayName":"B"}`), "id")
	all, dl := e.round(t, "/v1.0/me/contactFolders/delta()", u.token, "Prefer", "odata.maxpagesize=1")
	kids, kdl := e.round(t, "/v1.0/me/contactFolders/"+a+"/childFolders/microsoft.graph.delta", u.token)
	if len(all) != 2 || len(kids) != 1 || kids[0]["id"] != b || kids[0]["parentFolderId"] != a || kids[0]["displayName"] != "B" {
		t.Fatalf("first rounds: %v / %v", all, kids)
	}
	ok(t, e.do(t, http.MethodDelete, "/v1.0/me/contactFolders/"+b, u.token, nil), http.StatusNoContent)
	for _, link := range []string{dl, kdl} {
		items, _ := e.round(t, link, u.token)
		want := `[map[@odata.type:#microsoft.graph.contactFolder @removed:map[reason:deleted] id:` + b + `]]`
		if fmt.Sprint(items) != want {
			t.Fatalf("folder tombstone: %v, want %s", items, want)
		}
	}
}

func TestDeltaAppOnlyOnUsers(t *testing.T) {
	e := newEnv(t)
	u := e.newUser("contoso", "alice@contoso.com", "Contacts.ReadWrite")
	id := str(t, e.post(t, "/v1.0/me/contacts", u.token, `{"givenName":"x"}`), "id")
	app := e.tokens.app("contoso", "sync", "Contacts.Read")
	items, _ := e.round(t, "/v1.0/users/alice@contoso.com/contacts/delta", app)
	if len(items) != 1 || items[0]["id"] != id {
		t.Fatalf("app-only round: %v", items)
	}
	other := e.tokens.app("fabrikam", "sync", "Contacts.Read")
	fails(t, e.do(t, http.MethodGet, "/v1.0/users/alice@contoso.com/contacts/delta", other, nil), 404, "ErrorInvalidUser")
}
