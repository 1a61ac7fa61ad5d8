package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph/throttle"
	"github.com/contactgraph/contactgraph/throttle/throttletest"
)

func TestThrottleCounters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	// Every other test gets a second replica's counters: they share the rows.
	replica := e.open(t, nil)
	n := 0
	throttletest.Run(t, func(*testing.T) throttle.Counters {
		n++
		if n%2 == 0 {
			return replica.Throttle()
		}
		return e.db.Throttle()
	})
}

// TestThrottleAcrossReplicas: two replicas on one database enforce one
// concurrency limit and one request window between them.
func TestThrottleAcrossReplicas(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	other := e.open(t, nil)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	limits := throttle.Limits{Concurrency: 2, Requests: 3, RequestWindow: time.Minute}
	a := throttle.New(limits, e.db.Throttle(), clock)
	b := throttle.New(limits, other.Throttle(), clock)
	ctx := context.Background()
	req := throttle.MailboxRequest{App: "app", Tenant: "t", User: "u"}
	ta, err := a.Mailbox(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := b.Mailbox(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var r *throttle.Refusal
	if _, err := a.Mailbox(ctx, req); !errors.As(err, &r) || r.Limit != throttle.LimitConcurrency {
		t.Fatalf("third concurrent request over two replicas: %v", err)
	}
	if err := tb.Release(ctx); err != nil {
		t.Fatal(err)
	}
	tc, err := a.Mailbox(ctx, req) // the slot replica b freed
	if err != nil {
		t.Fatal(err)
	}
	ta.Release(ctx)
	tc.Release(ctx)
	if _, err := b.Mailbox(ctx, req); !errors.As(err, &r) || r.Limit != throttle.LimitRequests || r.RetryAfter != time.Minute {
		t.Fatalf("fourth request in the window: %v", err)
	}
}

// BenchmarkThrottle measures what the shared limits add to a request:
// an Outlook request (acquire, count, release), one with an upload, a
// directory read and a directory write.
func BenchmarkThrottle(b *testing.B) {
	limits := throttle.GraphLimits()
	limits.Requests, limits.DirectoryUnits, limits.DirectoryWrites = 1<<50, 1<<50, 1<<50 // never reached
	l := throttle.New(limits, newEnv(b, nil).db.Throttle(), nil)
	ctx := context.Background()
	run := func(name string, fn func(i int) error) {
		b.Run(name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				if err := fn(i); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	mailbox := func(upload int64) func(i int) error {
		return func(i int) error {
			tk, err := l.Mailbox(ctx, throttle.MailboxRequest{App: "app", Tenant: "t", User: fmt.Sprint("u", i%100), Upload: upload})
			if err != nil {
				return err
			}
			return tk.Release(ctx)
		}
	}
	run("outlook", mailbox(0))
	run("outlook-upload", mailbox(1000))
	run("directory-read", func(i int) error {
		_, err := l.Directory(ctx, throttle.DirectoryRequest{App: fmt.Sprint("app", i%100), Tenant: "t", Units: 1})
		return err
	})
	run("directory-write", func(i int) error {
		_, err := l.Directory(ctx, throttle.DirectoryRequest{App: fmt.Sprint("app", i%100), Tenant: "t", Units: 1, Write: true})
		return err
	})
}
