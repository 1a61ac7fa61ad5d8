package graphapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
)

// pageAll follows a list's nextLinks from first, with the headers hdr on
// every request, and returns the items and the pages.
func (e *env) pageAll(t *testing.T, token, first string, hdr ...string) ([]map[string]any, []result) {
	t.Helper()
	var items []map[string]any
	var pages []result
	for link := first; link != ""; {
		r := e.do(t, http.MethodGet, link, token, nil, hdr...)
		m := ok(t, r, http.StatusOK)
		items = append(items, values(t, m)...)
		pages = append(pages, r)
		link, _ = m["@odata.nextLink"].(string)
		if len(pages) > 50 {
			t.Fatal("paging does not end")
		}
	}
	return items, pages
}

func names(t *testing.T, items []map[string]any) string {
	t.Helper()
	var out []string
	for _, it := range items {
		out = append(out, str(t, it, "displayName"))
	}
	return strings.Join(out, ",")
}

func q(s string) string { return url.QueryEscape(s) }

// TestContactListQuery: $filter, $orderby, $skip, $top, Prefer:
// odata.maxpagesize and $count on every form of the contact list route,
// over HTTP, with nextLinks that carry the query.
func TestContactListQuery(t *testing.T) {
	e := newEnv(t)
	u := e.newUser("contoso", "ada@contoso.com", "Contacts.ReadWrite")
	folder := str(t, e.post(t, "/v1.0/me/contactFolders", u.token, `{"displayName":"Q"}`), "id")
	for _, c := range []string{
		`{"displayName":"Ada Lovelace","emailAddresses":[{"address":"Ada@Example.com"}],"categories":["Red"],"birthday":"1815-12-10T00:00:00Z"}`,
		`{"displayName":"alan turing","emailAddresses":[{"address":"alan@example.com"}],"categories":["red","Blue"]}`,
		`{"displayName":"Grace Hopper","birthday":"1906-12-09T00:00:00Z","emailAddresses":[{"address":"grace@example.com"},{"address":"ADA@example.com"}]}`,
		`{"displayName":"Bob","companyName":"Fabrikam"}`,
		`{"displayName":"carol"}`,
		`{"displayName":"x' or 1=1 --"}`,
	} {
		e.post(t, "/v1.0/me/contactFolders/"+folder+"/contacts", u.token, c)
	}
	e.post(t, "/v1.0/me/contacts", u.token, `{"displayName":"Ada Elsewhere","emailAddresses":[{"address":"ada@example.com"}]}`)
	app := e.tokens.app("contoso", "crm", "Contacts.Read")

	for _, tc := range []struct {
		token, path, want string
	}{
		{u.token, "/v1.0/me/contactFolders/" + folder + "/contacts?$filter=" + q("emailAddresses/any(a:a/address eq 'ada@EXAMPLE.com')") + "&$orderby=displayName", "Ada Lovelace,Grace Hopper"},
		{u.token, "/v1.0/me/contacts?$filter=" + q("emailAddresses/any(a:a/address eq 'ada@example.com')"), "Ada Elsewhere"},
		{app, "/v1.0/users/ada@contoso.com/contactFolders/" + folder + "/contacts?$filter=" + q("startswith(displayName,'A')") + "&$orderby=displayName%20desc", "alan turing,Ada Lovelace"},
		{u.token, "/v1.0/me/contactFolders/" + folder + "/contacts?$orderby=birthday%20desc,displayName", "Grace Hopper,Ada Lovelace,alan turing,Bob,carol,x' or 1=1 --"},
		{u.token, "/v1.0/me/contactFolders/" + folder + "/contacts?$filter=" + q("categories/any(c:c eq 'RED') and not (displayName eq 'Ada Lovelace')"), "alan turing"},
		{u.token, "/v1.0/me/contactFolders/" + folder + "/contacts?$filter=" + q("displayName eq 'x'' or 1=1 --'"), "x' or 1=1 --"},
		{u.token, "/v1.0/me/contactFolders/" + folder + "/contacts?$filter=" + q("birthday lt 1900-01-01 or companyName eq 'fabrikam'") + "&$orderby=displayName", "Ada Lovelace,Bob"},
		{u.token, "/v1.0/me/contactFolders/" + folder + "/contacts?$orderby=displayName&$skip=4", "Grace Hopper,x' or 1=1 --"},
	} {
		items, _ := e.pageAll(t, tc.token, tc.path)
		if got := names(t, items); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.path, got, tc.want)
		}
	}

	// Pages of two, by $top and by Prefer; the nextLink carries the query,
	// with & unescaped in the JSON, and @odata.count on every page.
	base := "/v1.0/me/contactFolders/" + folder + "/contacts?$filter=" + q("displayName ne 'Bob'") + "&$orderby=displayName&$count=true"
	for _, tc := range []struct {
		path string
		hdr  []string
	}{{base + "&$top=2", nil}, {base, []string{"Prefer", "odata.maxpagesize=2"}}} {
		items, pages := e.pageAll(t, u.token, tc.path, tc.hdr...)
		if got := names(t, items); got != "Ada Lovelace,alan turing,carol,Grace Hopper,x' or 1=1 --" || len(pages) != 3 {
			t.Errorf("%s: %s in %d pages", tc.path, got, len(pages))
		}
		for i, p := range pages {
			m := p.obj(t)
			if m["@odata.count"] != float64(5) {
				t.Errorf("page %d: @odata.count %v", i, m["@odata.count"])
			}
			if strings.Contains(string(p.body), `\u0026`) {
				t.Errorf("page %d: & escaped in %s", i, p.body)
			}
			if next, _ := m["@odata.nextLink"].(string); next != "" && (!strings.Contains(next, "$filter=displayName%20ne%20%27Bob%27&") || !strings.Contains(next, "&$orderby=displayName&")) {
				t.Errorf("page %d: nextLink %s", i, next)
			}
			if tc.hdr != nil && p.header.Get("Preference-Applied") != "odata.maxpagesize=2" {
				t.Errorf("page %d: Preference-Applied %q", i, p.header.Get("Preference-Applied"))
			}
		}
	}

	// A $skiptoken is refused by another $orderby or $filter.
	m := ok(t, e.do(t, http.MethodGet, base+"&$top=1", u.token, nil), http.StatusOK)
	next := str(t, m, "@odata.nextLink")
	fails(t, e.do(t, http.MethodGet, strings.Replace(next, "$orderby=displayName", "$orderby=displayName%20desc", 1), u.token, nil), 400, "BadRequest")
	fails(t, e.do(t, http.MethodGet, strings.Replace(next, "Bob", "Rob", 1), u.token, nil), 400, "BadRequest")

	// Errors: what Graph does not support is ErrorInvalidUrlQueryFilter,
	// text that does not parse is BadRequest.
	for f, code := range map[string]string{
		"emailAddresses/any(a:startswith(a/address,'ada'))": "ErrorInvalidUrlQueryFilter",
		"emailAddresses/any(a:a/name eq 'Ada')":             "ErrorInvalidUrlQueryFilter",
		"contains(displayName,'a')":                         "ErrorInvalidUrlQueryFilter",
		"personalNotes eq 'x'":                              "ErrorInvalidUrlQueryFilter",
		"displayName eq 'x'' or 1=1 --":                     "BadRequest",
		"displayName eq":                                    "BadRequest",
		"nosuch eq 'x'":                                     "BadRequest",
		"birthday eq 'yesterday'":                           "BadRequest",
	} {
		er := fails(t, e.do(t, http.MethodGet, "/v1.0/me/contacts?$filter="+q(f), u.token, nil), 400, code)
		if code == "ErrorInvalidUrlQueryFilter" && er.Message != "The query filter contains one or more invalid nodes." {
			t.Errorf("%s: message %q", f, er.Message)
		}
	}
	fails(t, e.do(t, http.MethodGet, "/v1.0/me/contacts?$orderby=emailAddresses", u.token, nil), 400, "ErrorInvalidUrlQuery")
	fails(t, e.do(t, http.MethodGet, "/v1.0/me/contacts?$skip=x", u.token, nil), 400, "ErrorInvalidRequest")
	fails(t, e.do(t, http.MethodGet, "/v1.0/me/contactFolders?$filter="+q("displayName eq 'Q'"), u.token, nil), 400, "ErrorInvalidUrlQuery")
}

// TestOrgListQuery: /contacts with $filter, $orderby, $search and $count
// under Entra's rules for advanced queries; page sizes of the directory.
func TestOrgListQuery(t *testing.T) {
	e := newEnv(t)
	admin := e.tokens.app("contoso", "hr-sync", orgWriter)
	for _, c := range []string{
		`{"displayName":"Dana Lee","mail":"dana@fabrikam.com","proxyAddresses":["SMTP:dana@fabrikam.com","smtp:dl@fabrikam.com"],"companyName":"Fabrikam"}`,
		`{"displayName":"dana park","mail":"park@contoso.com","companyName":"Contoso"}`,
		`{"displayName":"Evan","mail":"evan@contoso.com"}`,
	} {
		e.post(t, "/v1.0/contacts", admin, c)
	}
	adv := []string{"ConsistencyLevel", "eventual"}
	for _, tc := range []struct {
		path string
		hdr  []string
		want string
	}{
		{"/v1.0/contacts?$filter=" + q("startswith(displayName,'dana')"), nil, "Dana Lee,dana park"},
		{"/v1.0/contacts?$filter=" + q("mail in ('evan@contoso.com','PARK@contoso.com')"), nil, "dana park,Evan"},
		{"/v1.0/contacts?$filter=" + q("proxyAddresses/any(p:p eq 'smtp:DL@fabrikam.com')"), nil, "Dana Lee"},
		{"/v1.0/contacts?$filter=" + q("companyName ne 'Contoso'") + "&$count=true&$orderby=displayName", adv, "Dana Lee,Evan"},
		{"/v1.0/contacts?$orderby=displayName%20desc&$count=true", adv, "Evan,dana park,Dana Lee"},
		{"/v1.0/contacts?$search=" + q(`"displayName:park"`), adv, "dana park"},
		{"/v1.0/contacts?$search=" + q(`"displayName:dana"`) + "&$filter=" + q("startswith(mail,'d')"), adv, "Dana Lee"},
	} {
		items, _ := e.pageAll(t, admin, tc.path, tc.hdr...)
		got := names(t, items)
		if !strings.Contains(tc.path, "orderby") { // by id otherwise: compare as sets
			got = sortedCSV(got)
			tc.want = sortedCSV(tc.want)
		}
		if got != tc.want {
			t.Errorf("%s: %s, want %s", tc.path, got, tc.want)
		}
	}
	for path, hdr := range map[string][]string{
		"/v1.0/contacts?$filter=" + q("companyName ne 'Contoso'"):                  nil,
		"/v1.0/contacts?$filter=" + q("not startswith(displayName,'d')"):           adv,
		"/v1.0/contacts?$filter=" + q("companyName eq null"):                       nil,
		"/v1.0/contacts?$orderby=displayName":                                      nil,
		"/v1.0/contacts?$orderby=displayName&$filter=" + q("startswith(mail,'d')"): adv,
		"/v1.0/contacts?$search=" + q(`"displayName:dana"`):                        nil,
		"/v1.0/contacts?$filter=" + q("displayName gt 'a'"):                        nil,
		"/v1.0/contacts?$orderby=mail&$count=true":                                 adv,
		"/v1.0/contacts?$search=" + q(`"mail:dana"`):                               adv,
		"/v1.0/contacts?$top=1000":                                                 nil,
		"/v1.0/contacts?$skip=1":                                                   nil,
		"/v1.0/contacts?$filter=" + q("proxyAddresses/any(p:endswith(p,'.com'))"):  nil,
		"/v1.0/contacts?$filter=" + q("addresses/any(a:a/city eq 'Seattle')"):      nil,
		"/v1.0/contacts?$count=true&$filter=" + q("startswith(displayName,'d')"):   nil,
		"/v1.0/contacts/delta?$filter=" + q("displayName eq 'x'"):                  nil,
		"/v1.0/contacts/delta?$filter=" + q("id eq '00000000-0000-4000-8000-000000000000' and id eq '00000000-0000-4000-8000-000000000001'"): nil,
	} {
		er := fails(t, e.do(t, http.MethodGet, path, admin, nil, hdr...), 400, "Request_UnsupportedQuery")
		if strings.Contains(path, "gt") && er.Message != "Unsupported or invalid query filter clause specified for property 'displayName' of resource 'OrgContact'." {
			t.Errorf("%s: %q", path, er.Message)
		}
	}
	fails(t, e.do(t, http.MethodGet, "/v1.0/contacts?$filter="+q("displayName eq"), admin, nil), 400, "Request_BadRequest")
	// The delta filter goes through the same parser.
	items, _ := e.round(t, "/v1.0/contacts/delta?$filter="+q("(ID EQ '00000000-0000-4000-8000-000000000000')"), admin)
	if len(items) != 0 {
		t.Errorf("delta by an unknown id: %v", items)
	}

	// The directory pages 100 by default and takes up to 999.
	var in []contactgraph.OrgContactInput
	for i := range 120 {
		x, err := contactgraph.ParseOrgContactInput([]byte(fmt.Sprintf(`{"displayName":"Bulk %03d"}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, x)
	}
	if _, err := e.store.ImportOrgContacts(context.Background(), contactgraph.TenantID("contoso"), in); err != nil {
		t.Fatal(err)
	}
	m := ok(t, e.do(t, http.MethodGet, "/v1.0/contacts", admin, nil), http.StatusOK)
	if n := len(values(t, m)); n != 100 || !strings.Contains(str(t, m, "@odata.nextLink"), "$top=100&") {
		t.Errorf("default page: %d items, nextLink %v", n, m["@odata.nextLink"])
	}
	if n := len(values(t, ok(t, e.do(t, http.MethodGet, "/v1.0/contacts?$top=999", admin, nil), http.StatusOK))); n != 123 {
		t.Errorf("$top=999: %d items", n)
	}
	items, pages := e.pageAll(t, admin, "/v1.0/contacts?$filter="+q("startswith(displayName,'bulk')")+"&$orderby=displayName&$count=true&$top=50", adv...)
	if len(items) != 120 || len(pages) != 3 || str(t, items[0], "displayName") != "Bulk 000" || str(t, items[119], "displayName") != "Bulk 119" {
		t.Errorf("bulk: %d items in %d pages", len(items), len(pages))
	}
}

func sortedCSV(s string) string {
	parts := strings.Split(s, ",")
	for i := range parts {
		for j := i + 1; j < len(parts); j++ {
			if parts[j] < parts[i] {
				parts[i], parts[j] = parts[j], parts[i]
			}
		}
	}
	return strings.Join(parts, ",")
}

// TestContactListExtendedPropertyFilter: the $filter a migration tool
// sends to find the contact it wrote before, by the source id it keeps in
// a single-value extended property, exactly as it sends it (Graph's
// documented Any spelling, URL-encoded), alone and and-ed with other
// conditions, on a folder and on the mailbox's default contacts; what
// Graph does not support is ErrorInvalidUrlQueryFilter.
func TestContactListExtendedPropertyFilter(t *testing.T) {
	e := newEnv(t)
	u := e.newUser("contoso", "ada@contoso.com", "Contacts.ReadWrite")
	folder := str(t, e.post(t, "/v1.0/me/contactFolders", u.token, `{"displayName":"Imported"}`), "id")
	const src = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name SourceId"
	for _, c := range []string{
		`{"displayName":"Ada Lovelace","emailAddresses":[{"address":"ada@example.com"}],"singleValueExtendedProperties":[{"id":"` + src + `","value":"crm-001"}]}`,
		`{"displayName":"alan turing","singleValueExtendedProperties":[{"id":"` + src + `","value":"crm-002"}]}`,
		`{"displayName":"Grace Hopper","emailAddresses":[{"address":"ada@example.com"}]}`,
	} {
		e.post(t, "/v1.0/me/contactFolders/"+folder+"/contacts", u.token, c)
	}
	e.post(t, "/v1.0/me/contacts", u.token, `{"displayName":"Ada Elsewhere","singleValueExtendedProperties":[{"id":"`+src+`","value":"crm-001"}]}`)

	// As a .NET migration tool builds it: Uri.EscapeDataString of the filter.
	wire := "$filter=singleValueExtendedProperties%2FAny(ep%3A%20ep%2Fid%20eq%20%27String%20%7B66f5a359-4659-4830-9070-00047ec6ac6e%7D%20Name%20SourceId%27%20and%20ep%2Fvalue%20eq%20%27CRM-001%27)"
	for path, want := range map[string]string{
		"/v1.0/me/contactFolders/" + folder + "/contacts?" + wire:                                  "Ada Lovelace",
		"/v1.0/me/contacts?" + wire:                                                                "Ada Elsewhere",
		"/v1.0/me/contactFolders/" + folder + "/contacts?" + wire + "&$select=displayName&$top=10": "Ada Lovelace",
		"/v1.0/me/contactFolders/" + folder + "/contacts?$filter=" + q("singleValueExtendedProperties/any(ep: ep/id eq 'string {66F5A359-4659-4830-9070-00047EC6AC6E} name SourceId' and ep/value eq 'crm-002')"):      "alan turing",
		"/v1.0/me/contactFolders/" + folder + "/contacts?$filter=" + q("emailAddresses/any(a:a/address eq 'ada@example.com') and singleValueExtendedProperties/any(ep: ep/id eq '"+src+"' and ep/value eq 'crm-001')"): "Ada Lovelace",
		"/v1.0/me/contactFolders/" + folder + "/contacts?$filter=" + q("displayName eq 'alan turing' and singleValueExtendedProperties/any(ep: ep/id eq '"+src+"' and ep/value eq 'crm-001')"):                         "",
		"/v1.0/me/contactFolders/" + folder + "/contacts?$filter=" + q("singleValueExtendedProperties/any(ep: ep/id eq '"+src+"' and ep/value eq 'crm-404')"):                                                          "",
	} {
		items, _ := e.pageAll(t, u.token, path)
		if got := names(t, items); got != want {
			t.Errorf("%s:\n got %q\nwant %q", path, got, want)
		}
	}
	// The rendering of a listed contact is unchanged: no property of the
	// extended collections appears without $expand.
	items, _ := e.pageAll(t, u.token, "/v1.0/me/contactFolders/"+folder+"/contacts?"+wire)
	if len(items) != 1 || items[0]["singleValueExtendedProperties"] != nil {
		t.Errorf("listed contact: %v", items)
	}

	for f, code := range map[string]string{
		"singleValueExtendedProperties/any(ep: ep/value eq 'crm-001')":                                                                                "ErrorInvalidUrlQueryFilter",
		"singleValueExtendedProperties/any(ep: ep/id eq '" + src + "' or ep/value eq 'crm-001')":                                                      "ErrorInvalidUrlQueryFilter",
		"singleValueExtendedProperties/any(ep: ep/id eq '" + src + "' and startswith(ep/value,'crm'))":                                                "ErrorInvalidUrlQueryFilter",
		"multiValueExtendedProperties/any(ep: ep/id eq 'StringArray {66f5a359-4659-4830-9070-00047ec6ac6e} Name Tags' and ep/value/any(v: v eq 'x'))": "ErrorInvalidUrlQueryFilter",
		"singleValueExtendedProperties/any(ep: ep/id eq 'Nonsense' and ep/value eq 'x')":                                                              "BadRequest",
	} {
		er := fails(t, e.do(t, http.MethodGet, "/v1.0/me/contacts?$filter="+q(f), u.token, nil), 400, code)
		if code == "ErrorInvalidUrlQueryFilter" && er.Message != "The query filter contains one or more invalid nodes." {
			t.Errorf("%s: message %q", f, er.Message)
		}
	}
	// The collections stay out of $select and $orderby, as before.
	fails(t, e.do(t, http.MethodGet, "/v1.0/me/contacts?$select=singleValueExtendedProperties", u.token, nil), 400, "ErrorInvalidRequest")
	fails(t, e.do(t, http.MethodGet, "/v1.0/me/contacts?$orderby=singleValueExtendedProperties", u.token, nil), 400, "BadRequest")
}
