package notify

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/contactgraph/contactgraph"
)

// Bounds of a Fault.
const (
	MaxFaultCount = 1_000_000
	MaxFaultDelay = 60 * time.Second
)

// Fault makes the next Count deliveries (POSTs) to URL misbehave in one
// way: exactly one of Status, Timeout, Delay and Duplicate is set. It is
// the receiver side of the emulator: a client's retry, idempotency and
// resync code can meet each case on purpose.
type Fault struct {
	URL   string // a notification or lifecycle URL, matched exactly; "" for any
	Count int    // deliveries it applies to, 1 to MaxFaultCount

	// Status fails the delivery as if the receiver had answered it
	// (400 to 599), without posting: the sender retries it later.
	Status int
	// Timeout fails the delivery as if the receiver had not answered
	// within the sender's timeout, at once and without posting.
	Timeout bool
	// Delay holds the delivery this long (up to MaxFaultDelay) before it
	// is posted as usual.
	Delay time.Duration
	// Duplicate posts the delivery twice, the second time once the first
	// succeeded; it fails, and is retried, when either POST fails.
	Duplicate bool
}

// check validates f. EInvalid.
func (f Fault) check() error {
	kinds := 0
	for _, set := range []bool{f.Status != 0, f.Timeout, f.Delay != 0, f.Duplicate} {
		if set {
			kinds++
		}
	}
	if kinds != 1 || f.Count < 1 || f.Count > MaxFaultCount || (f.Status != 0 && (f.Status < 400 || f.Status > 599)) ||
		f.Delay < 0 || f.Delay > MaxFaultDelay {
		return contactgraph.Errorf(contactgraph.EInvalid,
			"A delivery fault needs exactly one of fail (an HTTP status from 400 to 599), timeout, delayMs (1 to %d) and duplicate, and a count from 1 to %d.",
			MaxFaultDelay.Milliseconds(), MaxFaultCount)
	}
	return nil
}

// Faults is a queue of delivery faults per tenant, consulted by a Sender
// (Sender.Faults) before each POST. A fault of a tenant applies to a
// delivery that carries a notification of one of the tenant's
// subscriptions; of several matching faults the one queued first is used,
// and it is used up after Count deliveries. The zero value is an empty
// queue; a nil *Faults injects nothing. Safe for concurrent use: mu
// guards q.
type Faults struct {
	mu sync.Mutex
	q  map[string][]*Fault // by tenant, in the order queued
}

// Add queues f for the tenant's deliveries. EInvalid when f is not valid
// (see Fault).
func (fs *Faults) Add(tenantID string, f Fault) error {
	if err := f.check(); err != nil {
		return err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.q == nil {
		fs.q = map[string][]*Fault{}
	}
	fs.q[tenantID] = append(fs.q[tenantID], &f)
	return nil
}

// Clear forgets the tenant's queued faults.
func (fs *Faults) Clear(tenantID string) {
	if fs == nil {
		return
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	delete(fs.q, tenantID)
}

// take uses up one delivery of the first fault that matches a POST to url
// carrying ns, and returns it; false when none matches.
func (fs *Faults) take(url string, ns []contactgraph.Notification) (Fault, bool) {
	if fs == nil {
		return Fault{}, false
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	seen := map[string]bool{}
	for _, n := range ns {
		tenant := n.Subscription.TenantID
		if seen[tenant] {
			continue
		}
		seen[tenant] = true
		q := fs.q[tenant]
		for i, f := range q {
			if f.URL != "" && f.URL != url {
				continue
			}
			f.Count--
			if f.Count <= 0 {
				fs.q[tenant] = append(q[:i:i], q[i+1:]...)
			}
			return *f, true
		}
	}
	return Fault{}, false
}

// apply delivers through f: post is the real POST.
func (f Fault) apply(ctx context.Context, post func(context.Context) error) error {
	switch {
	case f.Status != 0:
		return fmt.Errorf("receiver answered %d %s (injected fault)", f.Status, http.StatusText(f.Status))
	case f.Timeout:
		return fmt.Errorf("receiver did not answer in time (injected fault): %w", context.DeadlineExceeded)
	case f.Delay > 0:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		return post(ctx)
	case f.Duplicate:
		if err := post(ctx); err != nil {
			return err
		}
		return post(ctx)
	}
	return post(ctx)
}
