package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// stmts caches the prepared statements of one pool by their engine-neutral
// text. database/sql prepares a cached statement once per connection and
// reuses it, so a query is parsed and planned once per connection instead of
// on every call (the larger part of a small write's cost on SQLite).
//
// Preparing a statement for the pool takes a connection of the pool. A
// caller inside a transaction already holds one, and the SQLite writer pool
// has no other, so get never waits for that: a statement not cached yet is
// prepared in the background, and the caller runs its query unprepared this
// once.
type stmts struct {
	db     *sql.DB
	rebind func(string) string
	// off: the driver caches statements itself (see Store.DriverPrepares),
	// and get never prepares.
	off bool

	mu      sync.Mutex
	m       map[string]*sql.Stmt
	pending map[string]bool
	closed  bool
	wg      sync.WaitGroup
}

func newStmts(db *sql.DB, rebind func(string) string) *stmts {
	return &stmts{db: db, rebind: rebind, m: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// maxStmts bounds the cache: queries built for a number of values (IN
// lists) vary, and past the bound run unprepared.
const maxStmts = 512

// get returns the cached statement of query, or false after starting to
// prepare it in the background. It never blocks on the pool.
func (c *stmts) get(query string) (*sql.Stmt, bool) {
	if c.off {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.m[query]; st != nil {
		return st, true
	}
	if c.closed || c.pending[query] || len(c.m)+len(c.pending) >= maxStmts {
		return nil, false
	}
	c.pending[query] = true
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		st, err := c.db.PrepareContext(ctx, c.rebind(query))
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.pending, query)
		if err != nil {
			return // a bad query fails where it is run
		}
		if c.closed {
			st.Close()
			return
		}
		c.m[query] = st
	}()
	return nil, false
}

// close closes every cached statement, after the pending ones are done.
func (c *stmts) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = map[string]*sql.Stmt{}
}

// conn runs engine-neutral queries with cached statements, on a pool (tx
// nil) or inside one of its transactions.
type conn struct {
	c  *stmts
	tx *sql.Tx
	// queued says the transaction recorded outbox entries: the senders
	// are woken after it commits.
	queued bool
	// ctx, when set, is the context every statement runs under, whatever
	// context the caller passes: the operation's, bounded by the store's
	// timeout (see Store.bound). Inside a transaction, callers pass the
	// context of the Store method they serve, which lacks that bound.
	ctx context.Context
}

// opCtx returns the context a statement runs under.
func (x *conn) opCtx(ctx context.Context) context.Context {
	if x.ctx != nil {
		return x.ctx
	}
	return ctx
}

// stmt returns the cached statement of query, bound to the transaction if
// any; ok is false when it is not cached (yet) and the caller runs the
// query directly.
func (x *conn) stmt(ctx context.Context, query string) (*sql.Stmt, bool) {
	st, ok := x.c.get(query)
	if !ok {
		return nil, false
	}
	if x.tx != nil {
		st = x.tx.StmtContext(ctx, st)
	}
	return st, true
}

func (x *conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = x.opCtx(ctx)
	if st, ok := x.stmt(ctx, query); ok {
		return st.ExecContext(ctx, args...)
	}
	if x.tx != nil {
		return x.tx.ExecContext(ctx, x.c.rebind(query), args...)
	}
	return x.c.db.ExecContext(ctx, x.c.rebind(query), args...)
}

func (x *conn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = x.opCtx(ctx)
	if st, ok := x.stmt(ctx, query); ok {
		return st.QueryContext(ctx, args...)
	}
	if x.tx != nil {
		return x.tx.QueryContext(ctx, x.c.rebind(query), args...)
	}
	return x.c.db.QueryContext(ctx, x.c.rebind(query), args...)
}

func (x *conn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = x.opCtx(ctx)
	if st, ok := x.stmt(ctx, query); ok {
		return st.QueryRowContext(ctx, args...)
	}
	if x.tx != nil {
		return x.tx.QueryRowContext(ctx, x.c.rebind(query), args...)
	}
	return x.c.db.QueryRowContext(ctx, x.c.rebind(query), args...)
}
