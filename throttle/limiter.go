package throttle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// Limits are the limits of graph mode. A zero count turns its limit off.
type Limits struct {
	// Concurrency is how many requests of one app may run at once on
	// Outlook routes: per app, or per app and mailbox when
	// ConcurrencyPerMailbox is set.
	Concurrency           int
	ConcurrencyPerMailbox bool
	// Requests per app and mailbox in RequestWindow.
	Requests      int64
	RequestWindow time.Duration
	// UploadBytes of request bodies (POST, PATCH, PUT) per app and mailbox
	// in UploadWindow.
	UploadBytes  int64
	UploadWindow time.Duration
	// DirectoryUnits is the resource-unit quota per app and tenant: the
	// bucket holds that many and refills that many per DirectoryWindow.
	DirectoryUnits  int64
	DirectoryWindow time.Duration
	// DirectoryWrites per app and tenant in DirectoryWriteWindow.
	DirectoryWrites      int64
	DirectoryWriteWindow time.Duration
	// Lease is the longest a concurrency slot stays held: a request that
	// lasts longer, or whose server died, frees its slot then.
	Lease time.Duration
}

// GraphLimits returns Graph's documented limits.
func GraphLimits() Limits {
	return Limits{
		Concurrency:          4,
		Requests:             10_000,
		RequestWindow:        10 * time.Minute,
		UploadBytes:          150 << 20,
		UploadWindow:         5 * time.Minute,
		DirectoryUnits:       3_500,
		DirectoryWindow:      10 * time.Second,
		DirectoryWrites:      3_000,
		DirectoryWriteWindow: 150 * time.Second,
		Lease:                DefaultLease,
	}
}

// DefaultLease is Limits.Lease when it is not set: longer than a request
// may take to be answered (the server's write timeout is 2 minutes).
const DefaultLease = 3 * time.Minute

// sweepEvery is how often a Limiter sweeps its counters.
const sweepEvery = time.Minute

// ConcurrencyRetryAfter is the Retry-After of a concurrency refusal, as
// Graph sends it: the server cannot know when a slot frees.
const ConcurrencyRetryAfter = time.Second

// MaxUsage caps Refusal.Usage, as Graph's x-ms-throttle-limit-percentage
// runs from 0.8 to 1.8.
const MaxUsage = 1.8

// Limit names a limit.
type Limit string

// The limits.
const (
	LimitConcurrency     Limit = "concurrency"
	LimitRequests        Limit = "requests"
	LimitUpload          Limit = "upload"
	LimitDirectoryUnits  Limit = "directoryUnits"
	LimitDirectoryWrites Limit = "directoryWrites"
)

// Refusal is the error of a request over a limit.
type Refusal struct {
	Limit      Limit
	RetryAfter time.Duration
	// For the directory limits: Scope is x-ms-throttle-scope
	// (<Scope>/<Limit>/<app>/<tenant>), Info x-ms-throttle-information,
	// Units the request's cost and Usage the share of the unit quota used,
	// counting the refused request, capped at MaxUsage.
	Scope string
	Info  string
	Units int64
	Usage float64
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("throttle: over the %s limit; retry after %v", r.Limit, r.RetryAfter)
}

// Limiter applies Limits on Counters. It is safe for concurrent use.
type Limiter struct {
	limits Limits
	c      Counters
	now    func() time.Time

	mu        sync.Mutex // guards lastSweep
	lastSweep time.Time
}

// New returns a Limiter. A nil now is time.Now; a zero Lease is DefaultLease.
func New(limits Limits, c Counters, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	if limits.Lease <= 0 {
		limits.Lease = DefaultLease
	}
	return &Limiter{limits: limits, c: c, now: now}
}

// Limits returns the limits l applies.
func (l *Limiter) Limits() Limits { return l.limits }

// MailboxRequest is a request of an app to a mailbox on an Outlook route.
type MailboxRequest struct {
	App, Tenant, User string
	// Upload is the size of the request body when it is an upload (POST,
	// PATCH, PUT) whose size is known before reading it; 0 otherwise.
	Upload int64
}

// Ticket is an admitted Outlook request. Release it when the request ends.
type Ticket struct {
	l      *Limiter
	upload string // key of the upload window
	slot   int
	slotOf string // key of the concurrency slot; "" when none is held
	holder string
}

// Mailbox admits r or refuses it with a *Refusal: concurrency first, then
// the request count, then the upload bytes. Any other error is the
// counters'; the request was not counted then.
func (l *Limiter) Mailbox(ctx context.Context, r MailboxRequest) (*Ticket, error) {
	now := l.tick(ctx)
	lim := l.limits
	mbx := appKey(r.App, r.Tenant) + "|" + r.Tenant + "|" + r.User
	t := &Ticket{l: l, upload: "upload|" + mbx}
	if lim.Concurrency > 0 {
		key := "slots|" + appKey(r.App, r.Tenant)
		if lim.ConcurrencyPerMailbox {
			key = "slots|" + mbx
		}
		t.holder = newHolder()
		slot, ok, err := l.c.Acquire(ctx, key, lim.Concurrency, t.holder, now, now.Add(lim.Lease))
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &Refusal{Limit: LimitConcurrency, RetryAfter: ConcurrencyRetryAfter}
		}
		t.slot, t.slotOf = slot, key
	}
	requests := "requests|" + mbx
	if lim.Requests > 0 {
		w, err := l.c.Add(ctx, requests, 1, lim.Requests, lim.RequestWindow, now)
		if err != nil || !w.OK {
			t.Release(ctx)
			if err != nil {
				return nil, err
			}
			return nil, &Refusal{Limit: LimitRequests, RetryAfter: w.Reset.Sub(now)}
		}
	}
	if lim.UploadBytes > 0 && r.Upload > 0 {
		w, err := l.c.Add(ctx, t.upload, r.Upload, lim.UploadBytes, lim.UploadWindow, now)
		if err != nil || !w.OK {
			t.Release(ctx)
			if lim.Requests > 0 {
				_, _ = l.c.Add(ctx, requests, -1, -1, lim.RequestWindow, now)
			}
			if err != nil {
				return nil, err
			}
			return nil, &Refusal{Limit: LimitUpload, RetryAfter: w.Reset.Sub(now)}
		}
	}
	return t, nil
}

// Uploaded counts n more upload bytes of the request, known only once its
// body was read (a chunked body). They cannot refuse the request any more;
// they count against the next ones.
func (t *Ticket) Uploaded(ctx context.Context, n int64) error {
	lim := t.l.limits
	if lim.UploadBytes <= 0 || n <= 0 {
		return nil
	}
	_, err := t.l.c.Add(ctx, t.upload, n, -1, lim.UploadWindow, t.l.now())
	return err
}

// Release frees the request's concurrency slot. It may be called more
// than once.
func (t *Ticket) Release(ctx context.Context) error {
	if t == nil || t.slotOf == "" {
		return nil
	}
	key := t.slotOf
	t.slotOf = ""
	return t.l.c.Release(ctx, key, t.slot, t.holder)
}

// DirectoryRequest is a request of an app to a tenant's directory.
type DirectoryRequest struct {
	App, Tenant string
	Units       int64 // the request's cost in resource units, at least 1
	Write       bool  // POST, PATCH, PUT or DELETE: it counts against the write quota too
}

// DirectoryUsage is what an admitted directory request used.
type DirectoryUsage struct {
	Units int64   // the request's cost
	Usage float64 // share of the unit quota used after it (0 when off)
}

// Directory admits r or refuses it with a *Refusal: the write quota
// first, then the resource units. Any other error is the counters'.
func (l *Limiter) Directory(ctx context.Context, r DirectoryRequest) (DirectoryUsage, error) {
	now := l.tick(ctx)
	lim := l.limits
	units := max(r.Units, 1)
	if lim.DirectoryUnits > 0 {
		units = min(units, lim.DirectoryUnits) // a cost over the quota could never pass
	}
	pair := appKey(r.App, r.Tenant) + "|" + r.Tenant
	scope := "Tenant_Application/%s/" + r.App + "/" + r.Tenant
	writes := "writes|" + pair
	if r.Write && lim.DirectoryWrites > 0 {
		w, err := l.c.Add(ctx, writes, 1, lim.DirectoryWrites, lim.DirectoryWriteWindow, now)
		if err != nil {
			return DirectoryUsage{}, err
		}
		if !w.OK {
			return DirectoryUsage{}, &Refusal{Limit: LimitDirectoryWrites, RetryAfter: w.Reset.Sub(now),
				Scope: fmt.Sprintf(scope, "Write"), Info: "WriteLimitExceeded", Units: units}
		}
	}
	if lim.DirectoryUnits <= 0 {
		return DirectoryUsage{Units: units}, nil
	}
	b, err := l.c.Take(ctx, "units|"+pair, units, lim.DirectoryUnits, lim.DirectoryWindow, now)
	if err == nil && b.OK {
		return DirectoryUsage{Units: units, Usage: usage(lim.DirectoryUnits, b.Level, 0)}, nil
	}
	if r.Write && lim.DirectoryWrites > 0 {
		_, _ = l.c.Add(ctx, writes, -1, -1, lim.DirectoryWriteWindow, now)
	}
	if err != nil {
		return DirectoryUsage{}, err
	}
	missing := float64(units) - b.Level
	wait := time.Duration(missing / float64(lim.DirectoryUnits) * float64(lim.DirectoryWindow))
	return DirectoryUsage{}, &Refusal{Limit: LimitDirectoryUnits, RetryAfter: wait,
		Scope: fmt.Sprintf(scope, "ReadWrite"), Info: "ResourceUnitLimitExceeded", Units: units,
		Usage: usage(lim.DirectoryUnits, b.Level, units)}
}

// usage is the share of capacity used when level tokens are left and extra
// more were asked for, capped at MaxUsage.
func usage(capacity int64, level float64, extra int64) float64 {
	return min((float64(capacity)-level+float64(extra))/float64(capacity), MaxUsage)
}

// tick returns the time and, once every sweepEvery, sweeps the counters
// first (errors are ignored: the next sweep tries again).
func (l *Limiter) tick(ctx context.Context) time.Time {
	now := l.now()
	l.mu.Lock()
	due := now.Sub(l.lastSweep) >= sweepEvery || now.Before(l.lastSweep)
	if due {
		l.lastSweep = now
	}
	l.mu.Unlock()
	if due {
		_ = l.c.Sweep(ctx, now)
	}
	return now
}

// appKey is the app part of a key: the app id, or for a token without one
// the tenant's tokens without one.
func appKey(app, tenant string) string {
	if app == "" {
		return "noapp:" + tenant
	}
	return app
}

// newHolder returns a random holder id for a slot.
func newHolder() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
