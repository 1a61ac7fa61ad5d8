package compat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoft/kiota-abstractions-go/serialization"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// collect follows a collection through all its pages with the SDK's page
// iterator and returns the items and the deltaLink of the last page.
func collect[T any](t *testing.T, ctx context.Context, c *graphClient, first any, factory serialization.ParsableFactory, headers *abstractions.RequestHeaders, what string) ([]T, string) {
	t.Helper()
	it, err := msgraphcore.NewPageIterator[T](first, c.GetAdapter(), factory)
	check(t, err, what+": NewPageIterator")
	if headers != nil {
		it.SetHeaders(headers)
	}
	var items []T
	err = it.Iterate(ctx, func(item T) bool {
		items = append(items, item)
		return true
	})
	check(t, err, what+": following @odata.nextLink")
	return items, deref(it.GetOdataDeltaLink())
}

// countRequests counts the recorded requests with method whose path contains part.
func countRequests(c *graphClient, method, part string) int {
	n := 0
	for _, ex := range c.rec.exchanges() {
		if ex.method == method && strings.Contains(pathOf(ex.url), part) {
			n++
		}
	}
	return n
}

func folderIDs(items []models.ContactFolderable) []string {
	var ids []string
	for _, f := range items {
		ids = append(ids, deref(f.GetId()))
	}
	return ids
}

func contactIDs(items []models.Contactable) []string {
	var ids []string
	for _, c := range items {
		ids = append(ids, deref(c.GetId()))
	}
	return ids
}

func newFolder(name string) models.ContactFolderable {
	f := models.NewContactFolder()
	f.SetDisplayName(ptr(name))
	return f
}

func newContact(given, surname string) models.Contactable {
	c := models.NewContact()
	c.SetGivenName(ptr(given))
	c.SetSurname(ptr(surname))
	return c
}

// TestFolders drives /me/contactFolders and childFolders with the SDK:
// create, get, list with $select/$top and paging, rename, child folders,
// delete.
func TestFolders(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t, srv.delegatedToken(t, uniqueUPN("alice"), "Contacts.ReadWrite"))
	ctx := t.Context()
	me := c.Me()

	created, err := me.ContactFolders().Post(ctx, newFolder("Customers"), nil)
	check(t, err, "POST /me/contactFolders")
	if ex := c.rec.last(); ex.method != http.MethodPost || !ex.reqGzip || !strings.HasSuffix(pathOf(ex.url), "/v1.0/me/contactFolders") {
		t.Errorf("expected the SDK to send a gzip-compressed POST to /v1.0/me/contactFolders, sent %s %s (gzip %v)", ex.method, ex.url, ex.reqGzip)
	}
	id := deref(created.GetId())
	if id == "" {
		t.Fatal("POST /me/contactFolders: response has no id")
	}
	if got := deref(created.GetDisplayName()); got != "Customers" {
		t.Errorf("POST /me/contactFolders: displayName %q, want %q", got, "Customers")
	}
	root := deref(created.GetParentFolderId())
	if root == "" {
		t.Errorf("POST /me/contactFolders: parentFolderId is empty, want the id of the default Contacts folder")
	}
	if root == id {
		t.Errorf("POST /me/contactFolders: parentFolderId is the folder's own id %q", id)
	}

	got, err := me.ContactFolders().ByContactFolderId(id).Get(ctx, nil)
	check(t, err, "GET /me/contactFolders/{id}")
	if deref(got.GetId()) != id || deref(got.GetDisplayName()) != "Customers" || deref(got.GetParentFolderId()) != root {
		t.Errorf("GET /me/contactFolders/{id}: got id %q displayName %q parentFolderId %q, want %q %q %q",
			deref(got.GetId()), deref(got.GetDisplayName()), deref(got.GetParentFolderId()), id, "Customers", root)
	}

	// More top-level folders so that $top=2 needs several pages.
	want := []string{"Customers"}
	for i := 1; i <= 4; i++ {
		name := fmt.Sprintf("Folder %d", i)
		_, err := me.ContactFolders().Post(ctx, newFolder(name), nil)
		check(t, err, "POST /me/contactFolders "+name)
		want = append(want, name)
	}

	// A child folder, which must not show up among the top-level folders.
	child, err := me.ContactFolders().ByContactFolderId(id).ChildFolders().Post(ctx, newFolder("VIP"), nil)
	check(t, err, "POST /me/contactFolders/{id}/childFolders")
	childID := deref(child.GetId())
	if childID == "" {
		t.Fatal("POST /me/contactFolders/{id}/childFolders: response has no id")
	}
	if deref(child.GetParentFolderId()) != id {
		t.Errorf("POST childFolders: parentFolderId %q, want the parent %q", deref(child.GetParentFolderId()), id)
	}
	if deref(child.GetDisplayName()) != "VIP" {
		t.Errorf("POST childFolders: displayName %q, want %q", deref(child.GetDisplayName()), "VIP")
	}

	listCfg := &users.ItemContactFoldersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemContactFoldersRequestBuilderGetQueryParameters{
			Select: []string{"displayName"},
			Top:    ptr(int32(2)),
		},
	}
	before := countRequests(c, http.MethodGet, "/me/contactFolders")
	page, err := me.ContactFolders().Get(ctx, listCfg)
	check(t, err, "GET /me/contactFolders?$select=displayName&$top=2")
	if n := len(page.GetValue()); n != 2 {
		t.Errorf("GET /me/contactFolders?$top=2: %d items on the first page, want 2", n)
	}
	next := deref(page.GetOdataNextLink())
	if next == "" {
		t.Errorf("GET /me/contactFolders?$top=2 with 5 folders: no @odata.nextLink")
	} else if !strings.HasPrefix(next, srv.BaseURL+"/") {
		t.Errorf("@odata.nextLink %q is not an absolute URL on the base URL %q", next, srv.BaseURL)
	}
	folders, _ := collect[models.ContactFolderable](t, ctx, c, page, models.CreateContactFolderCollectionResponseFromDiscriminatorValue, nil, "GET /me/contactFolders")
	if n := countRequests(c, http.MethodGet, "/me/contactFolders") - before; n < 3 {
		t.Errorf("listing 5 folders with $top=2 took %d request(s), want at least 3 pages", n)
	}
	var names []string
	for _, f := range folders {
		names = append(names, deref(f.GetDisplayName()))
		if deref(f.GetId()) == "" {
			t.Errorf("listed folder %q has no id ($select must still return id)", deref(f.GetDisplayName()))
		}
		if f.GetParentFolderId() != nil {
			t.Errorf("listed folder %q has parentFolderId %q although $select=displayName", deref(f.GetDisplayName()), deref(f.GetParentFolderId()))
		}
	}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("GET /me/contactFolders (all pages): displayNames %q, want %q", names, want)
	}
	if slices.Contains(folderIDs(folders), childID) {
		t.Errorf("GET /me/contactFolders lists the child folder %q; only top-level folders belong there", childID)
	}

	children, err := me.ContactFolders().ByContactFolderId(id).ChildFolders().Get(ctx, nil)
	check(t, err, "GET /me/contactFolders/{id}/childFolders")
	if ids := folderIDs(children.GetValue()); !slices.Equal(ids, []string{childID}) {
		t.Errorf("GET /me/contactFolders/{id}/childFolders: ids %q, want [%q]", ids, childID)
	}
	gotChild, err := me.ContactFolders().ByContactFolderId(id).ChildFolders().ByContactFolderId1(childID).Get(ctx, nil)
	check(t, err, "GET /me/contactFolders/{id}/childFolders/{id}")
	if deref(gotChild.GetDisplayName()) != "VIP" || deref(gotChild.GetParentFolderId()) != id {
		t.Errorf("GET childFolders/{id}: displayName %q parentFolderId %q, want %q %q", deref(gotChild.GetDisplayName()), deref(gotChild.GetParentFolderId()), "VIP", id)
	}

	// Rename.
	renamed, err := me.ContactFolders().ByContactFolderId(id).Patch(ctx, newFolder("Clients"), nil)
	check(t, err, "PATCH /me/contactFolders/{id}")
	if ex := c.rec.last(); ex.method != http.MethodPatch || !ex.reqGzip {
		t.Errorf("expected a gzip-compressed PATCH, sent %s %s (gzip %v)", ex.method, ex.url, ex.reqGzip)
	}
	if deref(renamed.GetId()) != id || deref(renamed.GetDisplayName()) != "Clients" || deref(renamed.GetParentFolderId()) != root {
		t.Errorf("PATCH /me/contactFolders/{id}: got id %q displayName %q parentFolderId %q, want %q %q %q",
			deref(renamed.GetId()), deref(renamed.GetDisplayName()), deref(renamed.GetParentFolderId()), id, "Clients", root)
	}
	got, err = me.ContactFolders().ByContactFolderId(id).Get(ctx, nil)
	check(t, err, "GET /me/contactFolders/{id} after rename")
	if deref(got.GetDisplayName()) != "Clients" {
		t.Errorf("GET after rename: displayName %q, want %q", deref(got.GetDisplayName()), "Clients")
	}

	// Delete: the folder and its subtree are gone.
	err = me.ContactFolders().ByContactFolderId(id).Delete(ctx, nil)
	check(t, err, "DELETE /me/contactFolders/{id}")
	if ex := c.rec.last(); ex.status != http.StatusNoContent {
		t.Errorf("DELETE /me/contactFolders/{id}: status %d, want 204", ex.status)
	}
	_, err = me.ContactFolders().ByContactFolderId(id).Get(ctx, nil)
	odataError(t, err, "GET /me/contactFolders/{deleted id}", http.StatusNotFound, "ErrorItemNotFound")
	_, err = me.ContactFolders().ByContactFolderId(childID).Get(ctx, nil)
	odataError(t, err, "GET /me/contactFolders/{child of deleted folder}", http.StatusNotFound, "ErrorItemNotFound")
	err = me.ContactFolders().ByContactFolderId(id).Delete(ctx, nil)
	odataError(t, err, "DELETE /me/contactFolders/{deleted id}", http.StatusNotFound, "ErrorItemNotFound")
}

// fullContact returns a contact with the properties TestContacts checks.
func fullContact() models.Contactable {
	c := newContact("Pavel", "Bansky")
	email := models.NewEmailAddress()
	email.SetAddress(ptr("pavelb@contoso.com"))
	email.SetName(ptr("Pavel Bansky"))
	c.SetEmailAddresses([]models.EmailAddressable{email})
	c.SetBusinessPhones([]string{"+1 732 555 0102", "+1 732 555 0103"})
	c.SetBirthday(ptr(time.Date(1974, time.July, 22, 0, 0, 0, 0, time.UTC)))
	home := models.NewPhysicalAddress()
	home.SetStreet(ptr("123 Some Street"))
	home.SetCity(ptr("Redmond"))
	home.SetState(ptr("WA"))
	home.SetPostalCode(ptr("98052"))
	home.SetCountryOrRegion(ptr("United States"))
	c.SetHomeAddress(home)
	return c
}

// checkFullContact checks the properties set by fullContact.
func checkFullContact(t *testing.T, what string, c models.Contactable) {
	t.Helper()
	if got := deref(c.GetGivenName()); got != "Pavel" {
		t.Errorf("%s: givenName %q, want %q", what, got, "Pavel")
	}
	if got := deref(c.GetSurname()); got != "Bansky" {
		t.Errorf("%s: surname %q, want %q", what, got, "Bansky")
	}
	if got := deref(c.GetDisplayName()); got != "Pavel Bansky" {
		t.Errorf("%s: displayName %q, want %q (derived from givenName and surname)", what, got, "Pavel Bansky")
	}
	emails := c.GetEmailAddresses()
	if len(emails) != 1 || deref(emails[0].GetAddress()) != "pavelb@contoso.com" || deref(emails[0].GetName()) != "Pavel Bansky" {
		var got []string
		for _, e := range emails {
			got = append(got, deref(e.GetName())+" <"+deref(e.GetAddress())+">")
		}
		t.Errorf("%s: emailAddresses %q, want [Pavel Bansky <pavelb@contoso.com>]", what, got)
	}
	if got, want := c.GetBusinessPhones(), []string{"+1 732 555 0102", "+1 732 555 0103"}; !slices.Equal(got, want) {
		t.Errorf("%s: businessPhones %q, want %q", what, got, want)
	}
	if b := c.GetBirthday(); b == nil {
		t.Errorf("%s: birthday missing", what)
	} else if got := b.UTC().Format(time.DateOnly); got != "1974-07-22" {
		t.Errorf("%s: birthday %s, want the date 1974-07-22", what, b.Format(time.RFC3339))
	}
	h := c.GetHomeAddress()
	if h == nil {
		t.Errorf("%s: homeAddress missing", what)
	} else if deref(h.GetStreet()) != "123 Some Street" || deref(h.GetCity()) != "Redmond" || deref(h.GetState()) != "WA" ||
		deref(h.GetPostalCode()) != "98052" || deref(h.GetCountryOrRegion()) != "United States" {
		t.Errorf("%s: homeAddress %q %q %q %q %q, want 123 Some Street, Redmond, WA, 98052, United States", what,
			deref(h.GetStreet()), deref(h.GetCity()), deref(h.GetState()), deref(h.GetPostalCode()), deref(h.GetCountryOrRegion()))
	}
}

// checkETag checks "@odata.etag": "W/\"<changeKey>\"" when the item has one.
func checkETag(t *testing.T, what string, c models.Contactable) {
	t.Helper()
	v, ok := c.GetAdditionalData()["@odata.etag"]
	if !ok {
		t.Errorf("%s: no @odata.etag", what)
		return
	}
	var etag string
	switch v := v.(type) {
	case *string:
		etag = deref(v)
	case string:
		etag = v
	default:
		t.Errorf("%s: @odata.etag is a %T, want a string", what, v)
		return
	}
	if want := `W/"` + deref(c.GetChangeKey()) + `"`; etag != want {
		t.Errorf("%s: @odata.etag %q, want %q", what, etag, want)
	}
}

// TestContacts drives /me/contacts and folder contacts with the SDK.
func TestContacts(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t, srv.delegatedToken(t, uniqueUPN("alice"), "Contacts.ReadWrite"))
	ctx := t.Context()
	me := c.Me()
	start := time.Now()

	created, err := me.Contacts().Post(ctx, fullContact(), nil)
	check(t, err, "POST /me/contacts")
	if ex := c.rec.last(); ex.status != http.StatusCreated || !ex.reqGzip {
		t.Errorf("POST /me/contacts: status %d (want 201), body gzip-compressed %v (want true)", ex.status, ex.reqGzip)
	}
	id := deref(created.GetId())
	if id == "" {
		t.Fatal("POST /me/contacts: response has no id")
	}
	changeKey := deref(created.GetChangeKey())
	if changeKey == "" {
		t.Errorf("POST /me/contacts: no changeKey")
	}
	checkFullContact(t, "POST /me/contacts", created)
	checkETag(t, "POST /me/contacts", created)
	if cr := created.GetCreatedDateTime(); cr == nil {
		t.Errorf("POST /me/contacts: no createdDateTime")
	} else if cr.Before(start.Add(-time.Minute)) || cr.After(time.Now().Add(time.Minute)) {
		t.Errorf("POST /me/contacts: createdDateTime %s is not about now (%s)", cr.Format(time.RFC3339), start.UTC().Format(time.RFC3339))
	}
	if created.GetLastModifiedDateTime() == nil {
		t.Errorf("POST /me/contacts: no lastModifiedDateTime")
	}
	defaultFolder := deref(created.GetParentFolderId())
	if defaultFolder == "" {
		t.Errorf("POST /me/contacts: no parentFolderId")
	}

	got, err := me.Contacts().ByContactId(id).Get(ctx, nil)
	check(t, err, "GET /me/contacts/{id}")
	if deref(got.GetId()) != id || deref(got.GetChangeKey()) != changeKey || deref(got.GetParentFolderId()) != defaultFolder {
		t.Errorf("GET /me/contacts/{id}: id %q changeKey %q parentFolderId %q, want %q %q %q",
			deref(got.GetId()), deref(got.GetChangeKey()), deref(got.GetParentFolderId()), id, changeKey, defaultFolder)
	}
	checkFullContact(t, "GET /me/contacts/{id}", got)

	// Three more so that $top=2 pages.
	all := []string{id}
	for _, n := range []string{"Ana", "Bob", "Cho"} {
		more, err := me.Contacts().Post(ctx, newContact(n, "Test"), nil)
		check(t, err, "POST /me/contacts "+n)
		all = append(all, deref(more.GetId()))
	}

	// List with $select and $top, following @odata.nextLink by hand with WithUrl.
	cfg := &users.ItemContactsRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemContactsRequestBuilderGetQueryParameters{
			Select: []string{"displayName", "emailAddresses"},
			Top:    ptr(int32(2)),
		},
	}
	page, err := me.Contacts().Get(ctx, cfg)
	check(t, err, "GET /me/contacts?$select=displayName,emailAddresses&$top=2")
	var listed []string
	for pages := 1; ; pages++ {
		for _, it := range page.GetValue() {
			listed = append(listed, deref(it.GetId()))
			if it.GetDisplayName() == nil {
				t.Errorf("page %d: contact %q has no displayName although selected", pages, deref(it.GetId()))
			}
			if it.GetGivenName() != nil || it.GetChangeKey() != nil {
				t.Errorf("page %d: contact %q has givenName %q changeKey %q although not selected", pages, deref(it.GetId()), deref(it.GetGivenName()), deref(it.GetChangeKey()))
			}
			if deref(it.GetId()) == id && (len(it.GetEmailAddresses()) != 1 || deref(it.GetEmailAddresses()[0].GetAddress()) != "pavelb@contoso.com") {
				t.Errorf("page %d: selected emailAddresses of %q missing or wrong", pages, id)
			}
		}
		if len(page.GetValue()) > 2 {
			t.Errorf("page %d has %d items, want at most $top=2", pages, len(page.GetValue()))
		}
		next := deref(page.GetOdataNextLink())
		if next == "" {
			if pages < 2 {
				t.Errorf("4 contacts with $top=2 came in %d page(s)", pages)
			}
			break
		}
		if pages > 10 {
			t.Fatalf("more than 10 pages for 4 contacts; last nextLink %q", next)
		}
		page, err = me.Contacts().WithUrl(next).Get(ctx, nil)
		check(t, err, "GET @odata.nextLink "+next)
	}
	gotIDs, wantIDs := slices.Clone(listed), slices.Clone(all)
	slices.Sort(gotIDs)
	slices.Sort(wantIDs)
	if !slices.Equal(gotIDs, wantIDs) {
		t.Errorf("GET /me/contacts (all pages): ids %q, want %q", listed, all)
	}

	// PATCH only jobTitle.
	patch := models.NewContact()
	patch.SetJobTitle(ptr("Sales Manager"))
	updated, err := me.Contacts().ByContactId(id).Patch(ctx, patch, nil)
	check(t, err, "PATCH /me/contacts/{id}")
	if ex := c.rec.last(); ex.status != http.StatusOK || !ex.reqGzip {
		t.Errorf("PATCH /me/contacts/{id}: status %d (want 200), body gzip-compressed %v (want true)", ex.status, ex.reqGzip)
	}
	if deref(updated.GetJobTitle()) != "Sales Manager" {
		t.Errorf("PATCH /me/contacts/{id}: jobTitle %q, want %q", deref(updated.GetJobTitle()), "Sales Manager")
	}
	if ck := deref(updated.GetChangeKey()); ck == "" || ck == changeKey {
		t.Errorf("PATCH /me/contacts/{id}: changeKey %q, want a new one (was %q)", ck, changeKey)
	}
	if deref(updated.GetId()) != id {
		t.Errorf("PATCH /me/contacts/{id}: id %q, want %q", deref(updated.GetId()), id)
	}
	checkFullContact(t, "PATCH /me/contacts/{id} (only jobTitle sent)", updated)
	checkETag(t, "PATCH /me/contacts/{id}", updated)
	if cr, lm := created.GetCreatedDateTime(), updated.GetLastModifiedDateTime(); cr != nil && lm != nil && lm.Before(*cr) {
		t.Errorf("PATCH: lastModifiedDateTime %s before createdDateTime %s", lm, cr)
	}
	got, err = me.Contacts().ByContactId(id).Get(ctx, nil)
	check(t, err, "GET /me/contacts/{id} after PATCH")
	if deref(got.GetJobTitle()) != "Sales Manager" || deref(got.GetChangeKey()) != deref(updated.GetChangeKey()) {
		t.Errorf("GET after PATCH: jobTitle %q changeKey %q, want %q %q", deref(got.GetJobTitle()), deref(got.GetChangeKey()), "Sales Manager", deref(updated.GetChangeKey()))
	}
	checkFullContact(t, "GET /me/contacts/{id} after PATCH", got)

	// A contact created inside a folder.
	folder, err := me.ContactFolders().Post(ctx, newFolder("Partners"), nil)
	check(t, err, "POST /me/contactFolders")
	fid := deref(folder.GetId())
	inFolder, err := me.ContactFolders().ByContactFolderId(fid).Contacts().Post(ctx, newContact("Ana", "Trujillo"), nil)
	check(t, err, "POST /me/contactFolders/{id}/contacts")
	fcid := deref(inFolder.GetId())
	if fcid == "" {
		t.Fatal("POST /me/contactFolders/{id}/contacts: no id")
	}
	if deref(inFolder.GetParentFolderId()) != fid {
		t.Errorf("POST /me/contactFolders/{id}/contacts: parentFolderId %q, want the folder %q", deref(inFolder.GetParentFolderId()), fid)
	}
	if deref(inFolder.GetDisplayName()) != "Ana Trujillo" {
		t.Errorf("POST /me/contactFolders/{id}/contacts: displayName %q, want %q", deref(inFolder.GetDisplayName()), "Ana Trujillo")
	}
	fl, err := me.ContactFolders().ByContactFolderId(fid).Contacts().Get(ctx, nil)
	check(t, err, "GET /me/contactFolders/{id}/contacts")
	if ids := contactIDs(fl.GetValue()); !slices.Equal(ids, []string{fcid}) {
		t.Errorf("GET /me/contactFolders/{id}/contacts: ids %q, want [%q]", ids, fcid)
	}
	gf, err := me.ContactFolders().ByContactFolderId(fid).Contacts().ByContactId(fcid).Get(ctx, nil)
	check(t, err, "GET /me/contactFolders/{id}/contacts/{id}")
	if deref(gf.GetGivenName()) != "Ana" || deref(gf.GetSurname()) != "Trujillo" {
		t.Errorf("GET /me/contactFolders/{id}/contacts/{id}: givenName %q surname %q, want Ana Trujillo", deref(gf.GetGivenName()), deref(gf.GetSurname()))
	}
	dl, err := me.Contacts().Get(ctx, nil)
	check(t, err, "GET /me/contacts")
	defaultItems, _ := collect[models.Contactable](t, ctx, c, dl, models.CreateContactCollectionResponseFromDiscriminatorValue, nil, "GET /me/contacts")
	if slices.Contains(contactIDs(defaultItems), fcid) {
		t.Errorf("GET /me/contacts (the default folder) lists %q, which was created in folder %q", fcid, fid)
	}

	// Move the first contact into the folder by PATCHing parentFolderId.
	mv := models.NewContact()
	mv.SetParentFolderId(ptr(fid))
	moved, err := me.Contacts().ByContactId(id).Patch(ctx, mv, nil)
	check(t, err, "PATCH /me/contacts/{id} parentFolderId")
	movedID := deref(moved.GetId())
	if movedID == "" {
		t.Fatal("PATCH parentFolderId: response has no id")
	}
	if deref(moved.GetParentFolderId()) != fid {
		t.Errorf("PATCH parentFolderId: parentFolderId %q, want %q", deref(moved.GetParentFolderId()), fid)
	}
	if deref(moved.GetJobTitle()) != "Sales Manager" {
		t.Errorf("PATCH parentFolderId: jobTitle %q, want it kept (%q)", deref(moved.GetJobTitle()), "Sales Manager")
	}
	checkFullContact(t, "PATCH parentFolderId", moved)
	fl, err = me.ContactFolders().ByContactFolderId(fid).Contacts().Get(ctx, nil)
	check(t, err, "GET /me/contactFolders/{id}/contacts after move")
	if ids := contactIDs(fl.GetValue()); !slices.Contains(ids, movedID) || len(ids) != 2 {
		t.Errorf("GET /me/contactFolders/{id}/contacts after move: ids %q, want %q and %q", ids, fcid, movedID)
	}
	dl, err = me.Contacts().Get(ctx, nil)
	check(t, err, "GET /me/contacts after move")
	defaultItems, _ = collect[models.Contactable](t, ctx, c, dl, models.CreateContactCollectionResponseFromDiscriminatorValue, nil, "GET /me/contacts")
	if ids := contactIDs(defaultItems); slices.Contains(ids, movedID) || slices.Contains(ids, id) || len(ids) != 3 {
		t.Errorf("GET /me/contacts after moving %q out: ids %q, want the 3 others %q", id, ids, all[1:])
	}
	gm, err := me.ContactFolders().ByContactFolderId(fid).Contacts().ByContactId(movedID).Get(ctx, nil)
	check(t, err, "GET /me/contactFolders/{id}/contacts/{moved id}")
	if deref(gm.GetParentFolderId()) != fid {
		t.Errorf("GET moved contact: parentFolderId %q, want %q", deref(gm.GetParentFolderId()), fid)
	}

	// Delete.
	err = me.ContactFolders().ByContactFolderId(fid).Contacts().ByContactId(movedID).Delete(ctx, nil)
	check(t, err, "DELETE /me/contactFolders/{id}/contacts/{id}")
	if ex := c.rec.last(); ex.status != http.StatusNoContent {
		t.Errorf("DELETE /me/contactFolders/{id}/contacts/{id}: status %d, want 204", ex.status)
	}
	_, err = me.ContactFolders().ByContactFolderId(fid).Contacts().ByContactId(movedID).Get(ctx, nil)
	odataError(t, err, "GET /me/contactFolders/{id}/contacts/{deleted id}", http.StatusNotFound, "ErrorItemNotFound")
	_, err = me.Contacts().ByContactId(movedID).Get(ctx, nil)
	odataError(t, err, "GET /me/contacts/{deleted id}", http.StatusNotFound, "ErrorItemNotFound")

	err = me.Contacts().ByContactId(all[1]).Delete(ctx, nil)
	check(t, err, "DELETE /me/contacts/{id}")
	if ex := c.rec.last(); ex.status != http.StatusNoContent {
		t.Errorf("DELETE /me/contacts/{id}: status %d, want 204", ex.status)
	}
	_, err = me.Contacts().ByContactId(all[1]).Get(ctx, nil)
	odataError(t, err, "GET /me/contacts/{deleted id}", http.StatusNotFound, "ErrorItemNotFound")
	_, err = me.Contacts().ByContactId(all[1]).Patch(ctx, patch, nil)
	odataError(t, err, "PATCH /me/contacts/{deleted id}", http.StatusNotFound, "ErrorItemNotFound")
	err = me.Contacts().ByContactId(all[1]).Delete(ctx, nil)
	odataError(t, err, "DELETE /me/contacts/{deleted id}", http.StatusNotFound, "ErrorItemNotFound")
}

// TestAppOnly uses an application token: create a user, then work in its
// mailbox through /users/{id}.
func TestAppOnly(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t, srv.appToken(t, "backup", "Contacts.ReadWrite", "User.ReadWrite.All"))
	ctx := t.Context()
	upn := uniqueUPN("carol")
	nick, _, _ := strings.Cut(upn, "@")

	u := models.NewUser()
	u.SetDisplayName(ptr("Carol Test"))
	u.SetUserPrincipalName(ptr(upn))
	u.SetMailNickname(ptr(nick))
	u.SetAccountEnabled(ptr(true))
	pw := models.NewPasswordProfile()
	pw.SetPassword(ptr("xWwvJ]6NMw+bWH-d"))
	pw.SetForceChangePasswordNextSignIn(ptr(true))
	u.SetPasswordProfile(pw)
	user, err := c.Users().Post(ctx, u, nil)
	check(t, err, "POST /users")
	if ex := c.rec.last(); ex.status != http.StatusCreated {
		t.Errorf("POST /users: status %d, want 201", ex.status)
	}
	userID := deref(user.GetId())
	if userID == "" {
		t.Fatal("POST /users: response has no id")
	}
	if got := deref(user.GetUserPrincipalName()); !strings.EqualFold(got, upn) {
		t.Errorf("POST /users: userPrincipalName %q, want %q", got, upn)
	}

	byUPN := c.Users().ByUserId(upn)
	created, err := byUPN.Contacts().Post(ctx, newContact("Dana", "Backup"), nil)
	check(t, err, "POST /users/{upn}/contacts")
	cid := deref(created.GetId())
	if cid == "" {
		t.Fatal("POST /users/{upn}/contacts: no id")
	}
	if deref(created.GetDisplayName()) != "Dana Backup" || deref(created.GetParentFolderId()) == "" || deref(created.GetChangeKey()) == "" {
		t.Errorf("POST /users/{upn}/contacts: displayName %q parentFolderId %q changeKey %q", deref(created.GetDisplayName()), deref(created.GetParentFolderId()), deref(created.GetChangeKey()))
	}
	second, err := c.Users().ByUserId(userID).Contacts().Post(ctx, newContact("Eli", "Backup"), nil)
	check(t, err, "POST /users/{id}/contacts")

	for _, key := range []string{upn, userID} {
		list, err := c.Users().ByUserId(key).Contacts().Get(ctx, nil)
		check(t, err, "GET /users/"+key+"/contacts")
		ids := contactIDs(list.GetValue())
		slices.Sort(ids)
		want := []string{cid, deref(second.GetId())}
		slices.Sort(want)
		if !slices.Equal(ids, want) {
			t.Errorf("GET /users/%s/contacts: ids %q, want %q", key, ids, want)
		}
	}
	got, err := byUPN.Contacts().ByContactId(cid).Get(ctx, nil)
	check(t, err, "GET /users/{upn}/contacts/{id}")
	if deref(got.GetGivenName()) != "Dana" {
		t.Errorf("GET /users/{upn}/contacts/{id}: givenName %q, want Dana", deref(got.GetGivenName()))
	}
	folder, err := byUPN.ContactFolders().Post(ctx, newFolder("Archive"), nil)
	check(t, err, "POST /users/{upn}/contactFolders")
	folders, err := byUPN.ContactFolders().Get(ctx, nil)
	check(t, err, "GET /users/{upn}/contactFolders")
	if ids := folderIDs(folders.GetValue()); !slices.Equal(ids, []string{deref(folder.GetId())}) {
		t.Errorf("GET /users/{upn}/contactFolders: ids %q, want [%q]", ids, deref(folder.GetId()))
	}

	_, err = c.Users().ByUserId("nobody@contoso.com").Contacts().Get(ctx, nil)
	odataError(t, err, "GET /users/nobody@contoso.com/contacts (app-only)", http.StatusNotFound, "ErrorInvalidUser")

	_, err = c.Me().Contacts().Get(ctx, nil)
	oe := odataError(t, err, "GET /me/contacts with an app-only token", http.StatusBadRequest, "BadRequest")
	if msg := deref(oe.GetErrorEscaped().GetMessage()); !strings.Contains(msg, "/me request is only valid with delegated authentication flow") {
		t.Errorf("GET /me/contacts with an app-only token: message %q, want %q", msg, "/me request is only valid with delegated authentication flow.")
	}
}

// TestErrors checks that error responses are ones the SDK can parse: an
// ODataError with a code, a message (the SDK panics without one) and an
// innerError.
func TestErrors(t *testing.T) {
	srv := startServer(t)
	upn := uniqueUPN("alice")
	c := srv.client(t, srv.delegatedToken(t, upn, "Contacts.ReadWrite"))
	ctx := t.Context()
	me := c.Me()
	badID := []string{"ErrorInvalidIdMalformed", "ErrorItemNotFound"}

	_, err := me.Contacts().ByContactId("not-an-id").Get(ctx, nil)
	odataError(t, err, "GET /me/contacts/not-an-id", 0, badID...)
	_, err = me.Contacts().ByContactId("not-an-id").Patch(ctx, newContact("X", "Y"), nil)
	odataError(t, err, "PATCH /me/contacts/not-an-id", 0, badID...)
	err = me.Contacts().ByContactId("not-an-id").Delete(ctx, nil)
	odataError(t, err, "DELETE /me/contacts/not-an-id", 0, badID...)
	_, err = me.ContactFolders().ByContactFolderId("not-an-id").Get(ctx, nil)
	odataError(t, err, "GET /me/contactFolders/not-an-id", 0, badID...)
	_, err = me.ContactFolders().ByContactFolderId("not-an-id").Contacts().Get(ctx, nil)
	odataError(t, err, "GET /me/contactFolders/not-an-id/contacts", 0, badID...)
	_, err = me.ContactFolders().ByContactFolderId("not-an-id").ChildFolders().Post(ctx, newFolder("X"), nil)
	odataError(t, err, "POST /me/contactFolders/not-an-id/childFolders", 0, badID...)

	// An id that is well-formed but belongs to a deleted contact.
	created, err := me.Contacts().Post(ctx, newContact("Gone", "Soon"), nil)
	check(t, err, "POST /me/contacts")
	check(t, me.Contacts().ByContactId(deref(created.GetId())).Delete(ctx, nil), "DELETE /me/contacts/{id}")
	_, err = me.Contacts().ByContactId(deref(created.GetId())).Get(ctx, nil)
	odataError(t, err, "GET /me/contacts/{deleted id}", http.StatusNotFound, "ErrorItemNotFound")

	// Another user's mailbox with a delegated token.
	_, err = c.Users().ByUserId(uniqueUPN("bob")).Contacts().Get(ctx, nil)
	odataError(t, err, "GET /users/{other user}/contacts (delegated)", http.StatusForbidden, "ErrorAccessDenied")

	// Writing with a read-only scope.
	ro := srv.client(t, srv.delegatedToken(t, upn, "Contacts.Read"))
	_, err = ro.Me().Contacts().Get(ctx, nil)
	check(t, err, "GET /me/contacts with Contacts.Read")
	_, err = ro.Me().Contacts().Post(ctx, newContact("No", "Write"), nil)
	odataError(t, err, "POST /me/contacts with Contacts.Read", http.StatusForbidden, "ErrorAccessDenied")

	// A garbled token.
	bad := srv.client(t, "not.a.token")
	_, err = bad.Me().Contacts().Get(ctx, nil)
	odataError(t, err, "GET /me/contacts with a garbled token", http.StatusUnauthorized, "InvalidAuthenticationToken")
	if ex := bad.rec.last(); ex.respHeader.Get("request-id") == "" {
		t.Errorf("401 response has no request-id header")
	}
}

// TestDelta runs delta rounds with the SDK, which sends delta() path
// segments and follows @odata.nextLink/@odata.deltaLink verbatim.
func TestDelta(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t, srv.delegatedToken(t, uniqueUPN("alice"), "Contacts.ReadWrite"))
	ctx := t.Context()
	me := c.Me()

	var ids []string
	for _, n := range []string{"One", "Two", "Three", "Four", "Five"} {
		cr, err := me.Contacts().Post(ctx, newContact(n, "Delta"), nil)
		check(t, err, "POST /me/contacts")
		ids = append(ids, deref(cr.GetId()))
	}

	prefer := func() *abstractions.RequestHeaders {
		h := abstractions.NewRequestHeaders()
		h.Add("Prefer", "odata.maxpagesize=2")
		return h
	}
	round := func(what string, first users.ItemContactsDeltaGetResponseable) ([]models.Contactable, string) {
		t.Helper()
		items, deltaLink := collect[models.Contactable](t, ctx, c, first, users.CreateItemContactsDeltaGetResponseFromDiscriminatorValue, prefer(), what)
		if deltaLink == "" {
			t.Fatalf("%s: the last page has no @odata.deltaLink", what)
		}
		if !strings.HasPrefix(deltaLink, srv.BaseURL+"/") {
			t.Errorf("%s: @odata.deltaLink %q is not on the base URL %q", what, deltaLink, srv.BaseURL)
		}
		return items, deltaLink
	}
	removed := func(item models.Contactable) bool {
		_, ok := item.GetAdditionalData()["@removed"]
		return ok
	}

	before := len(c.rec.exchanges())
	first, err := me.Contacts().Delta().GetAsDeltaGetResponse(ctx, &users.ItemContactsDeltaRequestBuilderGetRequestConfiguration{Headers: prefer()})
	check(t, err, "GET /me/contacts/delta()")
	if ex := c.rec.exchanges()[before]; !strings.Contains(pathOf(ex.url), "/me/contacts/delta") {
		t.Errorf("first delta request went to %s", ex.url)
	} else {
		t.Logf("SDK delta request: %s %s", ex.method, pathOf(ex.url))
	}
	items, deltaLink := round("initial contacts delta round", first)
	pages := len(c.rec.exchanges()) - before
	if pages < 3 {
		t.Errorf("initial round of 5 contacts with odata.maxpagesize=2 took %d page(s), want at least 3", pages)
	}
	if ex := c.rec.exchanges()[before]; ex.respHeader.Get("Preference-Applied") != "odata.maxpagesize=2" {
		t.Errorf("first delta page: Preference-Applied %q, want %q", ex.respHeader.Get("Preference-Applied"), "odata.maxpagesize=2")
	}
	seen := map[string]bool{}
	for _, it := range items {
		seen[deref(it.GetId())] = true
		if removed(it) {
			t.Errorf("initial round: unexpected tombstone for %q", deref(it.GetId()))
		}
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("initial delta round misses contact %q", id)
		}
	}

	// Changes: update one, delete one, create one.
	patch := models.NewContact()
	patch.SetJobTitle(ptr("Changed"))
	_, err = me.Contacts().ByContactId(ids[0]).Patch(ctx, patch, nil)
	check(t, err, "PATCH /me/contacts/{id}")
	check(t, me.Contacts().ByContactId(ids[1]).Delete(ctx, nil), "DELETE /me/contacts/{id}")
	added, err := me.Contacts().Post(ctx, newContact("Six", "Delta"), nil)
	check(t, err, "POST /me/contacts")

	second, err := me.Contacts().Delta().WithUrl(deltaLink).GetAsDeltaGetResponse(ctx, &users.ItemContactsDeltaRequestBuilderGetRequestConfiguration{Headers: prefer()})
	check(t, err, "GET deltaLink "+deltaLink)
	items, deltaLink2 := round("second contacts delta round", second)
	changed := map[string]models.Contactable{}
	for _, it := range items {
		changed[deref(it.GetId())] = it
	}
	if it, ok := changed[ids[0]]; !ok {
		t.Errorf("second round: updated contact %q missing", ids[0])
	} else if removed(it) || deref(it.GetJobTitle()) != "Changed" {
		t.Errorf("second round: updated contact %q not at its latest state (removed %v, jobTitle %q)", ids[0], removed(it), deref(it.GetJobTitle()))
	}
	if it, ok := changed[ids[1]]; !ok || !removed(it) {
		t.Errorf("second round: no tombstone (@removed) for deleted contact %q", ids[1])
	}
	if it, ok := changed[deref(added.GetId())]; !ok || removed(it) || deref(it.GetGivenName()) != "Six" {
		t.Errorf("second round: created contact %q missing", deref(added.GetId()))
	}
	for _, id := range ids[2:] {
		if _, ok := changed[id]; ok {
			t.Errorf("second round: unchanged contact %q was sent again", id)
		}
	}

	third, err := me.Contacts().Delta().WithUrl(deltaLink2).GetAsDeltaGetResponse(ctx, nil)
	check(t, err, "GET deltaLink "+deltaLink2)
	items, _ = round("idle contacts delta round", third)
	if len(items) != 0 {
		t.Errorf("idle round: %d items, want none (ids %q)", len(items), contactIDs(items))
	}

	// Folders delta.
	fa, err := me.ContactFolders().Post(ctx, newFolder("Delta A"), nil)
	check(t, err, "POST /me/contactFolders")
	fb, err := me.ContactFolders().Post(ctx, newFolder("Delta B"), nil)
	check(t, err, "POST /me/contactFolders")
	fd, err := me.ContactFolders().Delta().GetAsDeltaGetResponse(ctx, nil)
	check(t, err, "GET /me/contactFolders/delta()")
	folders, folderLink := collect[models.ContactFolderable](t, ctx, c, fd, users.CreateItemContactFoldersDeltaGetResponseFromDiscriminatorValue, nil, "contact folders delta")
	if folderLink == "" {
		t.Fatal("contact folders delta: no @odata.deltaLink")
	}
	if fids := folderIDs(folders); !slices.Contains(fids, deref(fa.GetId())) || !slices.Contains(fids, deref(fb.GetId())) {
		t.Errorf("initial folders delta: ids %q, want %q and %q", fids, deref(fa.GetId()), deref(fb.GetId()))
	}
	_, err = me.ContactFolders().ByContactFolderId(deref(fa.GetId())).Patch(ctx, newFolder("Delta A2"), nil)
	check(t, err, "PATCH /me/contactFolders/{id}")
	check(t, me.ContactFolders().ByContactFolderId(deref(fb.GetId())).Delete(ctx, nil), "DELETE /me/contactFolders/{id}")
	fd2, err := me.ContactFolders().Delta().WithUrl(folderLink).GetAsDeltaGetResponse(ctx, nil)
	check(t, err, "GET folders deltaLink "+folderLink)
	folders, _ = collect[models.ContactFolderable](t, ctx, c, fd2, users.CreateItemContactFoldersDeltaGetResponseFromDiscriminatorValue, nil, "contact folders delta round 2")
	byID := map[string]models.ContactFolderable{}
	for _, f := range folders {
		byID[deref(f.GetId())] = f
	}
	if f, ok := byID[deref(fa.GetId())]; !ok || deref(f.GetDisplayName()) != "Delta A2" {
		t.Errorf("folders delta round 2: renamed folder missing or stale")
	}
	if f, ok := byID[deref(fb.GetId())]; !ok {
		t.Errorf("folders delta round 2: no tombstone for the deleted folder")
	} else if _, ok := f.GetAdditionalData()["@removed"]; !ok {
		t.Errorf("folders delta round 2: deleted folder sent without @removed")
	}
}

// TestEncodedQueryOptions sends the query option names as the SDK's URL
// templates produce them (%24select, %24top) by turning off the SDK's
// parameter name decoding for the request, as a client with a custom
// middleware chain does.
func TestEncodedQueryOptions(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t, srv.delegatedToken(t, uniqueUPN("alice"), "Contacts.ReadWrite"))
	ctx := t.Context()
	me := c.Me()
	for _, n := range []string{"Ann", "Ben"} {
		_, err := me.Contacts().Post(ctx, newContact(n, "Encoded"), nil)
		check(t, err, "POST /me/contacts")
	}
	noDecoding := []abstractions.RequestOption{&khttp.ParametersNameDecodingOptions{Enable: false}}

	page, err := me.Contacts().Get(ctx, &users.ItemContactsRequestBuilderGetRequestConfiguration{
		Options: noDecoding,
		QueryParameters: &users.ItemContactsRequestBuilderGetQueryParameters{
			Select: []string{"givenName"},
			Top:    ptr(int32(1)),
		},
	})
	check(t, err, "GET /me/contacts?%24select=givenName&%24top=1")
	ex := c.rec.last()
	if !strings.Contains(ex.url, "%24select=givenName") || !strings.Contains(ex.url, "%24top=1") {
		t.Fatalf("expected %%24select and %%24top in the request URL, sent %s", ex.url)
	}
	if n := len(page.GetValue()); n != 1 {
		t.Errorf("GET %s: %d items, want 1 (%%24top=1 ignored?)", pathOf(ex.url), n)
	}
	for _, it := range page.GetValue() {
		if it.GetGivenName() == nil || it.GetSurname() != nil || it.GetDisplayName() != nil {
			t.Errorf("GET %s: givenName %q surname %q displayName %q, want only givenName (%%24select ignored?)",
				pathOf(ex.url), deref(it.GetGivenName()), deref(it.GetSurname()), deref(it.GetDisplayName()))
		}
	}
	if deref(page.GetOdataNextLink()) == "" {
		t.Errorf("GET %s: no @odata.nextLink for 2 contacts with %%24top=1", pathOf(ex.url))
	}

	folders, err := me.ContactFolders().Get(ctx, &users.ItemContactFoldersRequestBuilderGetRequestConfiguration{
		Options: noDecoding,
		QueryParameters: &users.ItemContactFoldersRequestBuilderGetQueryParameters{
			Select: []string{"displayName"},
		},
	})
	check(t, err, "GET /me/contactFolders?%24select=displayName")
	if len(folders.GetValue()) != 0 {
		t.Errorf("GET /me/contactFolders: %d folders for a new mailbox, want 0", len(folders.GetValue()))
	}
}

// TestCount uses $count the two ways the SDK offers it: the /$count path
// segment (Count().Get, a text/plain number) and $count=true on a list
// (@odata.count). Graph supports both on contacts and contact folders.
func TestCount(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t, srv.delegatedToken(t, uniqueUPN("alice"), "Contacts.ReadWrite"))
	ctx := t.Context()
	me := c.Me()
	for _, n := range []string{"Ann", "Ben", "Cat"} {
		_, err := me.Contacts().Post(ctx, newContact(n, "Count"), nil)
		check(t, err, "POST /me/contacts")
	}
	_, err := me.ContactFolders().Post(ctx, newFolder("Counted"), nil)
	check(t, err, "POST /me/contactFolders")

	n, err := me.Contacts().Count().Get(ctx, nil)
	if err != nil {
		t.Errorf("GET /me/contacts/$count: %s", describe(err))
	} else if deref(n) != 3 {
		t.Errorf("GET /me/contacts/$count: %d, want 3", deref(n))
	}
	n, err = me.ContactFolders().Count().Get(ctx, nil)
	if err != nil {
		t.Errorf("GET /me/contactFolders/$count: %s", describe(err))
	} else if deref(n) != 1 {
		t.Errorf("GET /me/contactFolders/$count: %d, want 1", deref(n))
	}

	page, err := me.Contacts().Get(ctx, &users.ItemContactsRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemContactsRequestBuilderGetQueryParameters{Count: ptr(true), Top: ptr(int32(2))},
	})
	check(t, err, "GET /me/contacts?$count=true&$top=2")
	if got := page.GetOdataCount(); got == nil || *got != 3 {
		t.Errorf("GET /me/contacts?$count=true&$top=2: @odata.count %v, want 3", describeCount(got))
	}
	folders, err := me.ContactFolders().Get(ctx, &users.ItemContactFoldersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemContactFoldersRequestBuilderGetQueryParameters{Count: ptr(true)},
	})
	check(t, err, "GET /me/contactFolders?$count=true")
	if got := folders.GetOdataCount(); got == nil || *got != 1 {
		t.Errorf("GET /me/contactFolders?$count=true: @odata.count %v, want 1", describeCount(got))
	}
}

func describeCount(n *int64) string {
	if n == nil {
		return "absent"
	}
	return fmt.Sprint(*n)
}

// TestDeltaTokenErrors follows deltaLinks whose token was garbled, tampered
// with or used on another collection or by another user: the SDK must get
// a well-formed error, 400 "Badly formed token", or, where the server
// forces a resync, 410 resyncRequired with a Location header holding the
// delta URL without a token.
func TestDeltaTokenErrors(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t, srv.delegatedToken(t, uniqueUPN("alice"), "Contacts.ReadWrite"))
	ctx := t.Context()
	me := c.Me()
	_, err := me.Contacts().Post(ctx, newContact("Tok", "En"), nil)
	check(t, err, "POST /me/contacts")
	first, err := me.Contacts().Delta().GetAsDeltaGetResponse(ctx, nil)
	check(t, err, "GET /me/contacts/delta()")
	_, deltaLink := collect[models.Contactable](t, ctx, c, first, users.CreateItemContactsDeltaGetResponseFromDiscriminatorValue, nil, "contacts delta")
	i := strings.Index(deltaLink, "$deltatoken=")
	if i < 0 {
		t.Fatalf("deltaLink %q has no $deltatoken", deltaLink)
	}
	prefix, token := deltaLink[:i+len("$deltatoken=")], deltaLink[i+len("$deltatoken="):]
	if j := strings.IndexByte(token, '&'); j >= 0 {
		t.Fatalf("deltaLink %q has options after $deltatoken", deltaLink)
	}

	// tokenError checks the error of following a bad deltaLink and returns
	// a short description of what was wrong, or "".
	tokenError := func(err error) string {
		var oe *odataerrors.ODataError
		if !errors.As(err, &oe) || oe.GetErrorEscaped() == nil {
			return "got " + describe(err) + ", want an ODataError"
		}
		code, msg := deref(oe.GetErrorEscaped().GetCode()), deref(oe.GetErrorEscaped().GetMessage())
		switch {
		case msg == "":
			return fmt.Sprintf("status %d code %q without message", oe.GetStatusCode(), code)
		case oe.GetStatusCode() == http.StatusBadRequest && strings.Contains(msg, "Badly formed token"):
			return ""
		case oe.GetStatusCode() == http.StatusGone && code == "resyncRequired":
			loc := c.rec.last().respHeader.Get("Location")
			if loc == "" || !strings.HasPrefix(loc, srv.BaseURL+"/") || !strings.Contains(loc, "/contacts/delta") || strings.Contains(loc, "token=") {
				return fmt.Sprintf("410 resyncRequired with Location %q, want the delta URL without a token", loc)
			}
			return ""
		}
		return fmt.Sprintf("status %d code %q message %q, want 400 \"Badly formed token\" or 410 resyncRequired", oe.GetStatusCode(), code, msg)
	}

	for _, bad := range []string{"garbage", token[:len(token)/2], token + "AAAA"} {
		link := prefix + bad
		_, err := me.Contacts().Delta().WithUrl(link).GetAsDeltaGetResponse(ctx, nil)
		if problem := tokenError(err); problem != "" {
			t.Errorf("GET %s: %s", pathOf(link), problem)
		}
	}

	// Change each character of the token in turn.
	problems := map[string][]int{}
	for pos := range len(token) {
		b := []byte(token)
		if b[pos] == 'A' {
			b[pos] = 'B'
		} else {
			b[pos] = 'A'
		}
		link := prefix + string(b)
		_, err := me.Contacts().Delta().WithUrl(link).GetAsDeltaGetResponse(ctx, nil)
		if problem := tokenError(err); problem != "" {
			problems[problem] = append(problems[problem], pos)
		}
	}
	for problem, positions := range problems {
		t.Errorf("deltaLink with the token changed at character(s) %v of %d: %s", positions, len(token), problem)
	}

	// The token is bound to its collection and to the caller.
	folderLink := strings.Replace(deltaLink, "/me/contacts/", "/me/contactFolders/", 1)
	_, err = me.ContactFolders().Delta().WithUrl(folderLink).GetAsDeltaGetResponse(ctx, nil)
	odataError(t, err, "GET "+pathOf(folderLink)+" (a contacts token on the folders collection)", http.StatusBadRequest)
	other := srv.client(t, srv.delegatedToken(t, uniqueUPN("bob"), "Contacts.ReadWrite"))
	_, err = other.Me().Contacts().Delta().WithUrl(deltaLink).GetAsDeltaGetResponse(ctx, nil)
	odataError(t, err, "GET "+pathOf(deltaLink)+" (another user's token)", http.StatusBadRequest)

	// The intact token still works.
	_, err = me.Contacts().Delta().WithUrl(deltaLink).GetAsDeltaGetResponse(ctx, nil)
	check(t, err, "GET "+pathOf(deltaLink))
}
