package graphapi

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
)

// keysInOrder returns the member names of a JSON object in their order.
func keysInOrder(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s is not a JSON object: %v", b, err)
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return names
}

// richServer returns a Server on the env's store, for calling
// ResourceData as notify.Sender does, outside any request.
func richServer(t *testing.T, e *env) *Server {
	t.Helper()
	s, err := New(Config{Store: e.store, Auth: e.tokens.authenticator()})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func wantNoData(t *testing.T, what string, b []byte, err error) {
	t.Helper()
	if b != nil || !errors.Is(err, contactgraph.ErrNotFound) {
		t.Errorf("%s: %s, %v; want no data (ENotFound)", what, b, err)
	}
}

func TestResourceDataOfContact(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := richServer(t, e)
	ctx := context.Background()
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	mb, err := e.store.EnsureMailbox(ctx, u.tenant, u.id, u.upn)
	if err != nil {
		t.Fatal(err)
	}
	c := ok(t, e.do(t, "POST", "/v1.0/me/contacts", u.token, map[string]any{
		"givenName": "Ada", "surname": "Lovelace", "jobTitle": "Analyst", "birthday": "1815-12-10T00:00:00Z",
		"categories": []string{"Friends"}, "emailAddresses": []any{map[string]any{"address": "ada@example.com"}},
	}), 201)
	id := str(t, c, "id")

	resource := "me/contacts?$select=givenName,Birthday,categories,emailAddresses"
	sel, err := resourceSelect(resource, "contacts")
	if err != nil {
		t.Fatal(err)
	}
	sub := contactgraph.Subscription{ID: "sub-1", TenantID: u.tenant, AppID: "app", Resource: resource,
		Watched:             contactgraph.Watched{Collection: "contacts", Mailbox: mb, FolderID: mb.RootID},
		IncludeResourceData: true, Select: sel}
	n := contactgraph.Notification{Subscription: sub, Change: contactgraph.ChangeCreated, ObjectID: id}
	b, err := s.ResourceData(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{"@odata.type", "@odata.id", "@odata.etag", "id", "categories", "birthday@odata.type", "birthday", "givenName", "emailAddresses"}
	if got := keysInOrder(t, b); !slices.Equal(got, wantKeys) {
		t.Fatalf("members %v, want %v: %s", got, wantKeys, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	res := "Users/" + u.id + "/Contacts/" + id
	if m["@odata.type"] != "#Microsoft.Graph.Contact" || m["@odata.id"] != res || m["@odata.etag"] != c["@odata.etag"] || m["id"] != id ||
		m["givenName"] != "Ada" || m["birthday"] != "1815-12-10T00:00:00Z" || m["birthday@odata.type"] != "#DateTimeOffset" {
		t.Errorf("resource data %s", b)
	}
	if cats, _ := m["categories"].([]any); len(cats) != 1 || cats[0] != "Friends" {
		t.Errorf("categories %v", m["categories"])
	}

	// The data is the object's state when it is asked for.
	upd := ok(t, e.do(t, "PATCH", "/v1.0/me/contacts/"+id, u.token, map[string]any{"givenName": "Augusta", "birthday": nil}), 200)
	b, err = s.ResourceData(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	m = nil
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["givenName"] != "Augusta" || m["@odata.etag"] != upd["@odata.etag"] || m["birthday"] != nil {
		t.Errorf("after an update: %s", b)
	}
	if _, has := m["birthday@odata.type"]; has {
		t.Errorf("a null date-time carries a type annotation: %s", b)
	}

	// Without a $select, every property, each date-time annotated.
	all := n
	all.Subscription.Select = nil
	b, err = s.ResourceData(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	keys := keysInOrder(t, b)
	if len(keys) != 3+len(contactgraph.ContactSchema.Props)+2 || !slices.Contains(keys, "surname") ||
		!slices.Contains(keys, "createdDateTime@odata.type") || !slices.Contains(keys, "lastModifiedDateTime@odata.type") {
		t.Errorf("all properties: %v", keys)
	}

	// No data: a deletion, a lifecycle event, another scope, a contact
	// that left the folder or is gone.
	del := n
	del.Change = contactgraph.ChangeDeleted
	b, err = s.ResourceData(ctx, del)
	wantNoData(t, "deleted change", b, err)
	lc := contactgraph.Notification{Subscription: sub, Lifecycle: contactgraph.LifecycleMissed}
	b, err = s.ResourceData(ctx, lc)
	wantNoData(t, "lifecycle", b, err)
	foreign := n
	foreign.Subscription.TenantID = contactgraph.TenantID("fabrikam")
	b, err = s.ResourceData(ctx, foreign)
	wantNoData(t, "subscription of another tenant", b, err)
	bob := e.newUser("contoso", "bob@contoso.com", contactgraph.PermContactsReadWrite)
	bobMB, err := e.store.EnsureMailbox(ctx, bob.tenant, bob.id, bob.upn)
	if err != nil {
		t.Fatal(err)
	}
	other := n
	other.Subscription.Watched = contactgraph.Watched{Collection: "contacts", Mailbox: bobMB, FolderID: bobMB.RootID}
	b, err = s.ResourceData(ctx, other)
	wantNoData(t, "another mailbox's subscription", b, err)

	side := ok(t, e.do(t, "POST", "/v1.0/me/contactFolders", u.token, map[string]any{"displayName": "Side"}), 201)
	ok(t, e.do(t, "PATCH", "/v1.0/me/contacts/"+id, u.token, map[string]any{"parentFolderId": str(t, side, "id")}), 200)
	b, err = s.ResourceData(ctx, n)
	wantNoData(t, "moved out of the watched folder", b, err)
	ok(t, e.do(t, "DELETE", "/v1.0/me/contacts/"+id, u.token, nil), 204)
	b, err = s.ResourceData(ctx, n)
	wantNoData(t, "deleted contact", b, err)

	bad := n
	bad.Subscription.Watched.Collection = "events"
	if b, err := s.ResourceData(ctx, bad); b != nil || contactgraph.ErrorCode(err) != contactgraph.EInvalid {
		t.Errorf("unknown collection: %s, %v", b, err)
	}
}

func TestResourceDataOfFolderAndOrgContact(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := richServer(t, e)
	ctx := context.Background()
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	mb, err := e.store.EnsureMailbox(ctx, u.tenant, u.id, u.upn)
	if err != nil {
		t.Fatal(err)
	}
	f := ok(t, e.do(t, "POST", "/v1.0/me/contactFolders", u.token, map[string]any{"displayName": "Clients"}), 201)
	fid := str(t, f, "id")
	sub := contactgraph.Subscription{ID: "sub-f", TenantID: u.tenant, AppID: "app", Resource: "me/contactFolders",
		Watched: contactgraph.Watched{Collection: "folders", Mailbox: mb}, IncludeResourceData: true}
	b, err := s.ResourceData(ctx, contactgraph.Notification{Subscription: sub, Change: contactgraph.ChangeUpdated, ObjectID: fid})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"@odata.type":"#Microsoft.Graph.ContactFolder","@odata.id":"Users/` + u.id + `/ContactFolders/` + fid +
		`","id":"` + fid + `","displayName":"Clients","parentFolderId":"` + mb.RootID + `"}`
	if string(b) != want {
		t.Errorf("folder:\n got %s\nwant %s", b, want)
	}
	under := sub
	under.Watched.FolderID = fid // children of Clients: Clients itself is not one
	b, err = s.ResourceData(ctx, contactgraph.Notification{Subscription: under, Change: contactgraph.ChangeUpdated, ObjectID: fid})
	wantNoData(t, "folder outside the watched parent", b, err)

	o, err := e.store.CreateOrgContact(ctx, u.tenant, contactgraph.OrgContactInput{Props: map[string]json.RawMessage{
		"displayName": json.RawMessage(`"Contoso Legal"`), "mail": json.RawMessage(`"legal@contoso.com"`),
		"onPremisesLastSyncDateTime": json.RawMessage(`"2026-01-02T03:04:05Z"`)}})
	if err != nil {
		t.Fatal(err)
	}
	sel, err := resourceSelect("contacts?$select=mail,onPremisesLastSyncDateTime", "orgContacts")
	if err != nil {
		t.Fatal(err)
	}
	orgSub := contactgraph.Subscription{ID: "sub-o", TenantID: u.tenant, AppID: "app", Resource: "contacts",
		Watched: contactgraph.Watched{Collection: "orgContacts", Mailbox: contactgraph.Mailbox{TenantID: u.tenant}}, IncludeResourceData: true, Select: sel}
	on := contactgraph.Notification{Subscription: orgSub, Change: contactgraph.ChangeCreated, ObjectID: o.ID}
	b, err = s.ResourceData(ctx, on)
	if err != nil {
		t.Fatal(err)
	}
	want = `{"@odata.type":"#Microsoft.Graph.OrgContact","@odata.id":"Contacts/` + o.ID + `","id":"` + o.ID +
		`","mail":"legal@contoso.com","onPremisesLastSyncDateTime@odata.type":"#DateTimeOffset","onPremisesLastSyncDateTime":"2026-01-02T03:04:05Z"}`
	if string(b) != want {
		t.Errorf("org contact:\n got %s\nwant %s", b, want)
	}
	foreign := on
	foreign.Subscription.TenantID = contactgraph.TenantID("fabrikam")
	b, err = s.ResourceData(ctx, foreign)
	wantNoData(t, "org contact of another tenant", b, err)
	if err := e.store.DeleteOrgContact(ctx, u.tenant, o.ID); err != nil {
		t.Fatal(err)
	}
	b, err = s.ResourceData(ctx, on)
	wantNoData(t, "org contact in deleted items", b, err)
}

func TestResourceSelect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		resource, collection string
		want                 []string // nil with ok: no $select
		ok                   bool
	}{
		{"me/contacts", "contacts", nil, true},
		{"me/contacts?$select=givenName", "contacts", []string{"id", "givenName"}, true},
		{"users/u1/contacts?%24SELECT=surname,%20givenName", "contacts", []string{"id", "givenName", "surname"}, true},
		{"me/contacts?$filter=x&$select=surname", "contacts", []string{"id", "surname"}, true},
		{"me/contactFolders?$select=displayName", "folders", []string{"id", "displayName"}, true},
		{"contacts?$select=mail", "orgContacts", []string{"id", "mail"}, true},
		{"me/contacts?$select=givenName&$select=surname", "contacts", nil, false},
		{"me/contacts?$select=shoeSize", "contacts", nil, false},
		{"me/contacts?$select=%zz", "contacts", nil, false},
		{"contacts?$select=givenName", "orgContacts", []string{"id", "givenName"}, true},
		{"me/events?$select=subject", "events", nil, false},
	}
	for _, tt := range tests {
		got, err := resourceSelect(tt.resource, tt.collection)
		if tt.ok != (err == nil) || !slices.Equal(got, tt.want) {
			t.Errorf("resourceSelect(%q, %q) = %v, %v", tt.resource, tt.collection, got, err)
		}
		if err != nil && contactgraph.ErrorCode(err) != contactgraph.EInvalid {
			t.Errorf("resourceSelect(%q): code %s, want EInvalid", tt.resource, contactgraph.ErrorCode(err))
		}
	}
}
