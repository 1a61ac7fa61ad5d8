package main

// Go benchmarks of the hot paths, for CPU profiles: the real handler
// (graphapi) on a real SQLite file behind a real loopback HTTP server, in
// this process, so that one profile holds the server and the client:
//
//	go test ./bench -run '^$' -bench . -benchtime 20x -cpuprofile /tmp/cpu.out
//	go tool pprof -top -nodecount 40 /tmp/cpu.out
//
// -cpuprofile also records the setup (seeding, the first round that finds
// the ids). BENCH_CPUPROFILE=DIR instead writes DIR/<benchmark>.pprof for
// the measured loop only: server and client, as they run in this process.
//
// BENCH_FOLDER sets the size of the folder the rounds read (default 20000).
// BENCH_DB instead names a database the bench seeded and kept with -data
// (such as /var/tmp/cgbench/folder-1m.db): its folder is used as it is, and
// the write benchmarks add to it. BENCH_POSTGRES=DSN seeds the folder into
// a fresh schema of that PostgreSQL database instead of a SQLite file (the
// schema is dropped at the end), for the profiles of the postgres store.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/auth"
	"github.com/contactgraph/contactgraph/client"
	"github.com/contactgraph/contactgraph/fakedata"
	"github.com/contactgraph/contactgraph/graphapi"
	"github.com/contactgraph/contactgraph/postgres"
	"github.com/contactgraph/contactgraph/sqlite"
)

// fixture is a server on a database with one seeded folder.
type fixture struct {
	store  fixtureStore
	srv    *httptest.Server
	api    *api
	folder string
	n      int
	upn    string
	drop   func() // drops the PostgreSQL schema (BENCH_POSTGRES)
}

// fixtureStore is the fixture's store: sqlite or postgres.
type fixtureStore interface {
	contactgraph.Store
	Close() error
}

var (
	fixtureOnce sync.Once
	shared      *fixture
	fixtureErr  error
	fixtureDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.srv.Close()
		if shared.drop != nil {
			shared.drop()
		}
		shared.store.Close()
	}
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// getFixture seeds the shared folder once per test binary.
func getFixture(b *testing.B) *fixture {
	b.Helper()
	fixtureOnce.Do(func() { shared, fixtureErr = newFixture() })
	if fixtureErr != nil {
		b.Fatal(fixtureErr)
	}
	return shared
}

func newFixture() (*fixture, error) {
	if db := os.Getenv("BENCH_DB"); db != "" {
		return openFixture(db)
	}
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("BENCH_FOLDER")); err == nil && v > 0 {
		n = v
	}
	dir, err := os.MkdirTemp("", "contactgraph-benchtest-")
	if err != nil {
		return nil, err
	}
	fixtureDir = dir
	ctx := context.Background()
	f := &fixture{n: n, upn: "bench@contoso.com"}
	if dsn := os.Getenv("BENCH_POSTGRES"); dsn != "" {
		schema := fmt.Sprintf("cgbench_%d_%d", os.Getpid(), time.Now().UnixNano())
		db, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema})
		if err != nil {
			return nil, err
		}
		f.store = db
		// As serve does: the listener keeps the mailbox cache on.
		lctx, stopListen := context.WithCancel(ctx)
		go func() { _ = db.Listen(lctx, func() {}) }()
		f.drop = func() { // at the end of the binary: the fixture outlives each benchmark's Cleanup
			stopListen()
			if _, err := db.SQL().Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
				fmt.Fprintf(os.Stderr, "drop schema %s: %v\n", schema, err)
			}
		}
	} else {
		db, err := sqlite.Open(ctx, filepath.Join(dir, "bench.db"), sqlite.Options{})
		if err != nil {
			return nil, err
		}
		f.store = db
	}
	store := f.store
	tid := contactgraph.TenantID(tenant)
	mb, err := store.EnsureMailbox(ctx, tid, contactgraph.UserID(tid, f.upn), f.upn)
	if err != nil {
		return nil, err
	}
	name := "Bench"
	folder, err := store.CreateFolder(ctx, mb, "", contactgraph.FolderInput{DisplayName: &name})
	if err != nil {
		return nil, err
	}
	f.folder = folder.ID
	gen := fakedata.New(1)
	for done := 0; done < n; {
		in := make([]contactgraph.ContactInput, min(10_000, n-done))
		for i := range in {
			in[i] = gen.Contact()
		}
		if _, err := store.ImportContacts(ctx, mb, f.folder, in); err != nil {
			return nil, err
		}
		done += len(in)
	}
	return f, f.serve(ctx)
}

// openFixture opens a database seeded by the bench (see seedFolder).
func openFixture(db string) (*fixture, error) {
	raw, err := os.ReadFile(db + ".json")
	if err != nil {
		return nil, fmt.Errorf("BENCH_DB: %w (a database kept by go run ./bench -data DIR)", err)
	}
	var meta seeded
	if err := json.Unmarshal(raw, &meta); err != nil {
		return nil, err
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, db, sqlite.Options{})
	if err != nil {
		return nil, err
	}
	name := strings.TrimSuffix(filepath.Base(db), ".db")
	f := &fixture{store: store, n: meta.Contacts, upn: userFor(name), folder: meta.Folder}
	return f, f.serve(ctx)
}

// serve starts the handler on a loopback server and mints a token.
func (f *fixture) serve(ctx context.Context) error {
	issuer, err := auth.NewLocal(ctx, f.store, auth.LocalOptions{})
	if err != nil {
		return err
	}
	// As serve does: a token is verified once, then remembered.
	h, err := graphapi.New(graphapi.Config{Store: f.store, Auth: auth.NewCache(issuer, 0, nil)})
	if err != nil {
		return err
	}
	tok, err := issuer.Mint(auth.MintOptions{TenantName: tenant, UPN: f.upn, Scopes: []string{contactgraph.PermContactsReadWrite}, TTL: 24 * time.Hour})
	if err != nil {
		return err
	}
	f.srv = httptest.NewServer(h)
	f.api = &api{hc: newHTTPClient(), base: f.srv.URL + "/v1.0", token: tok}
	return nil
}

// profileLoop starts a CPU profile of the rest of the benchmark when
// BENCH_CPUPROFILE names a directory. Call it after the setup.
func profileLoop(b *testing.B) {
	dir := os.Getenv("BENCH_CPUPROFILE")
	if dir == "" {
		return
	}
	name := strings.TrimPrefix(b.Name(), "Benchmark")
	name, _, _ = strings.Cut(name, "-")
	out, err := os.Create(filepath.Join(dir, name+".pprof"))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		out.Close()
		b.Fatal(err)
	}
	b.Cleanup(func() {
		pprof.StopCPUProfile()
		out.Close()
	})
}

func reportRate(b *testing.B, items int) {
	b.ReportMetric(float64(items)/b.Elapsed().Seconds(), "contacts/s")
}

// BenchmarkFirstRound is workload 2: a full round with client.Client.
func BenchmarkFirstRound(b *testing.B) {
	f := getFixture(b)
	c := f.api.deltaClient()
	items := 0
	profileLoop(b)
	for b.Loop() {
		if _, err := c.Round(context.Background(), f.api.deltaURL(f.folder), func(client.Item) error { items++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, items)
}

// BenchmarkFirstRoundUndecoded is workload 2 reading bytes only.
func BenchmarkFirstRoundUndecoded(b *testing.B) {
	f := getFixture(b)
	items := 0
	profileLoop(b)
	for b.Loop() {
		n, _, err := rawRound(context.Background(), f.api, f.api.deltaURL(f.folder))
		if err != nil {
			b.Fatal(err)
		}
		items += n
	}
	reportRate(b, items)
}

// BenchmarkFloor is workload 4: the engine on the same file, no HTTP.
func BenchmarkFloor(b *testing.B) {
	f := getFixture(b)
	fr, err := newFloorRound(context.Background(), f.store, tenant, f.upn, f.folder)
	if err != nil {
		b.Fatal(err)
	}
	items := 0
	profileLoop(b)
	for b.Loop() {
		n, _, err := fr.round(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		items += n
	}
	reportRate(b, items)
}

// BenchmarkClientDecode is the client's share of a first round: the same
// 200-item page served from memory and decoded by client.Client.
func BenchmarkClientDecode(b *testing.B) {
	f := getFixture(b)
	req, _ := http.NewRequest(http.MethodGet, f.api.deltaURL(f.folder), nil)
	req.Header.Set("Authorization", "Bearer "+f.api.token)
	req.Header.Set("Prefer", "odata.maxpagesize=200")
	resp, err := f.api.hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	var page map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	delete(page, "@odata.nextLink")
	page["@odata.deltaLink"] = json.RawMessage(`"http://example/delta?$deltatoken=x"`)
	body, _ := json.Marshal(page)
	static := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer static.Close()
	c := &client.Client{HTTP: f.api.hc, PageSize: pageSize, Retries: -1}
	items := 0
	b.SetBytes(int64(len(body)))
	profileLoop(b)
	for b.Loop() {
		p, err := c.Get(context.Background(), static.URL)
		if err != nil {
			b.Fatal(err)
		}
		items += len(p.Items)
	}
	reportRate(b, items)
}

// BenchmarkIncrementalRound is workload 3: the deltaLink round after 10
// changes (the changes are not timed).
func BenchmarkIncrementalRound(b *testing.B) {
	f := getFixture(b)
	ctx := context.Background()
	c := f.api.deltaClient()
	ids := &idList{}
	link, err := c.Round(ctx, f.api.deltaURL(f.folder), func(it client.Item) error { return ids.add(it.ID) })
	if err != nil {
		b.Fatal(err)
	}
	w := &churn{a: f.api, folder: f.folder, ids: ids, rng: rand.New(rand.NewPCG(1, 2)), gen: fakedata.New(3)}
	r := 0
	profileLoop(b) // the changes' server side is in it too: see BenchmarkIdleRound
	for b.Loop() {
		b.StopTimer()
		if _, err := w.changes(ctx, r); err != nil {
			b.Fatal(err)
		}
		r++
		b.StartTimer()
		if link, err = c.Round(ctx, link, func(client.Item) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIdleRound is a deltaLink round with nothing to report: the
// fixed cost of every incremental round, alone in its profile.
func BenchmarkIdleRound(b *testing.B) {
	f := getFixture(b)
	ctx := context.Background()
	c := f.api.deltaClient()
	link, err := c.Round(ctx, f.api.deltaURL(f.folder), func(client.Item) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	profileLoop(b)
	for b.Loop() {
		if link, err = c.Round(ctx, link, func(client.Item) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreate is workload 1 with one client.
func BenchmarkCreate(b *testing.B) {
	f := getFixture(b)
	benchCreate(b, f, 1)
}

// BenchmarkCreate16 is workload 1 with 16 concurrent clients.
func BenchmarkCreate16(b *testing.B) {
	f := getFixture(b)
	benchCreate(b, f, writers)
}

func benchCreate(b *testing.B, f *fixture, c int) {
	ctx := context.Background()
	folder, err := f.api.createFolder(ctx, "Create "+strconv.Itoa(c)+" "+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err != nil {
		b.Fatal(err)
	}
	gen := fakedata.New(9)
	bodies := make([][]byte, 4096)
	for i := range bodies {
		bodies[i] = gen.ContactJSON()
	}
	profileLoop(b)
	if c == 1 {
		i := 0
		for b.Loop() {
			if _, err := f.api.createContact(ctx, folder, bodies[i%len(bodies)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
		return
	}
	b.SetParallelism((c + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)) // goroutines = this * GOMAXPROCS
	b.ResetTimer()
	var next sync.Mutex
	k := 0
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			next.Lock()
			body := bodies[k%len(bodies)]
			k++
			next.Unlock()
			if _, err := f.api.createContact(ctx, folder, body); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
}

// BenchmarkEmailLookup is the filter workload: one
// $filter=emailAddresses/any(a:a/address eq '…') lookup over HTTP in the
// fixture's folder (BENCH_DB for the bench's million-contact file), with
// the median as p50-ms.
func BenchmarkEmailLookup(b *testing.B) {
	f := getFixture(b)
	ctx := context.Background()
	sample, err := f.api.do(ctx, http.MethodGet, "/me/contactFolders/"+f.folder+"/contacts?$select=emailAddresses&$top=1000", nil, http.StatusOK)
	if err != nil {
		b.Fatal(err)
	}
	var page struct {
		Value []struct {
			Emails []struct {
				Address string `json:"address"`
			} `json:"emailAddresses"`
		} `json:"value"`
	}
	if err := json.Unmarshal(sample, &page); err != nil {
		b.Fatal(err)
	}
	var paths []string
	for _, c := range page.Value {
		if len(c.Emails) > 0 {
			paths = append(paths, "/me/contactFolders/"+f.folder+"/contacts?$filter="+url.QueryEscape("emailAddresses/any(a:a/address eq '"+c.Emails[0].Address+"')"))
		}
	}
	if len(paths) == 0 {
		b.Fatal("no addresses in the fixture")
	}
	var took []time.Duration
	profileLoop(b)
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		if _, err := f.api.do(ctx, http.MethodGet, paths[i%len(paths)], nil, http.StatusOK); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
	}
	b.ReportMetric(ms(median(took)), "p50-ms")
}
