package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// wakeChannel is the PostgreSQL notification channel of outbox commits.
// Its payload is the store's schema (Options.Schema, "" when unset), so
// that stores in different schemas of one database do not wake each other.
const wakeChannel = "contactgraph_outbox"

// goneChannel is the PostgreSQL notification channel of removed mailboxes
// (sqlstore.Store.GoneQuery, with wakeQuery's statement): every replica
// that hears it in its Listen forgets the mailboxes it cached. Its payload
// is the store's schema, as on wakeChannel.
const goneChannel = "contactgraph_mailboxes_gone"

// wakeQuery is run by every write transaction that recorded outbox
// entries, just before it commits (sqlstore.Store.WakeQuery). PostgreSQL
// queues the notification with the transaction and delivers it to the
// listeners only if it commits, after the data is visible: a rolled-back
// write wakes nobody, and a woken sender finds the entries.
// Its arguments are the channel and the schema (Open sets them); the
// one-statement create (contactgraph_create_contact) is given the same two
// and sends the same notification.
const wakeQuery = `SELECT pg_notify(?, ?)`

// Timing of Listen.
const (
	listenMinBackoff = 100 * time.Millisecond // first wait before reconnecting
	listenMaxBackoff = 30 * time.Second       // longest wait before reconnecting
	listenConnect    = 30 * time.Second       // bound of one connection attempt
	listenPing       = time.Minute            // an idle connection is pinged this often
)

// Listen wakes this replica's senders at every commit, by any replica on
// the database, that recorded notifications in this store's schema. It
// holds a connection of its own, outside the pool, that LISTENs on the
// outbox channel, and calls wake for each notification whose payload is
// the store's schema.
//
// On the same connection it hears every replica's removals of mailboxes
// (DeleteUser, ResetTenant), and so keeps this replica's mailbox cache:
// the default folder of each mailbox in use, which saves every request a
// round trip. The cache is on only while the connection listens, and
// emptied at each removal; an entry is used for at most 30 seconds in any
// case. A request that meets an entry of a mailbox just removed elsewhere
// (in the milliseconds the notification takes) finds its default folder
// gone, as it would had it read the mailbox just before the removal. wake is also called each time the connection is
// established (first and after a reconnection), because notifications sent
// while nobody listened are not kept: a caller that sees the first call
// knows the listener is live. wake runs on Listen's goroutine and should
// not block (notify.Sender.Wake never does).
//
// When the connection fails or cannot be made, Listen logs the error to
// Options.Logf and reconnects after a backoff that starts at 100 ms and
// doubles to 30 s; an idle connection is pinged every minute, so one that
// died silently is noticed. Listen returns ctx's error when ctx ends, and
// no other. Meanwhile the senders' own polling covers the gaps.
//
// Cost: PostgreSQL serializes the commits of notifying transactions on one
// lock, briefly, at commit; only writes that recorded notifications notify.
func (db *DB) Listen(ctx context.Context, wake func()) error {
	backoff := listenMinBackoff
	for {
		live, err := db.listen(ctx, wake)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if live {
			backoff = listenMinBackoff
		}
		if db.logf != nil {
			db.logf("postgres: outbox listener: %v; reconnecting in %v", err, backoff)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// listen runs one listening connection until it fails or ctx ends. live
// reports whether it got as far as listening.
func (db *DB) listen(ctx context.Context, wake func()) (live bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, listenConnect)
	conn, err := pgx.ConnectConfig(cctx, db.pool.Config().ConnConfig)
	cancel()
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.Close(closeCtx)
	}()
	for _, ch := range []string{wakeChannel, goneChannel} {
		if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{ch}.Sanitize()); err != nil {
			return false, fmt.Errorf("listen: %w", err)
		}
	}
	// From here on every removal of a mailbox is heard: the cache may be
	// used until the connection is lost.
	db.store.CacheMailboxes(true)
	defer db.store.CacheMailboxes(false)
	wake()
	for {
		wctx, cancel := context.WithTimeout(ctx, listenPing)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			switch {
			case n.Payload != db.schema:
			case n.Channel == goneChannel:
				db.store.ForgetMailboxes()
			default:
				wake()
			}
		case ctx.Err() != nil:
			return true, ctx.Err()
		case pgconn.Timeout(err) && !conn.IsClosed():
			pctx, cancel := context.WithTimeout(ctx, listenConnect)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("ping: %w", err)
			}
		default:
			return true, fmt.Errorf("wait: %w", err)
		}
	}
}
