package sqlstore

import (
	"testing"
	"time"
)

// TestMailboxCache: entries are served only while the cache is on and for
// their lifetime; a lookup that read the database before a removal (or
// before the cache was turned on) cannot put what it read afterwards.
func TestMailboxCache(t *testing.T) {
	var c mailboxCache
	now := time.Now()
	hit := func(user string) bool {
		_, ok, _ := c.get("t", user)
		return ok
	}

	_, _, gen := c.get("t", "alice")
	c.put(gen, "t", "alice", "root-a", now)
	if hit("alice") {
		t.Fatal("an entry was kept while the cache was off")
	}

	_, _, before := c.get("t", "alice") // read before the cache was on
	c.set(true)
	c.put(before, "t", "alice", "root-a", now)
	if hit("alice") {
		t.Fatal("a lookup from before the cache was turned on put its entry")
	}

	_, _, gen = c.get("t", "alice")
	c.put(gen, "t", "alice", "root-a", now)
	if root, ok, _ := c.get("t", "alice"); !ok || root != "root-a" {
		t.Fatalf("get = %q, %v; want root-a, true", root, ok)
	}

	_, _, gen = c.get("t", "bob") // bob's lookup reads the database...
	c.forget()                    // ...a removal commits and is announced...
	c.put(gen, "t", "bob", "root-b", now)
	if hit("bob") || hit("alice") {
		t.Fatal("an entry survived forget, or a lookup from before it put what it read")
	}

	_, _, gen = c.get("t", "carol")
	c.put(gen, "t", "carol", "root-c", now.Add(-mailboxLifetime))
	if hit("carol") {
		t.Fatal("an entry was served past its lifetime")
	}

	_, _, gen = c.get("t", "dave")
	c.put(gen, "t", "dave", "root-d", now)
	c.set(false)
	if hit("dave") {
		t.Fatal("an entry was served after the cache was turned off")
	}
}
