package carddav_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/auth"
	"github.com/contactgraph/contactgraph/carddav"
	"github.com/contactgraph/contactgraph/graphapi"
	"github.com/contactgraph/contactgraph/internal/pgtest"
	"github.com/contactgraph/contactgraph/postgres"
	"github.com/contactgraph/contactgraph/sqlite"
)

// env is a server with both adapters on one real store, over real HTTP.
type env struct {
	t      *testing.T
	store  contactgraph.Store
	wake   waker // the store's wake hook
	srv    *httptest.Server
	upn    string
	pass   string
	user   string // user id
	root   string // default folder id
	bearer string // a Graph token of the same user
	issuer *auth.Local
}

const upn = "ada@contoso.com"

// onPostgres, set by TestPostgres while it runs the suite again, makes
// newEnv open its store on PostgreSQL in a schema of its own.
var onPostgres bool

// envDSN names the environment variable holding the PostgreSQL test
// database's DSN (as in the postgres package's tests).
const envDSN = pgtest.EnvDSN

// openStore opens the test's store: a SQLite file in a temporary
// directory, or under onPostgres a new schema of the test database (its
// search_path: the public schema is never touched), dropped with
// everything in it when the test ends.
// waker is the stores' SetWake.
type waker interface{ SetWake(func()) }

func openStore(t *testing.T) (contactgraph.Store, waker) {
	t.Helper()
	ctx := context.Background()
	if !onPostgres {
		db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "cg.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db, db
	}
	dsn := os.Getenv(envDSN)
	schema := pgtest.Schema(t, dsn, "cgdavtest_")
	db, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() }) // before the schema is dropped
	return db, db
}

func newEnv(t *testing.T, opts ...func(*graphapi.Config)) *env {
	t.Helper()
	ctx := context.Background()
	raw, wake := openStore(t)
	// As the server does: accepted app passwords are cached, and the
	// store's deletes of users and tenants forget theirs.
	passwords := auth.NewPasswordCache(0, 0, nil)
	store := passwords.Store(raw)
	issuer, err := auth.NewLocal(ctx, store, auth.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := graphapi.Config{Store: store, Auth: issuer}
	for _, o := range opts {
		o(&cfg)
	}
	api, err := graphapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dav, err := carddav.New(carddav.Config{Store: store, Bearer: issuer, Basic: auth.AppPasswords{Store: store, Cache: passwords}, PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(dav.Wrap(api))
	t.Cleanup(srv.Close)
	pass, err := auth.AppPasswords{Store: store}.Issue(ctx, "contoso", upn)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := issuer.Mint(auth.MintOptions{TenantName: "contoso", UPN: upn, Scopes: []string{contactgraph.PermContactsReadWrite}, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	tid := contactgraph.TenantID("contoso")
	e := &env{t: t, store: store, wake: wake, srv: srv, upn: upn, pass: pass, user: contactgraph.UserID(tid, upn), bearer: tok, issuer: issuer}
	mb, err := store.EnsureMailbox(ctx, tid, e.user, upn)
	if err != nil {
		t.Fatal(err)
	}
	e.root = mb.RootID
	return e
}

func (e *env) book() string { return "/dav/" + e.user + "/contacts/" + e.root + "/" }

// do sends a CardDAV request signed in with the app password.
func (e *env) do(method, path, body string, hdr ...string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.SetBasicAuth(e.upn, e.pass)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) (*http.Response, string) {
	e.t.Helper()
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// graph sends a Graph request with the user's bearer token.
func (e *env) graph(method, path, body string) (*http.Response, string) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+"/v1.0"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.bearer)
	req.Header.Set("Content-Type", "application/json")
	return e.send(req)
}

func want(t *testing.T, resp *http.Response, body string, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body:\n%s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
}

func contains(t *testing.T, body string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(body, s) {
			t.Fatalf("body lacks %q:\n%s", s, body)
		}
	}
}

var syncTokenRE = regexp.MustCompile(`<D:sync-token>([^<]+)</D:sync-token>`)

func syncToken(t *testing.T, body string) string {
	t.Helper()
	m := syncTokenRE.FindAllStringSubmatch(body, -1)
	if m == nil {
		t.Fatalf("no sync-token in:\n%s", body)
	}
	return m[len(m)-1][1]
}

func syncBody(token string, limit int) string {
	l := ""
	if limit > 0 {
		l = "<D:limit><D:nresults>" + strconv.Itoa(limit) + "</D:nresults></D:limit>"
	}
	return `<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>` + token + `</D:sync-token><D:sync-level>1</D:sync-level>` + l + `<D:prop><D:getetag/></D:prop></D:sync-collection>`
}
