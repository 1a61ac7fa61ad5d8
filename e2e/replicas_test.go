package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestReplicas runs two server processes on one PostgreSQL schema, as two
// stateless replicas behind a load balancer, started at the same moment on
// an empty schema.
func TestReplicas(t *testing.T) {
	db := postgresDB(t)
	servers := startServers(t, db, "replica A", "replica B")
	// A token minted by the CLI on the database works on both: the signing
	// key is kept in the database, made once although both replicas
	// started on an empty schema at the same time.
	alice, bob := userToken(t, db, "alice@contoso.com"), userToken(t, db, "bob@contoso.com")

	t.Run("tokens", func(t *testing.T) { replicaTokens(t, servers, alice) })
	t.Run("round handed over", func(t *testing.T) { replicaHandoff(t, servers, alice, bob) })
	t.Run("concurrent mirror", func(t *testing.T) { replicaMirror(t, servers, bob) })
}

// direct returns an api that talks to one server only.
func direct(s *server, tok string) *api {
	return &api{http: &http.Client{Timeout: requestTimeout}, base: s.BaseURL(), token: tok}
}

func replicaTokens(t *testing.T, servers []*server, tok string) {
	ctx := context.Background()
	for _, s := range servers {
		for _, path := range []string{"/me/contacts", "/me/contactFolders", "/contacts"} {
			r, err := direct(s, tok).do(ctx, http.MethodGet, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.want(http.StatusOK); err != nil {
				t.Errorf("%s: the CLI's token: %v", s.name, err)
			}
		}
		bad := &api{http: &http.Client{Timeout: requestTimeout}, base: s.BaseURL(), token: tok[:len(tok)-4] + "AAAA"}
		r, err := bad.do(ctx, http.MethodGet, "/me/contacts", nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.status != http.StatusUnauthorized {
			t.Errorf("%s: a token with a wrong signature: want 401: %s", s.name, r)
		}
	}
}

// deltaPage is a delta answer.
type deltaPage struct {
	Value []object `json:"value"`
	Next  string   `json:"@odata.nextLink"`
	Delta string   `json:"@odata.deltaLink"`
}

// handoff follows a round from link, sending every page to the other
// replica than the one whose link it follows (the link's host:port is
// rewritten: links are absolute on the base URL the client used). It
// checks that every link names the replica that made it, and returns the
// items and the round's deltaLink.
func handoff(t *testing.T, servers []*server, tok, link string, pageSize int) ([]object, string) {
	t.Helper()
	ctx := context.Background()
	var items []object
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatalf("the round from %s did not end in 100 pages", link)
		}
		// Send the page to the replica the link does not name.
		to := servers[0]
		if strings.Contains(link, "://"+servers[0].Addr()+"/") {
			to = servers[1]
		}
		u, err := onHost(link, to.Addr())
		if err != nil {
			t.Fatal(err)
		}
		r, err := direct(to, tok).do(ctx, http.MethodGet, u, nil, "Prefer", fmt.Sprintf("odata.maxpagesize=%d", pageSize))
		if err != nil {
			t.Fatal(err)
		}
		if r.status != http.StatusOK {
			t.Fatalf("%s answered a link of the other replica: %s", to.name, r)
		}
		var p deltaPage
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if (p.Next == "") == (p.Delta == "") || len(p.Value) > pageSize {
			t.Fatalf("a page must carry one link and at most %d items: %s", pageSize, r)
		}
		items = append(items, p.Value...)
		next := p.Next + p.Delta
		if !strings.HasPrefix(next, to.BaseURL()+"/") {
			t.Fatalf("%s answered a link %q that is not on the base URL the client used (%s)", to.name, next, to.BaseURL())
		}
		if p.Delta != "" {
			return items, p.Delta
		}
		link = next
	}
}

// byID indexes delta items by id; an id twice in one round keeps the later
// item (duplicates are allowed, each at its latest state).
func byID(items []object) map[string]object {
	out := map[string]object{}
	for _, it := range items {
		out[str(it, "id")] = it
	}
	return out
}

// replicaHandoff writes through both replicas and runs rounds whose pages
// alternate between them, with $select kept in the tokens.
func replicaHandoff(t *testing.T, servers []*server, tok, other string) {
	ctx := context.Background()
	a, b := direct(servers[0], tok), direct(servers[1], tok)
	mustDo := func(x *api, method, path string, body any, status int) object {
		t.Helper()
		r, err := x.do(ctx, method, path, body)
		if err != nil {
			t.Fatal(err)
		}
		o, err := r.want(status)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	folder := str(mustDo(a, http.MethodPost, "/me/contactFolders", object{"displayName": jsonOf("Handoff")}, http.StatusCreated), "id")
	elsewhere := str(mustDo(b, http.MethodPost, "/me/contactFolders", object{"displayName": jsonOf("Elsewhere")}, http.StatusCreated), "id")
	var ids []string
	for i := 0; i < 7; i++ {
		x := []*api{a, b}[i%2]
		o := mustDo(x, http.MethodPost, "/me/contactFolders/"+folder+"/contacts",
			object{"givenName": jsonOf(fmt.Sprintf("Person %d", i)), "jobTitle": jsonOf("Job 0")}, http.StatusCreated)
		ids = append(ids, str(o, "id"))
	}
	sel := []string{"displayName", "jobTitle"}
	first := servers[0].BaseURL() + "/me/contactFolders/" + folder + "/contacts/delta?$select=" + strings.Join(sel, ",")
	items, link := handoff(t, servers, tok, first, 2)
	got := byID(items)
	if len(got) != len(ids) {
		t.Fatalf("first round: %d distinct items, want the %d contacts: %v", len(got), len(ids), keys(got))
	}
	for i, id := range ids {
		it := got[id]
		if it == nil || str(it, "displayName") != fmt.Sprintf("Person %d", i) || str(it, "jobTitle") != "Job 0" {
			t.Errorf("first round: contact %s: %s", id, compact(it))
		}
		for k := range it {
			if !strings.HasPrefix(k, "@odata.") && k != "id" && !slices.Contains(sel, k) {
				t.Errorf("first round: contact %s carries %q, not in $select=%s (options live in the token)", id, k, strings.Join(sel, ","))
			}
		}
	}

	// Writes through both replicas: an update, a delete, a move out, a create.
	mustDo(b, http.MethodPatch, "/me/contacts/"+ids[0], object{"jobTitle": jsonOf("Job 1")}, http.StatusOK)
	mustDo(a, http.MethodDelete, "/me/contacts/"+ids[1], nil, http.StatusNoContent)
	mustDo(b, http.MethodPatch, "/me/contacts/"+ids[2], object{"parentFolderId": jsonOf(elsewhere)}, http.StatusOK)
	added := str(mustDo(a, http.MethodPost, "/me/contactFolders/"+folder+"/contacts", object{"givenName": jsonOf("Person 7")}, http.StatusCreated), "id")

	items, link = handoff(t, servers, tok, link, 1)
	got = byID(items)
	want := map[string]string{ids[0]: "Job 1", ids[1]: "@removed", ids[2]: "@removed", added: ""}
	if len(got) != len(want) {
		t.Errorf("second round: items %v, want exactly the 4 changed contacts %v", keys(got), want)
	}
	for id, job := range want {
		it := got[id]
		switch {
		case it == nil:
			t.Errorf("second round: contact %s is missing", id)
		case job == "@removed":
			if string(it["@removed"]) != `{"reason":"deleted"}` || str(it, "@odata.type") != "#microsoft.graph.contact" {
				t.Errorf("second round: contact %s: want a tombstone: %s", id, jsonOf(it))
			}
		case str(it, "jobTitle") != job || it["@removed"] != nil:
			t.Errorf("second round: contact %s: %s, want jobTitle %q", id, compact(it), job)
		}
	}

	// Tokens are bound to their caller, on every replica: another user's
	// link of his own default folder is refused as badly formed, never
	// answered with the other mailbox's changes.
	_, own := handoff(t, servers, tok, servers[0].BaseURL()+"/me/contacts/delta", 10)
	for _, s := range servers {
		r, err := direct(s, other).do(ctx, http.MethodGet, mustOnHost(t, own, s.Addr()), nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: another user's deltaLink: want 400: %s", s.name, r)
		}
	}

	// Nothing changed: an empty round, and a new token all the same.
	items, next := handoff(t, servers, tok, link, 5)
	if len(items) != 0 {
		t.Errorf("third round: %d items, want none", len(items))
	}
	if tokenOf(next) == tokenOf(link) {
		t.Errorf("third round: the deltaLink's token did not change: %s", next)
	}
}

// tokenOf returns a link's $deltatoken or $skiptoken.
func tokenOf(link string) string {
	_, tok, _ := strings.Cut(link, "token=")
	return tok
}

// replicaMirror is the concurrency mirror test over HTTP: writers create,
// update, move and delete contacts, readers run delta rounds, and every
// request goes to either replica at random.
func replicaMirror(t *testing.T, servers []*server, tok string) {
	const (
		writers  = 4
		readers  = 4
		duration = 6 * time.Second
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	bal := newBalancer(servers...)
	a := &api{http: bal.httpClient(), base: servers[0].BaseURL(), token: tok}
	f := newFixture(t, a, 1)
	w := &workload{api: a, ledger: f.ledger, stable: f.stable, objects: 30, pace: 2 * time.Millisecond}
	w.weights[opCreateContact], w.weights[opUpdateContact], w.weights[opMoveContact], w.weights[opDeleteContact] = 4, 3, 2, 1

	var clients []*deltaClient
	for i := 0; i < readers; i++ {
		folder := f.stable[i%len(f.stable)]
		path := "/me/contactFolders/" + folder + "/contacts/delta"
		if folder == f.root {
			path = "/me/contacts/delta"
		}
		dc := newDeltaClient(fmt.Sprintf("reader %d (folder %d)", i, i%len(f.stable)), kContact, a, path, nil, seed+uint64(i))
		dc.scope, dc.ledger, dc.mayAbandon = folder, f.ledger, i >= 2
		clients = append(clients, dc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	stop := make(chan struct{})
	waitWriters := runAll(writers, func(i int) { newWriter(w, i+1, seed).run(ctx, stop) })
	waitReaders := runAll(readers, func(i int) { clients[i].run(ctx, stop) })
	time.Sleep(duration) // the load's length: pacing, not synchronization
	close(stop)
	waitWriters()
	waitReaders()

	st := settle(t, f, false, clients)
	n := checkMirrors(t, st, clients)
	checkLedger(t, f.ledger, st)
	ack, unk := f.ledger.totals()
	rounds := 0
	for _, dc := range clients {
		rounds += dc.stats.rounds
		t.Log(dc)
	}
	t.Logf("the slowest write took %s", f.ledger.slowestWrite())
	t.Logf("replicas: %d writers made %d acknowledged writes (%d of unknown outcome) through both replicas; %d readers completed %d rounds, each checked against the consistency invariant; %d mirrors equal their folder (%d contacts in all)",
		writers, ack, unk, readers, rounds, n, len(st.contacts))
}
