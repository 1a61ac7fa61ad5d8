package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contactgraph/contactgraph/fakedata"
)

// The capacity workload: a tenant of many mailboxes, addressed by an
// application (app-only token) as /users/{upn}/…, with writes, first and
// incremental delta rounds and a mixed load spread over random mailboxes,
// and the server's CPU time per operation, which the capacity model of
// BENCHMARKS.md is built from. See capacityRun for the phases.
const (
	capClients = 16               // concurrent clients of every concurrent phase
	capApp     = "capacity-bench" // the application of the token
	// capWriteEvery: in the mixed load one request in capWriteEvery is a
	// write, the others incremental rounds (1 write per 4 rounds).
	capWriteEvery = 5
	// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat
	// (100 on every Linux architecture the bench runs on).
	clockTicks = 100
)

// capSize is the size of the capacity workload.
type capSize struct {
	Users    int           // mailboxes of the tenant
	Contacts int           // seeded contacts per mailbox
	Writes   int           // creates per writes figure (1 client, then capClients)
	Sample   int           // mailboxes whose delta rounds are followed
	Passes   int           // incremental passes: each changes the sample, then runs a round per sampled mailbox
	Mixed    time.Duration // length of the mixed load
}

// capTenant is the tenant under load: its mailboxes, how many creates
// each was sent and acknowledged, and the delta state of the sample.
type capTenant struct {
	upns     []string
	contacts int            // seeded per mailbox
	sent     []atomic.Int64 // creates sent, per mailbox (before the request)
	acked    []atomic.Int64 // creates answered 201, per mailbox
	sample   []int          // indexes of the sampled mailboxes
	links    []string       // per sampled mailbox: the deltaLink of its last round
	seen     []int64        // per sampled mailbox: items its rounds delivered
	bodies   [][]byte       // contact bodies, used in turn
}

// capServers are the servers of the workload (one on SQLite, two replicas
// of one database on PostgreSQL); requests go to them in turn.
type capServers struct {
	srvs []*server
	apis []*api
	next atomic.Uint64
}

// pick returns the server of the next request.
func (s *capServers) pick() *api { return s.apis[s.next.Add(1)%uint64(len(s.apis))] }

// rebase moves a link one of the servers made onto a: replicas of one
// database answer each other's links.
func (s *capServers) rebase(link string, a *api) (string, error) {
	for _, x := range s.apis {
		if rest, ok := strings.CutPrefix(link, x.base); ok {
			return a.base + rest, nil
		}
	}
	return "", fmt.Errorf("a link of none of the servers: %.200s", link)
}

func (s *capServers) stop() error {
	var errs []error
	for _, srv := range s.srvs {
		errs = append(errs, srv.stop())
	}
	return errors.Join(errs...)
}

func (s *capServers) pids() []int {
	out := make([]int, len(s.srvs))
	for i, srv := range s.srvs {
		out[i] = srv.pid()
	}
	return out
}

// mailboxPath is the path of a mailbox an application addresses.
func mailboxPath(upn string) string { return "/users/" + url.PathEscape(upn) }

// create posts a contact into the default folder of mailbox i.
func (t *capTenant) create(ctx context.Context, a *api, i int, body []byte) (time.Duration, error) {
	t.sent[i].Add(1)
	start := time.Now()
	_, err := a.do(ctx, http.MethodPost, mailboxPath(t.upns[i])+"/contacts", body, http.StatusCreated)
	d := time.Since(start)
	if err != nil {
		return d, err
	}
	t.acked[i].Add(1)
	return d, nil
}

// round runs the delta round of sampled mailbox k on a: its first round
// when it has no link yet, else from its link. The round must deliver every
// contact acknowledged since its last round and none that was not sent
// (rounds of one mailbox are never run at once, and the workload only
// creates). It keeps the new link.
func (t *capTenant) round(ctx context.Context, s *capServers, a *api, k int) (int, time.Duration, error) {
	i := t.sample[k]
	link := a.base + mailboxPath(t.upns[i]) + "/contacts/delta"
	if t.links[k] != "" {
		var err error
		if link, err = s.rebase(t.links[k], a); err != nil {
			return 0, 0, err
		}
	}
	lo := int64(t.contacts) + t.acked[i].Load() - t.seen[k]
	start := time.Now()
	n, next, err := rawRound(ctx, a, link)
	d := time.Since(start)
	if err != nil {
		return 0, d, err
	}
	if hi := int64(t.contacts) + t.sent[i].Load() - t.seen[k]; int64(n) < lo || int64(n) > hi {
		return n, d, fmt.Errorf("a delta round of %s delivered %d contacts, want %d to %d", t.upns[i], n, lo, hi)
	}
	t.links[k], t.seen[k] = next, t.seen[k]+int64(n)
	return n, d, nil
}

// fanOut runs f for clients 0 to c-1 at once; the first error stops the
// others and is returned.
func fanOut(ctx context.Context, c int, f func(ctx context.Context, client int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for k := range c {
		wg.Go(func() {
			if err := f(ctx, k); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		})
	}
	wg.Wait()
	return first
}

// latencies collects the latencies of concurrent clients.
type latencies struct {
	mu sync.Mutex
	ds []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.ds = append(l.ds, d)
	l.mu.Unlock()
}

// runCapacity runs the capacity workload on a fresh tenant.
func (b *bench) runCapacity(ctx context.Context) error {
	sz := b.cfg.sizes.Capacity
	name := "capacity"
	user := "cap@contoso.com"
	if b.backend == "postgres" {
		user = "cap-" + b.runID + "@contoso.com" // a shared database keeps earlier runs' mailboxes
	}
	b.fresh(name)
	db := b.database(name)
	total := sz.Users * sz.Contacts
	b.logf("capacity: seeding %d mailboxes of %d contacts into %s", sz.Users, sz.Contacts, db)
	start := time.Now()
	upns, err := b.bin.seedUsers(ctx, db, tenant, user, sz.Users, sz.Contacts, b.cfg.Seed)
	if err != nil {
		return err
	}
	took := time.Since(start)
	b.logf("capacity: seeded %d contacts in %d mailboxes in %s (%.0f/s)", total, sz.Users, took.Round(time.Millisecond), perSecond(total, took))
	b.report.add(Record{Name: recCapSeed, Workload: wCapacity, Backend: b.backend, Size: total, Value: round3(perSecond(total, took)), Unit: "contacts/s",
		Note: fmt.Sprintf("%s contactgraph seed --users %d --contacts %d --batch %s (ImportContacts per mailbox, straight into the store): %s", seedGOGC, sz.Users, sz.Contacts, seedBatch, took.Round(time.Millisecond))})
	tok, err := b.bin.appToken(ctx, db, tenant, capApp)
	if err != nil {
		return err
	}
	replicas := 1
	serveDB := db
	if b.backend == "postgres" {
		replicas = 2
		serveDB = withApplicationName(db, capApp)
	}
	s := &capServers{}
	defer s.stop()
	for r := range replicas {
		srv, err := b.bin.serve(ctx, serveDB, filepath.Join(b.tmp, fmt.Sprintf("%s-%d-serve.log", name, r)))
		if err != nil {
			return err
		}
		s.srvs = append(s.srvs, srv)
		s.apis = append(s.apis, &api{hc: b.hc, base: srv.base, token: tok, pid: srv.pid()})
	}
	cpu, err := b.newCapCPU(ctx, s.pids(), serveDB)
	if err != nil {
		return err
	}
	defer cpu.close()
	t := newCapTenant(upns, sz, b.cfg.Seed)
	if err := b.capacityRun(ctx, t, s, cpu, sz); err != nil {
		return err
	}
	if err := s.stop(); err != nil {
		return fmt.Errorf("stop the servers: %w", err)
	}
	return b.capacitySize(ctx, name, total)
}

func newCapTenant(upns []string, sz capSize, seed uint64) *capTenant {
	t := &capTenant{upns: upns, contacts: sz.Contacts, sent: make([]atomic.Int64, len(upns)), acked: make([]atomic.Int64, len(upns))}
	rng := rand.New(rand.NewPCG(seed, 77))
	t.sample = rng.Perm(len(upns))[:min(sz.Sample, len(upns))]
	t.links = make([]string, len(t.sample))
	t.seen = make([]int64, len(t.sample))
	gen := fakedata.New(seed + 300)
	t.bodies = make([][]byte, max(sz.Writes, 1))
	for i := range t.bodies {
		t.bodies[i] = gen.ContactJSON()
	}
	return t
}

// capacityRun runs the phases: creates into random mailboxes with 1
// client, then capClients; a first delta round of every sampled mailbox
// (capClients, each sampled mailbox belonging to one client); passes of
// changes in random sampled mailboxes followed by an incremental round of
// each sampled mailbox; a round of each with nothing to deliver; the
// mixed load. The server CPU of each phase is
// recorded per operation.
func (b *bench) capacityRun(ctx context.Context, t *capTenant, s *capServers, cpu *capCPU, sz capSize) error {
	total := sz.Users * sz.Contacts
	be := b.backend
	rec := func(name RecordName, v float64, unit string, n int, note string, m *cpuMeter) {
		b.report.addMeasured(Record{Name: name, Workload: wCapacity, Backend: be, Size: total, Value: round3(v), Unit: unit, Samples: n, Note: note}, m)
	}
	lats := func(name RecordName, ds []time.Duration) {
		rec(name+"_p50", ms(percentile(ds, 0.5)), "ms", len(ds), "", nil)
		rec(name+"_p99", ms(percentile(ds, 0.99)), "ms", len(ds), "", nil)
	}
	where := fmt.Sprintf("%d mailboxes of %d contacts, app-only token, %d server(s)", sz.Users, sz.Contacts, len(s.srvs))

	// Writes: creates into random mailboxes of the tenant.
	for _, c := range []int{1, capClients} {
		name := recCapWritesSeq
		if c > 1 {
			name = recCapWritesC16
		}
		b.logf("capacity: %d creates into random mailboxes, %d client(s)", sz.Writes, c)
		var lat latencies
		var next atomic.Int64
		m := startMeter(s.pids()...)
		cpu.start(ctx)
		start := time.Now()
		err := fanOut(ctx, c, func(ctx context.Context, k int) error {
			rng := rand.New(rand.NewPCG(b.cfg.Seed+uint64(c), uint64(k)))
			for {
				i := int(next.Add(1)) - 1
				if i >= sz.Writes {
					return nil
				}
				d, err := t.create(ctx, s.pick(), rng.IntN(len(t.upns)), t.bodies[i%len(t.bodies)])
				if err != nil {
					return err
				}
				lat.add(d)
			}
		})
		took := time.Since(start)
		cpu.stop(ctx)
		if err != nil {
			return err
		}
		rec(name, perSecond(sz.Writes, took), "creates/s", sz.Writes, fmt.Sprintf("POST /users/{upn}/contacts into random mailboxes, %d client(s); %s", c, where), m)
		lats(name, lat.ds)
		b.recordCPU(name, cpu, sz.Writes, total)
		b.logf("capacity: %s %.0f creates/s, p50 %.3f ms, server CPU %.3f ms per create", name, perSecond(sz.Writes, took), ms(percentile(lat.ds, 0.5)), cpu.serverMS(sz.Writes))
	}

	// Rounds of the sampled mailboxes: client k owns k, k+capClients, ….
	rounds := func(ctx context.Context, lat *latencies, items *atomic.Int64) error {
		return fanOut(ctx, capClients, func(ctx context.Context, k int) error {
			for j := k; j < len(t.sample); j += capClients {
				n, d, err := t.round(ctx, s, s.pick(), j)
				if err != nil {
					return err
				}
				lat.add(d)
				items.Add(int64(n))
			}
			return nil
		})
	}
	b.logf("capacity: first delta rounds of %d mailboxes, %d clients", len(t.sample), capClients)
	var firstLat latencies
	var firstItems atomic.Int64
	m := startMeter(s.pids()...)
	cpu.start(ctx)
	start := time.Now()
	err := rounds(ctx, &firstLat, &firstItems)
	took := time.Since(start)
	cpu.stop(ctx)
	if err != nil {
		return err
	}
	rec(recCapFirstRound, perSecond(len(t.sample), took), "rounds/s", len(t.sample),
		fmt.Sprintf("first delta rounds of %d sampled mailboxes (%d contacts delivered, pages of %d, read undecoded), %d clients; %s", len(t.sample), firstItems.Load(), pageSize, capClients, where), m)
	lats(recCapFirstRound, firstLat.ds)
	b.recordCPU(recCapFirstRound, cpu, len(t.sample), total)

	// Incremental: changes in random sampled mailboxes, then a round of each.
	b.logf("capacity: %d passes of %d changes and %d incremental rounds", sz.Passes, len(t.sample), len(t.sample))
	var incLat latencies
	var incItems atomic.Int64
	var incTook time.Duration
	m = startMeter(s.pids()...)
	cpu.reset()
	for p := range sz.Passes {
		rng := rand.New(rand.NewPCG(b.cfg.Seed+500, uint64(p)))
		targets := make([]int, len(t.sample))
		for i := range targets {
			targets[i] = t.sample[rng.IntN(len(t.sample))]
		}
		var next atomic.Int64
		if err := fanOut(ctx, capClients, func(ctx context.Context, k int) error {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(targets) {
					return nil
				}
				if _, err := t.create(ctx, s.pick(), targets[i], t.bodies[i%len(t.bodies)]); err != nil {
					return err
				}
			}
		}); err != nil {
			return err
		}
		cpu.resume(ctx)
		start := time.Now()
		err := rounds(ctx, &incLat, &incItems)
		incTook += time.Since(start)
		cpu.stop(ctx)
		if err != nil {
			return err
		}
	}
	n := len(incLat.ds)
	rec(recCapIncremental, perSecond(n, incTook), "rounds/s", n,
		fmt.Sprintf("deltaLink rounds of the sampled mailboxes after %d creates into random ones of them per pass (%.2f contacts per round), %d clients, %d passes; %s", len(t.sample), float64(incItems.Load())/float64(max(n, 1)), capClients, sz.Passes, where), m)
	lats(recCapIncremental, incLat.ds)
	b.recordCPU(recCapIncremental, cpu, n, total)
	b.logf("capacity: incremental %.0f rounds/s, p50 %.3f ms, p99 %.3f ms, server CPU %.3f ms per round", perSecond(n, incTook), ms(percentile(incLat.ds, 0.5)), ms(percentile(incLat.ds, 0.99)), cpu.serverMS(n))

	// Idle: as many passes of rounds with no change since the last one
	// (what most polls of a real tenant are).
	b.logf("capacity: %d passes of %d idle rounds", sz.Passes, len(t.sample))
	var idleLat latencies
	var idleItems atomic.Int64
	m = startMeter(s.pids()...)
	cpu.start(ctx)
	start = time.Now()
	for range sz.Passes {
		if err := rounds(ctx, &idleLat, &idleItems); err != nil {
			return err
		}
	}
	took = time.Since(start)
	cpu.stop(ctx)
	if idleItems.Load() != 0 {
		return fmt.Errorf("rounds without changes delivered %d contacts", idleItems.Load())
	}
	n = len(idleLat.ds)
	rec(recCapIdle, perSecond(n, took), "rounds/s", n,
		fmt.Sprintf("deltaLink rounds of the sampled mailboxes with nothing to deliver, %d clients, %d passes; %s", capClients, sz.Passes, where), m)
	lats(recCapIdle, idleLat.ds)
	b.recordCPU(recCapIdle, cpu, n, total)

	return b.capacityMixed(ctx, t, s, cpu, sz, where)
}

// capacityMixed runs the mixed load: capClients clients for sz.Mixed, each
// request a create into a random mailbox (one in capWriteEvery) or the next
// incremental round of one of the client's sampled mailboxes.
func (b *bench) capacityMixed(ctx context.Context, t *capTenant, s *capServers, cpu *capCPU, sz capSize, where string) error {
	total := sz.Users * sz.Contacts
	b.logf("capacity: mixed load for %s, %d clients, 1 create per %d rounds", sz.Mixed, capClients, capWriteEvery-1)
	var writeLat, roundLat latencies
	var writes, rounds atomic.Int64
	m := startMeter(s.pids()...)
	cpu.start(ctx)
	deadline := time.Now().Add(sz.Mixed)
	start := time.Now()
	err := fanOut(ctx, capClients, func(ctx context.Context, k int) error {
		rng := rand.New(rand.NewPCG(b.cfg.Seed+900, uint64(k)))
		own := k
		for i := 0; time.Now().Before(deadline); i++ {
			a := s.pick()
			if own >= len(t.sample) || rng.IntN(capWriteEvery) == 0 {
				d, err := t.create(ctx, a, rng.IntN(len(t.upns)), t.bodies[(k*7919+i)%len(t.bodies)])
				if err != nil {
					return err
				}
				writeLat.add(d)
				writes.Add(1)
				continue
			}
			_, d, err := t.round(ctx, s, a, own)
			if err != nil {
				return err
			}
			roundLat.add(d)
			rounds.Add(1)
			if own += capClients; own >= len(t.sample) {
				own = k
			}
		}
		return nil
	})
	took := time.Since(start)
	cpu.stop(ctx)
	if err != nil {
		return err
	}
	ops := int(writes.Load() + rounds.Load())
	be := b.backend
	b.report.addMeasured(Record{Name: recCapMixed, Workload: wCapacity, Backend: be, Size: total, Value: round3(perSecond(ops, took)), Unit: "requests/s", Samples: ops,
		Note: fmt.Sprintf("%d clients for %s: %d creates into random mailboxes (%.0f/s) and %d incremental rounds of the sampled mailboxes (%.0f/s); %s",
			capClients, took.Round(time.Millisecond), writes.Load(), perSecond(int(writes.Load()), took), rounds.Load(), perSecond(int(rounds.Load()), took), where)}, m)
	for _, x := range []struct {
		name RecordName
		ds   []time.Duration
	}{{recCapMixed + "_write", writeLat.ds}, {recCapMixed + "_round", roundLat.ds}} {
		b.report.add(Record{Name: x.name + "_p50", Workload: wCapacity, Backend: be, Size: total, Value: round3(ms(percentile(x.ds, 0.5))), Unit: "ms", Samples: len(x.ds)})
		b.report.add(Record{Name: x.name + "_p99", Workload: wCapacity, Backend: be, Size: total, Value: round3(ms(percentile(x.ds, 0.99))), Unit: "ms", Samples: len(x.ds)})
	}
	b.recordCPU(recCapMixed, cpu, ops, total)
	b.logf("capacity: mixed %.0f requests/s (%d creates, %d rounds), server CPU %.3f ms per request", perSecond(ops, took), writes.Load(), rounds.Load(), cpu.serverMS(ops))
	return nil
}

// recordCPU records the server CPU time per operation of the phase cpu
// measured (and, on PostgreSQL, the CPU time of the servers' database
// backends).
func (b *bench) recordCPU(name RecordName, cpu *capCPU, ops, size int) {
	b.report.add(Record{Name: name + "_server_cpu", Workload: wCapacity, Backend: b.backend, Size: size, Value: round3(cpu.serverMS(ops)), Unit: "ms CPU/op", Samples: ops,
		Note: fmt.Sprintf("utime+stime of the server process(es) from /proc/<pid>/stat over the phase, %.2f s, divided by the operations", float64(cpu.srv)/clockTicks)})
	b.report.add(Record{Name: name + "_client_cpu", Workload: wCapacity, Backend: b.backend, Size: size, Value: round3(cpu.clientMS(ops)), Unit: "ms CPU/op", Samples: ops,
		Note: fmt.Sprintf("utime+stime of the bench process (its clients) over the phase, %.2f s, divided by the operations: CPU of the same cores the server did not get", float64(cpu.own)/clockTicks)})
	if cpu.db != nil {
		b.report.add(Record{Name: name + "_db_cpu", Workload: wCapacity, Backend: b.backend, Size: size, Value: round3(cpu.dbMS(ops)), Unit: "ms CPU/op", Samples: ops,
			Note: fmt.Sprintf("utime+stime of the PostgreSQL backends of the servers' connections (application_name %s) over the phase, %.2f s, divided by the operations; the database's background processes are not counted", capApp, float64(cpu.pg)/clockTicks)})
	}
}

// capacitySize records the size of the database after the run: bytes,
// contact rows and change-log rows.
func (b *bench) capacitySize(ctx context.Context, name string, total int) error {
	st, err := b.storeStats(ctx, name)
	if err != nil {
		return err
	}
	be := b.backend
	b.report.add(Record{Name: recCapDBSize, Workload: wCapacity, Backend: be, Size: total, Value: round3(float64(st.bytes) / (1 << 20)), Unit: "MB",
		Note: fmt.Sprintf("%s after the run; %.0f bytes per contact row", st.how, float64(st.bytes)/float64(max(st.contacts, 1)))})
	b.report.add(Record{Name: recCapContactRows, Workload: wCapacity, Backend: be, Size: total, Value: float64(st.contacts), Unit: "rows", Note: "contacts after the run (seeded and created)"})
	b.report.add(Record{Name: recCapChangeRows, Workload: wCapacity, Backend: be, Size: total, Value: float64(st.changes), Unit: "rows",
		Note: fmt.Sprintf("rows of the change log after the run (%.2f per contact row; nothing was pruned)", float64(st.changes)/float64(max(st.contacts, 1)))})
	b.logf("capacity: database %.1f MB, %d contacts, %d change-log rows", float64(st.bytes)/(1<<20), st.contacts, st.changes)
	return nil
}

// seedUsers seeds n mailboxes named after user (seed --users) with
// contacts each in their default folder and returns their UPNs.
func (b *binary) seedUsers(ctx context.Context, db, tenant, user string, n, contacts int, seed uint64) ([]string, error) {
	out, err := b.runEnv(ctx, []string{seedGOGC}, "seed", "--db", db, "--tenant", tenant, "--user", user, "--users", fmt.Sprint(n),
		"--contacts", fmt.Sprint(contacts), "--seed", fmt.Sprint(seed), "--batch", seedBatch)
	if err != nil {
		return nil, err
	}
	upns := fakedata.NumberedUPNs(user, n)
	if want := fmt.Sprintf("of each of %d mailboxes, %s to %s", n, upns[0], upns[n-1]); !strings.Contains(out, want) {
		return nil, fmt.Errorf("seed --users: %q does not say %q", out, want)
	}
	return upns, nil
}

// withApplicationName adds application_name to a postgres:// URL, so that
// the database backends of the servers' connections can be told apart.
// Other DSN forms are returned as they are.
func withApplicationName(dsn, name string) string {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return dsn
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}
