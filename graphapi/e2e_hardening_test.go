package graphapi

import (
	"net/http"
	"testing"

	"github.com/contactgraph/contactgraph"
)

// TestTwoAuthorizationHeaders: a request with two Authorization headers
// is refused, whichever of them is valid: servers and proxies that read
// the last one would see another caller than the first.
func TestTwoAuthorizationHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	bob := e.newUser("contoso", "bob@contoso.com", contactgraph.PermContactsReadWrite)
	for _, second := range []string{"Bearer " + bob.token, "Bearer " + ada.token, "Basic eDp5", ""} {
		r := e.do(t, "GET", "/v1.0/me/contacts", ada.token, nil, "Authorization", second)
		m := fails(t, r, http.StatusUnauthorized, "InvalidAuthenticationToken")
		if m.Message != "The request has more than one Authorization header." {
			t.Errorf("second header %q: message %q", second, m.Message)
		}
	}
	ok(t, e.do(t, "GET", "/v1.0/me/contacts", ada.token, nil), 200)
}
