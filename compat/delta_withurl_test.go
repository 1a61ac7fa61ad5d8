package compat

import (
	"testing"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"
)

// TestDeltaFollowingWithUrl runs contact delta rounds in a folder the way
// many SDK users do: one page at a time, each @odata.nextLink followed with
// WithUrl, Prefer re-sent, $select given once and carried by the links.
func TestDeltaFollowingWithUrl(t *testing.T) {
	srv := startServer(t)
	c := srv.client(t, srv.delegatedToken(t, uniqueUPN("dora"), "Contacts.ReadWrite"))
	ctx := t.Context()
	folder, err := c.Me().ContactFolders().Post(ctx, newFolder("Customers"), nil)
	check(t, err, "POST /me/contactFolders")
	fid := deref(folder.GetId())
	contactsOf := c.Me().ContactFolders().ByContactFolderId(fid).Contacts()
	var ids []string
	for _, n := range []string{"A", "B", "C", "D", "E"} {
		ct, err := contactsOf.Post(ctx, newContact(n, "Page"), nil)
		check(t, err, "POST contact in folder")
		ids = append(ids, deref(ct.GetId()))
	}
	prefer := abstractions.NewRequestHeaders()
	prefer.Add("Prefer", "odata.maxpagesize=2")
	round := func(link string) ([]models.Contactable, string, int) {
		t.Helper()
		var items []models.Contactable
		pages := 0
		var resp users.ItemContactFoldersItemContactsDeltaGetResponseable
		var err error
		if link == "" {
			resp, err = contactsOf.Delta().GetAsDeltaGetResponse(ctx, &users.ItemContactFoldersItemContactsDeltaRequestBuilderGetRequestConfiguration{
				Headers:         prefer,
				QueryParameters: &users.ItemContactFoldersItemContactsDeltaRequestBuilderGetQueryParameters{Select: []string{"displayName", "jobTitle"}},
			})
		} else {
			resp, err = contactsOf.Delta().WithUrl(link).GetAsDeltaGetResponse(ctx, &users.ItemContactFoldersItemContactsDeltaRequestBuilderGetRequestConfiguration{Headers: prefer})
		}
		for {
			check(t, err, "contact delta page")
			pages++
			items = append(items, resp.GetValue()...)
			if dl := resp.GetOdataDeltaLink(); dl != nil {
				return items, *dl, pages
			}
			next := resp.GetOdataNextLink()
			if next == nil || pages > 50 {
				t.Fatal("a page must carry @odata.nextLink or @odata.deltaLink")
			}
			resp, err = contactsOf.Delta().WithUrl(*next).GetAsDeltaGetResponse(ctx, &users.ItemContactFoldersItemContactsDeltaRequestBuilderGetRequestConfiguration{Headers: prefer})
		}
	}
	items, dl, pages := round("")
	if len(items) != 5 || pages < 3 {
		t.Fatalf("first round: %d items in %d pages, want 5 in at least 3", len(items), pages)
	}
	for _, it := range items {
		if it.GetDisplayName() == nil || it.GetGivenName() != nil {
			t.Fatalf("$select not applied: givenName %v", it.GetGivenName())
		}
	}
	patch := models.NewContact()
	patch.SetJobTitle(ptr("Buyer"))
	_, err = contactsOf.ByContactId(ids[2]).Patch(ctx, patch, nil)
	check(t, err, "PATCH contact")
	check(t, contactsOf.ByContactId(ids[3]).Delete(ctx, nil), "DELETE contact")
	added, err := contactsOf.Post(ctx, newContact("F", "Page"), nil)
	check(t, err, "POST contact")
	items, _, _ = round(dl)
	got := map[string]string{}
	for _, it := range items {
		if _, gone := it.GetAdditionalData()["@removed"]; gone {
			got[deref(it.GetId())] = "removed"
			continue
		}
		got[deref(it.GetId())] = deref(it.GetJobTitle()) + "|" + deref(it.GetDisplayName())
	}
	want := map[string]string{ids[2]: "Buyer|C Page", ids[3]: "removed", deref(added.GetId()): "|F Page"}
	if len(got) != len(want) {
		t.Fatalf("second round %v, want %v", got, want)
	}
	for id, v := range want {
		if got[id] != v {
			t.Fatalf("second round %v, want %v", got, want)
		}
	}
}
