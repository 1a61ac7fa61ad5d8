package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

// TestTorture runs writers and delta clients against servers that are
// killed with SIGKILL and restarted while they work, with subscriptions
// whose receivers fail some notification POSTs, then checks every
// mirror, every acknowledged write and its notifications.
// -torture.duration sets the load's length (see the package
// documentation for a long run).
func TestTorture(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { torture(t, sqliteDB(t), 1) })
	t.Run("postgres two replicas", func(t *testing.T) { torture(t, postgresDB(t), 2) })
}

// tortureRun counts what the killer did.
type tortureRun struct {
	restarts int
	down     time.Duration // total time a server was down
}

func torture(t *testing.T, db string, replicas int) {
	seed, duration, restarts, rnd := tortureParams(t, notifyWait)
	t.Logf("seed %d (-torture.seed=%d replays the random choices), %v, %d writers, %d replicas, %d restarts", seed, seed, duration, *tortureWriters, replicas, restarts)

	servers := startServersWith(t, db, notifyServeArgs, replicaNames(replicas)...)
	const upn = "alice@contoso.com"
	tok := userToken(t, db, upn)
	bal := newBalancer(servers...)
	a := &api{http: bal.httpClient(), base: servers[0].BaseURL(), token: tok}
	f := newFixture(t, a, 2)
	notes := newNotifications(t, a, f, upn, seed, duration)
	w := tortureWorkload(a, f)
	for o := range w.weights {
		w.weights[o] = 2
	}
	w.weights[opCreateContact], w.weights[opUpdateContact] = 6, 6
	w.weights[opCreateOrg], w.weights[opUpdateOrg] = 3, 3

	clients := newTortureClients(a, f, seed, rnd)
	run := &tortureRun{}
	runLoad(t, servers, duration, restarts, rnd, run,
		workers(*tortureWriters, func(i int) worker { return newWriter(w, i+1, seed).run }),
		workers(len(clients), func(i int) worker { return clients[i].run }))

	st := settle(t, f, true, clients)
	checkLedger(t, f.ledger, st)
	n := checkMirrors(t, st, clients)
	notified := notes.check(t, f.ledger)
	var rounds, abandoned, resumed, transient int
	for _, dc := range clients {
		rounds += dc.stats.rounds
		abandoned += dc.stats.abandoned
		resumed += dc.stats.resumedOld
		transient += dc.stats.transient
		t.Log(dc)
	}
	t.Logf("writes (acknowledged/unknown outcome/refused/not sent): %s; the slowest took %s", f.ledger.summary(), f.ledger.slowestWrite())
	ack, unk := f.ledger.totals()
	t.Logf("torture summary (%d replicas, %v, seed %d): %d writes acknowledged, %d of unknown outcome, all acknowledged ones checked; %d delta rounds completed, %d abandoned half way, %d resumed from an older deltaLink, %d failed on transport errors; %d SIGKILL restarts (%v down in all); %d mirrors equal the state read in full (%d contacts, %d folders, %d org contacts, %d deleted org contacts); %s",
		replicas, duration, seed, ack, unk, rounds, abandoned, resumed, transient, run.restarts, run.down.Round(time.Millisecond), n,
		len(st.contacts), len(st.folders), len(st.org), len(st.orgGone), notified)
}

// replicaNames names the servers of a run: "server", or "replica A", "replica
// B", ... when there are several.
func replicaNames(replicas int) []string {
	if replicas <= 1 {
		return []string{"server"}
	}
	var names []string
	for i := 0; i < replicas; i++ {
		names = append(names, fmt.Sprintf("replica %c", 'A'+i))
	}
	return names
}

// tortureParams reads the torture flags: the seed (a new one unless
// -torture.seed is set), the load's duration, the number of restarts, and
// the random source of the run's choices. It fails the test when the
// duration does not fit in the test binary's -timeout with the settle's
// wait and extra.
func tortureParams(t *testing.T, extra time.Duration) (seed uint64, duration time.Duration, restarts int, rnd *rand.Rand) {
	t.Helper()
	seed = *tortureSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	duration = *tortureDuration
	restarts = *tortureRestarts
	if restarts <= 0 {
		restarts = max(3, int(duration/(10*time.Second)))
	}
	if dl, ok := t.Deadline(); ok && time.Until(dl) < duration+3*time.Minute+extra {
		t.Fatalf("-torture.duration=%v does not fit in the test binary's -timeout (%v left): raise -timeout", duration, time.Until(dl).Round(time.Second))
	}
	return seed, duration, restarts, rand.New(rand.NewPCG(seed, 99))
}

// tortureWorkload is the writers' workload of a torture run on f, with no
// weights set.
func tortureWorkload(a *api, f *fixture) *workload {
	return &workload{api: a, ledger: f.ledger, stable: f.stable, objects: *tortureObjects, pace: 3 * time.Millisecond}
}

// worker is a loop of a torture run: it works until stop is closed or
// ctx ends.
type worker func(ctx context.Context, stop <-chan struct{})

// workers returns n workers made by mk.
func workers(n int, mk func(i int) worker) []worker {
	out := make([]worker, n)
	for i := range out {
		out[i] = mk(i)
	}
	return out
}

// runLoad runs every group of workers while the killer restarts servers,
// for the load's duration, then stops them and waits for each group.
func runLoad(t *testing.T, servers []*server, duration time.Duration, restarts int, rnd *rand.Rand, run *tortureRun, groups ...[]worker) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), duration+5*time.Minute)
	defer cancel()
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	defer halt() // also when the killer fails the test
	var waits []func()
	for _, g := range groups {
		waits = append(waits, runAll(len(g), func(i int) { g[i](ctx, stop) }))
	}
	began := time.Now()
	killer(t, servers, restarts, duration, rnd, run)
	if rest := duration - time.Since(began); rest > 0 {
		time.Sleep(rest) // the load's length: pacing, not synchronization
	}
	halt()
	for _, wait := range waits {
		wait()
	}
}

// newTortureClients returns the delta clients of a torture run: contact
// clients of the stable folders (every other one with a random $select;
// those without are checked against the consistency invariant after every
// round), a client of every folder and one of a folder's children, and org
// contact clients with and without Prefer: return=minimal.
func newTortureClients(a *api, f *fixture, seed uint64, rnd *rand.Rand) []*deltaClient {
	var out []*deltaClient
	for i := 0; i < *tortureClients; i++ {
		folder := f.stable[i%len(f.stable)]
		path := "/me/contactFolders/" + folder + "/contacts/delta"
		if folder == f.root {
			path = "/me/contacts/delta"
		}
		var sel []string
		name := fmt.Sprintf("contacts %d of folder %d", i, i%len(f.stable))
		if i%2 == 1 {
			sel = randomSelect(rnd, contactgraph.ContactSchema)
			name += " $select=" + fmt.Sprint(sel)
		}
		dc := newDeltaClient(name, kContact, a, path, sel, seed+uint64(i))
		dc.scope, dc.mayAbandon = folder, true
		if sel == nil {
			dc.ledger = f.ledger
		}
		out = append(out, dc)
	}
	all := newDeltaClient("every folder", kFolder, a, "/me/contactFolders/delta", nil, seed+100)
	all.mayAbandon = true
	children := newDeltaClient("children of folder 1", kFolder, a, "/me/contactFolders/"+f.stable[1]+"/childFolders/delta", nil, seed+101)
	children.scope, children.mayAbandon = f.stable[1], true
	out = append(out, all, children)

	org := newDeltaClient("org contacts", kOrg, a, "/contacts/delta", nil, seed+200)
	minimal := newDeltaClient("org contacts return=minimal", kOrg, a, "/contacts/delta", nil, seed+201)
	sel := randomSelect(rnd, contactgraph.OrgContactSchema)
	minimalSel := newDeltaClient("org contacts return=minimal $select="+fmt.Sprint(sel), kOrg, a, "/contacts/delta", sel, seed+202)
	for _, dc := range []*deltaClient{org, minimal, minimalSel} {
		dc.mayAbandon = true
	}
	for _, dc := range []*deltaClient{minimal, minimalSel} {
		dc.c.Minimal, dc.m.Merge = true, true
	}
	return append(out, org, minimal, minimalSel)
}

// randomSelect returns one to five properties of s other than id, in s's
// order.
func randomSelect(rnd *rand.Rand, s *contactgraph.Schema) []string {
	var names []string
	for _, p := range s.Props {
		if p.Name != "id" {
			names = append(names, p.Name)
		}
	}
	rnd.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	sel := names[:1+rnd.IntN(5)]
	slices.SortFunc(sel, func(x, y string) int {
		return slices.IndexFunc(s.Props, func(p contactgraph.Property) bool { return p.Name == x }) -
			slices.IndexFunc(s.Props, func(p contactgraph.Property) bool { return p.Name == y })
	})
	return sel
}

// killer kills a random server with SIGKILL n times, spread over the
// load's duration, and starts it again each time after a short while
// down; with several replicas the others keep serving meanwhile. It
// returns when the last restarted server is up.
func killer(t *testing.T, servers []*server, n int, duration time.Duration, rnd *rand.Rand, run *tortureRun) {
	t.Helper()
	began := time.Now()
	for i := 0; i < n; i++ {
		at := began.Add(duration * time.Duration(i+1) / time.Duration(n+1))
		at = at.Add(time.Duration(rnd.Int64N(int64(duration/time.Duration(4*(n+1))) + 1)))
		time.Sleep(time.Until(at)) // pacing the kills, not synchronization
		victim := servers[rnd.IntN(len(servers))]
		down := time.Now()
		if err := victim.kill(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rnd.IntN(300)) * time.Millisecond) // stay down a while: clients and writers meet a dead server
		if err := victim.start(); err != nil {
			t.Fatalf("restart %d of %s: %v", i+1, victim.name, err)
		}
		run.restarts++
		run.down += time.Since(down)
		t.Logf("restart %d: %s killed with SIGKILL at %v, up again on %s after %v (its start took %v)", i+1, victim.name,
			down.Sub(began).Round(time.Millisecond), victim.Addr(), time.Since(down).Round(time.Millisecond), victim.startTime().Round(time.Millisecond))
	}
}
