package graphapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/sqlite"
)

// env is a running server on loopback with a fresh SQLite file.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	store  contactgraph.Store
	db     *sqlite.DB // store, for its Wake hook
	api    *Server
	tokens *tokenMinter
	logs   *lockedBuffer
}

// newEnv starts a server; opts adjust its Config.
func newEnv(t *testing.T, opts ...func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "cg.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, store: db, db: db, logs: &lockedBuffer{}}
	e.tokens = newTokenMinter(t, db)
	cfg := Config{
		Store:        db,
		Auth:         e.tokens.authenticator(),
		MaxBodyBytes: 64 << 10,
		Now:          func() time.Time { return testNow },
		Logger:       slog.New(slog.NewTextHandler(e.logs, nil)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.api = s
	var mu sync.Mutex
	var fivexx []string
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		s.ServeHTTP(rec, r)
		if rec.status >= 500 && rec.Header().Get(FaultHeader) == "" {
			mu.Lock()
			fivexx = append(fivexx, r.Method+" "+r.URL.String())
			mu.Unlock()
		}
	}))
	t.Cleanup(func() {
		e.srv.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, f := range fivexx {
			t.Errorf("5xx answer to %s; logs:\n%s", f, e.logs.String())
		}
	})
	return e
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// result is an answer of the server.
type result struct {
	status int
	header http.Header
	body   []byte
}

// obj decodes the body as a JSON object.
func (r result) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// do sends a request. body is nil, []byte (sent as is) or a value sent as
// JSON; hdr holds header name, value pairs.
func (e *env) do(t *testing.T, method, path, token string, body any, hdr ...string) result {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = e.srv.URL + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	addHeaders(req, hdr)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	res := result{status: resp.StatusCode, header: resp.Header, body: b}
	checkIDs(t, res)
	return res
}

// addHeaders adds name, value pairs to a request; a Content-Type replaces
// the default one.
func addHeaders(req *http.Request, hdr []string) {
	for i := 0; i+1 < len(hdr); i += 2 {
		if http.CanonicalHeaderKey(hdr[i]) == "Content-Type" {
			req.Header.Set(hdr[i], hdr[i+1])
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
}

// checkIDs checks the request-id headers every answer carries.
func checkIDs(t *testing.T, r result) {
	t.Helper()
	if !uuidRE.MatchString(r.header.Get("request-id")) || r.header.Get("client-request-id") == "" {
		t.Errorf("answer %d without request ids: %v", r.status, r.header)
	}
}

// ok checks a success status and returns the decoded body (nil for 204).
func ok(t *testing.T, r result, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if status == http.StatusNoContent {
		if len(r.body) != 0 {
			t.Fatalf("204 with a body: %s", r.body)
		}
		return nil
	}
	if ct := r.header.Get("Content-Type"); ct != contentTypeJSON {
		t.Errorf("Content-Type %q", ct)
	}
	return r.obj(t)
}

// ok200 checks a 200 answer without a body (a photo upload).
func ok200(t *testing.T, r result) {
	t.Helper()
	if r.status != http.StatusOK || len(r.body) != 0 {
		t.Fatalf("status %d with %d bytes, want 200 without a body: %s", r.status, len(r.body), r.body)
	}
}

// fails checks a Graph error answer: status, code and envelope.
func fails(t *testing.T, r result, status int, code string) errorMain {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	e := checkEnvelope(t, r.header, r.body)
	if e.Error.Code != code {
		t.Fatalf("code %q, want %q: %s", e.Error.Code, code, r.body)
	}
	return e.Error
}

// str returns m[key] as a string, failing when it is not one.
func str(t *testing.T, m map[string]any, key string) string {
	t.Helper()
	s, ok := m[key].(string)
	if !ok {
		t.Fatalf("%s is %T %v in %v", key, m[key], m[key], m)
	}
	return s
}

// values returns the value array of a list answer.
func values(t *testing.T, m map[string]any) []map[string]any {
	t.Helper()
	vs, ok := m["value"].([]any)
	if !ok {
		t.Fatalf("no value array in %v", m)
	}
	out := make([]map[string]any, len(vs))
	for i, v := range vs {
		out[i] = v.(map[string]any)
	}
	return out
}

// user is a signed-in test user with a delegated token.
type user struct {
	tenant, upn, id, token string
}

// newUser mints a delegated token for upn in tenant with the scopes.
func (e *env) newUser(tenant, upn string, scopes ...string) user {
	tid := contactgraph.TenantID(tenant)
	return user{tenant: tid, upn: upn, id: contactgraph.UserID(tid, upn), token: e.tokens.delegated(tenant, upn, scopes...)}
}

// rootID returns the id of a user's default folder.
func (e *env) rootID(t *testing.T, u user) string {
	t.Helper()
	mb, err := e.store.EnsureMailbox(context.Background(), u.tenant, u.id, u.upn)
	if err != nil {
		t.Fatal(err)
	}
	return mb.RootID
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
