package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

// arrivals is a loopback receiver that records the time and body of each
// POST and answers 202.
type arrivals struct {
	srv    *httptest.Server
	mu     sync.Mutex
	at     []time.Time
	bodies []string
}

func newArrivals(t *testing.T) *arrivals {
	a := &arrivals{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.at = append(a.at, time.Now())
		a.bodies = append(a.bodies, string(b))
		a.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *arrivals) posts() ([]time.Time, []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]time.Time(nil), a.at...), append([]string(nil), a.bodies...)
}

// faulty returns a sender of the fixture with faults and a log.
func faulty(f *fixture) (*Sender, *Faults, *lines) {
	s := f.sender("a")
	s.Faults = &Faults{}
	l := &lines{}
	s.Logf = l.logf
	return s, s.Faults, l
}

type lines struct {
	mu sync.Mutex
	l  []string
}

func (l *lines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.l = append(l.l, fmt.Sprintf(format, args...))
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.l, "\n")
}

func once(t *testing.T, s *Sender) error {
	t.Helper()
	_, err := s.Once(context.Background())
	return err
}

// A failed delivery is not posted, counts as a failure, is retried after
// its backoff and then delivered; the fault is used up after Count.
func TestFaultFailIsRetried(t *testing.T) {
	f := newFixture(t)
	rcv := newArrivals(t)
	f.subscribe(t, "sub-1", rcv.srv.URL, "")
	s, faults, log := faulty(f)
	if err := faults.Add(f.mb.TenantID, Fault{URL: rcv.srv.URL, Count: 2, Status: 503}); err != nil {
		t.Fatal(err)
	}
	f.createContact(t, `{"givenName":"Ada"}`)
	for attempt := range 2 {
		if err := once(t, s); err != nil {
			t.Fatal(err)
		}
		if at, _ := rcv.posts(); len(at) != 0 {
			t.Fatalf("attempt %d: an injected failure was posted", attempt)
		}
		if n, _ := s.Once(context.Background()); n != 0 {
			t.Fatal("a failed notification was claimed again before its backoff")
		}
		f.clock.Advance(2 * time.Second << attempt) // past the backoff, jitter included
	}
	if err := once(t, s); err != nil {
		t.Fatal(err)
	}
	if at, _ := rcv.posts(); len(at) != 1 || s.Stats.Failed.Load() != 2 || s.Stats.Retried.Load() != 2 || s.Stats.Delivered.Load() != 1 {
		t.Fatalf("%d posts, failed %d, retried %d, delivered %d; want 1, 2, 2, 1",
			len(at), s.Stats.Failed.Load(), s.Stats.Retried.Load(), s.Stats.Delivered.Load())
	}
	if !strings.Contains(log.String(), "503 Service Unavailable (injected fault)") {
		t.Fatalf("log does not name the injected failure:\n%s", log)
	}
}

// A timeout fault fails at once, without posting and without waiting for
// the sender's timeout, as a timeout.
func TestFaultTimeout(t *testing.T) {
	f := newFixture(t)
	rcv := newArrivals(t)
	f.subscribe(t, "sub-1", rcv.srv.URL, "")
	s, faults, log := faulty(f)
	s.Timeout = time.Hour // waiting for it would stall the test
	if err := faults.Add(f.mb.TenantID, Fault{Count: 1, Timeout: true}); err != nil {
		t.Fatal(err)
	}
	f.createContact(t, `{"givenName":"Ada"}`)
	if err := once(t, s); err != nil {
		t.Fatal(err)
	}
	if at, _ := rcv.posts(); len(at) != 0 || s.Stats.Retried.Load() != 1 || !strings.Contains(log.String(), "did not answer in time") {
		t.Fatalf("%d posts, retried %d, log:\n%s", len(at), s.Stats.Retried.Load(), log)
	}
	err := Fault{Count: 1, Timeout: true}.apply(context.Background(), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout fault error %v is not a deadline", err)
	}
	f.clock.Advance(2 * time.Second)
	if err := once(t, s); err != nil {
		t.Fatal(err)
	}
	if at, _ := rcv.posts(); len(at) != 1 {
		t.Fatalf("%d posts after the backoff, want 1", len(at))
	}
}

// A duplicated delivery arrives twice, the same body, and is settled once.
func TestFaultDuplicate(t *testing.T) {
	f := newFixture(t)
	rcv := newArrivals(t)
	f.subscribe(t, "sub-1", rcv.srv.URL, "")
	s, faults, _ := faulty(f)
	if err := faults.Add(f.mb.TenantID, Fault{Count: 1, Duplicate: true}); err != nil {
		t.Fatal(err)
	}
	f.createContact(t, `{"givenName":"Ada"}`)
	if err := once(t, s); err != nil {
		t.Fatal(err)
	}
	_, bodies := rcv.posts()
	if len(bodies) != 2 || bodies[0] != bodies[1] {
		t.Fatalf("posts %q, want the same body twice", bodies)
	}
	if d, _ := f.store.OutboxDepth(context.Background()); d != 0 || s.Stats.Delivered.Load() != 1 {
		t.Fatalf("depth %d, delivered %d after a duplicated delivery", d, s.Stats.Delivered.Load())
	}
	f.createContact(t, `{"givenName":"Alan"}`)
	if err := once(t, s); err != nil {
		t.Fatal(err)
	}
	if _, bodies = rcv.posts(); len(bodies) != 3 {
		t.Fatalf("%d posts, want the used-up fault to leave the next delivery single", len(bodies))
	}
}

// A delayed delivery arrives no sooner than its delay.
func TestFaultDelay(t *testing.T) {
	f := newFixture(t)
	rcv := newArrivals(t)
	f.subscribe(t, "sub-1", rcv.srv.URL, "")
	s, faults, _ := faulty(f)
	const delay = 150 * time.Millisecond
	if err := faults.Add(f.mb.TenantID, Fault{Count: 1, Delay: delay}); err != nil {
		t.Fatal(err)
	}
	f.createContact(t, `{"givenName":"Ada"}`)
	start := time.Now()
	if err := once(t, s); err != nil {
		t.Fatal(err)
	}
	at, _ := rcv.posts()
	if len(at) != 1 || at[0].Sub(start) < delay {
		t.Fatalf("posts at %v after the start, want one after %v", at, delay)
	}
	if d, _ := f.store.OutboxDepth(context.Background()); d != 0 {
		t.Fatalf("depth %d after the delayed delivery", d)
	}
	// Cancelled while delayed: not posted.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (Fault{Count: 1, Delay: time.Minute}).apply(ctx, func(context.Context) error {
		t.Fatal("posted after the context ended")
		return nil
	}); !errors.Is(err, context.Canceled) {
		t.Fatalf("delay with an ended context: %v", err)
	}
}

// Faults match by URL (exactly, or any) and by the tenant of the
// delivery's subscriptions; they are used in the order queued and cleared
// per tenant.
func TestFaultMatching(t *testing.T) {
	var fs Faults
	tenant := "t1"
	ns := []contactgraph.Notification{{Subscription: contactgraph.Subscription{TenantID: tenant}}}
	for _, f := range []Fault{
		{URL: "https://a.example/hook", Count: 1, Status: 500},
		{Count: 2, Status: 501},
	} {
		if err := fs.Add(tenant, f); err != nil {
			t.Fatal(err)
		}
	}
	if err := fs.Add("t2", Fault{Count: 5, Status: 502}); err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, url := range []string{"https://b.example/hook", "https://a.example/hook", "https://a.example/hook", "https://a.example/hook"} {
		f, ok := fs.take(url, ns)
		if !ok {
			got = append(got, 0)
			continue
		}
		got = append(got, f.Status)
	}
	if want := []int{501, 500, 501, 0}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("statuses taken %v, want %v", got, want)
	}
	other := []contactgraph.Notification{{Subscription: contactgraph.Subscription{TenantID: "t3"}}, {Subscription: contactgraph.Subscription{TenantID: "t2"}}}
	if f, ok := fs.take("https://a.example/hook", other); !ok || f.Status != 502 {
		t.Fatalf("a delivery carrying a t2 notification took %v, %v", f, ok)
	}
	fs.Clear("t2")
	if _, ok := fs.take("https://a.example/hook", other); ok {
		t.Fatal("a cleared tenant's fault was taken")
	}
	var none *Faults
	if _, ok := none.take("https://a.example/hook", ns); ok {
		t.Fatal("a nil Faults injected a fault")
	}
	none.Clear(tenant)
}

func TestFaultValidation(t *testing.T) {
	for _, tt := range []struct {
		f  Fault
		ok bool
	}{
		{Fault{Count: 1, Status: 400}, true},
		{Fault{Count: MaxFaultCount, Status: 599}, true},
		{Fault{Count: 1, Timeout: true}, true},
		{Fault{Count: 1, Delay: MaxFaultDelay}, true},
		{Fault{Count: 1, Duplicate: true, URL: "https://a.example/"}, true},
		{Fault{Count: 1}, false},
		{Fault{Count: 0, Status: 500}, false},
		{Fault{Count: MaxFaultCount + 1, Status: 500}, false},
		{Fault{Count: 1, Status: 399}, false},
		{Fault{Count: 1, Status: 600}, false},
		{Fault{Count: 1, Status: 200}, false},
		{Fault{Count: 1, Delay: -time.Second}, false},
		{Fault{Count: 1, Delay: MaxFaultDelay + time.Millisecond}, false},
		{Fault{Count: 1, Status: 500, Timeout: true}, false},
		{Fault{Count: 1, Delay: time.Second, Duplicate: true}, false},
	} {
		var fs Faults
		err := fs.Add("t", tt.f)
		if tt.ok != (err == nil) || (err != nil && contactgraph.ErrorCode(err) != contactgraph.EInvalid) {
			t.Errorf("Add(%+v) = %v", tt.f, err)
		}
	}
}
