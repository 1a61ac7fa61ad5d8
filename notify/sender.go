package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contactgraph/contactgraph"
)

// Defaults of a Sender, as Graph documents its own delivery.
const (
	DefaultTimeout  = 3 * time.Second
	DefaultRetryFor = 4 * time.Hour
	DefaultLease    = 30 * time.Second
	DefaultBatch    = 50
	DefaultPoll     = time.Second
)

// Sender delivers the outbox: it claims due entries with a lease, posts
// them grouped by receiver URL (several notifications a POST), and acks
// what a receiver accepted with a 2xx. A failure (any other status, a
// timeout, a refused connection) puts the entries back with exponential
// backoff and jitter; entries older than RetryFor are dropped, which
// records a "missed" lifecycle notification. Any number of senders, in
// any number of processes, may share one store: a lease holds an entry
// for one of them, and a sender that dies holds it only until the lease
// runs out.
type Sender struct {
	Store contactgraph.SubscriptionStore
	// Owner names this sender in leases; unique per process.
	Owner string
	// Client posts notifications. Its Transport should refuse addresses the
	// server may not call (see Dialer); nil for a client with Timeout.
	Client   *http.Client
	Timeout  time.Duration // per POST; 0 for DefaultTimeout
	RetryFor time.Duration // 0 for DefaultRetryFor
	Lease    time.Duration // 0 for DefaultLease
	Batch    int           // most notifications in one POST; 0 for DefaultBatch
	Poll     time.Duration // how often to look without a wake-up; 0 for DefaultPoll
	Workers  int           // concurrent POSTs; 0 for 1
	Now      func() time.Time
	// SweepEvery is how often Run sweeps the subscriptions (Sweep); 0 for
	// DefaultSweepEvery.
	SweepEvery time.Duration
	// Faults, when set, injects delivery faults (the emulator); nil for none.
	Faults *Faults
	// Log, when set, keeps the latest deliveries of each subscription.
	Log *DeliveryLog
	// Logf, when set, receives one line per failed delivery.
	Logf func(format string, args ...any)
	// ResourceData renders the object of a rich notification, as
	// graphapi's Server.ResourceData does; an ENotFound error means it has
	// none. ValidationToken signs a validation token for an application
	// and tenant at now, as auth's Local.ValidationToken does. See rich.go;
	// nil leaves out encryptedContent, or validationTokens.
	ResourceData    func(ctx context.Context, n contactgraph.Notification) ([]byte, error)
	ValidationToken func(appID, tenantID string, now time.Time) (string, error)

	Stats Stats
	// DeliveryLatency, when set, is called with the commit-to-delivery
	// latency of each notification a receiver accepted, from the sender's
	// workers at once: it must be safe for concurrent use (metrics).
	DeliveryLatency func(time.Duration)

	wake chan struct{}
	once sync.Once

	swept time.Time // when Run last swept; only Run's goroutine uses it
}

// Stats counts a sender's work, for metrics.
type Stats struct {
	Delivered atomic.Int64 // notifications a receiver accepted
	Failed    atomic.Int64 // failed POSTs
	Retried   atomic.Int64 // notifications put back for a later attempt
	Dropped   atomic.Int64 // notifications given up after RetryFor
	// LatencyMillis sums commit-to-delivery latency of delivered
	// notifications, in milliseconds.
	LatencyMillis atomic.Int64
}

func (s *Sender) init() {
	s.once.Do(func() { s.wake = make(chan struct{}, 1) })
}

// Wake makes the sender look at the outbox now. It never blocks.
func (s *Sender) Wake() {
	s.init()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Run delivers until ctx ends. Store errors are logged and retried at the
// next poll; Run returns only ctx's error.
func (s *Sender) Run(ctx context.Context) error {
	s.init()
	t := time.NewTicker(or(s.Poll, DefaultPoll))
	defer t.Stop()
	for {
		s.sweepIfDue(ctx)
		for {
			n, err := s.Once(ctx)
			if err != nil && ctx.Err() == nil {
				s.logf("notify: %v", err)
			}
			if n == 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		case <-t.C:
		}
	}
}

// Once claims one batch of due entries and delivers it. It returns how many
// entries it claimed.
func (s *Sender) Once(ctx context.Context) (int, error) {
	batch := or(s.Batch, DefaultBatch)
	workers := or(s.Workers, 1)
	ns, err := s.Store.ClaimNotifications(ctx, s.Owner, s.now(), or(s.Lease, DefaultLease), batch*workers)
	if err != nil || len(ns) == 0 {
		return 0, err
	}
	groups := group(ns, batch)
	var wg sync.WaitGroup
	errs := make([]error, len(groups))
	sem := make(chan struct{}, workers)
	for i, g := range groups {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = s.deliver(ctx, g)
		}()
	}
	wg.Wait()
	return len(ns), errors.Join(errs...)
}

// delivery is the notifications of one POST: one receiver URL.
type delivery struct {
	url string
	ns  []contactgraph.Notification
}

// group splits claimed entries by receiver URL, at most batch a POST.
func group(ns []contactgraph.Notification, batch int) []delivery {
	var out []delivery
	open := map[string]int{}
	for _, n := range ns {
		u := n.Subscription.NotificationURL
		if n.Lifecycle != "" {
			u = n.Subscription.LifecycleURL
		}
		i, ok := open[u]
		if !ok || len(out[i].ns) >= batch {
			out = append(out, delivery{url: u})
			i = len(out) - 1
			open[u] = i
		}
		out[i].ns = append(out[i].ns, n)
	}
	return out
}

func keys(ns []contactgraph.Notification) []contactgraph.NotificationKey {
	ks := make([]contactgraph.NotificationKey, len(ns))
	for i, n := range ns {
		ks[i] = n.Key
	}
	return ks
}

// deliver posts one group and settles its entries.
func (s *Sender) deliver(ctx context.Context, d delivery) error {
	// Entries whose subscription is gone, or that have no URL to go to,
	// cannot be delivered: acknowledge them away.
	if d.url == "" || d.ns[0].Subscription.ID == "" {
		return s.Store.AckNotifications(ctx, s.Owner, keys(d.ns))
	}
	start := s.now()
	err := s.post(ctx, d)
	now := s.now()
	if err == nil {
		s.Log.recordAll(d, start, now.Sub(start), "delivered", nil)
		s.Stats.Delivered.Add(int64(len(d.ns)))
		for _, n := range d.ns {
			s.Stats.LatencyMillis.Add(now.Sub(n.Recorded).Milliseconds())
			if s.DeliveryLatency != nil {
				s.DeliveryLatency(now.Sub(n.Recorded))
			}
		}
		return s.Store.AckNotifications(ctx, s.Owner, keys(d.ns))
	}
	s.Stats.Failed.Add(1)
	s.logf("notify: delivery of %d notifications for subscription %s failed: %v", len(d.ns), d.ns[0].Key.SubscriptionID, err)
	var retry, drop []contactgraph.Notification
	for _, n := range d.ns {
		if now.Sub(n.Recorded) >= or(s.RetryFor, DefaultRetryFor) {
			drop = append(drop, n)
		} else {
			retry = append(retry, n)
		}
	}
	status := "failed"
	if len(retry) == 0 {
		status = "dropped"
	}
	s.Log.recordAll(d, start, now.Sub(start), status, err)
	if len(drop) > 0 {
		s.Stats.Dropped.Add(int64(len(drop)))
		if err := s.Store.DropNotifications(ctx, s.Owner, keys(drop), now); err != nil {
			return err
		}
	}
	if len(retry) > 0 {
		s.Stats.Retried.Add(int64(len(retry)))
		return s.Store.RetryNotifications(ctx, s.Owner, keys(retry), now.Add(Backoff(retry[0].Attempts)))
	}
	return nil
}

// Backoff is the wait before attempt n+1 after n failed ones: 1 s doubling
// to at most 10 minutes, each with up to 50% random jitter added.
func Backoff(attempts int) time.Duration {
	d := time.Second << min(attempts, 10)
	d = min(d, 10*time.Minute)
	return d + rand.N(d/2+1)
}

// post sends one POST and reports whether the receiver accepted it.
func (s *Sender) post(ctx context.Context, d delivery) error {
	body, err := s.payload(ctx, d.ns)
	if err != nil {
		return err
	}
	if f, ok := s.Faults.take(d.url, d.ns); ok { // an injected fault (the emulator)
		return f.apply(ctx, func(ctx context.Context) error { return s.send(ctx, d.url, body) })
	}
	return s.send(ctx, d.url, body)
}

// send posts body to url and reports whether the receiver accepted it.
func (s *Sender) send(ctx context.Context, url string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, or(s.Timeout, DefaultTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	c := s.Client
	if c == nil {
		c = &http.Client{Timeout: or(s.Timeout, DefaultTimeout)}
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}

func (s *Sender) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// changeNames are the changeType words of Graph's payload.
var changeNames = map[contactgraph.ChangeType]string{
	contactgraph.ChangeCreated: "created",
	contactgraph.ChangeUpdated: "updated",
	contactgraph.ChangeDeleted: "deleted",
}

type resourceData struct {
	Type string `json:"@odata.type"`
	ID   string `json:"@odata.id"`
	ETag string `json:"@odata.etag,omitempty"`
	Key  string `json:"id"`
}

type item struct {
	SubscriptionID   string            `json:"subscriptionId"`
	Expires          string            `json:"subscriptionExpirationDateTime"`
	ClientState      *string           `json:"clientState"`
	ChangeType       string            `json:"changeType,omitempty"`
	LifecycleEvent   string            `json:"lifecycleEvent,omitempty"`
	Resource         string            `json:"resource,omitempty"`
	TenantID         string            `json:"tenantId"`
	ResourceData     *resourceData     `json:"resourceData,omitempty"`
	EncryptedContent *EncryptedContent `json:"encryptedContent,omitempty"`
}

// Payload renders notifications as the body of one POST, in Graph's
// shape: {"value":[…]}. RichPayload adds what rich notifications carry.
func Payload(ns []contactgraph.Notification) ([]byte, error) {
	return RichPayload(ns, Rich{})
}

// newItem renders one notification, without encryptedContent.
func newItem(n contactgraph.Notification) item {
	sub := n.Subscription
	it := item{SubscriptionID: sub.ID, Expires: sub.Expires.UTC().Format("2006-01-02T15:04:05.0000000Z"), TenantID: sub.TenantID}
	if sub.ClientState != "" {
		cs := sub.ClientState
		it.ClientState = &cs
	}
	if n.Lifecycle != "" {
		it.LifecycleEvent = n.Lifecycle
	} else {
		it.ChangeType = changeNames[n.Change]
		typ, res := resourceOf(sub.Watched, n.ObjectID)
		it.Resource = res
		it.ResourceData = &resourceData{Type: typ, ID: res, ETag: n.ETag, Key: n.ObjectID}
	}
	return it
}

// resourceOf returns the @odata.type and the resource path of an object of
// a watched collection, as Graph writes them in notifications.
func resourceOf(w contactgraph.Watched, id string) (typ, path string) {
	switch w.Collection {
	case "folders":
		return "#Microsoft.Graph.ContactFolder", "Users/" + w.Mailbox.UserID + "/ContactFolders/" + id
	case "orgContacts":
		return "#Microsoft.Graph.OrgContact", "Contacts/" + id
	}
	return "#Microsoft.Graph.Contact", "Users/" + w.Mailbox.UserID + "/Contacts/" + id
}
