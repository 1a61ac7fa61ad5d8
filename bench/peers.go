package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
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
	writes      time.Duration // all N sequential creates
	initial     []time.Duration
	incremental []time.Duration
}

// peerJob runs the job: N sequential creates into an empty collection, reps
// initial syncs, then reps cycles of 10 changes (5 updates, 3 creates,
// 2 deletes) each followed by an incremental sync.
func peerJob(ctx context.Context, s syncer, n, reps int, seed uint64) (peerResult, error) {
	var res peerResult
	start := time.Now()
	for i := range n {
		if err := s.create(ctx, i); err != nil {
			return res, err
		}
	}
	res.writes = time.Since(start)
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
	next := n
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

// runPeers runs the peer job on contactgraph and on each CardDAV peer.
func (b *bench) runPeers(ctx context.Context) error {
	n, reps := b.cfg.sizes.Peers, b.cfg.sizes.PeerReps
	gen := fakedata.New(b.cfg.Seed + 7)
	ppl := make(people, n+reps*createsPerRound)
	for i := range ppl {
		ppl[i] = gen.Contact()
	}

	// contactgraph first: on a fresh database of its own, or on -url.
	var a *api
	var l *local
	if b.cfg.URL != "" {
		a = &api{hc: b.hc, base: b.cfg.URL, token: b.cfg.Token}
	} else {
		b.fresh("peers")
		var err error
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
	res, err := peerJob(ctx, &cgSyncer{a: a, folder: folder, people: ppl, ids: map[int]string{}, c: a.deltaClient()}, n, reps, b.cfg.Seed)
	if err != nil {
		return fmt.Errorf("contactgraph: %w", err)
	}
	b.recordPeer(b.backend, n, res, m, "contactgraph: POST …/contacts; first round with client.Client, full contacts, pages of 200")
	if err := l.stop(); err != nil { // idle from now on: keep the machine to the peers
		return err
	}

	paths, reason := b.ensurePeers(ctx)
	for _, name := range []string{"radicale", "xandikos"} {
		if paths[name] == "" {
			b.report.skip(wPeers+" "+name, reason)
			b.logf("peers: %s not run: %s", name, reason)
			continue
		}
		// A peer that fails is reported, not fatal: it is not ours.
		if err := b.runPeer(ctx, name, ppl, n, reps); err != nil && ctx.Err() == nil {
			b.report.fail(wPeers+" "+name, err)
			b.logf("%s failed: %v", name, err)
		}
	}
	return ctx.Err()
}

func (b *bench) runPeer(ctx context.Context, name string, ppl people, n, reps int) error {
	dir, err := os.MkdirTemp(peerStorage(), "contactgraph-bench-"+name+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var p *davPeer
	if name == "radicale" {
		p, err = startRadicale(ctx, dir, b.hc, b.report)
	} else {
		p, err = startXandikos(ctx, dir, b.hc, b.report)
	}
	if err != nil {
		return err
	}
	defer p.stop()
	b.logf("peers: %s: %d sequential PUTs, %d initial syncs, %d incremental cycles", name, n, reps, reps)
	m := startMeter(p.cmd.Process.Pid)
	res, err := peerJob(ctx, &davSyncer{p: p, people: ppl}, n, reps, b.cfg.Seed)
	if err != nil {
		return err
	}
	b.recordPeer(name, n, res, m, name+": PUT vCard 3.0; sync-collection REPORT asking for getetag only (no card bodies); storage in "+filepath.Dir(dir))
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

func (b *bench) recordPeer(backend string, n int, res peerResult, m *cpuMeter, note string) {
	b.report.addMeasured(Record{Name: recPeerWrites, Workload: wPeers, Backend: backend, Size: n, Value: round3(perSecond(n, res.writes)), Unit: "creates/s", Samples: n,
		Note: note + fmt.Sprintf("; %d sequential creates took %s", n, res.writes.Round(time.Millisecond))}, m)
	b.report.add(Record{Name: recPeerInitialSync, Workload: wPeers, Backend: backend, Size: n, Value: round3(ms(median(res.initial))), Unit: "ms", Samples: len(res.initial),
		Note: "median full sync of the collection"})
	b.report.add(Record{Name: recPeerIncrementalSync, Workload: wPeers, Backend: backend, Size: n, Value: round3(ms(median(res.incremental))), Unit: "ms", Samples: len(res.incremental),
		Note: fmt.Sprintf("median sync after %d changes", changesPerRound)})
	b.logf("peers: %s: %.0f creates/s, initial %.2f ms, incremental %.2f ms", backend, perSecond(n, res.writes), ms(median(res.initial)), ms(median(res.incremental)))
}

// ensurePeers finds radicale and xandikos, installing the Debian packages
// when one is missing. It returns the paths found and, when one is
// missing, why.
func (b *bench) ensurePeers(ctx context.Context) (map[string]string, string) {
	find := func() (map[string]string, []string) {
		paths, missing := map[string]string{}, []string(nil)
		for _, name := range []string{"radicale", "xandikos"} {
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
