package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/client"
	"github.com/contactgraph/contactgraph/fakedata"
)

// syncer is one server doing the peer job: contactgraph over Graph, or a
// CardDAV server. Contacts are named by their index.
type syncer interface {
	create(ctx context.Context, i int) error
	update(ctx context.Context, i, cycle int) error
	remove(ctx context.Context, i int) error
	// initial runs a full sync and returns the state to continue from and
	// the items it returned.
	initial(ctx context.Context) (string, int, error)
	// incremental syncs from state.
	incremental(ctx context.Context, state string) (string, int, error)
}

// peerResult holds the figures of one server.
type peerResult struct {
	created     int           // timed creates made (fewer than asked when the budget ran out)
	writes      time.Duration // all timed sequential creates
	initial     []time.Duration
	incremental []time.Duration
}

// peerJob runs the job on a collection that already holds contacts
// 0..have-1: writes sequential creates (stopped after budget, when it is
// not 0), reps initial syncs, then reps cycles of 10 changes (5 updates,
// 3 creates, 2 deletes) each followed by an incremental sync.
func peerJob(ctx context.Context, s syncer, have, writes, reps int, budget time.Duration, seed uint64) (peerResult, error) {
	var res peerResult
	start := time.Now()
	for i := have; i < have+writes; i++ {
		if err := s.create(ctx, i); err != nil {
			return res, err
		}
		res.created++
		if budget > 0 && time.Since(start) > budget {
			break
		}
	}
	res.writes = time.Since(start)
	n := have + res.created
	var state string
	for range reps {
		start := time.Now()
		st, items, err := s.initial(ctx)
		if err != nil {
			return res, err
		}
		res.initial = append(res.initial, time.Since(start))
		if items != n {
			return res, fmt.Errorf("the initial sync over %d contacts returned %d", n, items)
		}
		state = st
	}
	alive := make([]int, n)
	for i := range alive {
		alive[i] = i
	}
	next := have + writes // past every index the writes may have used
	rng := rand.New(rand.NewPCG(seed, 2))
	for cycle := range reps {
		rng.Shuffle(len(alive), func(i, j int) { alive[i], alive[j] = alive[j], alive[i] })
		for _, i := range alive[:updatesPerRound] {
			if err := s.update(ctx, i, cycle); err != nil {
				return res, err
			}
		}
		for range createsPerRound {
			if err := s.create(ctx, next); err != nil {
				return res, err
			}
			alive = append(alive, next)
			next++
		}
		gone := alive[updatesPerRound : updatesPerRound+deletesPerRound]
		for _, i := range gone {
			if err := s.remove(ctx, i); err != nil {
				return res, err
			}
		}
		alive = append(alive[:updatesPerRound], alive[updatesPerRound+deletesPerRound:]...)
		start := time.Now()
		st, items, err := s.incremental(ctx, state)
		if err != nil {
			return res, err
		}
		res.incremental = append(res.incremental, time.Since(start))
		if items != changesPerRound {
			return res, fmt.Errorf("an incremental sync after %d changes returned %d items", changesPerRound, items)
		}
		state = st
	}
	return res, nil
}

// people are the generated contacts of the peer job, shared by every server.
type people []contactgraph.ContactInput

func (p people) uid(i int) string { return fmt.Sprintf("bench-%06d", i) }

// cgSyncer is contactgraph doing the job in a folder of its own.
type cgSyncer struct {
	a      *api
	folder string
	people people
	ids    map[int]string
	c      *client.Client
}

func (s *cgSyncer) create(ctx context.Context, i int) error {
	body, _ := json.Marshal(s.people[i].Props)
	id, err := s.a.createContact(ctx, s.folder, body)
	s.ids[i] = id
	return err
}

func (s *cgSyncer) update(ctx context.Context, i, cycle int) error {
	return s.a.updateContact(ctx, s.ids[i], []byte(fmt.Sprintf(`{"jobTitle":"Changed in cycle %d"}`, cycle)))
}

func (s *cgSyncer) remove(ctx context.Context, i int) error { return s.a.deleteContact(ctx, s.ids[i]) }

func (s *cgSyncer) initial(ctx context.Context) (string, int, error) {
	return s.incremental(ctx, s.a.deltaURL(s.folder))
}

func (s *cgSyncer) incremental(ctx context.Context, link string) (string, int, error) {
	n := 0
	next, err := s.c.Round(ctx, link, func(client.Item) error { n++; return nil })
	return next, n, err
}

// davSyncer is a CardDAV server doing the job.
type davSyncer struct {
	p      *davPeer
	people people
}

func (s *davSyncer) create(ctx context.Context, i int) error {
	return s.p.put(ctx, s.people.uid(i), vcard(s.people.uid(i), s.people[i], ""))
}

func (s *davSyncer) update(ctx context.Context, i, cycle int) error {
	return s.p.put(ctx, s.people.uid(i), vcard(s.people.uid(i), s.people[i], fmt.Sprintf("Changed in cycle %d", cycle)))
}

func (s *davSyncer) remove(ctx context.Context, i int) error { return s.p.remove(ctx, s.people.uid(i)) }

func (s *davSyncer) initial(ctx context.Context) (string, int, error) {
	tok, n, _, err := s.p.sync(ctx, "")
	return tok, n, err
}

func (s *davSyncer) incremental(ctx context.Context, token string) (string, int, error) {
	tok, n, removed, err := s.p.sync(ctx, token)
	if err == nil && removed != deletesPerRound {
		err = fmt.Errorf("%s: an incremental sync reported %d removals, want %d", s.p.name, removed, deletesPerRound)
	}
	return tok, n, err
}

// The large size of the CardDAV comparison: the timed PUTs stop after
// peerLargeBudget, and each server's whole job there may take up to
// peerLargeTimeout (requests included) before it is given up and listed
// under skipped.
const (
	peerLargeBudget  = time.Minute
	peerLargeTimeout = 10 * time.Minute
)

// peerNames are the CardDAV peers, in the order they run.
var peerNames = []string{"radicale", "xandikos"}

// davNote says what every CardDAV run of the job sends and asks for.
const davNote = "PUT vCard 3.0, DELETE; sync-collection REPORT asking for getetag only (no card bodies)"

// peerRecords names the records of one side of the comparison.
type peerRecords struct{ writes, initial, incremental RecordName }

var (
	peerRecs = peerRecords{recPeerWrites, recPeerInitialSync, recPeerIncrementalSync} // contactgraph over Graph, and the peers
	davRecs  = peerRecords{recDavWrites, recDavInitialSync, recDavIncrementalSync}    // contactgraph over CardDAV
)

// runPeers runs the peer job on contactgraph (over Graph, then over
// CardDAV) and on each CardDAV peer, then the CardDAV job at the large
// size.
func (b *bench) runPeers(ctx context.Context) error {
	sz := b.cfg.sizes
	n, reps := sz.Peers, sz.PeerReps
	gen := fakedata.New(b.cfg.Seed + 7)
	ppl := make(people, max(n, sz.PeersLarge+sz.PeerLargeWrites)+max(reps, sz.PeerLargeReps)*createsPerRound)
	for i := range ppl {
		ppl[i] = gen.Contact()
	}

	// contactgraph first: on a fresh database of its own, or on -url.
	var a *api
	var l *local
	var pw string
	if b.cfg.URL != "" {
		a = &api{hc: b.hc, base: b.cfg.URL, token: b.cfg.Token}
	} else {
		b.fresh("peers")
		var err error
		if pw, err = b.bin.appPassword(ctx, b.database("peers"), tenant, userFor("peers")); err != nil {
			return err
		}
		if l, err = b.start(ctx, "peers"); err != nil {
			return err
		}
		defer l.stop()
		a = l.api
	}
	folder, err := a.createFolder(ctx, "Peer job "+b.runID)
	if err != nil {
		return err
	}
	b.logf("peers: contactgraph: %d sequential creates, %d initial rounds, %d incremental cycles", n, reps, reps)
	m := a.meter()
	res, err := peerJob(ctx, &cgSyncer{a: a, folder: folder, people: ppl, ids: map[int]string{}, c: a.deltaClient()}, 0, n, reps, 0, b.cfg.Seed)
	if err != nil {
		return fmt.Errorf("contactgraph: %w", err)
	}
	b.recordPeer(peerRecs, b.backend, n, res, m, "contactgraph: POST …/contacts; first round with client.Client, full contacts, pages of 200")
	if l == nil {
		b.report.skip(wPeers+" contactgraph carddav", "needs a server the bench starts (it issues the app password on its database): not with -url")
	} else {
		if err := b.runContactgraphDAV(ctx, l, userFor("peers"), pw, ppl, 0, n, reps, b.hc); err != nil {
			return fmt.Errorf("contactgraph over CardDAV: %w", err)
		}
		if err := l.stop(); err != nil { // idle from now on: keep the machine to the peers
			return err
		}
	}

	paths, reason := b.ensurePeers(ctx)
	for _, name := range peerNames {
		if paths[name] == "" {
			b.report.skip(wPeers+" "+name, reason)
			b.logf("peers: %s not run: %s", name, reason)
			continue
		}
		// A peer that fails is reported, not fatal: it is not ours.
		if err := b.runPeer(ctx, name, ppl, 0, n, reps, 0, b.hc); err != nil && ctx.Err() == nil {
			b.report.fail(wPeers+" "+name, err)
			b.logf("%s failed: %v", name, err)
		}
	}
	if sz.PeersLarge > 0 && ctx.Err() == nil {
		if err := b.runPeersLarge(ctx, ppl, paths, reason); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// runPeersLarge runs the CardDAV job on a collection of PeersLarge cards:
// contactgraph fills its address book by PUT (dav_fill), the peers get
// theirs written straight into their storage (PUT by PUT would take them
// about 45 minutes at their 2,000-card rate); each then does one untimed
// full sync, PeerLargeWrites timed PUTs (at most peerLargeBudget), the
// initial syncs and the incremental cycles.
func (b *bench) runPeersLarge(ctx context.Context, ppl people, paths map[string]string, reason string) error {
	sz := b.cfg.sizes
	big, writes, reps := sz.PeersLarge, sz.PeerLargeWrites, sz.PeerLargeReps
	hc := newHTTPClient()
	hc.Timeout = peerLargeTimeout // a peer's full sync of a big collection may take minutes
	if b.cfg.URL != "" {
		b.report.skip(fmt.Sprintf("%s contactgraph carddav at %d", wPeers, big), "needs a server the bench starts: not with -url")
	} else {
		name := "peers-" + human(big)
		b.fresh(name)
		pw, err := b.bin.appPassword(ctx, b.database(name), tenant, userFor(name))
		if err != nil {
			return err
		}
		l, err := b.start(ctx, name)
		if err != nil {
			return err
		}
		err = b.runContactgraphDAV(ctx, l, userFor(name), pw, ppl, big, writes, reps, hc)
		if serr := l.stop(); err == nil {
			err = serr
		}
		if err != nil {
			return fmt.Errorf("contactgraph over CardDAV at %d: %w", big, err)
		}
	}
	for _, name := range peerNames {
		what := fmt.Sprintf("%s %s at %d", wPeers, name, big)
		if paths[name] == "" {
			b.report.skip(what, reason)
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, peerLargeTimeout)
		err := b.runPeer(pctx, name, ppl, big, writes, reps, peerLargeBudget, hc)
		timedOut := pctx.Err() != nil
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && timedOut:
			b.report.skip(what, fmt.Sprintf("did not finish within %s (%v)", peerLargeTimeout, err))
			b.logf("peers: %s at %d given up after %s", name, big, peerLargeTimeout)
		case err != nil:
			b.report.fail(what, err)
			b.logf("%s at %d failed: %v", name, big, err)
		}
	}
	return nil
}

// runContactgraphDAV runs the job over CardDAV on the server l, signed in as
// upn with an app password, in a new address book: into an empty one
// (have 0), or into one first filled with have cards by PUT.
func (b *bench) runContactgraphDAV(ctx context.Context, l *local, upn, pw string, ppl people, have, writes, reps int, hc *http.Client) error {
	size, budget := writes, time.Duration(0)
	if have > 0 {
		size, budget = have, peerLargeBudget
	}
	p, err := contactgraphDAV(ctx, l.api.base, upn, pw, "bench-"+human(size), hc)
	if err != nil {
		return err
	}
	s := &davSyncer{p: p, people: ppl}
	note := "contactgraph over CardDAV, HTTP Basic with the UPN and an app password: " + davNote
	if have > 0 {
		b.logf("peers: contactgraph over CardDAV: filling an address book with %d PUTs", have)
		m := l.api.meter()
		start := time.Now()
		for i := range have {
			if err := s.create(ctx, i); err != nil {
				return err
			}
		}
		took := time.Since(start)
		b.report.addMeasured(Record{Name: recDavFill, Workload: wPeers, Backend: b.backend, Size: have, Value: round3(perSecond(have, took)), Unit: "creates/s", Samples: have,
			Note: fmt.Sprintf("%d sequential PUTs into an empty address book took %s (the peers are seeded through their storage instead)", have, took.Round(time.Millisecond))}, m)
		b.logf("peers: contactgraph over CardDAV: %d PUTs in %s (%.0f/s)", have, took.Round(time.Millisecond), perSecond(have, took))
		if err := warm(ctx, s, have); err != nil {
			return err
		}
		note += fmt.Sprintf("; writes are PUTs of new cards into the address book of %d cards it filled by PUT", have)
	}
	b.logf("peers: contactgraph over CardDAV: %d sequential PUTs into %d cards, %d initial syncs, %d incremental cycles", writes, have, reps, reps)
	m := l.api.meter()
	res, err := peerJob(ctx, s, have, writes, reps, budget, b.cfg.Seed)
	if err != nil {
		return err
	}
	b.recordPeer(davRecs, b.backend, size, res, m, note)
	return nil
}

// warm runs one untimed full sync of a collection just loaded, so that the
// timed part does not pay for what a server builds on its first reading
// (Radicale parses every card into its item cache).
func warm(ctx context.Context, s syncer, n int) error {
	_, items, err := s.initial(ctx)
	if err == nil && items != n {
		err = fmt.Errorf("the sync after loading %d cards returned %d", n, items)
	}
	return err
}

// runPeer runs the job on a peer: into an empty collection (have 0), or
// into one seeded with have cards through its storage.
func (b *bench) runPeer(ctx context.Context, name string, ppl people, have, writes, reps int, budget time.Duration, hc *http.Client) error {
	dir, err := os.MkdirTemp(peerStorage(), "contactgraph-bench-"+name+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var p *davPeer
	if name == "radicale" {
		p, err = startRadicale(ctx, dir, hc, b.report)
	} else {
		p, err = startXandikos(ctx, dir, hc, b.report)
	}
	if err != nil {
		return err
	}
	defer p.stop()
	s := &davSyncer{p: p, people: ppl}
	size := writes
	note := name + ": " + davNote + "; storage in " + filepath.Dir(dir)
	if have > 0 {
		size = have
		b.logf("peers: %s: writing %d cards into its storage", name, have)
		start := time.Now()
		if err := p.seedCards(ctx, ppl, have); err != nil {
			return err
		}
		seeded := time.Since(start)
		start = time.Now()
		if err := warm(ctx, s, have); err != nil {
			return err
		}
		b.logf("peers: %s: seeded in %s, first sync %s", name, seeded.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		note += fmt.Sprintf("; writes are PUTs of new cards into a collection of %d cards written as files straight into its storage (%s), then synced once untimed (%s)",
			have, seeded.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	}
	b.logf("peers: %s: %d sequential PUTs into %d cards, %d initial syncs, %d incremental cycles", name, writes, have, reps, reps)
	m := startMeter(p.cmd.Process.Pid)
	res, err := peerJob(ctx, s, have, writes, reps, budget, b.cfg.Seed)
	if err != nil {
		// Given up part way: what it finished is still a figure.
		if res.created > 0 && res.writes > 0 {
			b.report.addMeasured(Record{Name: peerRecs.writes, Workload: wPeers, Backend: name, Size: size, Value: round3(perSecond(res.created, res.writes)), Unit: "creates/s", Samples: res.created,
				Note: note + fmt.Sprintf("; %d sequential creates took %s; the job stopped later: %v", res.created, res.writes.Round(time.Millisecond), err)}, m)
		}
		if len(res.initial) > 0 {
			b.report.add(Record{Name: peerRecs.initial, Workload: wPeers, Backend: name, Size: size, Value: round3(ms(median(res.initial))), Unit: "ms", Samples: len(res.initial),
				Note: "median full sync of the collection (the job stopped later)"})
		}
		return err
	}
	b.recordPeer(peerRecs, name, size, res, m, note)
	return nil
}

// peerStorage is where the peers keep their throwaway collections: memory
// (/dev/shm) when the machine has it, so that their fsyncs cost nothing
// and the disk traffic of other work does not slow them down. This favours
// the peers: contactgraph's database stays on disk.
func peerStorage() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", "contactgraph-bench-probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return os.TempDir()
}

func (b *bench) recordPeer(names peerRecords, backend string, size int, res peerResult, m *cpuMeter, note string) {
	b.report.addMeasured(Record{Name: names.writes, Workload: wPeers, Backend: backend, Size: size, Value: round3(perSecond(res.created, res.writes)), Unit: "creates/s", Samples: res.created,
		Note: note + fmt.Sprintf("; %d sequential creates took %s", res.created, res.writes.Round(time.Millisecond))}, m)
	b.report.add(Record{Name: names.initial, Workload: wPeers, Backend: backend, Size: size, Value: round3(ms(median(res.initial))), Unit: "ms", Samples: len(res.initial),
		Note: "median full sync of the collection"})
	b.report.add(Record{Name: names.incremental, Workload: wPeers, Backend: backend, Size: size, Value: round3(ms(median(res.incremental))), Unit: "ms", Samples: len(res.incremental),
		Note: fmt.Sprintf("median sync after %d changes", changesPerRound)})
	b.logf("peers: %s %s at %d: %.1f creates/s, initial %.2f ms, incremental %.2f ms", backend, names.writes, size, perSecond(res.created, res.writes), ms(median(res.initial)), ms(median(res.incremental)))
}

// ensurePeers finds radicale and xandikos, installing the Debian packages
// when one is missing. It returns the paths found and, when one is
// missing, why.
func (b *bench) ensurePeers(ctx context.Context) (map[string]string, string) {
	find := func() (map[string]string, []string) {
		paths, missing := map[string]string{}, []string(nil)
		for _, name := range peerNames {
			if p, err := exec.LookPath(name); err == nil {
				paths[name] = p
			} else {
				missing = append(missing, name)
			}
		}
		return paths, missing
	}
	paths, missing := find()
	if len(missing) == 0 {
		return paths, ""
	}
	apt, err := exec.LookPath("apt-get")
	switch {
	case err != nil:
		return paths, "not installed, and apt-get is not available to install it"
	case os.Geteuid() != 0:
		return paths, "not installed, and installing it with apt-get needs root"
	}
	b.logf("installing %s with apt-get (not timed)", strings.Join(missing, ", "))
	for _, args := range [][]string{{"update"}, append([]string{"install", "-y", "--no-install-recommends"}, missing...)} {
		b.report.command(append([]string{"apt-get"}, args...)...)
		ictx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		cmd := exec.CommandContext(ictx, apt, args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			return paths, fmt.Sprintf("not installed: apt-get %s failed: %v: %s", args[0], err, lastLines(string(out), 3))
		}
	}
	paths, missing = find()
	if len(missing) > 0 {
		return paths, "still not installed after apt-get install"
	}
	return paths, ""
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
