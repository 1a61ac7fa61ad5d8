package graphapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/golang-jwt/jwt/v5"
)

func TestAuthErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	reader := e.newUser("contoso", "rea@contoso.com", contactgraph.PermContactsRead)
	noScope := e.newUser("contoso", "nos@contoso.com", contactgraph.PermUserRead)
	app := e.tokens.app("contoso", "sync", contactgraph.PermContactsReadWrite)

	t.Run("missing token", func(t *testing.T) {
		t.Parallel()
		r := e.do(t, "GET", "/v1.0/me/contacts", "", nil)
		er := fails(t, r, 401, "InvalidAuthenticationToken")
		if er.Message != "Access token is empty." || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("message %q, WWW-Authenticate %q", er.Message, r.header.Get("WWW-Authenticate"))
		}
	})
	t.Run("empty bearer", func(t *testing.T) {
		t.Parallel()
		r := e.do(t, "GET", "/v1.0/me/contacts", "", nil, "Authorization", "Bearer   ")
		if er := fails(t, r, 401, "InvalidAuthenticationToken"); er.Message != "Access token is empty." {
			t.Errorf("message %q", er.Message)
		}
	})
	t.Run("basic scheme", func(t *testing.T) {
		t.Parallel()
		fails(t, e.do(t, "GET", "/v1.0/me/contacts", "", nil, "Authorization", "Basic YTpi"), 401, "InvalidAuthenticationToken")
	})
	t.Run("garbled token", func(t *testing.T) {
		t.Parallel()
		for _, tok := range []string{"not.a.token", "garbage", ada.token[:len(ada.token)-4] + "AAAA", ada.token + "x"} {
			r := e.do(t, "GET", "/v1.0/me/contacts", tok, nil)
			_, want := e.tokens.local.Authenticate(context.Background(), tok)
			if er := fails(t, r, 401, "InvalidAuthenticationToken"); want == nil || er.Message != contactgraph.ErrorMessage(want) {
				t.Errorf("message %q, want the authenticator's %v", er.Message, want)
			}
		}
	})
	t.Run("expired token", func(t *testing.T) {
		t.Parallel()
		tok := e.tokens.expired("contoso", "ada@contoso.com", contactgraph.PermContactsRead)
		er := fails(t, e.do(t, "GET", "/v1.0/me/contacts", tok, nil), 401, "InvalidAuthenticationToken")
		if !strings.Contains(er.Message, "expired") {
			t.Errorf("message %q", er.Message)
		}
	})
	t.Run("401 on unknown paths too", func(t *testing.T) {
		t.Parallel()
		fails(t, e.do(t, "GET", "/v1.0/nowhere", "", nil), 401, "InvalidAuthenticationToken")
	})
	t.Run("missing scope", func(t *testing.T) {
		t.Parallel()
		r := e.do(t, "GET", "/v1.0/me/contacts", noScope.token, nil)
		if er := fails(t, r, 403, "ErrorAccessDenied"); er.Message != "Access is denied. Check credentials and try again." {
			t.Errorf("message %q", er.Message)
		}
	})
	t.Run("read scope reads", func(t *testing.T) {
		t.Parallel()
		ok(t, e.do(t, "GET", "/v1.0/me/contactFolders", reader.token, nil), 200)
	})
	t.Run("read scope on write", func(t *testing.T) {
		t.Parallel()
		fails(t, e.do(t, "POST", "/v1.0/me/contacts", reader.token, map[string]any{"givenName": "X"}), 403, "ErrorAccessDenied")
		fails(t, e.do(t, "POST", "/v1.0/me/contactFolders", reader.token, map[string]any{"displayName": "X"}), 403, "ErrorAccessDenied")
		fails(t, e.do(t, "DELETE", "/v1.0/me/contacts/"+idA, reader.token, nil), 403, "ErrorAccessDenied")
	})
	t.Run("another user's mailbox", func(t *testing.T) {
		t.Parallel()
		fails(t, e.do(t, "GET", "/v1.0/users/"+reader.upn+"/contacts", ada.token, nil), 403, "ErrorAccessDenied")
		fails(t, e.do(t, "GET", "/v1.0/users/"+reader.id+"/contactFolders", ada.token, nil), 403, "ErrorAccessDenied")
	})
	t.Run("own mailbox by id, upn and SDK alias", func(t *testing.T) {
		t.Parallel()
		c := ok(t, e.do(t, "POST", "/v1.0/me/contacts", ada.token, map[string]any{"givenName": "Self"}), 201)
		id := str(t, c, "id")
		for _, p := range []string{"/v1.0/users/" + ada.id, "/v1.0/users/ADA@contoso.com", "/v1.0/users/me-token-to-replace", "/v1.0/me"} {
			got := ok(t, e.do(t, "GET", p+"/contacts/"+id, ada.token, nil), 200)
			if str(t, got, "givenName") != "Self" {
				t.Errorf("%s: %v", p, got)
			}
		}
	})
	t.Run("me with an app token", func(t *testing.T) {
		t.Parallel()
		r := e.do(t, "GET", "/v1.0/me/contacts", app, nil)
		if er := fails(t, r, 400, "BadRequest"); er.Message != "/me request is only valid with delegated authentication flow." {
			t.Errorf("message %q", er.Message)
		}
		fails(t, e.do(t, "GET", "/v1.0/users/me-token-to-replace/contactFolders/delta()", app, nil), 400, "BadRequest")
	})
	t.Run("app token to an unknown user", func(t *testing.T) {
		t.Parallel()
		r := e.do(t, "GET", "/v1.0/users/ghost@contoso.com/contacts", app, nil)
		if er := fails(t, r, 404, "ErrorInvalidUser"); er.Message != "The requested user 'ghost@contoso.com' is invalid." {
			t.Errorf("message %q", er.Message)
		}
		fails(t, e.do(t, "GET", "/v1.0/users/not-a-user/contacts", app, nil), 404, "ErrorInvalidUser")
	})
	t.Run("app token reaches any mailbox", func(t *testing.T) {
		t.Parallel()
		u := e.newUser("contoso", "bob@contoso.com", contactgraph.PermContactsReadWrite)
		c := ok(t, e.do(t, "POST", "/v1.0/me/contacts", u.token, map[string]any{"givenName": "Bob's"}), 201)
		for _, key := range []string{u.upn, u.id} {
			got := ok(t, e.do(t, "GET", "/v1.0/users/"+key+"/contacts/"+str(t, c, "id"), app, nil), 200)
			if str(t, got, "givenName") != "Bob's" {
				t.Errorf("%v", got)
			}
		}
		ok(t, e.do(t, "POST", "/v1.0/users/"+u.upn+"/contactFolders", app, map[string]any{"displayName": "By app"}), 201)
	})
	t.Run("app without contacts role", func(t *testing.T) {
		t.Parallel()
		tok := e.tokens.app("contoso", "dir", contactgraph.PermUserReadWrite)
		fails(t, e.do(t, "GET", "/v1.0/users/"+ada.upn+"/contacts", tok, nil), 403, "ErrorAccessDenied")
	})
}

// TestAlgorithmPin checks over HTTP that the server accepts only RS256: a
// token with valid claims signed with the server's own key, but with
// another RSA algorithm, is refused.
func TestAlgorithmPin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	valid := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsRead).token
	for _, tc := range []struct {
		method jwt.SigningMethod
		ok     bool
	}{
		{jwt.SigningMethodRS256, true},
		{jwt.SigningMethodRS512, false},
		{jwt.SigningMethodPS256, false},
	} {
		t.Run(tc.method.Alg(), func(t *testing.T) {
			t.Parallel()
			tok := e.tokens.resign(tc.method, valid)
			r := e.do(t, "GET", "/v1.0/me/contacts", tok, nil)
			if tc.ok {
				ok(t, r, 200)
				return
			}
			er := fails(t, r, 401, "InvalidAuthenticationToken")
			if !strings.Contains(er.Message, "algorithm") {
				t.Errorf("message %q, want the algorithm refused", er.Message)
			}
		})
	}
}

// TestTenantIsolation checks that nothing of one tenant is reachable from
// another: ids and users of tenant A are not found with tenant B's tokens.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	b := e.newUser("fabrikam", "bea@fabrikam.com", contactgraph.PermContactsReadWrite)
	appB := e.tokens.app("fabrikam", "sync", contactgraph.PermContactsReadWrite)
	c := ok(t, e.do(t, "POST", "/v1.0/me/contacts", a.token, map[string]any{"givenName": "Secret"}), 201)
	f := ok(t, e.do(t, "POST", "/v1.0/me/contactFolders", a.token, map[string]any{"displayName": "A's"}), 201)
	ok(t, e.do(t, "GET", "/v1.0/me/contacts", b.token, nil), 200) // creates B's mailbox

	cid, fid := str(t, c, "id"), str(t, f, "id")
	fails(t, e.do(t, "GET", "/v1.0/users/"+b.upn+"/contacts/"+cid, appB, nil), 404, "ErrorItemNotFound")
	fails(t, e.do(t, "GET", "/v1.0/me/contacts/"+cid, b.token, nil), 404, "ErrorItemNotFound")
	fails(t, e.do(t, "PATCH", "/v1.0/me/contacts/"+cid, b.token, map[string]any{"givenName": "Stolen"}), 404, "ErrorItemNotFound")
	fails(t, e.do(t, "DELETE", "/v1.0/me/contacts/"+cid, b.token, nil), 404, "ErrorItemNotFound")
	fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+fid, b.token, nil), 404, "ErrorItemNotFound")
	fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+fid+"/contacts", b.token, nil), 404, "ErrorItemNotFound")
	fails(t, e.do(t, "POST", "/v1.0/me/contactFolders", b.token, map[string]any{"displayName": "x", "parentFolderId": fid}), 404, "ErrorItemNotFound")
	fails(t, e.do(t, "GET", "/v1.0/users/"+a.upn+"/contacts", appB, nil), 404, "ErrorInvalidUser")
	fails(t, e.do(t, "GET", "/v1.0/users/"+a.id+"/contacts", appB, nil), 404, "ErrorInvalidUser")
	// A's data is intact.
	if got := ok(t, e.do(t, "GET", "/v1.0/me/contacts/"+cid, a.token, nil), 200); str(t, got, "givenName") != "Secret" {
		t.Errorf("A's contact changed: %v", got)
	}
	// A user of tenant A cannot be read or deleted from tenant B.
	dirB := e.tokens.app("fabrikam", "dir", contactgraph.PermUserReadWrite)
	fails(t, e.do(t, "GET", "/v1.0/users/"+a.upn, dirB, nil), 404, "Request_ResourceNotFound")
	fails(t, e.do(t, "DELETE", "/v1.0/users/"+a.id, dirB, nil), 404, "Request_ResourceNotFound")
	if vs := values(t, ok(t, e.do(t, "GET", "/v1.0/users", dirB, nil), 200)); len(vs) != 1 || str(t, vs[0], "userPrincipalName") != b.upn {
		t.Errorf("tenant B lists %v", vs)
	}
}

// TestFirstAccessConcurrent checks that parallel first requests of a new
// user all succeed and share one mailbox.
func TestFirstAccessConcurrent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newUser("contoso", "new@contoso.com", contactgraph.PermContactsReadWrite)
	const n = 8
	roots := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do(t, "POST", "/v1.0/me/contacts", u.token, map[string]any{"givenName": fmt.Sprint(i)})
			if r.status != 201 {
				t.Errorf("first access %d: %d %s", i, r.status, r.body)
				return
			}
			var m map[string]any
			_ = json.Unmarshal(r.body, &m)
			roots <- fmt.Sprint(m["parentFolderId"])
		}()
	}
	wg.Wait()
	close(roots)
	seen := map[string]bool{}
	for r := range roots {
		seen[r] = true
	}
	if len(seen) != 1 {
		t.Errorf("contacts landed in %d default folders: %v", len(seen), seen)
	}
	if vs := values(t, ok(t, e.do(t, "GET", "/v1.0/me/contacts?$top=50", u.token, nil), 200)); len(vs) != n {
		t.Errorf("%d contacts, want %d", len(vs), n)
	}
}
