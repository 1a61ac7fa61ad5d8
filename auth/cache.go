package auth

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/contactgraph/contactgraph"
)

// Cache remembers the tokens an Authenticator accepted, so that a client
// sending the same token again is not verified again (an RS256 signature
// check is more than half of a small request's server CPU). Entries are
// keyed by the SHA-256 of the whole token and kept until the token's exp,
// never longer; refusals are not kept. A token accepted before its signing
// key left a JWKS stays accepted until it expires, as it would anywhere
// that validates JWTs locally.
type Cache struct {
	next Authenticator
	now  func() time.Time
	max  int

	mu      sync.Mutex
	entries map[[32]byte]contactgraph.Principal
}

// DefaultCacheSize is how many tokens a Cache keeps; when full it starts over.
const DefaultCacheSize = 10_000

// NewCache returns a Cache in front of next. now may be nil for time.Now;
// size 0 means DefaultCacheSize.
func NewCache(next Authenticator, size int, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	if size <= 0 {
		size = DefaultCacheSize
	}
	return &Cache{next: next, now: now, max: size, entries: map[[32]byte]contactgraph.Principal{}}
}

// Authenticate implements Authenticator.
func (c *Cache) Authenticate(ctx context.Context, bearer string) (contactgraph.Principal, error) {
	key := sha256.Sum256([]byte(bearer))
	now := c.now()
	c.mu.Lock()
	p, ok := c.entries[key]
	if ok && !now.Before(p.ExpiresAt) {
		delete(c.entries, key)
		ok = false
	}
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := c.next.Authenticate(ctx, bearer)
	if err != nil || p.ExpiresAt.IsZero() || !now.Before(p.ExpiresAt) {
		return p, err
	}
	c.mu.Lock()
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[key] = p
	c.mu.Unlock()
	return p, nil
}
