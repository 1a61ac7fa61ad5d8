package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// startServers starts one server per name on db, all at once (as replicas
// of a deployment start), and stops them when the test ends.
func startServers(t *testing.T, db string, names ...string) []*server {
	t.Helper()
	return startServersWith(t, db, nil, names...)
}

// startServersWith is startServers with more serve flags (args), given to
// every run of every server.
func startServersWith(t *testing.T, db string, args []string, names ...string) []*server {
	t.Helper()
	servers := make([]*server, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		servers[i] = &server{name: name, db: db, args: args, dir: t.TempDir(), log: &serverLog{}}
		s := servers[i]
		t.Cleanup(func() {
			if err := s.stop(); err != nil {
				t.Errorf("%s: %v", s.name, err)
			}
			for _, d := range s.died() {
				t.Errorf("%s: %s", s.name, d)
			}
			for _, line := range s.log.errorLines() {
				t.Errorf("%s logged an error: %s", s.name, line)
			}
			if t.Failed() {
				t.Logf("%s output (last lines):\n%s", s.name, s.log.tail(60))
			}
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.start()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return servers
}

// fixture is a mailbox prepared for a test: its default folder and the
// stable folders created in it, recorded in the ledger.
type fixture struct {
	api    *api
	ledger *ledger
	root   string
	stable []string // the root first
}

// newFixture creates n top-level folders besides the default one.
func newFixture(t *testing.T, a *api, n int) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{api: a, ledger: newLedger()}
	for i := 0; i < n; i++ {
		f.ledger.beginCreate(kFolder)
		r, err := a.do(ctx, http.MethodPost, "/me/contactFolders", object{"displayName": jsonOf(fmt.Sprintf("Stable %d", i+1))})
		if err != nil {
			t.Fatal(err)
		}
		doc, err := r.want(http.StatusCreated)
		if err != nil {
			t.Fatal(err)
		}
		f.ledger.endCreate(kFolder, acked, doc, nil, r.String())
		if f.root == "" {
			f.root = str(doc, "parentFolderId")
			f.stable = []string{f.root}
		}
		f.stable = append(f.stable, str(doc, "id"))
	}
	return f
}

// catcher is a mirror that settle brings up to date: catchUp runs
// complete rounds until one succeeds, or the deadline passes.
type catcher interface {
	catchUp(ctx context.Context, deadline time.Time) error
}

// settle reads the final state once the writers have stopped: it reads
// everything, runs one complete round for every client, and reads
// everything again, until both reads agree (a write of a killed process
// may still commit just after the kill). Every round then started after
// the last change, so every mirror must equal that state. more are other
// mirrors (CardDAV ones) brought up to date with the delta clients.
func settle(t *testing.T, f *fixture, org bool, clients []*deltaClient, more ...catcher) *state {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(2 * time.Minute)
	mirrors := make([]catcher, 0, len(clients)+len(more))
	for _, dc := range clients {
		mirrors = append(mirrors, dc)
	}
	mirrors = append(mirrors, more...)
	for attempt := 1; ; attempt++ {
		before, err := readState(ctx, f.api, f.root, org)
		if err != nil {
			t.Fatalf("read the final state: %v", err)
		}
		for _, c := range mirrors {
			if err := c.catchUp(ctx, deadline); err != nil {
				t.Fatal(err)
			}
		}
		after, err := readState(ctx, f.api, f.root, org)
		if err != nil {
			t.Fatalf("read the final state: %v", err)
		}
		if before.equal(after) {
			return after
		}
		if attempt == 5 || time.Now().After(deadline) {
			t.Fatalf("the data still changed %d times after the writers had stopped", attempt)
		}
	}
}

// checkMirrors compares every client's mirror with st and reports each
// client's problems; it returns the number of mirrors checked.
func checkMirrors(t *testing.T, st *state, clients []*deltaClient) int {
	t.Helper()
	for _, dc := range clients {
		if d := dc.diff(st); d != "" {
			t.Errorf("%s: the mirror differs from the collection read in full: %s", dc.name, d)
		}
		dc.mu.Lock()
		dc.problems.report(t, dc.name)
		dc.mu.Unlock()
	}
	return len(clients)
}

// checkLedger checks every acknowledged write against st and reports the
// anomalies the writers saw.
func checkLedger(t *testing.T, l *ledger, st *state) {
	t.Helper()
	for _, p := range l.verify(st.look, st.all) {
		t.Errorf("acknowledged write lost: %s", p)
	}
	for _, p := range l.problems() {
		t.Errorf("writer saw: %s", p)
	}
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// runAll runs fn for each of n goroutines and returns a function that
// waits for them.
func runAll(n int, fn func(i int)) (wait func()) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i)
		}()
	}
	return wg.Wait
}
