// Package throttletest is the conformance suite of throttle.Counters: the
// in-process Memory and the postgres store's shared counters pass the same
// tests.
package throttletest

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph/throttle"
)

// t0 is the suite's clock origin, on a millisecond (stores keep
// milliseconds).
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Run runs the suite on counters made by newCounters, each test on fresh
// ones (a store may share one database between them: keys are unique per
// test).
func Run(t *testing.T, newCounters func(t *testing.T) throttle.Counters) {
	ctx := context.Background()
	key := func(t *testing.T, what string) string {
		return fmt.Sprintf("%s|%s|%d", t.Name(), what, time.Now().UnixNano())
	}

	t.Run("slots", func(t *testing.T) {
		c, k := newCounters(t), key(t, "slots")
		lease := t0.Add(time.Minute)
		for i := range 2 {
			slot, ok, err := c.Acquire(ctx, k, 2, fmt.Sprint("h", i), t0, lease)
			if err != nil || !ok || slot != i {
				t.Fatalf("acquire %d: slot %d ok %v err %v", i, slot, ok, err)
			}
		}
		if _, ok, err := c.Acquire(ctx, k, 2, "h2", t0, lease); err != nil || ok {
			t.Fatalf("third acquire of 2: ok %v err %v", ok, err)
		}
		// A release by someone who no longer holds the slot does nothing.
		if err := c.Release(ctx, k, 0, "h1"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := c.Acquire(ctx, k, 2, "h2", t0, lease); ok {
			t.Fatal("a release by another holder freed the slot")
		}
		if err := c.Release(ctx, k, 0, "h0"); err != nil {
			t.Fatal(err)
		}
		if slot, ok, err := c.Acquire(ctx, k, 2, "h2", t0, lease); err != nil || !ok || slot != 0 {
			t.Fatalf("acquire after release: slot %d ok %v err %v", slot, ok, err)
		}
		// Holds end at their lease: 1 ms before, still held; at it, free.
		if _, ok, _ := c.Acquire(ctx, k, 2, "h3", lease.Add(-time.Millisecond), lease.Add(time.Minute)); ok {
			t.Fatal("a slot was free before its lease ended")
		}
		slot, ok, err := c.Acquire(ctx, k, 2, "h3", lease, lease.Add(time.Minute))
		if err != nil || !ok || slot != 0 {
			t.Fatalf("acquire at the lease's end: slot %d ok %v err %v", slot, ok, err)
		}
		// The old holder's late release leaves the new hold alone.
		if err := c.Release(ctx, k, 0, "h2"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := c.Acquire(ctx, k, 1, "h4", lease, lease.Add(time.Minute)); ok {
			t.Fatal("a late release freed a slot held by someone else")
		}
		if slot, ok, err := c.Acquire(ctx, k, 2, "h4", lease, lease.Add(time.Minute)); err != nil || !ok || slot != 1 {
			t.Fatalf("acquire of the other expired slot: slot %d ok %v err %v", slot, ok, err)
		}
		// A larger limit adds slots; a smaller one uses only the first.
		if slot, ok, err := c.Acquire(ctx, k, 3, "h5", lease, lease.Add(time.Minute)); err != nil || !ok || slot != 2 {
			t.Fatalf("acquire with a larger limit: slot %d ok %v err %v", slot, ok, err)
		}
		if _, ok, _ := c.Acquire(ctx, k, 1, "h6", lease, lease.Add(time.Minute)); ok {
			t.Fatal("limit 1 with slot 0 held: acquired")
		}
	})

	t.Run("slots race", func(t *testing.T) {
		c, k := newCounters(t), key(t, "race")
		const n, limit = 16, 3
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := map[int]int{}
		errs := 0
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				slot, ok, err := c.Acquire(ctx, k, limit, fmt.Sprint("r", i), t0, t0.Add(time.Minute))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs++
				} else if ok {
					got[slot]++
				}
			}()
		}
		wg.Wait()
		if errs > 0 {
			t.Fatalf("%d acquires failed", errs)
		}
		total := 0
		for slot, k := range got {
			if k != 1 || slot < 0 || slot >= limit {
				t.Errorf("slot %d taken %d times", slot, k)
			}
			total += k
		}
		if total != limit {
			t.Errorf("%d of %d concurrent acquires got one of %d slots", total, n, limit)
		}
	})

	t.Run("window", func(t *testing.T) {
		c, k := newCounters(t), key(t, "window")
		win := 10 * time.Minute
		for i := int64(1); i <= 3; i++ {
			w, err := c.Add(ctx, k, 1, 3, win, t0.Add(time.Duration(i)*time.Second))
			if err != nil || !w.OK || w.Used != i || !w.Reset.Equal(t0.Add(time.Second+win)) {
				t.Fatalf("add %d: %+v %v", i, w, err)
			}
		}
		w, err := c.Add(ctx, k, 1, 3, win, t0.Add(time.Minute))
		if err != nil || w.OK || w.Used != 3 || !w.Reset.Equal(t0.Add(time.Second+win)) {
			t.Fatalf("add over the limit: %+v %v", w, err)
		}
		// A give-back makes room; it is never refused.
		if w, err := c.Add(ctx, k, -1, -1, win, t0.Add(time.Minute)); err != nil || !w.OK || w.Used != 2 {
			t.Fatalf("give back: %+v %v", w, err)
		}
		if w, err := c.Add(ctx, k, 1, 3, win, t0.Add(time.Minute)); err != nil || !w.OK || w.Used != 3 {
			t.Fatalf("add after a give-back: %+v %v", w, err)
		}
		// The window ends on time: 1 ms before, refused; at it, a new one.
		end := t0.Add(time.Second + win)
		if w, _ := c.Add(ctx, k, 1, 3, win, end.Add(-time.Millisecond)); w.OK {
			t.Fatalf("add 1 ms before the window ends: %+v", w)
		}
		w, err = c.Add(ctx, k, 2, 3, win, end)
		if err != nil || !w.OK || w.Used != 2 || !w.Reset.Equal(end.Add(win)) {
			t.Fatalf("add when the window ended: %+v %v", w, err)
		}
		// More than the limit at once is refused; no limit takes anything.
		if w, _ := c.Add(ctx, k, 2, 3, win, end); w.OK || w.Used != 2 {
			t.Fatalf("add of 2 with 2 of 3 used: %+v", w)
		}
		if w, err := c.Add(ctx, k, math.MaxInt32, -1, win, end); err != nil || !w.OK || w.Used != 2+math.MaxInt32 {
			t.Fatalf("add without a limit: %+v %v", w, err)
		}
		// A give-back never goes below zero.
		k2 := key(t, "floor")
		c.Add(ctx, k2, 1, 5, win, t0)
		if w, err := c.Add(ctx, k2, -3, -1, win, t0); err != nil || w.Used != 0 {
			t.Fatalf("give back 3 of 1: %+v %v", w, err)
		}
	})

	t.Run("bucket", func(t *testing.T) {
		c, k := newCounters(t), key(t, "bucket")
		period := 10 * time.Second // 10 tokens per 10 s: one per second
		b, err := c.Take(ctx, k, 4, 10, period, t0)
		if err != nil || !b.OK || !near(b.Level, 6) {
			t.Fatalf("first take: %+v %v", b, err)
		}
		if b, err = c.Take(ctx, k, 6, 10, period, t0); err != nil || !b.OK || !near(b.Level, 0) {
			t.Fatalf("take the rest: %+v %v", b, err)
		}
		if b, err = c.Take(ctx, k, 1, 10, period, t0.Add(999*time.Millisecond)); err != nil || b.OK || !near(b.Level, 0.999) {
			t.Fatalf("take before a token refilled: %+v %v", b, err)
		}
		if b, err = c.Take(ctx, k, 1, 10, period, t0.Add(time.Second)); err != nil || !b.OK || !near(b.Level, 0) {
			t.Fatalf("take when a token refilled: %+v %v", b, err)
		}
		// Give back, then refill never passes the capacity.
		if b, err = c.Take(ctx, k, -3, 10, period, t0.Add(time.Second)); err != nil || !b.OK || !near(b.Level, 3) {
			t.Fatalf("give back: %+v %v", b, err)
		}
		if b, err = c.Take(ctx, k, 0, 10, period, t0.Add(time.Hour)); err != nil || !b.OK || !near(b.Level, 10) {
			t.Fatalf("after an hour: %+v %v", b, err)
		}
		// A clock behind the last take (another replica's) refills nothing.
		c.Take(ctx, k, 10, 10, period, t0.Add(time.Hour))
		if b, err = c.Take(ctx, k, 1, 10, period, t0.Add(time.Hour-time.Second)); err != nil || b.OK || !near(b.Level, 0) {
			t.Fatalf("take with an earlier clock: %+v %v", b, err)
		}
	})

	t.Run("sweep", func(t *testing.T) {
		c := newCounters(t)
		slots, win, bucket := key(t, "s"), key(t, "w"), key(t, "b")
		c.Acquire(ctx, slots, 1, "x", t0, t0.Add(time.Minute))
		c.Add(ctx, win, 1, 1, time.Minute, t0)
		c.Take(ctx, bucket, 10, 10, time.Minute, t0)
		if err := c.Sweep(ctx, t0.Add(30*time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := c.Acquire(ctx, slots, 1, "y", t0.Add(30*time.Second), t0.Add(time.Minute)); ok {
			t.Error("sweep freed a held slot")
		}
		if w, _ := c.Add(ctx, win, 1, 1, time.Minute, t0.Add(30*time.Second)); w.OK {
			t.Error("sweep ended a running window")
		}
		if b, _ := c.Take(ctx, bucket, 10, 10, time.Minute, t0.Add(30*time.Second)); b.OK {
			t.Error("sweep refilled a bucket")
		}
		if err := c.Sweep(ctx, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := c.Acquire(ctx, slots, 1, "y", t0.Add(time.Hour), t0.Add(2*time.Hour)); !ok {
			t.Error("after its lease and a sweep, the slot is not free")
		}
		if w, _ := c.Add(ctx, win, 1, 1, time.Minute, t0.Add(time.Hour)); !w.OK || w.Used != 1 {
			t.Errorf("after a sweep, window %+v", w)
		}
		if b, _ := c.Take(ctx, bucket, 10, 10, time.Minute, t0.Add(time.Hour)); !b.OK {
			t.Errorf("after a sweep, bucket %+v", b)
		}
	})
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
