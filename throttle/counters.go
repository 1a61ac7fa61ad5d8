package throttle

import (
	"context"
	"sync"
	"time"
)

// Counters keep the state of the limits: slots for concurrency, fixed
// windows for counts, token buckets for resource units. Keys are opaque
// strings. Every method is atomic for its key and takes the time from the
// caller. Implementations must be safe for concurrent use; Memory is the
// reference, the throttletest suite the contract every implementation
// passes.
type Counters interface {
	// Acquire takes the lowest free slot among the first limit slots of
	// key for holder, held until Release or until until, whichever comes
	// first. A slot is free when it was never taken, was released, or its
	// hold ended at or before now. ok is false when none is free.
	Acquire(ctx context.Context, key string, limit int, holder string, now, until time.Time) (slot int, ok bool, err error)
	// Release frees slot of key if holder still holds it; otherwise it
	// does nothing (the hold ended and someone else may hold it now).
	Release(ctx context.Context, key string, slot int, holder string) error
	// Add adds n to the current window of key and reports the window.
	// When key has no window, or its window ended at or before now, a new
	// one starts at now and lasts window. The addition is refused
	// (Window.OK false, nothing added) when the count would pass limit;
	// a negative limit is no limit. A negative n gives back (the count
	// never goes below zero) and is never refused.
	Add(ctx context.Context, key string, n, limit int64, window time.Duration, now time.Time) (Window, error)
	// Take takes cost tokens from the token bucket of key, which holds at
	// most capacity tokens and refills capacity tokens per period,
	// continuously; a bucket never seen is full. It is refused
	// (Bucket.OK false, nothing taken) when fewer than cost tokens are
	// left. A negative cost gives back (up to capacity) and is never
	// refused.
	Take(ctx context.Context, key string, cost, capacity int64, period time.Duration, now time.Time) (Bucket, error)
	// Sweep forgets what no longer limits anything at now: free slots,
	// ended windows, full buckets. Forgetting them changes no answer.
	Sweep(ctx context.Context, now time.Time) error
}

// Window is the state of a fixed window after Counters.Add.
type Window struct {
	OK    bool      // the addition was made
	Used  int64     // the window's count, the addition included when OK
	Reset time.Time // when the window ends
}

// Bucket is the state of a token bucket after Counters.Take.
type Bucket struct {
	OK    bool    // the tokens were taken
	Level float64 // tokens left
}

// Memory is Counters in the process. The zero value is ready to use.
type Memory struct {
	mu      sync.Mutex // guards the maps
	slots   map[string][]memSlot
	windows map[string]memWindow
	buckets map[string]memBucket
}

type memSlot struct {
	holder string
	until  time.Time
}

type memWindow struct {
	used  int64
	reset time.Time
}

type memBucket struct {
	level    float64
	at       time.Time
	capacity int64
	rate     float64 // tokens per nanosecond
}

var _ Counters = (*Memory)(nil)

// Acquire implements Counters.
func (m *Memory) Acquire(_ context.Context, key string, limit int, holder string, now, until time.Time) (int, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.slots == nil {
		m.slots = map[string][]memSlot{}
	}
	s := m.slots[key]
	for len(s) < limit {
		s = append(s, memSlot{})
	}
	m.slots[key] = s
	for i := range limit {
		if s[i].holder == "" || !s[i].until.After(now) {
			s[i] = memSlot{holder: holder, until: until}
			return i, true, nil
		}
	}
	return 0, false, nil
}

// Release implements Counters.
func (m *Memory) Release(_ context.Context, key string, slot int, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.slots[key]
	if slot >= 0 && slot < len(s) && s[slot].holder == holder {
		s[slot] = memSlot{}
	}
	return nil
}

// Add implements Counters.
func (m *Memory) Add(_ context.Context, key string, n, limit int64, window time.Duration, now time.Time) (Window, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.windows == nil {
		m.windows = map[string]memWindow{}
	}
	w, ok := m.windows[key]
	if !ok || !w.reset.After(now) {
		w = memWindow{reset: now.Add(window)}
	}
	switch {
	case n < 0:
		w.used = max(w.used+n, 0)
	case limit >= 0 && w.used+n > limit:
		m.windows[key] = w
		return Window{Used: w.used, Reset: w.reset}, nil
	default:
		w.used += n
	}
	m.windows[key] = w
	return Window{OK: true, Used: w.used, Reset: w.reset}, nil
}

// Take implements Counters.
func (m *Memory) Take(_ context.Context, key string, cost, capacity int64, period time.Duration, now time.Time) (Bucket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.buckets == nil {
		m.buckets = map[string]memBucket{}
	}
	b, ok := m.buckets[key]
	rate := float64(capacity) / float64(period)
	if !ok {
		b = memBucket{level: float64(capacity), at: now}
	}
	b.level = b.refilled(now, capacity, rate)
	if now.After(b.at) {
		b.at = now
	}
	b.capacity, b.rate = capacity, rate
	okTake := b.level >= float64(cost)
	if okTake {
		b.level = min(b.level-float64(cost), float64(capacity))
	}
	m.buckets[key] = b
	return Bucket{OK: okTake, Level: b.level}, nil
}

// refilled returns the bucket's level at now.
func (b memBucket) refilled(now time.Time, capacity int64, rate float64) float64 {
	elapsed := max(now.Sub(b.at), 0)
	return min(float64(capacity), b.level+float64(elapsed)*rate)
}

// Sweep implements Counters.
func (m *Memory) Sweep(_ context.Context, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.slots {
		busy := false
		for _, x := range s {
			busy = busy || (x.holder != "" && x.until.After(now))
		}
		if !busy {
			delete(m.slots, k)
		}
	}
	for k, w := range m.windows {
		if !w.reset.After(now) {
			delete(m.windows, k)
		}
	}
	for k, b := range m.buckets {
		if b.refilled(now, b.capacity, b.rate) >= float64(b.capacity) {
			delete(m.buckets, k)
		}
	}
	return nil
}
