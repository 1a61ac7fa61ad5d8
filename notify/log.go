package notify

import (
	"slices"
	"sync"
	"time"

	"github.com/contactgraph/contactgraph"
)

// Delivery is one attempt to deliver notifications of a subscription: one
// POST to its receiver (which may carry notifications of other
// subscriptions with the same URL too).
type Delivery struct {
	Time          time.Time `json:"dateTime"`
	URL           string    `json:"url"`
	Lifecycle     string    `json:"lifecycleEvent,omitempty"` // the event of a lifecycle notification
	Notifications int       `json:"notificationCount"`        // this subscription's notifications in the POST
	Attempt       int       `json:"attempt"`                  // 1 for a first attempt
	// Status is "delivered", "failed" (to be retried) or "dropped" (given
	// up after RetryFor; a missed lifecycle notification follows).
	Status   string `json:"status"`
	Error    string `json:"error,omitempty"`
	Duration int64  `json:"durationMs"`
}

// DeliveryLogSize is how many deliveries a DeliveryLog keeps of each
// subscription, and DeliveryLogSubscriptions of how many subscriptions.
const (
	DeliveryLogSize          = 50
	DeliveryLogSubscriptions = 10_000
)

// DeliveryLog keeps the latest deliveries of each subscription made by the
// senders of this process, newest first: what a client can read back at
// GET /subscriptions/{id}/deliveries to see why its receiver gets nothing.
// Its memory is bounded; with several replicas each knows its own senders'
// deliveries. The zero value is ready; a nil *DeliveryLog records nothing.
type DeliveryLog struct {
	mu    sync.Mutex
	subs  map[string][]Delivery
	order []string // subscription ids, oldest first, for eviction
}

// record adds a delivery of a subscription.
func (l *DeliveryLog) record(subID string, d Delivery) {
	if l == nil || subID == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.subs == nil {
		l.subs = map[string][]Delivery{}
	}
	ds, ok := l.subs[subID]
	if !ok {
		l.order = append(l.order, subID)
		for len(l.order) > DeliveryLogSubscriptions {
			delete(l.subs, l.order[0])
			l.order = l.order[1:]
		}
	}
	ds = append([]Delivery{d}, ds...)
	if len(ds) > DeliveryLogSize {
		ds = ds[:DeliveryLogSize]
	}
	l.subs[subID] = ds
}

// Deliveries returns the kept deliveries of a subscription, newest first.
func (l *DeliveryLog) Deliveries(subID string) []Delivery {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.subs[subID])
}

// recordAll records one POST for each subscription whose notifications it
// carried.
func (l *DeliveryLog) recordAll(d delivery, at time.Time, took time.Duration, status string, err error) {
	if l == nil {
		return
	}
	type acc struct {
		n, attempts int
		lifecycle   string
	}
	var ids []string
	per := map[string]*acc{}
	for _, n := range d.ns {
		a, ok := per[n.Key.SubscriptionID]
		if !ok {
			a = &acc{}
			per[n.Key.SubscriptionID] = a
			ids = append(ids, n.Key.SubscriptionID)
		}
		a.n++
		a.attempts = max(a.attempts, n.Attempts)
		if n.Lifecycle != "" {
			a.lifecycle = n.Lifecycle
		}
	}
	msg := ""
	if err != nil {
		msg = contactgraph.Truncate(err.Error(), 500)
	}
	for _, id := range ids {
		a := per[id]
		l.record(id, Delivery{Time: at.UTC(), URL: d.url, Lifecycle: a.lifecycle, Notifications: a.n, Attempt: a.attempts + 1,
			Status: status, Error: msg, Duration: took.Milliseconds()})
	}
}
