package graphapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/sqlite"
)

func TestWireHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)

	r := e.do(t, "GET", "/v1.0/me/contacts", u.token, nil, "client-request-id", "7f0c1c1e-client")
	ok(t, r, 200)
	if r.header.Get("client-request-id") != "7f0c1c1e-client" || r.header.Get("request-id") == "7f0c1c1e-client" {
		t.Errorf("ids %v", r.header)
	}
	r2 := e.do(t, "GET", "/v1.0/me/contacts", u.token, nil)
	if r2.header.Get("client-request-id") != r2.header.Get("request-id") || r2.header.Get("request-id") == r.header.Get("request-id") {
		t.Errorf("ids %v vs %v", r2.header, r.header)
	}
	// Errors, 401s and 204s carry the ids too (checked by e.do); the error
	// body repeats them.
	r3 := e.do(t, "GET", "/v1.0/me/contacts", "", nil, "client-request-id", "abc")
	if er := fails(t, r3, 401, "InvalidAuthenticationToken"); er.InnerError.ClientRequestID != "abc" || er.InnerError.Date != "2026-11-24T10:00:00" {
		t.Errorf("innerError %+v", er.InnerError)
	}
	f := ok(t, e.do(t, "POST", "/v1.0/me/contactFolders", u.token, map[string]any{"displayName": "x"}), 201)
	ok(t, e.do(t, "DELETE", "/v1.0/me/contactFolders/"+str(t, f, "id"), u.token, nil), 204)
}

func TestRoutingErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	root := e.rootID(t, u)

	t.Run("unknown segments", func(t *testing.T) {
		for p, seg := range map[string]string{
			"/v1.0/me/photos":                       "photos",
			"/v1.0/me/contacts/" + root + "/photos": "photos",
			"/v1.0/groups":                          "groups",
			"/v1.0/me/contactFolders/delta/more":    "more",
		} {
			er := fails(t, e.do(t, "GET", p, u.token, nil), 400, "BadRequest")
			if er.Message != "Resource not found for the segment '"+seg+"'." {
				t.Errorf("%s: message %q", p, er.Message)
			}
		}
		fails(t, e.do(t, "GET", "/beta/me/contacts", u.token, nil), 400, "BadRequest")
		fails(t, e.do(t, "GET", "/", u.token, nil), 400, "BadRequest")
	})
	t.Run("wrong method", func(t *testing.T) {
		for _, tt := range []struct{ method, path, allow string }{
			{"PUT", "/v1.0/me/contacts", "GET, POST"},
			{"DELETE", "/v1.0/me/contacts", "GET, POST"},
			{"POST", "/v1.0/me/contacts/" + root, "GET, PATCH, DELETE"},
			{"POST", "/v1.0/me/contacts/delta()", "GET"},
			{"PATCH", "/v1.0/me/contactFolders", "GET, POST"},
			{"HEAD", "/v1.0/me/contactFolders/delta", "GET"},
		} {
			r := e.do(t, tt.method, tt.path, u.token, nil)
			if r.status != 405 || r.header.Get("Allow") != tt.allow {
				t.Errorf("%s %s: %d, Allow %q", tt.method, tt.path, r.status, r.header.Get("Allow"))
			}
			if tt.method != "HEAD" {
				fails(t, r, 405, "BadRequest")
			}
		}
	})
}

// TestDeltaRouting checks that every delta route and spelling reaches the
// delta handlers with the right mailbox and collection: the default folder
// for /contacts/delta, the path's last folder otherwise, every folder for
// /contactFolders/delta and the path folder's children for childFolders/delta.
func TestDeltaRouting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	other := e.newUser("contoso", "bob@contoso.com", contactgraph.PermContactsReadWrite)
	app := e.tokens.app("contoso", "sync", contactgraph.PermContactsRead)
	post := func(path string, body map[string]any) string {
		return str(t, ok(t, e.do(t, "POST", path, u.token, body), 201), "id")
	}
	f := post("/v1.0/me/contactFolders", map[string]any{"displayName": "F"})
	g := post("/v1.0/me/contactFolders/"+f+"/childFolders", map[string]any{"displayName": "G"})
	c0 := post("/v1.0/me/contacts", map[string]any{"givenName": "c0"})
	c1 := post("/v1.0/me/contactFolders/"+f+"/contacts", map[string]any{"givenName": "c1"})
	c2 := post("/v1.0/me/contactFolders/"+g+"/contacts", map[string]any{"givenName": "c2"})
	ok(t, e.do(t, "GET", "/v1.0/me/contacts", other.token, nil), 200) // bob's mailbox, empty

	// ids reads a first delta round and returns the ids it reports.
	ids := func(t *testing.T, token, path string) string {
		t.Helper()
		m := ok(t, e.do(t, "GET", path, token, nil, "Prefer", "odata.maxpagesize=50"), 200)
		if _, has := m["@odata.deltaLink"]; !has {
			t.Fatalf("%s: no deltaLink in %v", path, m)
		}
		var out []string
		for _, v := range values(t, m) {
			out = append(out, str(t, v, "id"))
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}
	sorted := func(s ...string) string { slices.Sort(s); return strings.Join(s, ",") }
	for _, tt := range []struct {
		paths []string
		token string
		want  string
	}{
		{[]string{"/v1.0/me/contacts/delta", "/v1.0/me/contacts/delta()", "/v1.0/me/contacts/delta%28%29",
			"/v1.0/me/Contacts/microsoft.graph.delta", "/v1.0/me/contacts/microsoft.graph.delta()",
			"/v1.0/users/me-token-to-replace/contacts/delta()", "/v1.0/users/" + u.upn + "/contacts/delta()"}, u.token, c0},
		{[]string{"/v1.0/users/" + u.upn + "/contacts/delta()", "/v1.0/users/" + u.id + "/contacts/delta"}, app, c0},
		{[]string{"/v1.0/me/contactFolders/" + f + "/contacts/delta()", "/v1.0/me/contactfolders('" + f + "')/contacts/Delta"}, u.token, c1},
		{[]string{"/v1.0/me/contactFolders/" + f + "/childFolders/" + g + "/contacts/delta()", "/v1.0/me/contactFolders/" + g + "/contacts/delta"}, u.token, c2},
		{[]string{"/v1.0/me/contactFolders/delta()", "/v1.0/me/contactFolders/microsoft.graph.delta", "/v1.0/me/CONTACTFOLDERS/delta%28%29"}, u.token, sorted(f, g)},
		{[]string{"/v1.0/users/" + u.upn + "/contactFolders/delta()"}, app, sorted(f, g)},
		{[]string{"/v1.0/me/contactFolders/" + f + "/childFolders/delta()", "/v1.0/me/contactFolders('" + f + "')/childFolders/microsoft.graph.delta()"}, u.token, g},
		{[]string{"/v1.0/me/contacts/delta()", "/v1.0/me/contactFolders/delta()"}, other.token, ""},
	} {
		for _, p := range tt.paths {
			if got := ids(t, tt.token, p); got != tt.want {
				t.Errorf("%s: ids %q, want %q", p, got, tt.want)
			}
		}
	}

	missing := contactgraph.NewID()
	for _, p := range []string{
		"/v1.0/me/contactFolders/" + missing + "/contacts/delta()",
		"/v1.0/me/contactFolders/" + missing + "/childFolders/delta()",
		"/v1.0/me/contactFolders/" + g + "/childFolders/" + f + "/contacts/delta()",
		"/v1.0/me/contactFolders/" + f + "/childFolders/" + missing + "/contacts/delta()",
		"/v1.0/me/contactFolders/" + f + "/contacts/delta()", // f of another mailbox
	} {
		tok := u.token
		if strings.HasSuffix(p, "/"+f+"/contacts/delta()") {
			tok = other.token
		}
		fails(t, e.do(t, "GET", p, tok, nil), 404, "ErrorItemNotFound")
	}
	fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/bad/contacts/delta()", u.token, nil), 400, "ErrorInvalidIdMalformed")
	fails(t, e.do(t, "GET", "/v1.0/users/"+u.upn+"/contacts/delta()", other.token, nil), 403, "ErrorAccessDenied")
	fails(t, e.do(t, "GET", "/v1.0/me/contacts/delta()", app, nil), 400, "BadRequest")
	fails(t, e.do(t, "GET", "/v1.0/users/ghost@contoso.com/contacts/delta()", app, nil), 404, "ErrorInvalidUser")
}

func TestBaseURL(t *testing.T) {
	t.Parallel()
	t.Run("public URL", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(c *Config) { c.PublicURL = "https://graph.example.com/" })
		u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
		r := e.do(t, "POST", "/v1.0/me/contactFolders", u.token, map[string]any{"displayName": "x"})
		m := ok(t, r, 201)
		if !strings.HasPrefix(str(t, m, "@odata.context"), "https://graph.example.com/v1.0/$metadata#") ||
			!strings.HasPrefix(r.header.Get("Location"), "https://graph.example.com/v1.0/users/") {
			t.Errorf("links %v %q", m["@odata.context"], r.header.Get("Location"))
		}
	})
	t.Run("forwarded proto", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
		u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
		for range 3 {
			ok(t, e.do(t, "POST", "/v1.0/me/contactFolders", u.token, map[string]any{"displayName": contactgraph.NewID()}), 201)
		}
		m := ok(t, e.do(t, "GET", "/v1.0/me/contactFolders?$top=1", u.token, nil, "X-Forwarded-Proto", "https"), 200)
		host := strings.TrimPrefix(e.srv.URL, "http://")
		if !strings.HasPrefix(str(t, m, "@odata.nextLink"), "https://"+host+"/v1.0/me/contactFolders?$top=1&$skiptoken=") {
			t.Errorf("nextLink %v", m["@odata.nextLink"])
		}
	})
	t.Run("config errors", func(t *testing.T) {
		t.Parallel()
		for _, bad := range []string{"graph.example.com", "ftp://x", "https://", "https://x/?q=1"} {
			if _, err := New(Config{Store: nopStore{}, Auth: refuseAuth{}, PublicURL: bad}); err == nil {
				t.Errorf("PublicURL %q accepted", bad)
			}
		}
		if _, err := New(Config{Auth: refuseAuth{}}); err == nil {
			t.Error("no store accepted")
		}
		if _, err := New(Config{Store: nopStore{}}); err == nil {
			t.Error("no authenticator accepted")
		}
		s, err := New(Config{Store: nopStore{}, Auth: refuseAuth{}, PublicURL: "http://h:1/prefix/v1.0"})
		if err != nil || s.baseURL(httptest.NewRequest("GET", "/", nil)) != "http://h:1/prefix/v1.0" {
			t.Errorf("%v", err)
		}
	})
}

// nopStore is a Store for servers whose requests never reach it; it keeps
// no secrets.
type nopStore struct{ contactgraph.Store }

func (nopStore) Secret(_ context.Context, _ string, gen func() ([]byte, error)) ([]byte, error) {
	return gen()
}

// failingStore breaks chosen calls: a real store whose failures cannot be
// provoked on demand.
type failingStore struct {
	contactgraph.Store
	fail func() error
}

func (s failingStore) ListContacts(ctx context.Context, mb contactgraph.Mailbox, folderID string, p contactgraph.Page) ([]*contactgraph.Contact, error) {
	return nil, s.fail()
}

func (s failingStore) QueryContacts(ctx context.Context, mb contactgraph.Mailbox, folderID string, q contactgraph.ListQuery) (contactgraph.ListPage[*contactgraph.Contact], error) {
	return contactgraph.ListPage[*contactgraph.Contact]{}, s.fail()
}

func (s failingStore) Contact(ctx context.Context, mb contactgraph.Mailbox, id string) (*contactgraph.Contact, error) {
	panic("store exploded")
}

// TestInternalErrors checks that errors without a code and panics are a
// 500 generalException with a generic message, logged with the request-id
// and never echoed; throttling and unavailability map to 429 and 503.
func TestInternalErrors(t *testing.T) {
	t.Parallel()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "cg.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var next error
	logs := &lockedBuffer{}
	tokens := newTokenMinter(t, db)
	s, err := New(Config{Store: failingStore{Store: db, fail: func() error { return next }}, Auth: tokens.authenticator(),
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	tok := tokens.delegated("contoso", "ada@contoso.com", contactgraph.PermContactsRead)
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		s.ServeHTTP(w, r)
		return w
	}

	next = errors.New("disk on fire at /secret/path")
	w := get("/v1.0/me/contacts")
	er := checkEnvelope(t, w.Result().Header, w.Body.Bytes())
	if w.Code != 500 || er.Error.Code != "generalException" || strings.Contains(w.Body.String(), "fire") {
		t.Errorf("plain error: %d %s", w.Code, w.Body)
	}
	if !strings.Contains(logs.String(), w.Header().Get("request-id")) || !strings.Contains(logs.String(), "disk on fire") {
		t.Errorf("not logged: %s", logs.String())
	}

	w = get("/v1.0/me/contacts/" + contactgraph.NewID())
	er = checkEnvelope(t, w.Result().Header, w.Body.Bytes())
	if w.Code != 500 || er.Error.Code != "generalException" || strings.Contains(w.Body.String(), "exploded") || !strings.Contains(logs.String(), "store exploded") {
		t.Errorf("panic: %d %s", w.Code, w.Body)
	}

	next = contactgraph.Errorf(contactgraph.EThrottled, "Application is over its MailboxConcurrency limit.")
	w = get("/v1.0/me/contacts")
	er = checkEnvelope(t, w.Result().Header, w.Body.Bytes())
	if w.Code != 429 || er.Error.Code != "TooManyRequests" || w.Header().Get("Retry-After") == "" {
		t.Errorf("throttled: %d %v %s", w.Code, w.Header(), w.Body)
	}
	next = contactgraph.Errorf(contactgraph.EUnavailable, "")
	w = get("/v1.0/me/contacts")
	er = checkEnvelope(t, w.Result().Header, w.Body.Bytes())
	if w.Code != 503 || er.Error.Code != "serviceNotAvailable" || w.Header().Get("Retry-After") == "" {
		t.Errorf("unavailable: %d %v %s", w.Code, w.Header(), w.Body)
	}
}

// TestPreferIdType: Prefer: IdType="ImmutableId" is accepted on Outlook
// routes and echoed in Preference-Applied, next to the others applied.
func TestPreferIdType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	c := e.do(t, "POST", "/v1.0/me/contacts", u.token, map[string]any{"displayName": "Ada"}, "Prefer", `IdType="ImmutableId"`)
	ok(t, c, 201)
	if got := c.header.Get("Preference-Applied"); got != "IdType=ImmutableId" {
		t.Errorf("POST: Preference-Applied %q", got)
	}
	r := e.do(t, "GET", "/v1.0/me/contacts/delta", u.token, nil, "Prefer", `odata.maxpagesize=5, IdType="immutableid"`)
	ok(t, r, 200)
	if got := r.header.Get("Preference-Applied"); got != "IdType=ImmutableId, odata.maxpagesize=5" {
		t.Errorf("delta: Preference-Applied %q", got)
	}
	if got := appliedOf(t, e.do(t, "GET", "/v1.0/me/contacts", u.token, nil, "Prefer", `IdType="SomethingElse"`)); got != "" {
		t.Errorf("an unknown IdType is not applied: Preference-Applied %q", got)
	}
}

// appliedOf checks a 200 and returns its Preference-Applied.
func appliedOf(t *testing.T, r result) string {
	t.Helper()
	ok(t, r, 200)
	return r.header.Get("Preference-Applied")
}

// TestCORS: an allowed origin's preflight is answered before
// authentication, and its answers carry the CORS headers; another
// origin's get none.
func TestCORS(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.CORSOrigins = []string{"https://app.example"} })
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	pre := e.do(t, "OPTIONS", "/v1.0/me/contacts", "", nil, "Origin", "https://app.example",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type,prefer")
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Methods"), "PATCH") ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "Authorization") || pre.header.Get("Access-Control-Max-Age") == "" {
		t.Errorf("preflight: %d %v", pre.status, pre.header)
	}
	get := e.do(t, "GET", "/v1.0/me/contacts", u.token, nil, "Origin", "https://app.example")
	ok(t, get, 200)
	if get.header.Get("Access-Control-Allow-Origin") != "https://app.example" || !strings.Contains(get.header.Get("Access-Control-Expose-Headers"), "request-id") {
		t.Errorf("GET from the allowed origin: %v", get.header)
	}
	unauth := e.do(t, "GET", "/v1.0/me/contacts", "", nil, "Origin", "https://app.example")
	if unauth.status != 401 || unauth.header.Get("Access-Control-Allow-Origin") == "" {
		t.Errorf("a 401 must carry CORS headers too, so the page can read it: %d %v", unauth.status, unauth.header)
	}
	for _, origin := range []string{"https://evil.example", "https://app.example.evil", ""} {
		r := e.do(t, "OPTIONS", "/v1.0/me/contacts", "", nil, "Origin", origin, "Access-Control-Request-Method", "POST")
		if r.header.Get("Access-Control-Allow-Origin") != "" || r.status == 204 {
			t.Errorf("origin %q: %d %v", origin, r.status, r.header)
		}
	}
	for _, bad := range []string{"app.example", "https://app.example/path", "ftp://x", "https://"} {
		if _, err := New(Config{Store: e.store, Auth: refuseAuth{}, CORSOrigins: []string{bad}}); err == nil {
			t.Errorf("CORS origin %q accepted", bad)
		}
	}
	any := newEnv(t, func(c *Config) { c.CORSOrigins = []string{"*"} })
	if r := any.do(t, "OPTIONS", "/v1.0/contacts", "", nil, "Origin", "http://localhost:5173", "Access-Control-Request-Method", "GET"); r.status != 204 ||
		r.header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Errorf("*: %d %v", r.status, r.header)
	}
}
