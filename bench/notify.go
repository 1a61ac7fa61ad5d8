package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contactgraph/contactgraph/fakedata"
)

// notifyArgs are the serve flags of the notifications workload: receivers
// on this machine, over http.
var notifyArgs = []string{"--allow-http-notifications", "--notification-allow", "127.0.0.1", "--notification-workers", "8"}

// hookServer is the bench's webhook receiver: it answers validation
// requests and records when each notification item arrives, by
// subscription and contact id.
type hookServer struct {
	srv   *http.Server
	url   string
	mu    sync.Mutex
	waits map[string]chan time.Time // "sub/contact" -> arrival
	items atomic.Int64
	posts atomic.Int64
	first atomic.Int64 // unix nanos of the first item, 0 before
	last  atomic.Int64 // unix nanos of the latest item
}

func startHook() (*hookServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &hookServer{url: "http://" + ln.Addr().String(), waits: map[string]chan time.Time{}}
	h.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go h.srv.Serve(ln)
	return h, nil
}

func (h *hookServer) close() { h.srv.Close() }

// expect returns the channel that receives the arrival of sub's
// notification about contact.
func (h *hookServer) expect(sub, contact string) chan time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := sub + "/" + contact
	c, ok := h.waits[k]
	if !ok {
		c = make(chan time.Time, 4)
		h.waits[k] = c
	}
	return c
}

func (h *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	if tok := r.URL.Query().Get("validationToken"); tok != "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, tok)
		return
	}
	var body struct {
		Value []struct {
			SubscriptionID string `json:"subscriptionId"`
			ResourceData   struct {
				ID string `json:"id"`
			} `json:"resourceData"`
		} `json:"value"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	h.posts.Add(1)
	h.items.Add(int64(len(body.Value)))
	h.first.CompareAndSwap(0, now.UnixNano())
	h.last.Store(now.UnixNano())
	for _, it := range body.Value {
		select {
		case h.expect(it.SubscriptionID, it.ResourceData.ID) <- now:
		default: // a duplicate nobody waits for
		}
	}
}

// subscribe creates a subscription to folder's contacts, delivered to url.
func subscribe(ctx context.Context, a *api, folder, url string) (string, error) {
	body, _ := json.Marshal(map[string]any{
		"changeType": "created,updated,deleted", "notificationUrl": url,
		"resource":           "me/contactFolders/" + folder + "/contacts",
		"expirationDateTime": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
		"clientState":        "bench",
	})
	out, err := a.do(ctx, http.MethodPost, "/subscriptions", body, http.StatusCreated)
	if err != nil {
		return "", err
	}
	return idOf(out)
}

// runNotify measures change notifications on a fresh database: latency
// from a write to its notification at the receiver, fan-out of one write
// to many subscriptions, and sustained delivery under concurrent writes.
func (b *bench) runNotify(ctx context.Context) error {
	b.fresh("notify")
	l, err := b.start(ctx, "notify", notifyArgs...)
	if err != nil {
		return err
	}
	defer l.stop()
	h, err := startHook()
	if err != nil {
		return err
	}
	defer h.close()
	if err := b.notifyLatency(ctx, l.api, h); err != nil {
		return err
	}
	if err := b.notifySustained(ctx, l.api, h); err != nil {
		return err
	}
	// Fan-out uses a mailbox of its own: 1,000 is the quota of one mailbox.
	fan, err := b.bin.token(ctx, l.db, tenant, userFor("notify-fanout-"+b.runID)) // a shared PostgreSQL database keeps earlier runs' subscriptions
	if err != nil {
		return err
	}
	if err := b.notifyFanout(ctx, &api{hc: l.api.hc, base: l.api.base, token: fan, pid: l.api.pid}, h); err != nil {
		return err
	}
	return l.stop()
}

// await waits for one arrival, or fails after 30 s.
func await(ctx context.Context, c chan time.Time, what string) (time.Time, error) {
	select {
	case at := <-c:
		return at, nil
	case <-time.After(30 * time.Second):
		return time.Time{}, fmt.Errorf("no notification of %s within 30 s", what)
	case <-ctx.Done():
		return time.Time{}, ctx.Err()
	}
}

// notifyLatency: one subscription, sequential creates; for each, the time
// from sending the POST to the notification's arrival.
func (b *bench) notifyLatency(ctx context.Context, a *api, h *hookServer) error {
	n := b.cfg.sizes.NotifyLatency
	folder, err := a.createFolder(ctx, "Latency "+b.runID)
	if err != nil {
		return err
	}
	sub, err := subscribe(ctx, a, folder, h.url+"/latency")
	if err != nil {
		return err
	}
	gen := fakedata.New(b.cfg.Seed + 300)
	b.logf("notify: %d sequential creates, each waited for at the receiver", n)
	var lat, write, after []time.Duration
	m := a.meter()
	for i := range n + 10 {
		t0 := time.Now()
		id, err := a.createContact(ctx, folder, gen.ContactJSON())
		if err != nil {
			return err
		}
		acked := time.Since(t0)
		at, err := await(ctx, h.expect(sub, id), "a create")
		if err != nil {
			return err
		}
		if i >= 10 { // warm-up
			lat, write, after = append(lat, at.Sub(t0)), append(write, acked), append(after, at.Sub(t0)-acked)
		}
	}
	be := b.backend
	b.report.addMeasured(Record{Name: recNotifyLatencyP50, Workload: wNotify, Backend: be, Size: n, Value: round3(ms(percentile(lat, 0.5))), Unit: "ms", Samples: n,
		Note: "POST of a contact sent -> its notification at the receiver, one subscription, sequential"}, m)
	b.report.add(Record{Name: "notify_latency_p99", Workload: wNotify, Backend: be, Size: n, Value: round3(ms(percentile(lat, 0.99))), Unit: "ms", Samples: n})
	b.report.add(Record{Name: "notify_after_ack_p50", Workload: wNotify, Backend: be, Size: n, Value: round3(ms(percentile(after, 0.5))), Unit: "ms", Samples: n,
		Note: "the write's 201 at the client -> its notification at the receiver (negative: the notification came first); commit-to-receiver lies between this and notify_latency"})
	b.report.add(Record{Name: "notify_after_ack_p99", Workload: wNotify, Backend: be, Size: n, Value: round3(ms(percentile(after, 0.99))), Unit: "ms", Samples: n})
	b.report.add(Record{Name: "notify_write_p50", Workload: wNotify, Backend: be, Size: n, Value: round3(ms(percentile(write, 0.5))), Unit: "ms", Samples: n,
		Note: "the same POSTs' own latency, for comparison"})
	b.logf("notify_latency: p50 %.3f ms, p99 %.3f ms from sending the write; p50 %.3f ms, p99 %.3f ms after its 201 (the write itself: p50 %.3f ms)",
		ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99)), ms(percentile(after, 0.5)), ms(percentile(after, 0.99)), ms(percentile(write, 0.5)))
	return nil
}

// notifySustained: one subscription, 16 concurrent writers; deliveries
// per second at the receiver from its first to its last item, and how
// far delivery trails the last acknowledged write.
func (b *bench) notifySustained(ctx context.Context, a *api, h *hookServer) error {
	n := b.cfg.sizes.NotifySustained
	folder, err := a.createFolder(ctx, "Sustained "+b.runID)
	if err != nil {
		return err
	}
	if _, err := subscribe(ctx, a, folder, h.url+"/sustained"); err != nil {
		return err
	}
	gen := fakedata.New(b.cfg.Seed + 400)
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = gen.ContactJSON()
	}
	b.logf("notify: %d creates by %d writers, one subscription", n, writers)
	items0, posts0 := h.items.Load(), h.posts.Load()
	h.first.Store(0)
	m := a.meter()
	_, took, err := createAll(ctx, a, folder, bodies, writers)
	if err != nil {
		return err
	}
	acked := time.Now()
	deadline := time.Now().Add(2 * time.Minute)
	for h.items.Load()-items0 < int64(n) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d notifications after 2 minutes", h.items.Load()-items0, n)
		}
		time.Sleep(5 * time.Millisecond) // polling the counter
	}
	span := time.Duration(h.last.Load() - h.first.Load())
	trail := time.Unix(0, h.last.Load()).Sub(acked)
	items, posts := h.items.Load()-items0, h.posts.Load()-posts0
	be := b.backend
	b.report.addMeasured(Record{Name: "notify_sustained", Workload: wNotify, Backend: be, Size: n, Value: round3(perSecond(int(items), span)), Unit: "deliveries/s", Samples: int(items),
		Note: fmt.Sprintf("%d writers at %.0f creates/s; %.1f notifications per POST; the last arrived %s after the last write was acknowledged", writers, perSecond(n, took), float64(items)/float64(max(posts, 1)), trail.Round(time.Millisecond))}, m)
	b.logf("notify_sustained: %.0f deliveries/s (writes %.0f/s, %.1f per POST, trailing by %s)", perSecond(int(items), span), perSecond(n, took), float64(items)/float64(max(posts, 1)), trail.Round(time.Millisecond))
	return nil
}

// notifyFanout: many subscriptions, each with its own URL, on one folder;
// the time from sending one write until every subscription has it.
func (b *bench) notifyFanout(ctx context.Context, a *api, h *hookServer) error {
	n := b.cfg.sizes.NotifyFanout
	folder, err := a.createFolder(ctx, "Fanout "+b.runID)
	if err != nil {
		return err
	}
	b.logf("notify: creating %d subscriptions (each validated) on one folder", n)
	subs := make([]string, n)
	for i := range subs {
		if subs[i], err = subscribe(ctx, a, folder, fmt.Sprintf("%s/fanout/%d", h.url, i)); err != nil {
			return fmt.Errorf("subscription %d: %w", i, err)
		}
	}
	gen := fakedata.New(b.cfg.Seed + 500)
	var times []time.Duration
	m := a.meter()
	for range 5 {
		t0 := time.Now()
		id, err := a.createContact(ctx, folder, gen.ContactJSON())
		if err != nil {
			return err
		}
		var last time.Time
		for _, sub := range subs {
			at, err := await(ctx, h.expect(sub, id), "a fanned-out create")
			if err != nil {
				return err
			}
			if at.After(last) {
				last = at
			}
		}
		times = append(times, last.Sub(t0))
	}
	slices.Sort(times)
	med := times[len(times)/2]
	b.report.addMeasured(Record{Name: recNotifyFanout, Workload: wNotify, Backend: b.backend, Size: n, Value: round3(ms(med)), Unit: "ms", Samples: len(times),
		Note: fmt.Sprintf("one create -> all %d subscriptions (distinct URLs) notified; median of %d", n, len(times))}, m)
	b.logf("notify_fanout: %d subscriptions notified in %.1f ms (median of %d)", n, ms(med), len(times))
	return nil
}
