// Package e2e holds contactgraph's process-level tests: the server binary
// running as real processes, talked to over HTTP on loopback, killed with
// SIGKILL and started again on the same database. It has no code of its
// own, only tests.
//
// TestMain builds ./cmd/contactgraph once (go build, from the module root)
// into a temporary directory; -e2e.server=<path> runs a given binary
// instead (a release build, or one built with -race). Every server runs
// `contactgraph serve --addr 127.0.0.1:0` on a temporary SQLite file or on
// a PostgreSQL schema of its own (made and dropped by the test, named in
// the DSN's search_path), and tokens come from `contactgraph token --db`.
// The PostgreSQL tests need CONTACTGRAPH_TEST_POSTGRES (as the postgres
// package's tests: postgres://postgres@127.0.0.1:5432/test?sslmode=disable)
// and skip with that reason when it is not set.
//
// # What the tests check
//
//   - TestReplicas (PostgreSQL): two replicas started at once on an empty
//     schema share the signing and delta token keys through the database,
//     so a CLI-minted token works on both; a delta round whose every page
//     goes to the other replica (the link's host:port rewritten) keeps its
//     $select and ends with the right items, and its deltaLink continues
//     on either; and the concurrency mirror test over HTTP: writers create,
//     update, move and delete contacts while readers run client.Client
//     rounds with random page sizes, every request to a random replica.
//   - TestCrash (SQLite, PostgreSQL): a server under a write load is
//     killed with SIGKILL; after a restart every acknowledged write is
//     there, and a client holding a deltaLink from before the load (sent
//     to the new address) and one that synced through the crash catch up
//     exactly.
//   - TestTorture (SQLite; PostgreSQL with two replicas): writers make
//     random writes of contacts, folders and org contacts; delta clients
//     keep mirrors of contact folders (some with a random $select), of the
//     folder tree and of a folder's children, and of org contacts with and
//     without Prefer: return=minimal, abandoning rounds half way and
//     resuming from older deltaLinks; meanwhile a server is killed with
//     SIGKILL and restarted several times (with two replicas, the other
//     keeps serving).
//
// Every delta page a client receives is checked on the wire: a JSON
// object with a "value" array and exactly one of @odata.nextLink and
// @odata.deltaLink, absolute on the base URL the request used (a
// restarted server has a new port), within the page size asked for, with
// Preference-Applied saying so.
//
// Every write goes into a ledger: acknowledged (2xx), refused (4xx), not
// sent, or of unknown outcome (the connection died with the server). Each
// object has one writer, so the acknowledged writes of an object are in
// the server's order. Three checks use it:
//
//  1. After every complete round of a contact mirror without $select, the
//     consistency invariant: every contact whose last write acknowledged
//     before the round started put it in the folder is in the mirror at
//     that changeKey or a later one, and every contact such a write moved
//     out or deleted is absent unless a later write brought it back.
//  2. At the end, the writers stopped, the state is read in full through
//     the list endpoints, every client runs one more round, and the state
//     is read again until both reads agree; then every mirror must equal
//     what the lists show (projected on the client's $select; org
//     contacts without properties at their default, since delta items
//     carry only properties ever set).
//  3. Every acknowledged write is in that state: each object is at the
//     state its last acknowledged write answered, or at a state a later
//     write of unknown outcome may have left (never at an older
//     acknowledged changeKey), and no more objects exist than creates of
//     unknown outcome explain. A write the server refuses although every
//     earlier write of its object was acknowledged (a 404 for an object it
//     acknowledged creating) and any 5xx answer are reported too.
//
// # The torture test, long
//
// CI runs TestTorture for -torture.duration=10s per backend. For a long
// run, give the test binary time (-timeout) and watch it with -v:
//
//	CONTACTGRAPH_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	  go test -run Torture ./e2e/ -v -timeout 0 -torture.duration=30m
//
// Restarts default to one per 10 s of load (-torture.restarts sets them);
// -torture.writers, -torture.clients and -torture.objects size the load;
// the seed is logged and -torture.seed replays the random choices (the
// interleaving of goroutines and kills is not replayed). Add -race to
// check the test process itself. Each run ends with a summary line: writes
// by kind and outcome, rounds, restarts, and the mirrors checked.
package e2e
