package notify

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestDeliveryLog: the log keeps each attempt of a subscription, newest
// first, with its status, attempt number and error.
func TestDeliveryLog(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, 503)
	f.subscribe(t, "sub-1", rcv.srv.URL, "")
	f.subscribe(t, "sub-2", rcv.srv.URL, "")
	f.createContact(t, `{"givenName":"Ada"}`)
	s := f.sender("a")
	s.Log = &DeliveryLog{}
	ctx := context.Background()
	if _, err := s.Once(ctx); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(3 * time.Second)
	if _, err := s.Once(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"sub-1", "sub-2"} {
		ds := s.Log.Deliveries(id)
		if len(ds) != 2 {
			t.Fatalf("%s: %d deliveries, want 2: %+v", id, len(ds), ds)
		}
		if d := ds[1]; d.Status != "failed" || d.Attempt != 1 || !strings.Contains(d.Error, "503") || d.URL != rcv.srv.URL || d.Notifications != 1 {
			t.Errorf("%s: first attempt %+v", id, d)
		}
		if d := ds[0]; d.Status != "delivered" || d.Attempt != 2 || d.Error != "" {
			t.Errorf("%s: second attempt %+v", id, d)
		}
	}
	if ds := s.Log.Deliveries("sub-3"); ds != nil {
		t.Errorf("an unknown subscription has deliveries %+v", ds)
	}

	var l DeliveryLog
	for i := range DeliveryLogSize + 5 {
		l.record("x", Delivery{Attempt: i})
	}
	if ds := l.Deliveries("x"); len(ds) != DeliveryLogSize || ds[0].Attempt != DeliveryLogSize+4 {
		t.Errorf("kept %d, newest %d", len(ds), ds[0].Attempt)
	}
	var nilLog *DeliveryLog
	nilLog.record("x", Delivery{})
	if nilLog.Deliveries("x") != nil {
		t.Error("a nil log has deliveries")
	}
}
