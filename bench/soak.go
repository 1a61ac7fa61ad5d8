package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contactgraph/contactgraph/client"
	"github.com/contactgraph/contactgraph/fakedata"
)

// Soak load: many clients at once, for a long time.
const (
	soakFolder  = 10_000 // contacts seeded before the load
	soakWriters = 8      // create, update, delete (a third each, about)
	soakReaders = 8      // GET one contact, or a page of the folder
	soakDeltas  = 8      // delta rounds from their deltaLink, continuously
)

// soakOp counts one kind of request.
type soakOp struct {
	mu     sync.Mutex
	lat    []time.Duration
	count  atomic.Int64
	errs   atomic.Int64
	sample []string // the first errors
}

func (o *soakOp) done(d time.Duration, err error) {
	o.count.Add(1)
	if err != nil {
		o.errs.Add(1)
		o.mu.Lock()
		if len(o.sample) < 3 {
			o.sample = append(o.sample, err.Error())
		}
		o.mu.Unlock()
		return
	}
	o.mu.Lock()
	o.lat = append(o.lat, d)
	o.mu.Unlock()
}

// runSoak drives a server with mixed reads, writes and delta rounds from
// many clients for d, samples its memory every second, and reports the
// throughput, the errors (there must be none), p99 latencies and the
// memory over time.
func (b *bench) runSoak(ctx context.Context, d time.Duration) error {
	name := "soak-" + b.runID
	folder, l, err := b.seedAndStart(ctx, name, soakFolder)
	if err != nil {
		return err
	}
	defer l.stop()
	pid := l.srv.pid()
	b.logf("soak: %s of %d writers, %d readers, %d delta clients on %d contacts (server pid %d)", d, soakWriters, soakReaders, soakDeltas, soakFolder, pid)

	s := &soakLoad{l: l, folder: folder, ops: map[string]*soakOp{"write": {}, "read": {}, "delta": {}}}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	for w := range soakWriters {
		wg.Go(func() { s.writer(ctx, w) })
	}
	for i := range soakReaders {
		wg.Go(func() { s.reader(ctx, i) })
	}
	for i := range soakDeltas {
		wg.Go(func() { s.deltas(ctx, i) })
	}
	start := time.Now()
	samples := s.sampleRSS(ctx, pid, start)
	wg.Wait()
	return b.reportSoak(s, samples, time.Since(start))
}

// soakLoad is what the clients of a soak share.
type soakLoad struct {
	l      *local
	folder string
	ops    map[string]*soakOp // by kind: write, read, delta
	ids    sync.Map           // contacts the writers created and did not delete
	idList struct {           // the same, for the readers to pick from
		sync.Mutex
		s []string
	}
}

func (s *soakLoad) total() int64 {
	return s.ops["write"].count.Load() + s.ops["read"].count.Load() + s.ops["delta"].count.Load()
}

// writer w creates, updates and deletes contacts (a third each, about),
// each writer only its own.
func (s *soakLoad) writer(ctx context.Context, w int) {
	gen := fakedata.New(uint64(w) + 100)
	r := rand.New(rand.NewPCG(uint64(w), 7))
	var mine []string
	for ctx.Err() == nil {
		start := time.Now()
		var err error
		switch op := r.IntN(3); {
		case op == 0 || len(mine) < 20:
			var id string
			if id, err = s.l.api.createContact(ctx, s.folder, gen.ContactJSON()); err == nil {
				mine = append(mine, id)
				s.ids.Store(id, true)
				s.idList.Lock()
				s.idList.s = append(s.idList.s, id)
				s.idList.Unlock()
			}
		case op == 1:
			err = s.l.api.updateContact(ctx, mine[r.IntN(len(mine))], []byte(fmt.Sprintf(`{"jobTitle":"t%d"}`, r.IntN(1000))))
		default:
			i := r.IntN(len(mine))
			id := mine[i]
			mine = slices.Delete(mine, i, i+1)
			s.ids.Delete(id)
			s.idList.Lock()
			if j := slices.Index(s.idList.s, id); j >= 0 {
				s.idList.s = slices.Delete(s.idList.s, j, j+1)
			}
			s.idList.Unlock()
			err = s.l.api.deleteContact(ctx, id)
		}
		if ctx.Err() == nil {
			s.ops["write"].done(time.Since(start), err)
		}
	}
}

// reader i reads one contact the writers made, or a page of the folder.
func (s *soakLoad) reader(ctx context.Context, i int) {
	r := rand.New(rand.NewPCG(uint64(i), 11))
	for ctx.Err() == nil {
		start := time.Now()
		var err error
		s.idList.Lock()
		n := len(s.idList.s)
		var id string
		if n > 0 {
			id = s.idList.s[r.IntN(n)]
		}
		s.idList.Unlock()
		if id != "" && r.IntN(2) == 0 {
			_, err = s.l.api.do(ctx, "GET", "/me/contacts/"+id, nil, 200)
			if err != nil {
				if _, live := s.ids.Load(id); !live {
					err = nil // deleted meanwhile: a 404 is the right answer
				}
			}
		} else {
			_, err = s.l.api.do(ctx, "GET", "/me/contactFolders/"+s.folder+"/contacts?$top=50&$select=displayName,emailAddresses", nil, 200)
		}
		if ctx.Err() == nil {
			s.ops["read"].done(time.Since(start), err)
		}
	}
}

// deltas i follows the folder with delta rounds from its deltaLink every
// 50 ms, after an untimed full round.
func (s *soakLoad) deltas(ctx context.Context, i int) {
	c := s.l.api.deltaClient()
	c.PageSize = 50 + 50*(i%4)
	m := &client.MapMirror{}
	link, err := c.Sync(ctx, s.l.api.deltaURL(s.folder), "", m)
	if err != nil {
		if ctx.Err() == nil {
			s.ops["delta"].done(0, err)
		}
		return
	}
	for ctx.Err() == nil {
		start := time.Now()
		next, err := c.Sync(ctx, s.l.api.deltaURL(s.folder), link, m)
		if ctx.Err() != nil {
			return
		}
		s.ops["delta"].done(time.Since(start), err)
		if err == nil {
			link = next
		}
		select { // a client that polls, not one that spins
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// soakSample is the server's memory and the requests made so far, at a time.
type soakSample struct {
	at       time.Duration
	rss      float64
	requests int64
}

// sampleRSS samples the server's RSS once a second until ctx ends.
func (s *soakLoad) sampleRSS(ctx context.Context, pid int, start time.Time) []soakSample {
	var samples []soakSample
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
			if rss, err := procStatus(pid, "VmRSS"); err == nil {
				samples = append(samples, soakSample{time.Since(start), rss, s.total()})
			}
		}
	}
	return samples
}

// reportSoak records a soak's figures; it fails when a request failed.
func (b *bench) reportSoak(s *soakLoad, samples []soakSample, took time.Duration) error {
	be := b.backend
	errors := int64(0)
	for kind, o := range s.ops {
		errors += o.errs.Load()
		for _, e := range o.sample {
			b.logf("soak: %s error: %s", kind, e)
		}
		b.report.add(Record{Name: RecordName("soak_" + kind + "_p99"), Workload: wSoak, Backend: be, Size: soakFolder, Value: round3(ms(percentile(o.lat, 0.99))),
			Unit: "ms", Samples: len(o.lat), Note: fmt.Sprintf("%d requests, %d errors; p50 %.3f ms", o.count.Load(), o.errs.Load(), ms(percentile(o.lat, 0.5)))})
	}
	total := s.total()
	b.report.add(Record{Name: "soak_throughput", Workload: wSoak, Backend: be, Size: soakFolder, Value: round3(float64(total) / took.Seconds()),
		Unit: "requests/s", Samples: int(total), Note: fmt.Sprintf("%s of %d writers, %d readers, %d delta clients (deltaLink rounds every 50 ms)", took.Round(time.Second), soakWriters, soakReaders, soakDeltas)})
	b.report.add(Record{Name: "soak_errors", Workload: wSoak, Backend: be, Size: soakFolder, Value: float64(errors), Unit: "errors",
		Note: "every request that failed or got an unexpected status (a read of a contact deleted meanwhile excepted); must be 0"})
	if len(samples) >= 4 {
		b.reportSoakMemory(samples)
	}
	b.logf("soak: %d requests in %s, %d errors", total, took.Round(time.Second), errors)
	if errors > 0 {
		return fmt.Errorf("%d requests failed during the soak", errors)
	}
	return nil
}

// reportSoakMemory records the server's RSS over a soak: the first and
// the last quarter's averages, the peak and a curve.
func (b *bench) reportSoakMemory(samples []soakSample) {
	be := b.backend
	q := len(samples) / 4
	avg := func(s []soakSample) float64 {
		t := 0.0
		for _, x := range s {
			t += x.rss
		}
		return t / float64(len(s))
	}
	first, last := avg(samples[:q]), avg(samples[len(samples)-q:])
	peak := 0.0
	for _, s := range samples {
		peak = max(peak, s.rss)
	}
	b.report.add(Record{Name: "soak_rss_first_quarter", Workload: wSoak, Backend: be, Size: soakFolder, Value: round3(first), Unit: "MB", Samples: q})
	b.report.add(Record{Name: "soak_rss_last_quarter", Workload: wSoak, Backend: be, Size: soakFolder, Value: round3(last), Unit: "MB", Samples: q,
		Note: fmt.Sprintf("peak %.1f MB; the last quarter's average over the first quarter's: %.2f (memory must not grow without bound)", peak, last/first)})
	var curve []string
	step := max(1, len(samples)/10)
	for i := 0; i < len(samples); i += step {
		curve = append(curve, fmt.Sprintf("%s:%.0fMB", samples[i].at.Round(time.Second), samples[i].rss))
	}
	b.report.add(Record{Name: "soak_rss_curve", Workload: wSoak, Backend: be, Size: soakFolder, Value: round3(last), Unit: "MB", Note: fmt.Sprint(curve)})
}
