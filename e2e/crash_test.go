package e2e

import (
	"context"
	"testing"
	"time"
)

// TestCrash kills a server with SIGKILL in the middle of a write load and
// starts it again on the same database: every acknowledged write must be
// there, and delta clients must catch up without losing a change.
func TestCrash(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { crash(t, sqliteDB(t)) })
	t.Run("postgres", func(t *testing.T) { crash(t, postgresDB(t)) })
}

func crash(t *testing.T, db string) {
	const (
		writers = 4
		acks    = 300 // acknowledged writes before the kill
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv := startServers(t, db, "server")[0]
	tok := userToken(t, db, "alice@contoso.com")
	a := &api{http: newBalancer(srv).httpClient(), base: srv.BaseURL(), token: tok}
	f := newFixture(t, a, 1)
	w := &workload{api: a, ledger: f.ledger, stable: f.stable, objects: 1 << 20, pace: time.Millisecond}
	w.weights[opCreateContact], w.weights[opUpdateContact] = 1, 2

	// A client that synced before the load, with a plain HTTP client: its
	// deltaLink names the first run's host:port.
	before := newDeltaClient("client synced before the load", kContact, direct(srv, tok), "/me/contacts/delta", nil, seed)
	before.scope, before.ledger = f.root, f.ledger
	if err := before.catchUp(ctx, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	// A client that runs rounds all through the load and the crash.
	during := newDeltaClient("client syncing during the load", kContact, a, "/me/contactFolders/"+f.stable[1]+"/contacts/delta", nil, seed+1)
	during.scope, during.ledger = f.stable[1], f.ledger

	stop := make(chan struct{})
	waitWriters := runAll(writers, func(i int) { newWriter(w, i+1, seed).run(ctx, stop) })
	waitDuring := runAll(1, func(int) { during.run(ctx, stop) })
	waitFor(t, "acknowledged writes", time.Minute, func() bool {
		ack, _ := f.ledger.totals()
		return ack >= acks
	})
	if err := srv.kill(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	waitWriters()
	waitDuring()
	ack, inFlight := f.ledger.totals()
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}

	// Links are absolute on the base URL the client used: the client from
	// before the crash sends its deltaLink to the new run's address.
	for i, link := range before.links {
		before.links[i] = mustOnHost(t, link, srv.Addr())
	}
	before.initial = mustOnHost(t, before.initial, srv.Addr())
	clients := []*deltaClient{before, during}
	st := settle(t, f, false, clients)
	checkLedger(t, f.ledger, st)
	n := checkMirrors(t, st, clients)
	for _, dc := range clients {
		t.Log(dc)
	}
	t.Logf("the slowest write took %s", f.ledger.slowestWrite())
	t.Logf("crash: killed with SIGKILL after %d acknowledged writes, %d writes in flight (unknown outcome); after the restart all %d contacts are at their acknowledged state or newer, and %d delta mirrors caught up exactly",
		ack, inFlight, len(st.contacts), n)
}

func mustOnHost(t *testing.T, link, addr string) string {
	t.Helper()
	u, err := onHost(link, addr)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
