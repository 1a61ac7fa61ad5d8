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
//     resuming from older deltaLinks; subscriptions made before the load
//     (POST /subscriptions, every change type) watch the contacts of each
//     stable folder, the mailbox's folders and the org contacts, delivered
//     to three receivers in the test process (see below); meanwhile a
//     server is killed with SIGKILL and restarted several times (with two
//     replicas, the other keeps serving and sending).
//   - TestMixedTorture (davtorture_test.go; SQLite, PostgreSQL): the two
//     protocols on the same three folders. Graph writers create, update,
//     move and delete contacts; CardDAV writers (signed in with an app
//     password or a bearer token) PUT new cards with If-None-Match: *,
//     replace them with If-Match of the ETag they last saw and DELETE them
//     with If-Match (a 412 is legitimate only after a write of unknown
//     outcome: the writer reads the card again), and move them to another
//     folder over Graph (the protocols on one object: there the card is
//     "<id>.vcf", back in its first folder its own name again). Each folder
//     has a Graph delta mirror and two sync-collection mirrors, one with
//     Basic and no DAV:limit, one with Bearer and DAV:limit 2 to 5, which
//     follows the 507 truncations with the token it returned; both fetch the
//     changed cards with addressbook-multiget; in the first, about one round
//     in twelve sends a forged sync-token first (garbage, another scheme, a
//     real one with a character changed, or another address book's), which
//     must be 403 DAV:valid-sync-token, after which the mirror resyncs in
//     full and drops every card the new listing lacks (the second runs
//     incremental rounds only, so a deletion the server fails to report
//     stays in it). The server is killed with SIGKILL and restarted
//     meanwhile. CardDAV writes go into the same ledger (an acknowledged one
//     is read back over Graph, a new card's contact found by its UID), so
//     checks 1 to 3 below cover both protocols; at the end each address book
//     is read in full (PROPFIND, then multiget), both its mirrors must hold
//     exactly those hrefs, ETags and card data, and its cards must be its
//     folder's contacts, one each (UID the contact's id, or the UID a Graph
//     lookup finds it by), each with the contact's changeKey as ETag and its
//     displayName and email addresses as FN and EMAIL.
//   - TestOutagePostgres, TestOutageSQLiteDiskFull, TestOutageSQLiteReadOnly
//     (outage_test.go): a server on a database the test makes fail, with
//     --db-timeout 2s: a PostgreSQL cluster of the test's own (package
//     internal/pgcluster: initdb and pg_ctl on a temporary directory and
//     port, never the shared server) stopped, crashed and frozen with
//     SIGSTOP; a SQLite file on a small tmpfs that the test fills; one on
//     an ext4 image that an injected error turns read-only (package
//     internal/faultfs). Every request is answered 503 with Retry-After
//     and a Graph error body within the timeout, writes leave nothing
//     behind, and the server serves again by itself once the database is
//     back (the read-only disk: after a remount and a restart). They need
//     root for mount and runuser; without it they skip with the reason,
//     and fail instead under CONTACTGRAPH_TEST_OUTAGES=require (CI).
//   - TestBackupRestore (SQLite; PostgreSQL with pg_dump and pg_restore on a
//     cluster of its own): a backup taken while writers run, restored as a
//     new server: a deltaLink from before the backup catches up, one from
//     after it is refused with 410 resyncRequired.
//   - TestCLIHelp, TestCLIVersion, TestCLIDatabases (cli_test.go): exit
//     statuses and output of the binary: one usage for -h, a wrong flag's
//     error once, --version, token and cert refusing a missing database
//     unless --create, plain sentences for a missing directory and a port
//     in use with no file created.
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
// the server's order. Four checks use it:
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
//  4. TestTorture's change notifications: every acknowledged write that a
//     subscription matched was delivered at least once. Servers run with
//     --notification-timeout 500ms and --notification-lease 2s, so a
//     killed process's claims come back soon. The receivers (httptest
//     servers on loopback, each subscription on its own path behind a
//     client.Receiver: the validation handshake, the clientState) answer
//     a notification POST, by seeded random choice, 202 (delivered), 500
//     (about 15%) or only once the sender has given up waiting (about 5%:
//     failed); a notification that failed three POSTs in a row is
//     accepted on the next, which keeps the sender's backoff short. From
//     the ledger, each (subscription, object, change type) must have as
//     many deliveries as acknowledged writes made it: a contact created,
//     updated or deleted in a watched folder makes created, updated or
//     deleted there, a move deleted in the old folder and created in the
//     new (a contact deleted with its folder makes none; only writers'
//     folders are deleted, and they are not watched); folder writes make created, updated, deleted for the mailbox's
//     folders; org contacts created and restored make created, updates
//     updated, soft deletes and purges deleted (the store derives the type
//     from the collection's change log). After the other checks the test
//     waits up to 2 minutes for them, then fails with the first 20
//     missing, each with its object's writes. Not checked: notifications
//     a write of unknown outcome may have made (they may only explain
//     duplicates), the next acknowledged write of an object such a write
//     may have moved where the ledger does not know, and which update a
//     delivery belongs to (the payload has no revision: two updates of an
//     object are counted, not told apart). Duplicates, those that writes
//     of unknown outcome may explain, and the failed POSTs are reported.
//
// # The torture test, long
//
// CI runs TestTorture and TestMixedTorture for -torture.duration=10s per
// backend. For a long run (of both: -run Torture), give the test binary
// time (-timeout) and watch it with -v:
//
//	CONTACTGRAPH_TEST_POSTGRES='postgres://postgres@127.0.0.1:5432/test?sslmode=disable' \
//	  go test -run Torture ./e2e/ -v -timeout 0 -torture.duration=30m
//
// Restarts default to one per 10 s of load (-torture.restarts sets them);
// -torture.writers, -torture.clients and -torture.objects size the load;
// the seed is logged and -torture.seed replays the random choices (the
// interleaving of goroutines and kills is not replayed). Add -race to
// check the test process itself. Each run ends with a notification
// summary line (expected, delivered, missing, duplicates, failed POSTs)
// and a summary line: writes by kind and outcome, rounds, restarts, the
// mirrors checked and the notifications.
package e2e
