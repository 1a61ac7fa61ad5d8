package compat

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/contacts"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// TestListQueries: the Go SDK's query parameters on lists — $filter (an
// email lookup and a compound condition), $orderby, $top, $select,
// $count — and on org contacts $search with ConsistencyLevel, as the SDK
// encodes them.
func TestListQueries(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t, srv.delegatedToken(t, uniqueUPN("lists"), "Contacts.ReadWrite"))
	ctx := t.Context()
	folder := models.NewContactFolder()
	folder.SetDisplayName(ptr("Leads"))
	f, err := c.Me().ContactFolders().Post(ctx, folder, nil)
	check(t, err, "POST /me/contactFolders")
	fid := deref(f.GetId())
	for _, p := range []struct{ given, mail string }{{"Ada", "ada@example.com"}, {"Alan", "alan@example.com"}, {"Grace", "grace@example.com"}} {
		ct := models.NewContact()
		ct.SetGivenName(ptr(p.given))
		e := models.NewEmailAddress()
		e.SetAddress(ptr(p.mail))
		ct.SetEmailAddresses([]models.EmailAddressable{e})
		_, err := c.Me().ContactFolders().ByContactFolderId(fid).Contacts().Post(ctx, ct, nil)
		check(t, err, "POST contact")
	}
	list := func(q *users.ItemContactFoldersItemContactsRequestBuilderGetQueryParameters) []string {
		t.Helper()
		page, err := c.Me().ContactFolders().ByContactFolderId(fid).Contacts().Get(ctx, &users.ItemContactFoldersItemContactsRequestBuilderGetRequestConfiguration{QueryParameters: q})
		check(t, err, "GET contacts with query parameters")
		var names []string
		for _, it := range page.GetValue() {
			names = append(names, deref(it.GetDisplayName()))
		}
		return names
	}
	if got := list(&users.ItemContactFoldersItemContactsRequestBuilderGetQueryParameters{
		Filter: ptr("emailAddresses/any(a:a/address eq 'ALAN@example.com')"), Select: []string{"displayName"}}); !slices.Equal(got, []string{"Alan"}) {
		t.Errorf("email lookup: %q", got)
	}
	if got := list(&users.ItemContactFoldersItemContactsRequestBuilderGetQueryParameters{
		Filter: ptr("startswith(displayName,'A') or displayName eq 'Grace'"), Orderby: []string{"displayName desc"}, Top: ptr(int32(2)), Count: ptr(true)}); !slices.Equal(got, []string{"Grace", "Alan"}) {
		t.Errorf("filter, orderby desc, top 2: %q", got)
	}

	adminTok := srv.appToken(t, "hr-sync", "Directory.ReadWrite.All")
	admin := srv.client(t, adminTok)
	// Graph has no org contact writes; contactgraph's extension, over plain HTTP.
	// A name and address no other test (or earlier run on a shared database) uses.
	word, _, _ := strings.Cut(uniqueUPN("dana"), "@")
	word = strings.ReplaceAll(word, "-", "")
	mail := word + "@fabrikam.com"
	rawJSON(t, http.MethodPost, srv.BaseURL+"/contacts", adminTok, `{"displayName":"`+word+` Lee","mail":"`+mail+`","proxyAddresses":["SMTP:`+mail+`"]}`)
	h := abstractions.NewRequestHeaders()
	h.Add("ConsistencyLevel", "eventual")
	res, err := admin.Contacts().Get(ctx, &contacts.ContactsRequestBuilderGetRequestConfiguration{Headers: h,
		QueryParameters: &contacts.ContactsRequestBuilderGetQueryParameters{Search: ptr(`"displayName:` + word + `"`), Count: ptr(true), Orderby: []string{"displayName"}}})
	check(t, err, "GET /contacts?$search")
	if len(res.GetValue()) != 1 || deref(res.GetValue()[0].GetDisplayName()) != word+" Lee" || deref(res.GetOdataCount()) != 1 {
		t.Errorf("$search: %d items, count %v", len(res.GetValue()), res.GetOdataCount())
	}
	res, err = admin.Contacts().Get(ctx, &contacts.ContactsRequestBuilderGetRequestConfiguration{
		QueryParameters: &contacts.ContactsRequestBuilderGetQueryParameters{Filter: ptr("proxyAddresses/any(p:p eq 'smtp:" + mail + "')")}})
	check(t, err, "GET /contacts?$filter=proxyAddresses/any")
	if len(res.GetValue()) != 1 {
		t.Errorf("proxyAddresses filter: %d items", len(res.GetValue()))
	}
}
