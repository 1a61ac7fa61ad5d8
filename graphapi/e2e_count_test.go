package graphapi

import (
	"net/http"
	"testing"
)

func TestCount(t *testing.T) {
	e := newEnv(t)
	u := e.newUser("contoso", "alice@contoso.com", "Contacts.ReadWrite")
	f := str(t, e.post(t, "/v1.0/me/contactFolders", u.token, `{"displayName":"F"}`), "id")
	e.post(t, "/v1.0/me/contactFolders/"+f+"/childFolders", u.token, `{"displayName":"G"}`)
	for i := 0; i < 3; i++ {
		e.post(t, "/v1.0/me/contacts", u.token, `{"givenName":"x"}`)
	}
	e.post(t, "/v1.0/me/contactFolders/"+f+"/contacts", u.token, `{"givenName":"y"}`)
	for path, want := range map[string]string{
		"/v1.0/me/contacts/$count":                                                   "3",
		"/v1.0/me/contacts/%24count":                                                 "3",
		"/v1.0/me/contactFolders/$count":                                             "1",
		"/v1.0/me/contactFolders/" + f + "/contacts/$count":                          "1",
		"/v1.0/me/contactFolders/" + f + "/childFolders/$count":                      "1",
		"/v1.0/users/alice@contoso.com/contactFolders/" + f + "/childFolders/$count": "1",
	} {
		r := e.do(t, http.MethodGet, path, u.token, nil)
		if r.status != http.StatusOK || string(r.body) != want || r.header.Get("Content-Type") != "text/plain;charset=utf-8" {
			t.Errorf("%s: %d %q %q, want %s", path, r.status, r.body, r.header.Get("Content-Type"), want)
		}
	}
	m := ok(t, e.do(t, http.MethodGet, "/v1.0/me/contacts?$count=true&$top=2", u.token, nil), http.StatusOK)
	if m["@odata.count"] != float64(3) || len(values(t, m)) != 2 {
		t.Fatalf("$count=true: %v", m)
	}
	next := str(t, m, "@odata.nextLink")
	m = ok(t, e.do(t, http.MethodGet, next, u.token, nil), http.StatusOK)
	if m["@odata.count"] != float64(3) || len(values(t, m)) != 1 {
		t.Fatalf("$count is carried into the nextLink: %v", m)
	}
	m = ok(t, e.do(t, http.MethodGet, "/v1.0/me/contactFolders?$count=true", u.token, nil), http.StatusOK)
	if m["@odata.count"] != float64(1) {
		t.Fatalf("folders $count=true: %v", m)
	}
	// Without $count=true no list carries @odata.count.
	for _, path := range []string{
		"/v1.0/me/contacts", "/v1.0/me/contacts?$count=false", "/v1.0/me/contactFolders",
		"/v1.0/me/contactFolders/" + f + "/childFolders", "/v1.0/me/contactFolders/" + f + "/contacts?$top=1",
	} {
		if m := ok(t, e.do(t, http.MethodGet, path, u.token, nil), http.StatusOK); m["@odata.count"] != nil {
			t.Errorf("%s: @odata.count without $count=true: %v", path, m)
		}
	}
	fails(t, e.do(t, http.MethodGet, "/v1.0/me/contacts?$count=maybe", u.token, nil), 400, "ErrorInvalidRequest")
	fails(t, e.do(t, http.MethodGet, "/v1.0/me/contactFolders/"+idA+"/contacts/$count", u.token, nil), 404, "ErrorItemNotFound")

	admin := e.tokens.app("contoso", "hr", "Directory.ReadWrite.All")
	e.post(t, "/v1.0/contacts", admin, `{"displayName":"A"}`)
	r := e.do(t, http.MethodGet, "/v1.0/contacts/$count", admin, nil, "ConsistencyLevel", "eventual")
	if r.status != http.StatusOK || string(r.body) != "1" {
		t.Fatalf("/contacts/$count: %d %s", r.status, r.body)
	}
	fails(t, e.do(t, http.MethodGet, "/v1.0/contacts/$count", admin, nil), 400, "Request_UnsupportedQuery")
	if m := ok(t, e.do(t, http.MethodGet, "/v1.0/contacts", admin, nil), http.StatusOK); m["@odata.count"] != nil {
		t.Errorf("org contacts: @odata.count without $count=true: %v", m)
	}
}

// TestResyncLocation: a token of another database is 410 resyncRequired
// with a Location to start over from.
func TestResyncLocation(t *testing.T) {
	a, b := newEnv(t), newEnv(t)
	ua := a.newUser("contoso", "alice@contoso.com", "Contacts.ReadWrite")
	ub := b.newUser("contoso", "alice@contoso.com", "Contacts.ReadWrite")
	_, dl := a.round(t, "/v1.0/me/contactFolders/delta", ua.token)
	tok := dl[len(a.srv.URL):]
	r := b.do(t, http.MethodGet, tok, ub.token, nil)
	fails(t, r, 410, "resyncRequired")
	if loc := r.header.Get("Location"); loc != b.srv.URL+"/v1.0/me/contactFolders/delta" {
		t.Fatalf("Location = %q", loc)
	}
}
