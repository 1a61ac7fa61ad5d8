package notify

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Timing of the subscription sweep.
const (
	// DefaultSweepEvery is how often Run sweeps when Sender.SweepEvery is 0.
	DefaultSweepEvery = time.Minute
	// ReauthorizationLead is how long before a subscription's token
	// expires the first reauthorizationRequired is sent.
	ReauthorizationLead = time.Hour
	// ReauthorizationEvery is how often it is sent again until the
	// subscription is renewed or expires.
	ReauthorizationEvery = 15 * time.Minute
)

// Sweep does the periodic work on subscriptions, at the sender's clock: it
// removes the expired ones (RemoveExpiredSubscriptions) and records
// reauthorizationRequired for those whose token expires within
// ReauthorizationLead, once every ReauthorizationEvery
// (RequestReauthorization, whose documentation holds the timing and what
// happens to the notifications of an expired token). Both steps run; the
// error joins theirs. The notices it records are delivered like any
// lifecycle notification. Any number of senders may sweep one store: the
// store records one notice a period whoever asks.
func (s *Sender) Sweep(ctx context.Context) error {
	now := s.now()
	_, rerr := s.Store.RemoveExpiredSubscriptions(ctx, now)
	if rerr != nil {
		rerr = fmt.Errorf("sweep: %w", rerr)
	}
	_, aerr := s.Store.RequestReauthorization(ctx, now, ReauthorizationLead, ReauthorizationEvery)
	if aerr != nil {
		aerr = fmt.Errorf("sweep: %w", aerr)
	}
	return errors.Join(rerr, aerr)
}

// sweepIfDue runs Sweep from Run when SweepEvery has passed, at the
// sender's clock, since Run's last sweep (at once on Run's first pass).
// Errors are logged; the next sweep is due a period later all the same.
func (s *Sender) sweepIfDue(ctx context.Context) {
	now := s.now()
	if !s.swept.IsZero() && now.Sub(s.swept) < or(s.SweepEvery, DefaultSweepEvery) {
		return
	}
	s.swept = now
	if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
		s.logf("notify: %v", err)
	}
}
