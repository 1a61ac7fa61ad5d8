// Package postgres is the contactgraph store on PostgreSQL, for running
// several stateless server replicas on one database. It opens a pgx pool,
// serves it through database/sql to the engine shared with the sqlite
// store (internal/sqlstore: every query and the change tracking), and
// applies the same versioned schema on start.
//
// # Why a delta reader never passes an uncommitted change
//
// PostgreSQL's classic change-feed hole: a sequence value is handed out when
// nextval() runs but becomes visible only at commit, so T1 may take 100, T2
// take 101 and commit first, and a reader that saw 101 stores it as its
// position: when T1 commits, 100 is behind that position forever. This store
// does not use a sequence. Every mailbox owns a counter row (users.rev; org
// contacts use tenants.rev the same way), and every write transaction starts
// with
//
//	UPDATE users SET rev = rev + n WHERE tenant_id = ? AND id = ? RETURNING rev
//
// then writes its data and its change-log rows stamped with those revisions,
// and commits. Under READ COMMITTED (which Open pins for every session):
//
//  1. The UPDATE takes the counter row's lock and holds it until the
//     transaction ends. A second writer of the mailbox blocks on its own
//     UPDATE until the first commits or rolls back, then re-reads the
//     latest committed counter and increments that. So the revisions of one
//     mailbox are handed out in commit order: revision r+1 is taken only
//     after the transaction holding r has ended.
//  2. PostgreSQL makes a committing transaction visible to new snapshots
//     (ProcArrayEndTransaction) before it releases its locks; xact.c's
//     CommitTransaction states this order. So when the second writer gets
//     the lock, the first one's data is visible to every later snapshot.
//  3. A delta page reads, in one snapshot (a contact page is one
//     statement, sqlstore.ContactRoundQuery; the other rounds read in
//     REPEATABLE READ transactions, see sqlstore.Store.ReadIsolation),
//     the counter's committed value h and the changes with Since < rev <= Until, where the
//     round's Until is the h of its first page. Seeing h committed means the
//     transaction that took h committed before the snapshot, hence (1, 2)
//     every transaction that took a revision <= h did too: every change at
//     or below h is in the snapshot, and the round ends at h. A transaction
//     still open holds a revision > h, so the next round (Since = h) gets it.
//  4. Because every later statement of a write transaction runs after it
//     got the lock, it sees every earlier write of the mailbox: writes of
//     one mailbox are serialized as on SQLite's single writer (an If-Match
//     check, a folder's subtree, a name check never read stale rows).
//
// Readers never wait for writers. A rolled-back transaction leaves no gap:
// its increment is rolled back too. Revisions are positions within one
// mailbox only; tokens never compare them across mailboxes.
//
// Cost: writers of one mailbox (of one tenant, for org contacts) are
// serialized for the whole of their transactions; writers of different
// mailboxes do not wait for each other. A long write transaction delays the
// feed of its mailbox, since rounds end below its revision and the writers
// queued behind it wait, and it never makes a reader lose a change. Keep write
// transactions short. This reasoning is for a single PostgreSQL primary
// (the pool's reads and writes go to the same server); PostgreSQL-compatible
// distributed databases have different locking and are not covered by it.
//
// # One round trip for a plain create
//
// The statements above run as pgx sends them: unprepared through
// database/sql, so that pgx's per-connection statement cache parses each
// once per connection (sqlstore.Store.DriverPrepares). A create of a plain
// contact (no photo, extension or extended property, no CardDAV name) is
// one statement, contactgraph_create_contact (schema migration 11), run
// outside an explicit transaction, so PostgreSQL commits it as it ends: one
// round trip instead of a BEGIN, six statements and a COMMIT. The function
// makes the same writes in the same order, the counter's UPDATE first, and
// a PL/pgSQL function takes a new snapshot for each statement under READ
// COMMITTED, so points 1 to 4 hold for it as for the transaction. It sends
// the wake-up below itself when it queued notifications.
//
// The tests show the guarantee directly: a write held open after taking
// its revision, a second writer blocked behind it, a delta round that
// ends below the open revision, and the naive sequence design losing a
// change under the same interleaving.
//
// # Schema and replicas
//
// Open applies the migrations of sqlstore.Schema that the database lacks,
// in one transaction holding a transaction-scoped advisory lock, and
// records them in schema_migrations: replicas starting at once apply each
// migration exactly once, the others wait and find it applied.
//
// # Waking the senders of every replica
//
// A write transaction that recorded outbox entries ends with
// SELECT pg_notify('contactgraph_outbox', schema) just before it commits.
// PostgreSQL delivers a notification only when its transaction commits,
// and after the commit is visible, so a rolled-back write wakes nobody and
// a woken sender's claim sees the entries. DB.Listen holds one connection
// per replica that LISTENs on the channel and wakes that replica's senders;
// with it a commit on any replica starts delivery everywhere at once, and
// the senders' polling remains only as the fallback for a listener that is
// reconnecting.
//
// # The mailbox cache
//
// Every request needs its mailbox's default folder, which never changes
// while the mailbox exists. A replica keeps those it has read while its
// listening connection is up, and only then: DeleteUser and ResetTenant
// end with SELECT pg_notify('contactgraph_mailboxes_gone', schema), and
// every replica's Listen empties its cache when it hears one (the
// replica's own removals empty it right after their commit). A lookup that
// read the database before such a removal cannot put what it read after
// it (sqlstore's mailboxCache counts generations), and an entry is used
// for at most 30 seconds, which bounds a listener that died unnoticed. In
// the milliseconds between a removal's commit and its notification another
// replica may still hand out the removed mailbox's default folder; the
// request then finds that folder gone, as one that had read the mailbox
// just before the commit would.
package postgres
