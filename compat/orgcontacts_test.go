package compat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/contacts"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// rawJSON sends a request outside the SDK: org contacts are read-only in
// Graph, so the SDK has no method for contactgraph's write extension.
func rawJSON(t *testing.T, method, url, token, body string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, buf.Bytes())
	}
	var m map[string]any
	if buf.Len() > 0 {
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
	return m
}

// orgRound runs one /contacts/delta round with the SDK, following every
// @odata.nextLink by hand with WithUrl and re-sending the headers, and
// returns the items, the raw JSON objects of every page and the deltaLink.
func orgRound(t *testing.T, c *graphClient, first *contacts.DeltaRequestBuilder, cfg *contacts.DeltaRequestBuilderGetRequestConfiguration) ([]models.OrgContactable, []map[string]any, string) {
	t.Helper()
	ctx := t.Context()
	var items []models.OrgContactable
	var raw []map[string]any
	b := first
	for pages := 0; pages < 100; pages++ {
		before := len(c.rec.exchanges())
		resp, err := b.GetAsDeltaGetResponse(ctx, cfg)
		check(t, err, "GET /contacts/delta")
		for _, ex := range c.rec.exchanges()[before:] {
			var page struct {
				Value []map[string]any `json:"value"`
			}
			if json.Unmarshal(ex.respBody, &page) == nil {
				raw = append(raw, page.Value...)
			}
		}
		items = append(items, resp.GetValue()...)
		if dl := resp.GetOdataDeltaLink(); dl != nil {
			return items, raw, *dl
		}
		next := resp.GetOdataNextLink()
		if next == nil {
			t.Fatal("a delta page without @odata.nextLink or @odata.deltaLink")
		}
		b = c.Contacts().Delta().WithUrl(*next)
		cfg = &contacts.DeltaRequestBuilderGetRequestConfiguration{Headers: cfg.Headers} // options live in the link
	}
	t.Fatal("the round did not end")
	return nil, nil, ""
}

// TestOrgContactDelta: client.Contacts().Delta() rounds with $select, and
// with Prefer: return=minimal returning only the changed properties.
func TestOrgContactDelta(t *testing.T) {
	srv := startServer(t)
	tenant := strings.SplitN(uniqueUPN("tenant"), "@", 2)[0]
	tok := srv.token(t, "--tenant", tenant, "--app", "hr-sync", "--roles", "Directory.ReadWrite.All")
	c := srv.client(t, tok)
	var ids []string
	for i := 0; i < 5; i++ {
		o := rawJSON(t, http.MethodPost, srv.BaseURL+"/contacts", tok,
			fmt.Sprintf(`{"displayName":"Org %d","jobTitle":"Title %d","mail":"org%d@fabrikam.com","companyName":"Fabrikam"}`, i, i, i))
		ids = append(ids, o["id"].(string))
	}
	headers := func(prefer string) *abstractions.RequestHeaders {
		h := abstractions.NewRequestHeaders()
		h.Add("Prefer", prefer)
		return h
	}
	cfg := &contacts.DeltaRequestBuilderGetRequestConfiguration{
		QueryParameters: &contacts.DeltaRequestBuilderGetQueryParameters{Select: []string{"displayName", "jobTitle", "mail"}},
		Headers:         headers("odata.maxpagesize=2"),
	}
	items, raw, deltaLink := orgRound(t, c, c.Contacts().Delta(), cfg)
	if len(items) != 5 {
		t.Fatalf("first round: %d org contacts, want 5", len(items))
	}
	for _, it := range items {
		if it.GetDisplayName() == nil || it.GetJobTitle() == nil || it.GetMail() == nil || it.GetCompanyName() != nil {
			t.Fatalf("first round: $select not applied: %v", raw)
		}
	}
	if strings.Contains(deltaLink, "select") {
		t.Errorf("the deltaLink %s must carry $select inside its token", deltaLink)
	}

	// Change two properties of one contact: a new name, a cleared job title.
	rawJSON(t, http.MethodPatch, srv.BaseURL+"/contacts/"+ids[0], tok, `{"displayName":"Org zero","jobTitle":null}`)
	minimal := &contacts.DeltaRequestBuilderGetRequestConfiguration{Headers: headers("return=minimal")}
	items, raw, _ = orgRound(t, c, c.Contacts().Delta().WithUrl(deltaLink), minimal)
	if len(items) != 1 || deref(items[0].GetId()) != ids[0] {
		t.Fatalf("second round: %v, want only the changed contact", raw)
	}
	got := raw[0]
	if len(got) != 3 || got["displayName"] != "Org zero" || got["jobTitle"] != nil {
		t.Fatalf("return=minimal: %v, want id, displayName and jobTitle (null) only", got)
	}
	if _, ok := got["jobTitle"]; !ok {
		t.Fatalf("return=minimal: a cleared property comes as null: %v", got)
	}
	if deref(items[0].GetDisplayName()) != "Org zero" || items[0].GetMail() != nil {
		t.Fatalf("the SDK model: displayName %q, mail %v", deref(items[0].GetDisplayName()), items[0].GetMail())
	}

	// Soft delete: the next round reports @removed with reason "changed".
	rawJSON(t, http.MethodDelete, srv.BaseURL+"/contacts/"+ids[1], tok, "")
	_, raw, _ = orgRound(t, c, c.Contacts().Delta().WithUrl(deltaLink), &contacts.DeltaRequestBuilderGetRequestConfiguration{})
	found := false
	for _, it := range raw {
		if it["id"] == ids[1] {
			found = fmt.Sprint(it["@removed"]) == "map[reason:changed]"
		}
	}
	if !found {
		t.Fatalf("no @removed (changed) for the soft-deleted contact: %v", raw)
	}
}
