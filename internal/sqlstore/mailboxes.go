package sqlstore

import (
	"sync"
	"time"
)

// Bounds of the mailbox cache. A full cache is emptied and fills again
// with the mailboxes in use. An entry is used for at most mailboxLifetime
// after it was read, which bounds how long a removal that never reached
// forget (a listener that died without noticing) can go unseen.
const (
	maxCachedMailboxes = 100_000
	mailboxLifetime    = 30 * time.Second
)

// mailboxCache holds the default folder of mailboxes, read by
// EnsureMailbox and Mailbox on every request: one statement fewer per
// request, a database round trip on PostgreSQL.
//
// An entry is only ever wrong after its mailbox was removed (DeleteUser,
// ResetTenant): a default folder is created once, never changed and never
// deleted on its own. So the cache is sound while every removal reaches
// forget: this process's own after their commit, other processes' through
// the caller that turned the cache on (the postgres store's listener,
// which hears their pg_notify). While it is off, nothing is served from
// it or put into it.
//
// A lookup that missed reads the database and then puts what it read;
// a removal committed in between must not be undone by that put. So a
// lookup takes the generation before it reads, and put keeps the entry
// only if no forget (nor a change of state) came since.
type mailboxCache struct {
	mu    sync.Mutex
	on    bool
	gen   uint64
	roots map[mailboxKey]cachedRoot
}

type mailboxKey struct{ tenant, user string }

type cachedRoot struct {
	id   string
	read time.Time // when it was read from the database
}

// get returns the cached default folder of a mailbox, and the generation
// to hand to put after a miss.
func (c *mailboxCache) get(tenant, user string) (root string, ok bool, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on {
		return "", false, c.gen
	}
	r, ok := c.roots[mailboxKey{tenant, user}]
	if !ok || time.Since(r.read) >= mailboxLifetime {
		return "", false, c.gen
	}
	return r.id, true, c.gen
}

// put records a mailbox's default folder, read from the database at read,
// after get returned gen.
func (c *mailboxCache) put(gen uint64, tenant, user, root string, read time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.on || gen != c.gen {
		return
	}
	if len(c.roots) >= maxCachedMailboxes {
		clear(c.roots)
	}
	c.roots[mailboxKey{tenant, user}] = cachedRoot{root, read}
}

// forget empties the cache: a mailbox was removed.
func (c *mailboxCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.roots)
}

// set empties the cache and turns it on or off.
func (c *mailboxCache) set(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = on
	c.gen++
	if c.roots == nil {
		c.roots = make(map[mailboxKey]cachedRoot)
	}
	clear(c.roots)
}

// CacheMailboxes turns the cache of mailboxes' default folders on or off
// (it starts off), emptying it either way. Turn it on only while every
// removal of a mailbox by another process reaches ForgetMailboxes, and
// off as soon as that may no longer hold; this store's own removals
// always do.
func (s *Store) CacheMailboxes(on bool) { s.mailboxes.set(on) }

// ForgetMailboxes empties the mailbox cache: another process removed a
// mailbox (DeleteUser, ResetTenant).
func (s *Store) ForgetMailboxes() { s.mailboxes.forget() }
