package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph/internal/faultfs"
	"github.com/contactgraph/contactgraph/internal/pgcluster"
	_ "modernc.org/sqlite"
)

// The outage tests run a server on a database that the test makes fail:
// a PostgreSQL cluster of the test's own (stopped, crashed, frozen with
// SIGSTOP), a SQLite file on a small tmpfs that fills up, and one on an
// ext4 image that an injected error turns read-only. Each request during
// the outage must be answered 503 with Retry-After and a Graph error body
// within the --db-timeout (never hang), no write may half happen, and the
// server must serve again by itself once the database is back (for the
// read-only disk, after the operator's remount and a restart).

// outageTimeout is the --db-timeout of the outage tests' servers.
const outageTimeout = 2 * time.Second

// probe is one request sent during an outage.
type probe struct {
	name, method, path string
	body               any
}

// outageProbes are the requests the outage tests send: reads, a write, a
// delta round from a saved deltaLink.
func outageProbes(contactID, deltaLink string) []probe {
	return []probe{
		{"list", http.MethodGet, "/me/contacts", nil},
		{"get", http.MethodGet, "/me/contacts/" + contactID, nil},
		{"create", http.MethodPost, "/me/contacts", object{"givenName": jsonOf("written during the outage")}},
		{"delta", http.MethodGet, deltaLink, nil},
	}
}

// want503 checks an outage answer: 503, a positive Retry-After in
// seconds, a Graph error body with code serviceNotAvailable and the
// request-id.
func want503(r reply) error {
	if r.status != http.StatusServiceUnavailable {
		return fmt.Errorf("want 503: %s", r)
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		return fmt.Errorf("Retry-After %q, want a number of seconds: %s", r.header.Get("Retry-After"), r)
	}
	var body struct {
		Error struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			InnerError struct {
				RequestID string `json:"request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || body.Error.Code != "serviceNotAvailable" || body.Error.Message == "" ||
		body.Error.InnerError.RequestID != r.header.Get("request-id") {
		return fmt.Errorf("want a Graph error body with code serviceNotAvailable: %s", r)
	}
	return nil
}

// expectOutage sends every probe and checks that each is answered 503
// within limit; it returns the slowest answer's time.
func expectOutage(t *testing.T, a *api, probes []probe, what string, limit time.Duration) time.Duration {
	t.Helper()
	var slowest time.Duration
	for _, p := range probes {
		start := time.Now()
		r, err := a.do(context.Background(), p.method, p.path, p.body)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("%s while %s: %v (after %v)", p.name, what, err, took)
		}
		if err := want503(r); err != nil {
			t.Fatalf("%s while %s: %v", p.name, what, err)
		}
		if took > limit {
			t.Fatalf("%s while %s was answered after %v, want at most %v", p.name, what, took, limit)
		}
		slowest = max(slowest, took)
		t.Logf("%s while %s: 503, Retry-After %s, after %v", p.name, what, r.header.Get("Retry-After"), took.Round(100*time.Microsecond))
	}
	return slowest
}

// waitServing polls GET /me/contacts until it answers 200 and returns how
// long that took; every answer meanwhile must be a proper 503.
func waitServing(t *testing.T, a *api, what string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		r, err := a.do(context.Background(), http.MethodGet, "/me/contacts", nil)
		if err == nil && r.status == http.StatusOK {
			return time.Since(start)
		}
		if err == nil {
			if err := want503(r); err != nil {
				t.Fatalf("after %s: %v", what, err)
			}
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("the server did not serve again within a minute after %s (last: %v %v)", what, r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deltaRound follows a delta round from link to its deltaLink and returns
// it with the round's items.
func deltaRound(t *testing.T, a *api, link string) (string, []object) {
	t.Helper()
	var items []object
	for pages := 0; pages < 1000; pages++ {
		r, err := a.do(context.Background(), http.MethodGet, link, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.want(http.StatusOK); err != nil {
			t.Fatal(err)
		}
		var page struct {
			Value []object `json:"value"`
			Next  string   `json:"@odata.nextLink"`
			Delta string   `json:"@odata.deltaLink"`
		}
		if err := json.Unmarshal(r.body, &page); err != nil {
			t.Fatal(err)
		}
		items = append(items, page.Value...)
		if page.Delta != "" {
			return page.Delta, items
		}
		link = page.Next
	}
	t.Fatal("a delta round of more than 1000 pages")
	return "", nil
}

// create creates a contact and returns its id.
func create(t *testing.T, a *api, name string) string {
	t.Helper()
	r, err := a.do(context.Background(), http.MethodPost, "/me/contacts", object{"givenName": jsonOf(name)})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := r.want(http.StatusCreated)
	if err != nil {
		t.Fatal(err)
	}
	return str(doc, "id")
}

// countContacts lists the default folder's contacts.
func countContacts(t *testing.T, a *api) int {
	t.Helper()
	list, err := a.list(context.Background(), "/me/contacts")
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// TestOutagePostgres: a server on a PostgreSQL cluster of the test's own,
// stopped (fast shutdown), crashed (immediate shutdown) and frozen
// (SIGSTOP: a server that hangs, a network that drops packets), each time
// started or thawed again.
func TestOutagePostgres(t *testing.T) {
	cluster := pgcluster.ForTest(t)
	ctx := context.Background()
	db := cluster.DSN("")
	srv := startServersWith(t, db, []string{"--db-timeout", outageTimeout.String()}, "server")[0]
	tok := userToken(t, db, "alice@contoso.com")
	a := &api{http: &http.Client{Timeout: requestTimeout}, base: srv.BaseURL(), token: tok}
	id := create(t, a, "Ada")
	link, _ := deltaRound(t, a, "/me/contacts/delta")
	probes := outageProbes(id, link)

	var figures []string
	for _, outage := range []struct {
		what         string
		begin, end   func() error
		limit        time.Duration
		beginsQuick  bool
		recoveryWhat string
	}{
		{"the server is stopped", func() error { return cluster.Stop(ctx, "fast") }, func() error { return cluster.Start(ctx) }, time.Second, true, "a start"},
		{"the server has crashed", func() error { return cluster.Stop(ctx, "immediate") }, func() error { return cluster.Start(ctx) }, time.Second, true, "a start after the crash"},
		{"the server is frozen", cluster.Freeze, cluster.Thaw, outageTimeout + 1500*time.Millisecond, false, "a thaw"},
	} {
		if err := outage.begin(); err != nil {
			t.Fatal(err)
		}
		slowest := expectOutage(t, a, probes, outage.what, outage.limit)
		if !outage.beginsQuick && slowest < outageTimeout-100*time.Millisecond {
			t.Errorf("while %s the slowest answer took %v: sooner than --db-timeout %v, so something else answered", outage.what, slowest, outageTimeout)
		}
		if err := outage.end(); err != nil {
			t.Fatal(err)
		}
		rec := waitServing(t, a, outage.recoveryWhat)
		figures = append(figures, fmt.Sprintf("%s: 503 within %v, serving %v after %s", outage.what, slowest.Round(time.Millisecond), rec.Round(time.Millisecond), outage.recoveryWhat))
	}
	// Nothing written during the outages; the deltaLink of before goes on.
	if n := countContacts(t, a); n != 1 {
		t.Fatalf("%d contacts after the outages, want the 1 created before", n)
	}
	if _, items := deltaRound(t, a, link); len(items) != 0 {
		t.Fatalf("the round from the deltaLink of before the outages has %d changes, want none", len(items))
	}
	create(t, a, "Bob")
	if _, items := deltaRound(t, a, link); len(items) != 1 {
		t.Fatalf("the round from the deltaLink of before the outages has %d changes after one write, want 1", len(items))
	}
	t.Logf("PostgreSQL outages (--db-timeout %v): %s", outageTimeout, strings.Join(figures, "; "))
}

// TestOutageSQLiteDiskFull: a server on a SQLite file on a tmpfs that the
// test fills. Writes are answered 503 while reads go on; a write that
// failed left nothing behind; once space is freed the server writes again,
// and the file passes integrity_check.
func TestOutageSQLiteDiskFull(t *testing.T) {
	dir := faultfs.Tmpfs(t, 16<<20)
	db := filepath.Join(dir, "contactgraph.db")
	srv := startServersWith(t, db, []string{"--db-timeout", outageTimeout.String()}, "server")[0]
	tok := userToken(t, db, "alice@contoso.com")
	a := &api{http: &http.Client{Timeout: requestTimeout}, base: srv.BaseURL(), token: tok}
	id := create(t, a, "Ada")
	link, _ := deltaRound(t, a, "/me/contacts/delta")

	filler := faultfs.Fill(t, dir)
	big := strings.Repeat("a note long enough to need new pages in the log. ", 1200)
	failed := 0
	var slowest time.Duration
	const writes = 10
	for i := 0; i < writes; i++ {
		start := time.Now()
		r, err := a.do(context.Background(), http.MethodPost, "/me/contacts", object{"givenName": jsonOf(fmt.Sprintf("full %d", i)), "personalNotes": jsonOf(big)})
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if r.status == http.StatusCreated {
			continue // it fit into space the log already had
		}
		if err := want503(r); err != nil {
			t.Fatalf("a write on a full disk: %v", err)
		}
		failed++
		slowest = max(slowest, took)
	}
	if failed == 0 {
		t.Fatal("every write succeeded on a full file system")
	}
	before := countContacts(t, a) // reads go on
	r, err := a.do(context.Background(), http.MethodGet, "/me/contacts/"+id, nil)
	if err != nil || r.status != http.StatusOK {
		t.Fatalf("a read on a full disk: %v %v", r, err)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	create(t, a, "after")
	rec := time.Since(start)
	if n := countContacts(t, a); n != before+1 {
		t.Fatalf("%d contacts after freeing space and one write, want %d", n, before+1)
	}
	if _, items := deltaRound(t, a, link); len(items) != before {
		t.Fatalf("the round from before the disk filled has %d changes, want %d (the acknowledged writes only)", len(items), before)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	if res := integrityCheck(t, db); res != "ok" {
		t.Fatalf("integrity_check: %s", res)
	}
	t.Logf("SQLite disk full: %d of %d writes answered 503 (slowest after %v), reads served; the first write after freeing space took %v; integrity_check ok", failed, writes, slowest.Round(time.Millisecond), rec.Round(time.Millisecond))
}

// TestOutageSQLiteReadOnly: the ext4 file system under a server's SQLite
// file turns read-only (an injected error, errors=remount-ro), as a disk
// that fails does. Writes are answered 503 and reads go on; the operator
// stops the server, checks and remounts the file system and starts the
// server again, which then serves every write that had reached the disk.
//
// Which writes reached the disk: the store commits with
// synchronous=NORMAL (no fsync per commit, see package sqlite), so a disk
// that fails loses what the kernel had not yet written back; the test
// syncs before it injects the error, as the kernel does within seconds.
func TestOutageSQLiteReadOnly(t *testing.T) {
	fsys := faultfs.NewExt4(t, 32<<20)
	db := filepath.Join(fsys.Dir, "contactgraph.db")
	srv := startServersWith(t, db, []string{"--db-timeout", outageTimeout.String()}, "server")[0]
	tok := userToken(t, db, "alice@contoso.com")
	a := &api{http: &http.Client{Timeout: requestTimeout}, base: srv.BaseURL(), token: tok}
	ids := []string{create(t, a, "Ada"), create(t, a, "Bob")}

	syscall.Sync()
	fsys.Fail()
	var slowest time.Duration
	for i := 0; i < 3; i++ {
		start := time.Now()
		r, err := a.do(context.Background(), http.MethodPost, "/me/contacts", object{"givenName": jsonOf(fmt.Sprintf("read-only %d", i))})
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if err := want503(r); err != nil {
			t.Fatalf("a write on a read-only disk: %v", err)
		}
		if took > outageTimeout+time.Second {
			t.Fatalf("a write on a read-only disk was answered after %v", took)
		}
		slowest = max(slowest, took)
	}
	for _, id := range ids {
		r, err := a.do(context.Background(), http.MethodGet, "/me/contacts/"+id, nil)
		if err != nil || r.status != http.StatusOK {
			t.Fatalf("a read on a read-only disk: %v %v", r, err)
		}
	}
	// The operator's part: stop, check, remount, start.
	if err := srv.kill(); err != nil { // a clean stop may fail to checkpoint on a read-only disk
		t.Fatal(err)
	}
	fsys.Remount()
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	a.base = srv.BaseURL()
	if n := countContacts(t, a); n != len(ids) {
		t.Fatalf("%d contacts after the remount, want the %d written (and synced) before the failure", n, len(ids))
	}
	create(t, a, "after")
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	if res := integrityCheck(t, db); res != "ok" {
		t.Fatalf("integrity_check: %s", res)
	}
	t.Logf("SQLite read-only disk: writes answered 503 (slowest after %v), reads served; after remount and restart every write synced before the failure is there; integrity_check ok", slowest.Round(time.Millisecond))
}

// integrityCheck runs PRAGMA integrity_check on a SQLite file no server
// has open.
func integrityCheck(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil {
		t.Fatal(err)
	}
	return res
}
