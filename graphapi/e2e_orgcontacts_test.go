package graphapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph/storetest"
)

const orgWriter = "Directory.ReadWrite.All"

// TestOrgContactSeedExamples reproduces the three examples of the seed
// orgcontact-delta.md as a client that knows only the seed would see them.
func TestOrgContactSeedExamples(t *testing.T) {
	e := newEnv(t)
	admin := e.tokens.app("contoso", "hr-sync", orgWriter)
	reader := e.tokens.app("contoso", "crm", "OrgContact.Read.All")
	id := str(t, e.post(t, "/v1.0/contacts", admin, `{"companyName":"companyName-value","department":"department-value",
		"displayName":"displayName-value","givenName":"givenName-value","jobTitle":"jobTitle-value","mail":"mail@contoso.com",
		"mailNickname":"mailNickname-value","surname":"surname-value","phones":[{"number":"+1 555 0100","type":"business"}],
		"addresses":[{"city":"Seattle"}]}`), "id")

	// Example 1: no $select, so the default set is tracked and returned.
	first := ok(t, e.do(t, http.MethodGet, "/v1.0/contacts/delta", reader, nil), http.StatusOK)
	if first["@odata.context"] != e.srv.URL+"/v1.0/$metadata#contacts" {
		t.Fatalf("@odata.context = %v", first["@odata.context"])
	}
	want := fmt.Sprint(map[string]any{"companyName": "companyName-value", "department": "department-value", "displayName": "displayName-value",
		"givenName": "givenName-value", "id": id, "jobTitle": "jobTitle-value", "mail": "mail@contoso.com", "mailNickname": "mailNickname-value",
		"surname": "surname-value"})
	if v := values(t, first); len(v) != 1 || fmt.Sprint(v[0]) != want {
		t.Fatalf("example 1: %v\nwant %s", v, want)
	}

	// Example 2: $select of three properties, default response behaviour:
	// all three come back, changed or not; a cleared one as null.
	_, dl := e.round(t, "/v1.0/contacts/delta?$select=displayName,jobTitle,mail", reader)
	ok(t, e.do(t, http.MethodPatch, "/v1.0/contacts/"+id, admin, []byte(`{"displayName":"New name","mail":null}`)), http.StatusOK)
	items, _ := e.round(t, dl, reader)
	want = fmt.Sprint(map[string]any{"id": id, "displayName": "New name", "jobTitle": "jobTitle-value", "mail": nil})
	if len(items) != 1 || fmt.Sprint(items[0]) != want {
		t.Fatalf("example 2: %v\nwant %s", items, want)
	}

	// Example 3: return=minimal on the deltaLink: only what changed, mail
	// omitted (unchanged), jobTitle null (cleared). On the first round it
	// changes nothing, so it is not reported as applied there.
	firstPage := e.do(t, http.MethodGet, "/v1.0/contacts/delta?$select=displayName,jobTitle,mail", reader, nil, "Prefer", "return=minimal")
	if got := firstPage.header.Get("Preference-Applied"); got != "" {
		t.Errorf("first round: Preference-Applied = %q, want none", got)
	}
	_, dl = e.round(t, "/v1.0/contacts/delta?$select=displayName,jobTitle,mail", reader, "Prefer", "return=minimal")
	ok(t, e.do(t, http.MethodPatch, "/v1.0/contacts/"+id, admin, []byte(`{"displayName":"displayName-value","jobTitle":null}`)), http.StatusOK)
	r := e.do(t, http.MethodGet, dl, reader, nil, "Prefer", "return=minimal")
	m := ok(t, r, http.StatusOK)
	want = fmt.Sprint(map[string]any{"id": id, "displayName": "displayName-value", "jobTitle": nil})
	if v := values(t, m); len(v) != 1 || fmt.Sprint(v[0]) != want {
		t.Fatalf("example 3: %v\nwant %s", v, want)
	}
	if r.header.Get("Preference-Applied") != "return=minimal" {
		t.Fatalf("Preference-Applied = %q", r.header.Get("Preference-Applied"))
	}
}

func TestOrgContactWriteExtension(t *testing.T) {
	e := newEnv(t)
	admin := e.tokens.app("contoso", "hr-sync", orgWriter)
	reader := e.tokens.app("contoso", "crm", "Directory.Read.All")
	created := e.post(t, "/v1.0/contacts", admin, `{"displayName":"Ann","mail":"ann@fabrikam.com","proxyAddresses":["SMTP:ann@fabrikam.com"]}`)
	id := str(t, created, "id")
	if created["@odata.context"] != e.srv.URL+"/v1.0/$metadata#contacts/$entity" || created["surname"] != nil || created["deletedDateTime"] != nil {
		t.Fatalf("created %v", created)
	}
	got := ok(t, e.do(t, http.MethodGet, "/v1.0/contacts/"+id+"?$select=mail", reader, nil), http.StatusOK)
	if len(got) != 3 || got["mail"] != "ann@fabrikam.com" {
		t.Fatalf("get with $select: %v", got)
	}
	list := ok(t, e.do(t, http.MethodGet, "/v1.0/contacts?$count=true", reader, nil, "ConsistencyLevel", "eventual"), http.StatusOK)
	if list["@odata.count"] != float64(1) || len(values(t, list)) != 1 {
		t.Fatalf("list with $count: %v", list)
	}
	fails(t, e.do(t, http.MethodGet, "/v1.0/contacts?$count=true", reader, nil), 400, "Request_UnsupportedQuery")

	_, dl := e.round(t, "/v1.0/contacts/delta", reader)
	ok(t, e.do(t, http.MethodDelete, "/v1.0/contacts/"+id, admin, nil), http.StatusNoContent)
	fails(t, e.do(t, http.MethodGet, "/v1.0/contacts/"+id, reader, nil), 404, "Request_ResourceNotFound")
	deleted := ok(t, e.do(t, http.MethodGet, "/v1.0/directory/deletedItems/microsoft.graph.orgContact", reader, nil), http.StatusOK)
	if v := values(t, deleted); len(v) != 1 || v[0]["id"] != id || v[0]["deletedDateTime"] == nil || v[0]["@odata.type"] != "#microsoft.graph.orgContact" {
		t.Fatalf("deleted items: %v", deleted)
	}
	items, dl := e.round(t, dl, reader)
	if fmt.Sprint(items) != fmt.Sprint([]map[string]any{{"id": id, "@removed": map[string]any{"reason": "changed"}}}) {
		t.Fatalf("after a soft delete: %v", items)
	}
	ok(t, e.do(t, http.MethodPost, "/v1.0/directory/deletedItems/"+id+"/restore", admin, nil), http.StatusOK)
	items, dl = e.round(t, dl, reader)
	if len(items) != 1 || items[0]["displayName"] != "Ann" || items[0]["@removed"] != nil {
		t.Fatalf("a restore reappears as a normal item: %v", items)
	}
	ok(t, e.do(t, http.MethodDelete, "/v1.0/contacts/"+id, admin, nil), http.StatusNoContent)
	ok(t, e.do(t, http.MethodDelete, "/v1.0/directory/deletedItems/"+id, admin, nil), http.StatusNoContent)
	fails(t, e.do(t, http.MethodGet, "/v1.0/directory/deletedItems/"+id, reader, nil), 404, "Request_ResourceNotFound")
	items, _ = e.round(t, dl, reader)
	if fmt.Sprint(items) != fmt.Sprint([]map[string]any{{"id": id, "@removed": map[string]any{"reason": "deleted"}}}) {
		t.Fatalf("after a permanent delete: %v", items)
	}

	// Permissions and input errors, with Entra codes.
	fails(t, e.do(t, http.MethodPost, "/v1.0/contacts", reader, []byte(`{"displayName":"x"}`)), 403, "Authorization_RequestDenied")
	u := e.newUser("contoso", "alice@contoso.com", "Contacts.ReadWrite")
	fails(t, e.do(t, http.MethodGet, "/v1.0/contacts/delta", u.token, nil), 403, "Authorization_RequestDenied")
	fails(t, e.do(t, http.MethodGet, "/v1.0/contacts/not-a-guid", reader, nil), 400, "Request_BadRequest")
	fails(t, e.do(t, http.MethodPost, "/v1.0/contacts", admin, []byte(`{"mail":42}`)), 400, "Request_BadRequest")
	fails(t, e.do(t, http.MethodPost, "/v1.0/contacts", admin, []byte(`{"phones":[{"type":"satellite"}]}`)), 400, "Request_BadRequest")
	other := e.tokens.app("fabrikam", "hr", orgWriter)
	fails(t, e.do(t, http.MethodGet, "/v1.0/contacts/"+id, other, nil), 404, "Request_ResourceNotFound")
}

func TestOrgContactDeltaFilters(t *testing.T) {
	c := storetest.NewClock()
	e := newEnv(t, func(cfg *Config) { cfg.Now = c.Now })
	admin := e.tokens.app("contoso", "hr-sync", orgWriter)
	var ids []string
	for i := 0; i < 51; i++ {
		ids = append(ids, str(t, e.post(t, "/v1.0/contacts", admin, fmt.Sprintf(`{"displayName":"C%d"}`, i)), "id"))
	}
	filter := func(n int) string {
		var parts []string
		for _, id := range ids[:n] {
			parts = append(parts, "id+eq+'"+id+"'")
		}
		return "$filter=" + strings.Join(parts, "+or+")
	}
	for _, n := range []int{1, 50} {
		items, _ := e.round(t, "/v1.0/contacts/delta?"+filter(n), admin, "Prefer", "odata.maxpagesize=7")
		if len(items) != n {
			t.Fatalf("filter of %d ids: %d items", n, len(items))
		}
	}
	fails(t, e.do(t, http.MethodGet, "/v1.0/contacts/delta?"+filter(51), admin, nil), 400, "Request_UnsupportedQuery")
	fails(t, e.do(t, http.MethodGet, "/v1.0/contacts/delta?$filter=displayName+eq+'C1'", admin, nil), 400, "Request_UnsupportedQuery")
	fails(t, e.do(t, http.MethodGet, "/v1.0/contacts/delta?$top=5", admin, nil), 400, "Request_UnsupportedQuery")

	// The filter lives in the token: a later round sees only its ids.
	_, dl := e.round(t, "/v1.0/contacts/delta?"+filter(1), admin)
	ok(t, e.do(t, http.MethodPatch, "/v1.0/contacts/"+ids[1], admin, []byte(`{"jobTitle":"x"}`)), http.StatusOK)
	ok(t, e.do(t, http.MethodPatch, "/v1.0/contacts/"+ids[0], admin, []byte(`{"jobTitle":"x"}`)), http.StatusOK)
	items, _ := e.round(t, dl, admin)
	if len(items) != 1 || items[0]["id"] != ids[0] {
		t.Fatalf("filtered later round: %v", items)
	}

	// $deltatoken=latest: an empty page with a deltaLink at the current position.
	latest := ok(t, e.do(t, http.MethodGet, "/v1.0/contacts/delta?$deltaToken=latest", admin, nil), http.StatusOK)
	if len(values(t, latest)) != 0 || latest["@odata.nextLink"] != nil {
		t.Fatalf("latest: %v", latest)
	}
	ldl := str(t, latest, "@odata.deltaLink")
	ok(t, e.do(t, http.MethodPatch, "/v1.0/contacts/"+ids[2], admin, []byte(`{"jobTitle":"y"}`)), http.StatusOK)
	items, ldl = e.round(t, ldl, admin)
	if len(items) != 1 || items[0]["id"] != ids[2] {
		t.Fatalf("after latest: %v", items)
	}

	// Directory tokens expire after 7 days: 400 syncStateNotFound.
	c.Advance(8 * 24 * time.Hour)
	er := fails(t, e.do(t, http.MethodGet, ldl, admin, nil), 400, "syncStateNotFound")
	if er.Message != "The sync state generation is not found. The delta token is expired and data must be synchronized again." {
		t.Fatalf("message %q", er.Message)
	}
}
