package graphapi

import (
	"fmt"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
)

func TestUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.tokens.app("contoso", "admin", contactgraph.PermDirectoryReadWrite)
	reader := e.tokens.app("contoso", "reader", contactgraph.PermUserReadBasic)
	contactsOnly := e.tokens.app("contoso", "sync", contactgraph.PermContactsReadWrite)
	base := e.srv.URL + "/v1.0"

	// The body the Go SDK sends for a new user.
	body := map[string]any{
		"@odata.type":       "#microsoft.graph.user",
		"accountEnabled":    true,
		"displayName":       "Grace Hopper",
		"mailNickname":      "grace",
		"userPrincipalName": "grace@contoso.com",
		"passwordProfile":   map[string]any{"forceChangePasswordNextSignIn": true, "password": "xWwvJ]6NMw+bWH-d"},
	}
	r := e.do(t, "POST", "/v1.0/users", admin, gzipBytes(t, mustJSON(t, body)), "Content-Encoding", "gzip")
	u := ok(t, r, 201)
	id := str(t, u, "id")
	tid := contactgraph.TenantID("contoso")
	if id != contactgraph.UserID(tid, "grace@contoso.com") || str(t, u, "displayName") != "Grace Hopper" ||
		str(t, u, "userPrincipalName") != "grace@contoso.com" || str(t, u, "mail") != "grace@contoso.com" ||
		str(t, u, "@odata.context") != base+"/$metadata#users/$entity" || len(u) != 12 {
		t.Fatalf("created %s", r.body)
	}
	if loc := r.header.Get("Location"); loc != base+"/users/"+id {
		t.Errorf("Location %q", loc)
	}

	t.Run("duplicate", func(t *testing.T) {
		fails(t, e.do(t, "POST", "/v1.0/users", admin, map[string]any{"userPrincipalName": "GRACE@contoso.com"}), 400, "Request_BadRequest")
	})
	t.Run("bad bodies", func(t *testing.T) {
		for _, b := range []any{
			map[string]any{"displayName": "No UPN"},
			map[string]any{"userPrincipalName": "no-at-sign"},
			map[string]any{"userPrincipalName": 5},
			map[string]any{"userPrincipalName": "a@b", "mail": "nope"},
			[]byte(`not json`),
			[]byte(`["x"]`),
		} {
			fails(t, e.do(t, "POST", "/v1.0/users", admin, b), 400, "Request_BadRequest")
		}
	})
	t.Run("get", func(t *testing.T) {
		for _, key := range []string{id, strings.ToUpper(id), "grace@contoso.com", "Grace@Contoso.com", "grace%40contoso.com", "('grace@contoso.com')"} {
			p := "/v1.0/users/" + key
			if strings.HasPrefix(key, "(") {
				p = "/v1.0/users" + key
			}
			got := ok(t, e.do(t, "GET", p, reader, nil), 200)
			if str(t, got, "id") != id {
				t.Errorf("%s: %v", key, got)
			}
		}
		sel := ok(t, e.do(t, "GET", "/v1.0/users/"+id+"?$select=mail", reader, nil), 200)
		if len(sel) != 3 || sel["mail"] == nil {
			t.Errorf("$select=mail %v", sel)
		}
		fails(t, e.do(t, "GET", "/v1.0/users/"+id+"?$select=shoeSize", reader, nil), 400, "Request_BadRequest")
		if sel := ok(t, e.do(t, "GET", "/v1.0/users/"+id+"?$select=jobTitle", reader, nil), 200); len(sel) != 3 || sel["jobTitle"] != nil {
			t.Errorf("$select=jobTitle (not kept: null) %v", sel)
		}
		er := fails(t, e.do(t, "GET", "/v1.0/users/nobody@contoso.com", reader, nil), 404, "Request_ResourceNotFound")
		if !strings.Contains(er.Message, "nobody@contoso.com") {
			t.Errorf("message %q", er.Message)
		}
		fails(t, e.do(t, "GET", "/v1.0/users/not-a-user", reader, nil), 404, "Request_ResourceNotFound")
	})
	t.Run("list", func(t *testing.T) {
		l := ok(t, e.do(t, "GET", "/v1.0/users", reader, nil), 200)
		if vs := values(t, l); len(vs) != 1 || str(t, vs[0], "id") != id || str(t, l, "@odata.context") != base+"/$metadata#users" {
			t.Errorf("list %v", l)
		}
	})
	t.Run("permissions", func(t *testing.T) {
		er := fails(t, e.do(t, "GET", "/v1.0/users", contactsOnly, nil), 403, "Authorization_RequestDenied")
		if er.Message != "Insufficient privileges to complete the operation." {
			t.Errorf("message %q", er.Message)
		}
		fails(t, e.do(t, "POST", "/v1.0/users", reader, map[string]any{"userPrincipalName": "x@contoso.com"}), 403, "Authorization_RequestDenied")
		fails(t, e.do(t, "DELETE", "/v1.0/users/"+id, reader, nil), 403, "Authorization_RequestDenied")
		fails(t, e.do(t, "PATCH", "/v1.0/users/"+id, admin, map[string]any{}), 405, "Request_BadRequest")
	})
	t.Run("mailbox of a created user", func(t *testing.T) {
		ok(t, e.do(t, "POST", "/v1.0/users/grace@contoso.com/contacts", contactsOnly, map[string]any{"givenName": "Ada"}), 201)
		if vs := values(t, ok(t, e.do(t, "GET", "/v1.0/users/"+id+"/contacts", contactsOnly, nil), 200)); len(vs) != 1 {
			t.Errorf("contacts %v", vs)
		}
	})
	t.Run("delete", func(t *testing.T) {
		ok(t, e.do(t, "POST", "/v1.0/users", admin, map[string]any{"userPrincipalName": "tmp@contoso.com"}), 201)
		ok(t, e.do(t, "DELETE", "/v1.0/users/tmp@contoso.com", admin, nil), 204)
		fails(t, e.do(t, "GET", "/v1.0/users/tmp@contoso.com", admin, nil), 404, "Request_ResourceNotFound")
		fails(t, e.do(t, "DELETE", "/v1.0/users/tmp@contoso.com", admin, nil), 404, "Request_ResourceNotFound")
		fails(t, e.do(t, "GET", "/v1.0/users/tmp@contoso.com/contacts", contactsOnly, nil), 404, "ErrorInvalidUser")
	})
}

// TestMe: GET /me answers the signed-in user in Graph's shape, creating it
// on first access; it needs a permission that reads the user; an app
// token is 400; /users/me-token-to-replace (the Go SDK without its URL
// middleware) is the same.
func TestMe(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermUserReadSelf)
	for _, path := range []string{"/v1.0/me", "/v1.0/users/me-token-to-replace", "/v1.0/me?$select=displayName,id"} {
		m := ok(t, e.do(t, "GET", path, ada.token, nil), 200)
		if m["id"] != ada.id || m["userPrincipalName"] != nil && m["userPrincipalName"] != ada.upn || m["@odata.context"] != e.srv.URL+"/v1.0/$metadata#users/$entity" {
			t.Errorf("%s: %v", path, m)
		}
	}
	full := ok(t, e.do(t, "GET", "/v1.0/me", ada.token, nil), 200)
	if fmt.Sprint(full["businessPhones"]) != "[]" || full["surname"] != nil || len(full) != 12 {
		t.Errorf("GET /me shape: %v", full)
	}
	sel := ok(t, e.do(t, "GET", "/v1.0/me?$select=displayName", ada.token, nil), 200)
	if len(sel) != 3 || sel["displayName"] != "ada" && sel["displayName"] == nil {
		t.Errorf("$select=displayName: %v", sel)
	}
	fails(t, e.do(t, "GET", "/v1.0/me?$select=shoeSize", ada.token, nil), 400, "Request_BadRequest")
	other := e.newUser("fabrikam", "bob@fabrikam.com", contactgraph.PermUserReadSelf)
	if m := ok(t, e.do(t, "GET", "/v1.0/me", other.token, nil), 200); m["id"] != other.id {
		t.Errorf("another tenant's /me: %v", m)
	}
	contactsOnly := e.newUser("contoso", "cy@contoso.com", contactgraph.PermContactsRead)
	fails(t, e.do(t, "GET", "/v1.0/me", contactsOnly.token, nil), 403, "Authorization_RequestDenied")
	app := e.tokens.app("contoso", "daemon", contactgraph.PermUserRead)
	fails(t, e.do(t, "GET", "/v1.0/me", app, nil), 400, "BadRequest")
	fails(t, e.do(t, "DELETE", "/v1.0/me", ada.token, nil), 405, "Request_BadRequest")
}
