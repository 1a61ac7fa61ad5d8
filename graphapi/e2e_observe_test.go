package graphapi

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu       sync.Mutex
	requests []RequestInfo
	pages    []string // collection/round/start
	refused  []string // collection/reason
}

func (o *recorder) ObserveRequest(r RequestInfo) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests = append(o.requests, r)
}

func (o *recorder) ObserveDeltaPage(c string, round DeltaRound, start bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := c + "/" + string(round)
	if start {
		s += "/start"
	}
	o.pages = append(o.pages, s)
}

func (o *recorder) ObserveTokenRefused(c string, reason TokenRefusal) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.refused = append(o.refused, c+"/"+string(reason))
}

// request waits for the observation of the request whose answer carried
// request-id rid: it is reported when the handler returns, which may be
// just after the client has read the answer.
func (o *recorder) request(t *testing.T, rid string) RequestInfo {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		o.mu.Lock()
		for _, r := range o.requests {
			if r.RequestID == rid {
				o.mu.Unlock()
				return r
			}
		}
		o.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("request %s was not observed", rid)
		}
		time.Sleep(time.Millisecond)
	}
}

func (o *recorder) snapshot() (pages, refused []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.pages), slices.Clone(o.refused)
}

// settableClock is a Config.Now a test moves.
type settableClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *settableClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestObserverRequests: each request is reported once with its route
// kind (never its path), method, status, size and caller; inner requests
// of a batch are reported on their own, with the batch's request-id.
func TestObserverRequests(t *testing.T) {
	obs := &recorder{}
	e := newEnv(t, func(c *Config) { c.Observer = obs; c.Emulator = true })
	u := e.newUser("contoso", "ada@contoso.com", "Contacts.ReadWrite")
	app := e.tokens.app("contoso", "sync", contactgraph.PermContactsRead)

	r := e.do(t, http.MethodPost, "/v1.0/me/contacts", u.token, []byte(`{"givenName":"Ada"}`))
	got := obs.request(t, r.header.Get("request-id"))
	if got.Route != "contacts" || got.Method != "POST" || got.Status != 201 || got.Bytes != int64(len(r.body)) ||
		got.Caller != CallerDelegated || got.TenantID != u.tenant || got.ErrorCode != "" || got.Duration <= 0 {
		t.Errorf("POST contacts: %+v", got)
	}
	id := str(t, r.obj(t), "id")

	r = e.do(t, http.MethodGet, "/v1.0/users/"+u.upn+"/contacts/"+id, app, nil)
	if got := obs.request(t, r.header.Get("request-id")); got.Route != "contact" || got.Status != 200 || got.Caller != CallerApplication {
		t.Errorf("GET contact as an app: %+v", got)
	}

	cases := []struct {
		method, path, token string
		route               string
		status              int
		code                string
	}{
		{http.MethodGet, "/v1.0/me/contacts/" + id + "/photo/$value", u.token, "contact.photo.value", 404, "ErrorItemNotFound"},
		{http.MethodGet, "/v1.0/me/contacts", "", "contacts", 401, "InvalidAuthenticationToken"},
		{http.MethodOptions, "/v1.0/me/contacts/delta", "", "contacts.delta", 401, "InvalidAuthenticationToken"},
		{http.MethodGet, "/v1.0/me/nothing", u.token, "unmatched", 400, "BadRequest"},
		{http.MethodGet, "/v2.0/me/contacts", u.token, "unmatched", 400, "BadRequest"},
		{http.MethodPut, "/v1.0/me/contacts", u.token, "contacts", 405, "BadRequest"},
		{"BREW", "/v1.0/me/contacts", u.token, "contacts", 405, "BadRequest"},
		{http.MethodGet, "/common/discovery/v2.0/keys", "", "keys", 404, "ErrorItemNotFound"},
		{http.MethodPost, "/emulator/nothing", u.token, "emulator", 403, "ErrorAccessDenied"},
	}
	for _, c := range cases {
		r := e.do(t, c.method, c.path, c.token, nil)
		got := obs.request(t, r.header.Get("request-id"))
		wantMethod := c.method
		if c.method == "BREW" {
			wantMethod = "OTHER"
		}
		if got.Route != c.route || got.Status != c.status || r.status != c.status || got.ErrorCode != c.code || got.Method != wantMethod {
			t.Errorf("%s %s: %+v (answered %d)", c.method, c.path, got, r.status)
		}
	}

	batch := map[string]any{"requests": []map[string]any{
		{"id": "1", "method": "GET", "url": "/me/contacts/" + id},
		{"id": "2", "method": "GET", "url": "/me/contactFolders/nope"},
	}}
	r = e.do(t, http.MethodPost, "/v1.0/$batch", u.token, batch, "Content-Type", "application/json")
	outer := obs.request(t, r.header.Get("request-id"))
	if outer.Route != "batch" || outer.Status != 200 || outer.Batch != "" {
		t.Errorf("batch: %+v", outer)
	}
	var answers struct {
		Responses []struct {
			ID      string            `json:"id"`
			Headers map[string]string `json:"headers"`
		} `json:"responses"`
	}
	if err := json.Unmarshal(r.body, &answers); err != nil || len(answers.Responses) != 2 {
		t.Fatalf("batch answer %s: %v", r.body, err)
	}
	for _, a := range answers.Responses {
		in := obs.request(t, a.Headers["Request-Id"])
		want := RequestInfo{Route: "contact", Status: 200}
		if a.ID == "2" {
			want = RequestInfo{Route: "contactFolder", Status: 400, ErrorCode: "ErrorInvalidIdMalformed"}
		}
		if in.Batch != outer.RequestID || in.Route != want.Route || in.Status != want.Status || in.ErrorCode != want.ErrorCode || in.TenantID != u.tenant {
			t.Errorf("inner request %s: %+v", a.ID, in)
		}
	}
}

// TestObserverDelta: pages of first and incremental rounds, and tokens
// refused as malformed, expired and resync, each reported once.
func TestObserverDelta(t *testing.T) {
	obs := &recorder{}
	clock := &settableClock{now: time.Now()}
	e := newEnv(t, func(c *Config) { c.Observer = obs; c.Now = clock.Now; c.Emulator = true })
	u := e.newUser("contoso", "ada@contoso.com", "Contacts.ReadWrite")
	for _, n := range []string{"A", "B", "C"} {
		e.post(t, "/v1.0/me/contacts", u.token, `{"givenName":"`+n+`"}`)
	}
	pages := []string{"Prefer", "odata.maxpagesize=2"}
	_, dl := e.round(t, "/v1.0/me/contacts/delta", u.token, pages...)
	e.post(t, "/v1.0/me/contacts", u.token, `{"givenName":"D"}`)
	_, dl = e.round(t, dl, u.token)
	e.round(t, "/v1.0/me/contactFolders/delta", u.token)

	fails(t, e.do(t, http.MethodGet, "/v1.0/me/contacts/delta?$deltatoken=garbage", u.token, nil), 400, "BadRequest")
	fails(t, e.do(t, http.MethodGet, "/v1.0/me/contacts/delta?$skiptoken=a&$deltatoken=b", u.token, nil), 400, "BadRequest")
	m := ok(t, e.do(t, http.MethodGet, "/v1.0/me/contacts/delta", u.token, nil, pages...), http.StatusOK)
	next := str(t, m, "@odata.nextLink")
	clock.Advance(2 * DefaultRoundLifetime)
	fails(t, e.do(t, http.MethodGet, next, u.token, nil), 410, "SyncStateNotFound")
	ctl := e.tokens.app("contoso", "harness", contactgraph.PermEmulatorControl)
	clock.Advance(time.Second)
	ok(t, e.do(t, http.MethodPost, "/emulator/resync", ctl, nil), http.StatusNoContent)
	clock.Advance(time.Second)
	fails(t, e.do(t, http.MethodGet, dl, u.token, nil), 410, "resyncRequired")
	// Not a token's fault: not reported.
	fails(t, e.do(t, http.MethodGet, "/v1.0/me/contacts/delta?$top=2", u.token, nil), 400, "ErrorInvalidUrlQuery")

	gotPages, gotRefused := obs.snapshot()
	wantPages := []string{
		"contacts/first/start", "contacts/first", // three contacts, two a page
		"contacts/incremental/start",
		"contactFolders/first/start",
		"contacts/first/start", // the round whose nextLink expires
	}
	if !slices.Equal(gotPages, wantPages) {
		t.Errorf("pages %v, want %v", gotPages, wantPages)
	}
	if want := []string{"contacts/malformed", "contacts/malformed", "contacts/expired", "contacts/resync"}; !slices.Equal(gotRefused, want) {
		t.Errorf("refused %v, want %v", gotRefused, want)
	}
}

// TestAccessLog: one JSON line per request with the fields operators
// need, and nothing personal: no path, user name, contact id, token or body.
func TestAccessLog(t *testing.T) {
	var logs lockedBuffer
	obs := &recorder{}
	e := newEnv(t, func(c *Config) {
		c.AccessLog = slog.New(slog.NewJSONHandler(&logs, nil))
		c.Observer = obs
	})
	u := e.newUser("contoso", "ada.lovelace@contoso.com", "Contacts.ReadWrite")
	r := e.do(t, http.MethodPost, "/v1.0/users/"+u.upn+"/contacts", u.token, []byte(`{"givenName":"Secretname"}`), "client-request-id", "crid-1")
	id := str(t, r.obj(t), "id")
	created := obs.request(t, r.header.Get("request-id"))
	r = e.do(t, http.MethodGet, "/v1.0/me/contacts/"+id+"x", u.token, nil)
	missing := obs.request(t, r.header.Get("request-id"))

	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("a log line is not JSON: %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("%d lines, want one per request:\n%s", len(lines), logs.String())
	}
	want := map[string]any{"level": "INFO", "msg": "request", "method": "POST", "route": "contacts", "status": float64(201),
		"request-id": created.RequestID, "client-request-id": "crid-1", "tenant-id": u.tenant, "caller": "delegated",
		"bytes": float64(created.Bytes)}
	for k, v := range want {
		if lines[0][k] != v {
			t.Errorf("line 1: %s = %v, want %v", k, lines[0][k], v)
		}
	}
	if d, ok := lines[0]["duration-ms"].(float64); !ok || d <= 0 {
		t.Errorf("line 1: duration-ms %v", lines[0]["duration-ms"])
	}
	if lines[1]["status"] != float64(400) || lines[1]["error"] != "ErrorInvalidIdMalformed" || lines[1]["request-id"] != missing.RequestID {
		t.Errorf("line 2: %v", lines[1])
	}
	for _, secret := range []string{u.upn, "ada.lovelace", id, "Secretname", u.token, "/v1.0", u.id} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs.String())
		}
	}
}

// TestRouteNames: every route kind has a name of its own.
func TestRouteNames(t *testing.T) {
	seen := map[string]kind{}
	for _, rt := range routes {
		n := rt.kind.String()
		if n == "unknown" {
			t.Errorf("kind %d has no name in kindNames", rt.kind)
		}
		if k, dup := seen[n]; dup && k != rt.kind {
			t.Errorf("kinds %d and %d are both %q", k, rt.kind, n)
		}
		seen[n] = rt.kind
	}
	names := RouteNames()
	if len(names) != len(seen)+3 || !slices.Contains(names, "contacts.delta") || !slices.Contains(names, routeUnmatched) {
		t.Errorf("RouteNames() = %v", names)
	}
}
