package auth

import (
	"context"
	"crypto/subtle"
	"strings"
	"sync"
	"time"

	"github.com/contactgraph/contactgraph"
)

// PasswordCache remembers the app passwords AppPasswords.Verify accepted,
// for a short lifetime, so that a CardDAV client sending the same Basic
// credentials on every request is not looked up in the store each time.
//
// An entry is kept under the password's id (the part before the dot, not
// secret) with the SHA-256 of its secret, the same hash the store keeps:
// the secret itself is never held. A hit compares the hash of the secret
// presented with it in constant time and the user name with the UPN, as
// the store's record would be compared; a refusal is never kept, so a
// password issued later is looked up as soon as it is used.
//
// Revocation in this process is immediate: AppPasswords.Revoke forgets
// the id, and a store wrapped by Store forgets the passwords that
// DeleteSecret, DeleteUser and ResetTenant delete. A Verify that read a
// password before such a revocation and returns after it does not put it
// back (see gen). Revocation by another process on the same database (a
// replica on PostgreSQL, or the app-password command on the server's
// SQLite file) is not seen: there, a password accepted before it was
// revoked stays accepted until its entry expires, at most the lifetime
// (DefaultPasswordLifetime) after it was looked up.
type PasswordCache struct {
	now      func() time.Time
	lifetime time.Duration
	max      int

	mu      sync.Mutex
	gen     uint64 // counts revocations: an entry read before one is not kept
	entries map[string]passwordEntry
}

// passwordEntry is an accepted app password: the SHA-256 of its secret,
// the principal it signs in and when the entry stops serving.
type passwordEntry struct {
	sum     [32]byte
	p       contactgraph.Principal
	expires time.Time
}

// DefaultPasswordLifetime is how long a PasswordCache serves a password
// after looking it up: the longest a password revoked by another process
// on the same database is still accepted here.
const DefaultPasswordLifetime = 30 * time.Second

// DefaultPasswordCacheSize is how many passwords a PasswordCache keeps.
const DefaultPasswordCacheSize = 10_000

// NewPasswordCache returns an empty PasswordCache of at most size
// passwords (0: DefaultPasswordCacheSize), each served for lifetime (0:
// DefaultPasswordLifetime). now may be nil for time.Now.
func NewPasswordCache(size int, lifetime time.Duration, now func() time.Time) *PasswordCache {
	if now == nil {
		now = time.Now
	}
	if size <= 0 {
		size = DefaultPasswordCacheSize
	}
	if lifetime <= 0 {
		lifetime = DefaultPasswordLifetime
	}
	return &PasswordCache{now: now, lifetime: lifetime, max: size, entries: map[string]passwordEntry{}}
}

// lookup returns what the cache knows of the password of id whose secret
// hashes to sum: known is false when the store must be asked; otherwise
// ok says whether user signs in with it, and p is its principal. It also
// returns the generation to pass to put after asking the store.
func (c *PasswordCache) lookup(id string, sum [32]byte, user string) (p contactgraph.Principal, known, ok bool, gen uint64) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, found := c.entries[id]
	if found && !now.Before(e.expires) {
		delete(c.entries, id)
		found = false
	}
	if !found {
		return contactgraph.Principal{}, false, false, c.gen
	}
	// The entry holds the store's record of id: a secret or a user name
	// it refuses, the store would refuse too.
	match := subtle.ConstantTimeCompare(sum[:], e.sum[:]) == 1
	if !match || !strings.EqualFold(user, e.p.UPN) {
		return contactgraph.Principal{}, true, false, c.gen
	}
	return e.p, true, true, c.gen
}

// put keeps the accepted password of id, unless a revocation came since
// gen was read (the store may have answered before it). started is when
// the store was asked: the entry serves until lifetime after it. A full
// cache first drops its expired entries, then, if still full, starts over.
func (c *PasswordCache) put(gen uint64, started time.Time, id string, sum [32]byte, p contactgraph.Principal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if _, ok := c.entries[id]; !ok && len(c.entries) >= c.max {
		now := c.now()
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[id] = passwordEntry{sum: sum, p: p, expires: started.Add(c.lifetime)}
}

// Forget drops the password of id (the part before the dot): the next
// Verify of it asks the store.
func (c *PasswordCache) Forget(id string) {
	id = strings.ToLower(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.entries, id)
}

// ForgetUser drops the passwords of the user userID of the tenant
// tenantID, or of every user of the tenant when userID is empty.
func (c *PasswordCache) ForgetUser(tenantID, userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for id, e := range c.entries {
		if e.p.TenantID == tenantID && (userID == "" || e.p.UserID == userID) {
			delete(c.entries, id)
		}
	}
}

// Len returns how many passwords the cache holds, expired ones included.
func (c *PasswordCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Store returns s with its deletes of app passwords forgotten by c as
// well: DeleteSecret of an app password, DeleteUser and ResetTenant. Give
// it to whatever in this process may delete them (the Graph API's user
// deletes, the emulator's tenant resets), so that they take effect here
// at once.
func (c *PasswordCache) Store(s contactgraph.Store) contactgraph.Store {
	return forgettingStore{Store: s, c: c}
}

// forgettingStore is a contactgraph.Store whose deletes of app passwords
// a PasswordCache forgets. It forgets after the delete, whatever its
// outcome (a delete that failed may still have committed); a Verify that
// read the store before then does not keep what it read (put's gen).
type forgettingStore struct {
	contactgraph.Store
	c *PasswordCache
}

// DeleteSecret implements contactgraph.Store.
func (s forgettingStore) DeleteSecret(ctx context.Context, name string) error {
	err := s.Store.DeleteSecret(ctx, name)
	if id, ok := strings.CutPrefix(name, appPasswordPrefix); ok {
		s.c.Forget(id)
	}
	return err
}

// DeleteUser implements contactgraph.Store.
func (s forgettingStore) DeleteUser(ctx context.Context, tenantID, id string) error {
	err := s.Store.DeleteUser(ctx, tenantID, id)
	s.c.ForgetUser(tenantID, id)
	return err
}

// ResetTenant implements contactgraph.Store.
func (s forgettingStore) ResetTenant(ctx context.Context, tenantID string) error {
	err := s.Store.ResetTenant(ctx, tenantID)
	s.c.ForgetUser(tenantID, "")
	return err
}

// Unwrap returns the wrapped Store (for ops.Unwrap and the like).
func (s forgettingStore) Unwrap() contactgraph.Store { return s.Store }
