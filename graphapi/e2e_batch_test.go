package graphapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

// batchAnswer is one entry of a $batch answer's "responses".
type batchAnswer struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// result turns an inner answer into a result, for ok and fails.
func (a batchAnswer) result() result {
	h := http.Header{}
	for k, v := range a.Headers {
		h.Set(k, v)
	}
	return result{status: a.Status, header: h, body: a.Body}
}

// batch sends POST /v1.0/$batch with the requests and returns the inner
// answers, checking the outer answer: 200, Graph's Content-Type, only
// "responses", one per request with its id, each with request ids of its
// own and string headers.
func (e *env) batch(t *testing.T, token string, reqs []map[string]any, hdr ...string) ([]batchAnswer, result) {
	t.Helper()
	r := e.do(t, http.MethodPost, "/v1.0/$batch", token, map[string]any{"requests": reqs}, hdr...)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != contentTypeJSON {
		t.Fatalf("batch: status %d, Content-Type %q: %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	var out struct {
		Responses []batchAnswer `json:"responses"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("batch answer %s: %v", r.body, err)
	}
	if len(out.Responses) != len(reqs) {
		t.Fatalf("%d responses to %d requests: %s", len(out.Responses), len(reqs), r.body)
	}
	seen := map[string]bool{r.header.Get("request-id"): true}
	for i, a := range out.Responses {
		if a.ID != reqs[i]["id"] {
			t.Errorf("response %d has id %q, want %q (the order of the requests)", i, a.ID, reqs[i]["id"])
		}
		rid := a.Headers["Request-Id"]
		if !uuidRE.MatchString(rid) || seen[rid] || a.Headers["Client-Request-Id"] == "" {
			t.Errorf("response %q: request ids %q, %q (outer %q)", a.ID, rid, a.Headers["Client-Request-Id"], r.header.Get("request-id"))
		}
		seen[rid] = true
		if _, has := a.Headers["Content-Length"]; has {
			t.Errorf("response %q carries Content-Length", a.ID)
		}
	}
	return out.Responses, r
}

// countContacts returns the number of contacts in u's default folder.
func (e *env) countContacts(t *testing.T, u user) string {
	t.Helper()
	r := e.do(t, http.MethodGet, "/v1.0/me/contacts/$count", u.token, nil)
	if r.status != http.StatusOK {
		t.Fatalf("$count: %d %s", r.status, r.body)
	}
	return string(r.body)
}

// createReq is a batch request creating a contact in the default folder.
func createReq(id, given string) map[string]any {
	return map[string]any{"id": id, "method": "POST", "url": "/me/contacts",
		"headers": map[string]string{"Content-Type": "application/json"}, "body": map[string]any{"givenName": given}}
}

func TestBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	base := e.srv.URL + "/v1.0"
	var existing string
	for _, name := range []string{"Old", "Older"} {
		existing = str(t, ok(t, e.do(t, http.MethodPost, "/v1.0/me/contacts", u.token, map[string]any{"givenName": name}), 201), "id")
	}

	reqs := []map[string]any{
		createReq("Create", "Ada"),
		// No leading slash, a query; Go SDK style: an empty dependsOn, a null body.
		{"id": "list", "method": "get", "url": "me/contacts?$top=1&$select=givenName", "dependsOn": []string{}, "body": nil},
		// The JavaScript SDK's form, with the version; lower-case header names.
		{"id": "folders", "method": "GET", "url": "/v1.0/me/contactFolders", "headers": map[string]string{"accept": "application/json"}},
		// The client's own client-request-id for this request.
		{"id": "mine", "method": "GET", "url": "/me/contactFolders", "headers": map[string]string{"client-request-id": "inner-1"}},
	}
	got, outer := e.batch(t, u.token, reqs, "client-request-id", "outer-1")

	created := ok(t, got[0].result(), 201)
	if str(t, created, "givenName") != "Ada" || str(t, created, "@odata.context") != base+"/$metadata#users('"+u.id+"')/contacts/$entity" {
		t.Errorf("created %s", got[0].Body)
	}
	if loc := got[0].Headers["Location"]; loc != base+"/users/"+u.id+"/contacts/"+str(t, created, "id") {
		t.Errorf("Location %q", loc)
	}
	if ct, has := got[0].Headers["Content-Type"]; !has || ct != contentTypeJSON {
		t.Errorf("headers %v: the SDKs read Content-Type under exactly that name", got[0].Headers)
	}
	list := ok(t, got[1].result(), 200)
	if v := values(t, list); len(v) != 1 || !strings.HasPrefix(str(t, list, "@odata.nextLink"), base+"/me/contacts?") {
		t.Errorf("list with $top=1: links on the batch's base URL: %s", got[1].Body)
	}
	ok(t, got[2].result(), 200)
	ok(t, got[3].result(), 200)
	for _, a := range got {
		want := "outer-1"
		if a.ID == "mine" {
			want = "inner-1"
		}
		if c := a.Headers["Client-Request-Id"]; c != want {
			t.Errorf("%s: client-request-id %q, want %q", a.ID, c, want)
		}
	}
	if outer.header.Get("client-request-id") != "outer-1" {
		t.Errorf("outer client-request-id %q", outer.header.Get("client-request-id"))
	}

	// In sequence: an absolute URL on this host (a text/plain answer comes
	// as base64), a DELETE (204, no body), a GET of what it deleted.
	got, _ = e.batch(t, u.token, []map[string]any{
		{"id": "count", "method": "GET", "url": base + "/me/contacts/$count"},
		{"id": "delete", "method": "DELETE", "url": "/me/contacts/" + existing, "dependsOn": []string{"count"}},
		{"id": "missing", "method": "GET", "url": "/me/contacts/" + existing, "dependsOn": []string{"delete"}},
	})
	if got[0].Status != 200 || !strings.HasPrefix(got[0].Headers["Content-Type"], "text/plain") ||
		string(got[0].Body) != `"`+base64.StdEncoding.EncodeToString([]byte("3"))+`"` {
		t.Errorf("count: %d %v %s", got[0].Status, got[0].Headers, got[0].Body)
	}
	if a := got[1]; a.Status != 204 || a.Body != nil {
		t.Errorf("delete: %d, body %s", a.Status, a.Body)
	}
	fails(t, got[2].result(), 404, "ErrorItemNotFound")
	if n := e.countContacts(t, u); n != "2" {
		t.Errorf("after the batches, %s contacts, want 2", n)
	}
}

// TestBatchCreates20: a batch of 20 creates creates 20 contacts, and the
// batch runs at most 4 at once.
func TestBatchCreates20(t *testing.T) {
	t.Parallel()
	gate := newGateStore(batchParallelism)
	e := newEnv(t, func(c *Config) { gate.Store = c.Store; c.Store = gate })
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	e.rootID(t, u)
	var reqs []map[string]any
	for i := range maxBatchRequests {
		reqs = append(reqs, createReq(string(rune('a'+i)), "Contact"))
	}
	got, _ := e.batch(t, u.token, reqs)
	ids := map[string]bool{}
	for _, a := range got {
		ids[str(t, ok(t, a.result(), 201), "id")] = true
	}
	if len(ids) != maxBatchRequests {
		t.Errorf("%d distinct ids", len(ids))
	}
	if n := e.countContacts(t, u); n != "20" {
		t.Errorf("%s contacts after a batch of 20 creates", n)
	}
	if max := gate.maxInFlight(); max != batchParallelism {
		t.Errorf("at most %d creates ran at once, want %d", max, batchParallelism)
	}
}

func TestBatchDependsOn(t *testing.T) {
	t.Parallel()
	gate := newGateStore(0)
	e := newEnv(t, func(c *Config) { gate.Store = c.Store; c.Store = gate })
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	ghost := contactgraph.NewID()
	after := func(r map[string]any, ids ...string) map[string]any { r["dependsOn"] = ids; return r }

	t.Run("serial, all succeed, in order", func(t *testing.T) {
		got, _ := e.batch(t, u.token, []map[string]any{
			createReq("1", "First"),
			after(createReq("2", "Second"), "1"),
			// The Go SDK's DependsOnItem names the whole chain; ids ignore case.
			after(map[string]any{"id": "X", "method": "GET", "url": "/me/contacts?$select=givenName"}, "1", "2"),
			after(createReq("4", "Fourth"), "x"),
		})
		ok(t, got[0].result(), 201)
		ok(t, got[1].result(), 201)
		if v := values(t, ok(t, got[2].result(), 200)); len(v) != 2 {
			t.Errorf("the GET after two creates saw %d contacts", len(v))
		}
		ok(t, got[3].result(), 201)
		if m := gate.maxInFlight(); m != 1 {
			t.Errorf("a batch with dependsOn ran %d creates at once", m)
		}
	})
	t.Run("serial, the first fails", func(t *testing.T) {
		got, _ := e.batch(t, u.token, []map[string]any{
			{"id": "get", "method": "GET", "url": "/me/contacts/" + ghost},
			after(createReq("create", "Never"), "get"),
			after(createReq("third", "Never"), "create"),
		})
		fails(t, got[0].result(), 404, "ErrorItemNotFound")
		er := fails(t, got[1].result(), 424, "FailedDependency")
		if er.Message != "Request 'create' was not run: it depends on request 'get', which failed with status 404." {
			t.Errorf("message %q", er.Message)
		}
		er = fails(t, got[2].result(), 424, "FailedDependency")
		if !strings.Contains(er.Message, "'create', which failed with status 424") {
			t.Errorf("message %q", er.Message)
		}
	})
	t.Run("same, the head fails", func(t *testing.T) {
		got, _ := e.batch(t, u.token, []map[string]any{
			{"id": "head", "method": "PATCH", "url": "/me/contacts/" + ghost, "headers": map[string]string{"Content-Type": "application/json"}, "body": map[string]any{"jobTitle": "x"}},
			after(createReq("a", "Never"), "head"),
			after(createReq("b", "Never"), "HEAD"),
		})
		fails(t, got[0].result(), 404, "ErrorItemNotFound")
		fails(t, got[1].result(), 424, "FailedDependency")
		fails(t, got[2].result(), 424, "FailedDependency")
	})
	if n := e.countContacts(t, u); n != "3" {
		t.Errorf("%s contacts, want the 3 of the successful chain: nothing after a failed dependency ran", n)
	}
}

// TestBatchPermissions: a request the token may not make is that request's
// 403; the others of the batch succeed.
func TestBatchPermissions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reader := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsRead)
	got, _ := e.batch(t, reader.token, []map[string]any{
		{"id": "read", "method": "GET", "url": "/me/contacts"},
		createReq("write", "Nope"),
		{"id": "users", "method": "GET", "url": "/users"},
		{"id": "bob", "method": "GET", "url": "/users/bob@contoso.com/contacts"},
		{"id": "folders", "method": "GET", "url": "/me/contactFolders"},
	})
	ok(t, got[0].result(), 200)
	fails(t, got[1].result(), 403, "ErrorAccessDenied")
	fails(t, got[2].result(), 403, "Authorization_RequestDenied")
	fails(t, got[3].result(), 403, "ErrorAccessDenied")
	ok(t, got[4].result(), 200)
	if n := e.countContacts(t, reader); n != "0" {
		t.Errorf("%s contacts: the refused create wrote", n)
	}

	// An app token: /me is the inner request's 400, /users/{upn} works.
	app := e.tokens.app("contoso", "crm", contactgraph.PermContactsReadWrite, contactgraph.PermDirectoryRead)
	got, _ = e.batch(t, app, []map[string]any{
		{"id": "me", "method": "GET", "url": "/me/contacts"},
		{"id": "ada", "method": "GET", "url": "/users/ada@contoso.com/contacts"},
		{"id": "count", "method": "GET", "url": "/contacts/$count", "headers": map[string]string{"ConsistencyLevel": "eventual"}},
		{"id": "count-no-header", "method": "GET", "url": "/contacts/$count"},
	})
	fails(t, got[0].result(), 400, "BadRequest")
	ok(t, got[1].result(), 200)
	if got[2].Status != 200 || string(got[2].Body) != `"MA=="` {
		t.Errorf("org $count with ConsistencyLevel: %d %s", got[2].Status, got[2].Body)
	}
	fails(t, got[3].result(), 400, "Request_UnsupportedQuery")

	// No token: the batch itself is 401, nothing runs.
	fails(t, e.do(t, http.MethodPost, "/v1.0/$batch", "", map[string]any{"requests": []any{createReq("1", "x")}}), 401, "InvalidAuthenticationToken")
	fails(t, e.do(t, http.MethodGet, "/v1.0/$batch", reader.token, nil), 405, "BadRequest")
}

// TestBatchHeadersPerRequest: Prefer and If-Match apply to their own
// request only; links are on the base URL of the batch.
func TestBatchHeadersPerRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	var id, etag string
	for _, name := range []string{"A", "B", "C"} {
		c := ok(t, e.do(t, http.MethodPost, "/v1.0/me/contacts", u.token, map[string]any{"givenName": name}), 201)
		id, etag = str(t, c, "id"), str(t, c, "@odata.etag")
	}
	patch := func(rid, ifMatch string) map[string]any {
		return map[string]any{"id": rid, "method": "PATCH", "url": "/me/contacts/" + id,
			"headers": map[string]string{"Content-Type": "application/json", "If-Match": ifMatch}, "body": map[string]any{"jobTitle": rid}}
	}
	got, _ := e.batch(t, u.token, []map[string]any{
		{"id": "paged", "method": "GET", "url": "/me/contacts/delta", "headers": map[string]string{"Prefer": "odata.maxpagesize=1"}},
		{"id": "whole", "method": "GET", "url": "/me/contacts/delta"},
		patch("stale", `W/"not-the-etag"`),
	})
	paged := ok(t, got[0].result(), 200)
	if len(values(t, paged)) != 1 || !strings.HasPrefix(str(t, paged, "@odata.nextLink"), e.srv.URL+"/v1.0/me/contacts/delta?") ||
		got[0].Headers["Preference-Applied"] != "odata.maxpagesize=1" {
		t.Errorf("delta with Prefer: %v %s", got[0].Headers, got[0].Body)
	}
	whole := ok(t, got[1].result(), 200)
	if len(values(t, whole)) != 3 || got[1].Headers["Preference-Applied"] != "" {
		t.Errorf("delta without Prefer: %v %s", got[1].Headers, got[1].Body)
	}
	fails(t, got[2].result(), 412, "ErrorIrresolvableConflict")
	got, _ = e.batch(t, u.token, []map[string]any{patch("fresh", etag)})
	if str(t, ok(t, got[0].result(), 200), "jobTitle") != "fresh" {
		t.Errorf("PATCH with the right If-Match: %s", got[0].Body)
	}
}

// TestBatchBodies: a base64 body is decoded; a gzip-compressed batch (as
// the Go SDK sends it) is read; a batch over the body limit is 413.
func TestBatchBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // MaxBodyBytes 64 KiB
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	b64 := base64.RawURLEncoding.EncodeToString([]byte(`{"givenName":"Base64"}`))
	req := map[string]any{"id": "1", "method": "POST", "url": "/me/contacts", "headers": map[string]string{"Content-Type": "application/json"}, "body": b64}
	got, _ := e.batch(t, u.token, []map[string]any{req})
	if str(t, ok(t, got[0].result(), 201), "givenName") != "Base64" {
		t.Errorf("base64 body: %s", got[0].Body)
	}

	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(mustJSON(t, map[string]any{"requests": []any{createReq("1", "Gzip")}}))
	zw.Close()
	r := e.do(t, http.MethodPost, "/v1.0/$batch", u.token, z.Bytes(), "Content-Encoding", "gzip")
	if r.status != 200 || !strings.Contains(string(r.body), `"givenName":"Gzip"`) {
		t.Errorf("gzip batch: %d %s", r.status, r.body)
	}

	big := createReq("1", strings.Repeat("x", 70<<10))
	fails(t, e.do(t, http.MethodPost, "/v1.0/$batch", u.token, map[string]any{"requests": []any{big}}), 413, "RequestEntityTooLarge")
	if n := e.countContacts(t, u); n != "2" {
		t.Errorf("%s contacts, want 2", n)
	}
}

// TestBatchEmulatorFaults: queued faults hit inner requests as they hit
// requests of their own: 429 with its own Retry-After, as a string.
func TestBatchEmulatorFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Emulator = true; c.Now = time.Now })
	ctl := e.tokens.app("contoso", "test-harness", contactgraph.PermEmulatorControl)
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	ok(t, e.do(t, http.MethodPost, "/emulator/faults", ctl, []byte(`{"status":429,"count":2,"retryAfter":7,"path":"/me/contacts","method":"POST"}`)), 201)
	var reqs []map[string]any
	for _, id := range []string{"1", "2", "3", "4"} {
		reqs = append(reqs, createReq(id, "C"+id))
	}
	reqs = append(reqs, map[string]any{"id": "read", "method": "GET", "url": "/me/contactFolders"})
	got, _ := e.batch(t, u.token, reqs)
	throttled := 0
	for _, a := range got[:4] {
		if a.Status == 201 {
			continue
		}
		fails(t, a.result(), 429, "TooManyRequests")
		if a.Headers["Retry-After"] != "7" || a.Headers["X-Contactgraph-Fault"] != "emulator" {
			t.Errorf("throttled answer's headers %v", a.Headers)
		}
		throttled++
	}
	ok(t, got[4].result(), 200)
	if throttled != 2 {
		t.Errorf("%d inner requests throttled, want 2", throttled)
	}
	if n := e.countContacts(t, u); n != "2" {
		t.Errorf("%s contacts, want 2 (no atomicity: the others stay created)", n)
	}

	// A fault for /$batch hits the batch itself.
	ok(t, e.do(t, http.MethodPost, "/emulator/faults", ctl, []byte(`{"status":503,"count":1,"path":"/$batch"}`)), 201)
	r := e.do(t, http.MethodPost, "/v1.0/$batch", u.token, map[string]any{"requests": []any{createReq("1", "x")}})
	fails(t, r, 503, "serviceNotAvailable")
	if n := e.countContacts(t, u); n != "2" {
		t.Errorf("%s contacts after a refused batch", n)
	}
}

// gateTimeout bounds how long gateStore holds a call waiting for others.
const gateTimeout = 10 * time.Second

// gateStore wraps a Store to see how many CreateContact calls the server
// makes at once. With a width above 0, each call waits until that many are
// in flight, so that a server running up to width at once is seen running
// exactly width; one that runs fewer makes a call wait gateTimeout, after
// which the gate stays open.
type gateStore struct {
	contactgraph.Store
	mu       sync.Mutex
	width    int
	release  chan struct{} // closed when the calls waiting now may go
	inFlight int
	max      int
}

func newGateStore(width int) *gateStore {
	return &gateStore{width: width, release: make(chan struct{})}
}

func (g *gateStore) CreateContact(ctx context.Context, mb contactgraph.Mailbox, folderID string, in contactgraph.ContactInput) (*contactgraph.Contact, error) {
	g.mu.Lock()
	g.inFlight++
	g.max = max(g.max, g.inFlight)
	wait := g.release
	if g.width == 0 || g.inFlight >= g.width {
		close(g.release)
		g.release = make(chan struct{})
	}
	g.mu.Unlock()
	select {
	case <-wait:
	case <-time.After(gateTimeout):
		g.mu.Lock()
		g.width = 0
		g.mu.Unlock()
	}
	defer func() {
		g.mu.Lock()
		g.inFlight--
		g.mu.Unlock()
	}()
	return g.Store.CreateContact(ctx, mb, folderID, in)
}

func (g *gateStore) maxInFlight() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.max
}

// TestBatchPublicURL: behind a proxy, an absolute url on Config.PublicURL
// is this server, and inner answers link to the public base.
func TestBatchPublicURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.PublicURL = "https://graph.example.com/prefix" })
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	got, _ := e.batch(t, u.token, []map[string]any{
		{"id": "1", "method": "GET", "url": "https://GRAPH.example.com/prefix/v1.0/me/contacts/delta"},
		{"id": "2", "method": "GET", "url": e.srv.URL + "/v1.0/me/contactFolders"},
	})
	if link := str(t, ok(t, got[0].result(), 200), "@odata.deltaLink"); !strings.HasPrefix(link, "https://graph.example.com/prefix/v1.0/me/contacts/delta?") {
		t.Errorf("deltaLink %q is not on the public base URL", link)
	}
	ok(t, got[1].result(), 200)
	r := e.do(t, http.MethodPost, "/v1.0/$batch", u.token, map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "GET", "url": "https://graph.example.com/v1.0/me/contacts"}}})
	if er := fails(t, r, 400, "BadRequest"); er.Message != "The url of request '1' is not under /v1.0 of this server." {
		t.Errorf("message %q", er.Message)
	}
}
