package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/internal/pgtest"
	"github.com/contactgraph/contactgraph/postgres"
	"github.com/contactgraph/contactgraph/sqlite"
)

// countingStore counts the calls of Secret that reach the store (Issue's
// as well as Verify's lookups: tests zero it after issuing), and runs
// beforeReturn, when set, as one is about to return.
type countingStore struct {
	contactgraph.Store
	lookups      atomic.Int32
	beforeReturn func()
}

func (s *countingStore) Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	s.lookups.Add(1)
	v, err := s.Store.Secret(ctx, name, gen)
	if s.beforeReturn != nil {
		s.beforeReturn()
	}
	return v, err
}

// sqliteFile opens a store on a new SQLite file and returns it with the
// file's path, for a second process's store on the same file.
func sqliteFile(t testing.TB) (*sqlite.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cg.db")
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// clock is a settable clock for a PasswordCache.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

func idOf(pw string) string { id, _, _ := strings.Cut(pw, "."); return id }

func mustVerify(t *testing.T, a AppPasswords, user, pw string) contactgraph.Principal {
	t.Helper()
	p, err := a.Verify(context.Background(), user, pw)
	if err != nil {
		t.Fatalf("Verify(%s): %v", user, err)
	}
	return p
}

func mustRefuse(t *testing.T, a AppPasswords, user, pw, why string) {
	t.Helper()
	if _, err := a.Verify(context.Background(), user, pw); contactgraph.ErrorCode(err) != contactgraph.EUnauthenticated {
		t.Fatalf("%s: Verify = %v, want EUnauthenticated", why, err)
	}
}

// TestPasswordCacheHit: a password accepted once is served without a
// store lookup, to its UPN only (in any case) and with its secret only;
// a refused password is looked up every time and never kept.
func TestPasswordCacheHit(t *testing.T) {
	db, _ := sqliteFile(t)
	st := &countingStore{Store: db}
	c := NewPasswordCache(0, 0, nil)
	a := AppPasswords{Store: st, Cache: c}
	pw, err := a.Issue(context.Background(), "contoso", "ada@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	st.lookups.Store(0)
	first := mustVerify(t, a, "ada@contoso.com", pw)
	again := mustVerify(t, a, "ADA@contoso.com", pw)
	if n := st.lookups.Load(); n != 1 {
		t.Fatalf("%d lookups for one password verified twice, want 1", n)
	}
	if again.UserID != first.UserID || again.TenantID != first.TenantID || again.UPN != "ada@contoso.com" ||
		len(again.Scopes) != 1 || again.Scopes[0] != contactgraph.PermContactsReadWrite {
		t.Fatalf("cached principal %+v, want %+v", again, first)
	}
	mustRefuse(t, a, "bob@contoso.com", pw, "a cached password with another UPN")
	other := pw[:len(pw)-2] + "AA"
	if other == pw {
		other = pw[:len(pw)-2] + "AB"
	}
	mustRefuse(t, a, "ada@contoso.com", other, "a cached id with another secret")
	if n := st.lookups.Load(); n != 1 {
		t.Fatalf("%d lookups, want 1: the cached record refuses them", n)
	}
	// A well-formed password that was never issued: refused, looked up
	// on each try, not kept.
	var id [16]byte
	_, _ = rand.Read(id[:])
	unknown := hex.EncodeToString(id[:]) + "." + strings.Repeat("A", 43)
	mustRefuse(t, a, "ada@contoso.com", unknown, "an unknown password")
	mustRefuse(t, a, "ada@contoso.com", unknown, "an unknown password again")
	if n := st.lookups.Load(); n != 3 {
		t.Fatalf("%d lookups, want 3 (refusals are not cached)", n)
	}
	if n := c.Len(); n != 1 {
		t.Fatalf("%d entries, want the one accepted password", n)
	}
	// A UPN the store refuses (the right password, the wrong user) on
	// first use is not kept either: the right UPN then is looked up.
	pw2, _ := a.Issue(context.Background(), "contoso", "bob@contoso.com")
	mustRefuse(t, a, "ada@contoso.com", pw2, "bob's password for ada")
	before := st.lookups.Load()
	mustVerify(t, a, "bob@contoso.com", pw2)
	if st.lookups.Load() != before+1 {
		t.Fatal("a password refused for a wrong UPN must not be cached")
	}
}

// TestPasswordCacheRevoke: Revoke, and a user delete or tenant reset
// through the cache's Store, take effect at once in this process; the
// passwords of other users stay cached.
func TestPasswordCacheRevoke(t *testing.T) {
	ctx := context.Background()
	db, _ := sqliteFile(t)
	c := NewPasswordCache(0, time.Hour, nil)
	st := &countingStore{Store: c.Store(db)}
	a := AppPasswords{Store: st, Cache: c}
	issue := func(tenant, upn string) string {
		pw, err := a.Issue(ctx, tenant, upn)
		if err != nil {
			t.Fatal(err)
		}
		mustVerify(t, a, upn, pw)
		return pw
	}
	ada := issue("contoso", "ada@contoso.com")
	ada2 := issue("contoso", "ada@contoso.com")
	bob := issue("contoso", "bob@contoso.com")
	eve := issue("fabrikam", "eve@fabrikam.com")

	if err := a.Revoke(ctx, strings.ToUpper(idOf(ada))); err != nil {
		t.Fatal(err)
	}
	mustRefuse(t, a, "ada@contoso.com", ada, "a password revoked an hour before its entry expires")
	mustVerify(t, a, "ada@contoso.com", ada2)

	tid := contactgraph.TenantID("contoso")
	if _, err := st.EnsureMailbox(ctx, tid, contactgraph.UserID(tid, "ada@contoso.com"), "ada@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteUser(ctx, tid, contactgraph.UserID(tid, "ada@contoso.com")); err != nil {
		t.Fatal(err)
	}
	mustRefuse(t, a, "ada@contoso.com", ada2, "the password of a deleted user")
	before := st.lookups.Load()
	mustVerify(t, a, "bob@contoso.com", bob)
	if st.lookups.Load() != before {
		t.Fatal("deleting ada must not forget bob's password")
	}
	if err := st.ResetTenant(ctx, tid); err != nil {
		t.Fatal(err)
	}
	mustRefuse(t, a, "bob@contoso.com", bob, "a password of a reset tenant")
	before = st.lookups.Load()
	mustVerify(t, a, "eve@fabrikam.com", eve)
	if st.lookups.Load() != before {
		t.Fatal("resetting contoso must not forget fabrikam's password")
	}
}

// TestPasswordCacheRevokeDuringLookup: a Verify that read a password
// before it was revoked still answers with what it read, but does not put
// it in the cache, where it would outlive the revocation.
func TestPasswordCacheRevokeDuringLookup(t *testing.T) {
	ctx := context.Background()
	db, _ := sqliteFile(t)
	c := NewPasswordCache(0, time.Hour, nil)
	st := &countingStore{Store: db}
	a := AppPasswords{Store: st, Cache: c}
	pw, err := a.Issue(ctx, "contoso", "ada@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	st.beforeReturn = func() {
		st.beforeReturn = nil
		if err := a.Revoke(ctx, idOf(pw)); err != nil {
			t.Error(err)
		}
	}
	mustVerify(t, a, "ada@contoso.com", pw) // read before the revocation
	mustRefuse(t, a, "ada@contoso.com", pw, "a password revoked while it was looked up")
}

// TestPasswordCacheExpiry: an entry serves for the lifetime, then the
// store is asked again. A password revoked by another process on the
// same file (the app-password command beside a server) is accepted here
// until then, and refused from then on.
func TestPasswordCacheExpiry(t *testing.T) {
	ctx := context.Background()
	db, path := sqliteFile(t)
	other, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	clk := &clock{t: t0}
	st := &countingStore{Store: db}
	a := AppPasswords{Store: st, Cache: NewPasswordCache(0, 30*time.Second, clk.now)}
	pw, err := a.Issue(ctx, "contoso", "ada@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	st.lookups.Store(0)
	mustVerify(t, a, "ada@contoso.com", pw)
	if err := (AppPasswords{Store: other}).Revoke(ctx, idOf(pw)); err != nil {
		t.Fatal(err)
	}
	clk.set(t0.Add(30*time.Second - time.Nanosecond))
	mustVerify(t, a, "ada@contoso.com", pw) // cached: the other process's revocation is not seen yet
	if n := st.lookups.Load(); n != 1 {
		t.Fatalf("%d lookups within the lifetime, want 1", n)
	}
	clk.set(t0.Add(30 * time.Second))
	mustRefuse(t, a, "ada@contoso.com", pw, "a password revoked elsewhere, once its entry expired")
	if n := st.lookups.Load(); n != 2 {
		t.Fatalf("%d lookups, want 2: an expired entry asks the store", n)
	}
}

// TestPasswordCacheBound: the cache never holds more than its size, and
// every password still verifies (from the store when it was dropped).
func TestPasswordCacheBound(t *testing.T) {
	ctx := context.Background()
	db, _ := sqliteFile(t)
	clk := &clock{t: t0}
	c := NewPasswordCache(3, time.Minute, clk.now)
	st := &countingStore{Store: db}
	a := AppPasswords{Store: st, Cache: c}
	var pws []string
	for i := range 7 {
		upn := string(rune('a'+i)) + "@contoso.com"
		pw, err := a.Issue(ctx, "contoso", upn)
		if err != nil {
			t.Fatal(err)
		}
		pws = append(pws, pw)
	}
	for round := range 3 {
		for i, pw := range pws {
			mustVerify(t, a, string(rune('a'+i))+"@contoso.com", pw)
			if n := c.Len(); n > 3 {
				t.Fatalf("round %d: %d entries in a cache of 3", round, n)
			}
		}
	}
	// Three passwords used in turn fit: each is looked up once.
	before := st.lookups.Load()
	for range 3 {
		for i, pw := range pws[:3] {
			mustVerify(t, a, string(rune('a'+i))+"@contoso.com", pw)
		}
	}
	if n := st.lookups.Load() - before; n > 3 {
		t.Fatalf("%d lookups for three passwords in a cache of 3, want at most 3", n)
	}
	// A full cache drops its expired entries before starting over: after
	// the lifetime, one new password leaves just itself.
	clk.set(t0.Add(time.Minute))
	mustVerify(t, a, "d@contoso.com", pws[3])
	if n := c.Len(); n != 1 {
		t.Fatalf("%d entries after the others expired, want 1", n)
	}
}

// TestPasswordCacheConcurrent runs Verify, Issue and Revoke together
// (go test -race): a revoked password is refused once Revoke returns.
func TestPasswordCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	db, _ := sqliteFile(t)
	c := NewPasswordCache(8, time.Hour, nil)
	a := AppPasswords{Store: c.Store(db), Cache: c}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			upn := string(rune('a'+w)) + "@contoso.com"
			for range 20 {
				pw, err := a.Issue(ctx, "contoso", upn)
				if err != nil {
					t.Error(err)
					return
				}
				for range 5 {
					if _, err := a.Verify(ctx, upn, pw); err != nil {
						t.Error(err)
						return
					}
				}
				if err := a.Revoke(ctx, idOf(pw)); err != nil {
					t.Error(err)
					return
				}
				if _, err := a.Verify(ctx, upn, pw); contactgraph.ErrorCode(err) != contactgraph.EUnauthenticated {
					t.Errorf("a revoked password: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestPasswordCachePostgres: two servers on one PostgreSQL database. A
// revocation on one takes effect there at once; the other, which cached
// the password, accepts it until its entry expires, then refuses it.
func TestPasswordCachePostgres(t *testing.T) {
	dsn := os.Getenv(pgtest.EnvDSN)
	if dsn == "" {
		t.Skip(pgtest.EnvDSN + " is not set: no PostgreSQL to run two servers on")
	}
	ctx := context.Background()
	db1 := postgresStore(t, dsn, "")
	db2 := postgresStore(t, dsn, db1.schema) // a second server on the same schema
	clk := &clock{t: t0}
	c1, c2 := NewPasswordCache(0, 30*time.Second, clk.now), NewPasswordCache(0, 30*time.Second, clk.now)
	st1 := &countingStore{Store: c1.Store(db1.DB)}
	a1 := AppPasswords{Store: st1, Cache: c1}
	a2 := AppPasswords{Store: c2.Store(db2.DB), Cache: c2}
	pw, err := a1.Issue(ctx, "contoso", "ada@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	pw2, _ := a1.Issue(ctx, "contoso", "ada@contoso.com")
	st1.lookups.Store(0)
	mustVerify(t, a1, "ada@contoso.com", pw)
	mustVerify(t, a1, "ada@contoso.com", pw2)
	mustVerify(t, a2, "ada@contoso.com", pw)
	mustVerify(t, a1, "ada@contoso.com", pw)
	if n := st1.lookups.Load(); n != 2 {
		t.Fatalf("%d lookups on server 1, want 2 (one per password)", n)
	}
	if err := a2.Revoke(ctx, idOf(pw)); err != nil {
		t.Fatal(err)
	}
	mustRefuse(t, a2, "ada@contoso.com", pw, "a password revoked on this server")
	clk.set(t0.Add(29 * time.Second))
	mustVerify(t, a1, "ada@contoso.com", pw) // server 1 has not seen it yet
	clk.set(t0.Add(30 * time.Second))
	mustRefuse(t, a1, "ada@contoso.com", pw, "a password revoked on the other server, once its entry expired")
	// A user deleted on server 1 loses its passwords there at once.
	clk.set(t0.Add(40 * time.Second))
	mustVerify(t, a1, "ada@contoso.com", pw2)
	tid := contactgraph.TenantID("contoso")
	uid := contactgraph.UserID(tid, "ada@contoso.com")
	if _, err := st1.EnsureMailbox(ctx, tid, uid, "ada@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if err := st1.DeleteUser(ctx, tid, uid); err != nil {
		t.Fatal(err)
	}
	mustRefuse(t, a1, "ada@contoso.com", pw2, "the password of a user deleted on this server")
}

// schemaStore is a PostgreSQL store in a schema of its own.
type schemaStore struct {
	*postgres.DB
	schema string
}

// postgresStore opens a store on the test database in schema, or in a
// new schema when it is empty, dropped with everything in it at the end.
func postgresStore(t testing.TB, dsn, schema string) schemaStore {
	t.Helper()
	ctx := context.Background()
	if schema == "" {
		schema = pgtest.Schema(t, dsn, "cgauthtest_")
	}
	db, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() }) // before the schema is dropped
	return schemaStore{DB: db, schema: schema}
}

// BenchmarkAppPasswordVerify: Verify of one password asking the store
// each time ("store") and served from a PasswordCache ("cache"), on a
// SQLite file and, with CONTACTGRAPH_TEST_POSTGRES, on PostgreSQL.
func BenchmarkAppPasswordVerify(b *testing.B) {
	db, _ := sqliteFile(b)
	stores := []struct {
		name  string
		store contactgraph.Store
	}{{"sqlite", db}}
	if dsn := os.Getenv(pgtest.EnvDSN); dsn != "" {
		stores = append(stores, struct {
			name  string
			store contactgraph.Store
		}{"postgres", postgresStore(b, dsn, "").DB})
	} else {
		b.Log(pgtest.EnvDSN + " is not set: SQLite only")
	}
	for _, s := range stores {
		for _, bc := range []struct {
			name  string
			cache *PasswordCache
		}{{"store", nil}, {"cache", NewPasswordCache(0, 0, nil)}} {
			a := AppPasswords{Store: s.store, Cache: bc.cache}
			pw, err := a.Issue(context.Background(), "contoso", "ada@contoso.com")
			if err != nil {
				b.Fatal(err)
			}
			b.Run(s.name+"/"+bc.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := a.Verify(context.Background(), "ada@contoso.com", pw); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
