package throttle_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph/throttle"
)

// clock is a fake clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var ctx = context.Background()

// refusal returns err as a *throttle.Refusal of limit, failing otherwise.
func refusal(t *testing.T, err error, limit throttle.Limit) *throttle.Refusal {
	t.Helper()
	var r *throttle.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("error %v, want a refusal of %s", err, limit)
	}
	if r.Limit != limit {
		t.Fatalf("refused by %s, want %s", r.Limit, limit)
	}
	return r
}

func admit(t *testing.T, l *throttle.Limiter, r throttle.MailboxRequest) *throttle.Ticket {
	t.Helper()
	tk, err := l.Mailbox(ctx, r)
	if err != nil {
		t.Fatalf("request %+v refused: %v", r, err)
	}
	return tk
}

func TestConcurrency(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := throttle.New(throttle.Limits{Concurrency: 2, Lease: time.Minute}, &throttle.Memory{}, clk.now)
	ada := throttle.MailboxRequest{App: "app", Tenant: "t", User: "ada"}
	bob := throttle.MailboxRequest{App: "app", Tenant: "t", User: "bob"}
	a := admit(t, l, ada)
	admit(t, l, bob) // never released: its lease ends it
	_, err := l.Mailbox(ctx, ada)
	if r := refusal(t, err, throttle.LimitConcurrency); r.RetryAfter != time.Second {
		t.Errorf("Retry-After %v, want 1s", r.RetryAfter)
	}
	// Another app has slots of its own.
	admit(t, l, throttle.MailboxRequest{App: "other", Tenant: "t", User: "ada"}).Release(ctx)
	a.Release(ctx)
	a.Release(ctx) // twice: no effect
	b := admit(t, l, ada)
	_, err = l.Mailbox(ctx, ada)
	refusal(t, err, throttle.LimitConcurrency)
	b.Release(ctx)
	// The unreleased slot comes back at its lease's end, not before.
	x := admit(t, l, ada)
	clk.add(time.Minute - time.Millisecond)
	_, err = l.Mailbox(ctx, ada)
	refusal(t, err, throttle.LimitConcurrency)
	clk.add(time.Millisecond)
	admit(t, l, ada)
	x.Release(ctx)
}

func TestConcurrencyPerMailbox(t *testing.T) {
	t.Parallel()
	l := throttle.New(throttle.Limits{Concurrency: 1, ConcurrencyPerMailbox: true}, &throttle.Memory{}, newClock().now)
	ada := throttle.MailboxRequest{App: "app", Tenant: "t", User: "ada"}
	admit(t, l, ada)
	_, err := l.Mailbox(ctx, ada)
	refusal(t, err, throttle.LimitConcurrency)
	admit(t, l, throttle.MailboxRequest{App: "app", Tenant: "t", User: "bob"})
}

func TestRequestWindow(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := throttle.New(throttle.Limits{Concurrency: 1, Requests: 3, RequestWindow: 10 * time.Minute}, &throttle.Memory{}, clk.now)
	ada := throttle.MailboxRequest{App: "app", Tenant: "t", User: "ada"}
	for range 3 {
		admit(t, l, ada).Release(ctx)
		clk.add(time.Minute)
	}
	_, err := l.Mailbox(ctx, ada)
	if r := refusal(t, err, throttle.LimitRequests); r.RetryAfter != 7*time.Minute {
		t.Errorf("Retry-After %v, want 7m (the window began 3 minutes ago)", r.RetryAfter)
	}
	// The refused request gave its concurrency slot back.
	admit(t, l, throttle.MailboxRequest{App: "app", Tenant: "t", User: "bob"}).Release(ctx)
	clk.add(7*time.Minute - time.Millisecond)
	_, err = l.Mailbox(ctx, ada)
	refusal(t, err, throttle.LimitRequests)
	clk.add(time.Millisecond)
	admit(t, l, ada).Release(ctx)
}

func TestUploadWindow(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := throttle.New(throttle.Limits{Requests: 3, RequestWindow: time.Hour, UploadBytes: 100, UploadWindow: 5 * time.Minute}, &throttle.Memory{}, clk.now)
	up := func(n int64) throttle.MailboxRequest {
		return throttle.MailboxRequest{App: "app", Tenant: "t", User: "ada", Upload: n}
	}
	admit(t, l, up(60))
	clk.add(time.Minute)
	_, err := l.Mailbox(ctx, up(60))
	if r := refusal(t, err, throttle.LimitUpload); r.RetryAfter != 4*time.Minute {
		t.Errorf("Retry-After %v, want 4m", r.RetryAfter)
	}
	// The refused upload did not count as a request: two more pass.
	admit(t, l, up(40))
	tk := admit(t, l, up(0))
	_, err = l.Mailbox(ctx, up(0))
	refusal(t, err, throttle.LimitRequests)

	// Bytes learned after the fact count against the next uploads.
	l = throttle.New(throttle.Limits{UploadBytes: 100, UploadWindow: 5 * time.Minute}, &throttle.Memory{}, clk.now)
	tk = admit(t, l, up(0))
	if err := tk.Uploaded(ctx, 150); err != nil {
		t.Fatal(err)
	}
	_, err = l.Mailbox(ctx, up(1))
	refusal(t, err, throttle.LimitUpload)
	admit(t, l, up(0)) // a request without a body still passes
	clk.add(5 * time.Minute)
	admit(t, l, up(100))
}

func TestDirectory(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := throttle.New(throttle.Limits{DirectoryUnits: 10, DirectoryWindow: 10 * time.Second, DirectoryWrites: 2, DirectoryWriteWindow: 150 * time.Second},
		&throttle.Memory{}, clk.now)
	req := func(units int64, write bool) throttle.DirectoryRequest {
		return throttle.DirectoryRequest{App: "app", Tenant: "t", Units: units, Write: write}
	}
	u, err := l.Directory(ctx, req(4, false))
	if err != nil || u.Units != 4 || !near(u.Usage, 0.4) {
		t.Fatalf("first: %+v %v", u, err)
	}
	u, err = l.Directory(ctx, req(4, false))
	if err != nil || !near(u.Usage, 0.8) {
		t.Fatalf("second: %+v %v", u, err)
	}
	_, err = l.Directory(ctx, req(4, false))
	r := refusal(t, err, throttle.LimitDirectoryUnits)
	if r.RetryAfter != 2*time.Second || r.Info != "ResourceUnitLimitExceeded" || r.Scope != "Tenant_Application/ReadWrite/app/t" ||
		r.Units != 4 || !near(r.Usage, 1.2) {
		t.Errorf("refusal %+v", r)
	}
	clk.add(2*time.Second - time.Millisecond)
	_, err = l.Directory(ctx, req(4, false))
	refusal(t, err, throttle.LimitDirectoryUnits)
	clk.add(time.Millisecond)
	if _, err := l.Directory(ctx, req(4, false)); err != nil {
		t.Fatalf("after 2 s: %v", err)
	}
	// Costs below 1 count 1; the usage is capped at 1.8.
	clk.add(10 * time.Second)
	if u, err := l.Directory(ctx, req(0, false)); err != nil || u.Units != 1 {
		t.Fatalf("cost 0: %+v %v", u, err)
	}
	l.Directory(ctx, req(9, false))
	_, err = l.Directory(ctx, req(10, false))
	if r := refusal(t, err, throttle.LimitDirectoryUnits); r.Usage != throttle.MaxUsage || r.RetryAfter != 10*time.Second {
		t.Errorf("refusal at an empty bucket: %+v", r)
	}

	// Writes: two per 150 s. A refused write takes no units.
	clk.add(time.Minute)
	for range 2 {
		if _, err := l.Directory(ctx, req(1, true)); err != nil {
			t.Fatal(err)
		}
	}
	_, err = l.Directory(ctx, req(1, true))
	r = refusal(t, err, throttle.LimitDirectoryWrites)
	if r.RetryAfter != 150*time.Second || r.Info != "WriteLimitExceeded" || r.Scope != "Tenant_Application/Write/app/t" {
		t.Errorf("write refusal %+v", r)
	}
	if u, err := l.Directory(ctx, req(1, false)); err != nil || !near(u.Usage, 0.3) {
		t.Errorf("a read after a refused write: %+v %v (want 3 of 10 units used)", u, err)
	}
	// A write refused for units gives its write back.
	l.Directory(ctx, req(7, false))
	clk.add(150 * time.Second)
	l.Directory(ctx, req(10, false))
	_, err = l.Directory(ctx, req(1, true))
	refusal(t, err, throttle.LimitDirectoryUnits)
	clk.add(10 * time.Second)
	for range 2 {
		if _, err := l.Directory(ctx, req(1, true)); err != nil {
			t.Fatalf("writes after a refused one: %v", err)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// BenchmarkMemory measures the in-process limits of one request (the
// postgres package has the same benchmark on the shared counters).
func BenchmarkMemory(b *testing.B) {
	limits := throttle.GraphLimits()
	limits.Requests, limits.DirectoryUnits = 1<<50, 1<<50 // never reached
	l := throttle.New(limits, &throttle.Memory{}, nil)
	b.Run("outlook", func(b *testing.B) {
		for b.Loop() {
			tk, err := l.Mailbox(ctx, throttle.MailboxRequest{App: "app", Tenant: "t", User: "u"})
			if err != nil {
				b.Fatal(err)
			}
			tk.Release(ctx)
		}
	})
	b.Run("directory-read", func(b *testing.B) {
		for b.Loop() {
			if _, err := l.Directory(ctx, throttle.DirectoryRequest{App: "app", Tenant: "t", Units: 1}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
