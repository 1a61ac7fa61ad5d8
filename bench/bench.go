package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The tenant and the users of the bench. Each database (or, on a shared
// PostgreSQL database, each size) has a mailbox of its own.
const tenant = "contoso"

func userFor(name string) string { return "bench-" + name + "@contoso.com" }

// bench is one run.
type bench struct {
	cfg     config
	out     io.Writer
	report  *Report
	hc      *http.Client
	tmp     string            // removed at the end
	data    string            // seeded databases
	bin     *binary           // nil with -url
	backend string            // the store actually measured
	runID   string            // makes folder names unique on a shared database
	seeded  map[string]string // database name -> folder seeded in this run
}

func newBench(ctx context.Context, cfg config, out io.Writer) (*bench, error) {
	tmp, err := os.MkdirTemp("", "contactgraph-bench-")
	if err != nil {
		return nil, err
	}
	target := "local"
	if cfg.URL != "" {
		target = cfg.URL
	}
	b := &bench{cfg: cfg, out: out, hc: newHTTPClient(), tmp: tmp, data: tmp, backend: cfg.Backend,
		runID: time.Now().Format("20060102-150405"), seeded: map[string]string{}}
	b.report = newReport(cfg.Backend, cfg.Quick, target)
	if cfg.URL == "" {
		b.report.Commit = gitCommit(ctx, cfg.Repo)
	}
	if cfg.Data != "" {
		if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
		b.data = cfg.Data
	}
	if cfg.URL != "" {
		return b, nil
	}
	b.logf("building the server")
	if b.bin, err = build(ctx, cfg.Repo, tmp, b.report); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	return b, nil
}

func (b *bench) close() { os.RemoveAll(b.tmp) }

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.out, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (b *bench) selected(w string) bool { return b.cfg.Only[w] }

// run runs the selected workloads. A failing workload is reported and the
// others still run; the error of the first one is returned.
func (b *bench) run(ctx context.Context) error {
	var errs []error
	try := func(w string, err error) {
		if err != nil && ctx.Err() == nil {
			b.report.fail(w, err)
			b.logf("%s failed: %v", w, err)
			errs = append(errs, fmt.Errorf("%s: %w", w, err))
		}
	}
	if b.cfg.Soak > 0 {
		if b.cfg.URL != "" {
			return errors.New("-soak starts its own server: not with -url")
		}
		try(wSoak, b.runSoak(ctx, b.cfg.Soak))
		return errors.Join(errs...)
	}
	if b.cfg.URL != "" {
		try("remote", b.runRemote(ctx))
	} else {
		if b.selected(wWrites) {
			try(wWrites, b.runWrites(ctx))
		}
		try("rounds", b.runFolders(ctx))
		if b.selected(wMemory) {
			try(wMemory, b.runMemory(ctx))
		}
		if b.selected(wNotify) {
			try(wNotify, b.runNotify(ctx))
		}
		if b.selected(wCapacity) {
			try(wCapacity, b.runCapacity(ctx))
		}
	}
	if b.selected(wPeers) {
		try(wPeers, b.runPeers(ctx))
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.Join(errs...)
}

// database is a store location: a SQLite file, or the PostgreSQL DSN.
func (b *bench) database(name string) string {
	if b.backend == "postgres" {
		return b.cfg.DB
	}
	return filepath.Join(b.data, name+".db")
}

// fresh removes a SQLite database and its journal files.
func (b *bench) fresh(name string) {
	if b.backend == "postgres" {
		return
	}
	db := b.database(name)
	for _, suffix := range []string{"", "-wal", "-shm", ".json"} {
		os.Remove(db + suffix)
	}
}

// local is a server the bench started, and the user it calls it as.
type local struct {
	api *api
	srv *server
	db  string
}

// start mints a token for the database's user and starts a server on it.
func (b *bench) start(ctx context.Context, name string, serveArgs ...string) (*local, error) {
	db := b.database(name)
	tok, err := b.bin.token(ctx, db, tenant, userFor(name))
	if err != nil {
		return nil, err
	}
	srv, err := b.bin.serve(ctx, db, filepath.Join(b.tmp, name+"-serve.log"), serveArgs...)
	if err != nil {
		return nil, err
	}
	return &local{api: &api{hc: b.hc, base: srv.base, token: tok, pid: srv.pid()}, srv: srv, db: db}, nil
}

func (l *local) stop() error {
	if l == nil {
		return nil
	}
	return l.srv.stop()
}

// seeded describes a seeded folder, kept next to a SQLite file so that
// -data can reuse it.
type seeded struct {
	Folder   string `json:"folder"`
	Contacts int    `json:"contacts"`
	Seed     uint64 `json:"seed"`
}

// seedFolder returns a folder of n seeded contacts in the database name:
// reused from -data when it matches, else seeded now (the seeding time is
// recorded).
// seedAndStart seeds the folder of database name with n contacts (once per
// run) and starts a server on it; the caller stops it.
func (b *bench) seedAndStart(ctx context.Context, name string, n int) (string, *local, error) {
	folder, err := b.seedFolder(ctx, name, n)
	if err != nil {
		return "", nil, err
	}
	l, err := b.start(ctx, name)
	if err != nil {
		return "", nil, err
	}
	return folder, l, nil
}

func (b *bench) seedFolder(ctx context.Context, name string, n int) (string, error) {
	if id, ok := b.seeded[name]; ok {
		return id, nil
	}
	meta := b.database(name) + ".json"
	if b.backend == "sqlite" && b.cfg.Data != "" {
		var s seeded
		if raw, err := os.ReadFile(meta); err == nil && json.Unmarshal(raw, &s) == nil && s.Contacts == n && s.Seed == b.cfg.Seed {
			b.logf("reusing %s (%d contacts)", b.database(name), n)
			b.seeded[name] = s.Folder
			return s.Folder, nil
		}
	}
	b.fresh(name)
	folder := "Bench"
	if b.backend == "postgres" {
		folder = "Bench " + b.runID
	}
	b.logf("seeding %d contacts into %s", n, b.database(name))
	start := time.Now()
	id, err := b.bin.seed(ctx, b.database(name), tenant, userFor(name), folder, n, b.cfg.Seed)
	if err != nil {
		return "", err
	}
	took := time.Since(start)
	b.logf("seeded %d contacts in %s (%.0f/s)", n, took.Round(time.Millisecond), perSecond(n, took))
	b.report.add(Record{Name: recSeed, Workload: "setup", Backend: b.backend, Size: n, Value: round3(perSecond(n, took)), Unit: "contacts/s",
		Note: fmt.Sprintf("%s contactgraph seed --batch %s (straight into the store, not over HTTP): %s", seedGOGC, seedBatch, took.Round(time.Millisecond))})
	b.seeded[name] = id
	if b.backend == "sqlite" {
		raw, _ := json.Marshal(seeded{Folder: id, Contacts: n, Seed: b.cfg.Seed})
		_ = os.WriteFile(meta, raw, 0o644)
	}
	return id, nil
}

// runFolders runs the first round, floor and incremental workloads over a
// seeded folder of each size, one server per size.
func (b *bench) runFolders(ctx context.Context) error {
	sz := b.cfg.sizes
	var all []int
	if b.selected(wFirst) || b.selected(wFloor) {
		all = append(all, sz.First...)
	}
	if b.selected(wIncremental) {
		all = append(all, sz.Incremental...)
	}
	if b.selected(wFilter) {
		all = append(all, sz.Filter...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	var errs []error
	for _, n := range all {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := b.runFolder(ctx, n); err != nil {
			b.report.fail(fmt.Sprintf("rounds at %d", n), err)
			b.logf("rounds at %d failed: %v", n, err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (b *bench) runFolder(ctx context.Context, n int) error {
	sz := b.cfg.sizes
	name := "folder-" + human(n)
	folder, l, err := b.seedAndStart(ctx, name, n)
	if err != nil {
		return err
	}
	defer l.stop()
	reps := 1
	timed := false
	if i := slices.Index(sz.First, n); i >= 0 {
		reps, timed = sz.FirstReps[i], b.selected(wFirst)
	}
	if b.selected(wFilter) && slices.Contains(sz.Filter, n) {
		if err := b.emailLookups(ctx, l.api, folder, n, sz.Lookups); err != nil {
			b.report.fail(wFilter, err)
			b.logf("filter at %d failed: %v", n, err)
		}
	}
	rounds := (b.selected(wFirst) || b.selected(wFloor)) && slices.Contains(sz.First, n) ||
		b.selected(wIncremental) && slices.Contains(sz.Incremental, n)
	if !rounds {
		return l.stop()
	}
	ids, link, err := b.firstRounds(ctx, l.api, folder, n, reps, timed)
	if err != nil {
		return err
	}
	if b.selected(wFloor) && slices.Contains(sz.First, n) {
		if err := b.floor(ctx, name, folder, n, reps); err != nil {
			b.report.fail(wFloor, err)
			b.logf("floor at %d failed: %v", n, err)
		}
	}
	if b.selected(wIncremental) && slices.Contains(sz.Incremental, n) {
		if err := b.incremental(ctx, l.api, folder, n, ids, link, sz.Rounds); err != nil {
			return err
		}
	}
	return l.stop()
}

// runRemote measures a server given by -url: the writes, then the first
// and incremental rounds over the folder the sequential writes filled.
func (b *bench) runRemote(ctx context.Context) error {
	a := &api{hc: b.hc, base: b.cfg.URL, token: b.cfg.Token}
	for _, w := range []string{wFloor, wMemory, wCapacity} {
		if b.selected(w) {
			b.report.skip(w, "needs a server the bench starts on a database file (not with -url)")
		}
	}
	b.report.skip("seeded sizes", "with -url the rounds run over the folder the writes workload filled, not over seeded folders")
	folder, err := b.writes(ctx, a)
	if err != nil {
		return err
	}
	n := b.cfg.sizes.Writes
	if b.selected(wFilter) {
		if err := b.emailLookups(ctx, a, folder, n, b.cfg.sizes.Lookups); err != nil {
			b.report.fail(wFilter, err)
		}
	}
	ids, link, err := b.firstRounds(ctx, a, folder, n, 3, b.selected(wFirst))
	if err != nil {
		return err
	}
	if b.selected(wIncremental) {
		return b.incremental(ctx, a, folder, n, ids, link, b.cfg.sizes.Rounds)
	}
	return nil
}
