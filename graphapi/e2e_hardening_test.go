package graphapi

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/httpguard"
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

// TestAmbiguousLengthsRefused: behind an httpguard.Listener, a request
// with both Content-Length and Transfer-Encoding is 400 BadRequest with
// Graph's body and a closed connection; the request its body hides is
// never served.
func TestAmbiguousLengthsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	var mu sync.Mutex
	var served []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		served = append(served, r.Method+" "+r.RequestURI)
		mu.Unlock()
		e.api.ServeHTTP(w, r)
	}))
	srv.Listener = httpguard.NewListener(srv.Listener, httpguard.Config{})
	srv.Config.ConnContext = httpguard.ConnContext
	srv.Start()
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hidden := "GET /v1.0/me/contacts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ada.token + "\r\n\r\n"
	fmt.Fprintf(conn, "POST /v1.0/me/contacts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n%s", ada.token, hidden)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := result{status: resp.StatusCode, header: resp.Header, body: body}
	if m := fails(t, r, http.StatusBadRequest, "BadRequest"); !resp.Close || !strings.Contains(m.Message, "Content-Length and Transfer-Encoding") {
		t.Fatalf("close %v, message %q", resp.Close, m.Message)
	}
	if _, err := http.ReadResponse(br, nil); err == nil {
		t.Fatal("a second answer on the connection")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(served) != 1 {
		t.Fatalf("served %v", served)
	}
}

// TestHeadersTooLarge: a head over Config.MaxHeaderBytes is 431 with
// Graph's body and a closed connection.
func TestHeadersTooLarge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxHeaderBytes = 16 << 10 })
	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	ok(t, e.do(t, "GET", "/v1.0/me/contacts", ada.token, nil, "X-Padding", strings.Repeat("a", 14<<10)), 200)
	r := e.do(t, "GET", "/v1.0/me/contacts", ada.token, nil, "X-Padding", strings.Repeat("a", 16<<10))
	fails(t, r, http.StatusRequestHeaderFieldsTooLarge, "RequestHeaderFieldsTooLarge") // net/http's client hides Connection: close
	// Many small fields count as much as one large one.
	var hdr []string
	for i := range 400 {
		hdr = append(hdr, fmt.Sprintf("X-Field-%d", i), strings.Repeat("b", 40))
	}
	fails(t, e.do(t, "GET", "/v1.0/me/contacts", ada.token, nil, hdr...), http.StatusRequestHeaderFieldsTooLarge, "RequestHeaderFieldsTooLarge")
}
