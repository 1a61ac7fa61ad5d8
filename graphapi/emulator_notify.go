package graphapi

import (
	"net/http"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/notify"
)

// The emulator controls of change notifications (see the table in
// emulator.go): delivery faults on the receiver side, and lifecycle
// notifications on demand.

// emulatorDeliveries queues delivery faults for the tenant's
// subscriptions: 204, or 400 when the body is not one valid fault or the
// server has no senders' faults to queue them in.
func (s *Server) emulatorDeliveries(w http.ResponseWriter, r *http.Request, tenant string) {
	var in struct {
		URL       string `json:"url"`
		Count     int    `json:"count"`
		Fail      int    `json:"fail"`
		Timeout   bool   `json:"timeout"`
		DelayMs   int64  `json:"delayMs"`
		Duplicate bool   `json:"duplicate"`
	}
	if err := s.readJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.cfg.Deliveries == nil {
		s.writeError(w, r, contactgraph.Errorf(contactgraph.EInvalid, "This server has no notification senders to inject delivery faults into."))
		return
	}
	delay := time.Duration(in.DelayMs) * time.Millisecond
	if in.DelayMs < 0 || in.DelayMs > notify.MaxFaultDelay.Milliseconds() {
		delay = -1 // out of range, refused by Add without overflowing
	}
	f := notify.Fault{URL: in.URL, Count: in.Count, Status: in.Fail, Timeout: in.Timeout, Delay: delay, Duplicate: in.Duplicate}
	if err := s.cfg.Deliveries.Add(tenant, f); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeNoContent(w)
}

// emulatorLifecycle records a lifecycle notification of one of the
// tenant's subscriptions now: 204; 404 for an unknown (or expired)
// subscription; 400 for another event or a subscription without a
// lifecycleNotificationUrl.
func (s *Server) emulatorLifecycle(w http.ResponseWriter, r *http.Request, tenant string, now time.Time) {
	var in struct {
		SubscriptionID string `json:"subscriptionId"`
		Event          string `json:"event"`
	}
	if err := s.readJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.SubscriptionID == "" {
		s.writeError(w, r, contactgraph.Errorf(contactgraph.EInvalid, "The request needs a subscriptionId."))
		return
	}
	if err := s.cfg.Store.EnqueueLifecycle(r.Context(), tenant, in.SubscriptionID, in.Event, now); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeNoContent(w)
}
