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

	ops := map[string]*soakOp{"write": {}, "read": {}, "delta": {}}
	var ids sync.Map // contacts the writers created, for updates and deletes
	var idList struct {
		sync.Mutex
		s []string
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	for w := range soakWriters {
		wg.Go(func() {
			gen := fakedata.New(uint64(w) + 100)
			r := rand.New(rand.NewPCG(uint64(w), 7))
			var mine []string // each writer changes only its own contacts
			for ctx.Err() == nil {
				start := time.Now()
				var err error
				switch op := r.IntN(3); {
				case op == 0 || len(mine) < 20:
					var id string
					if id, err = l.api.createContact(ctx, folder, gen.ContactJSON()); err == nil {
						mine = append(mine, id)
						ids.Store(id, true)
						idList.Lock()
						idList.s = append(idList.s, id)
						idList.Unlock()
					}
				case op == 1:
					err = l.api.updateContact(ctx, mine[r.IntN(len(mine))], []byte(fmt.Sprintf(`{"jobTitle":"t%d"}`, r.IntN(1000))))
				default:
					i := r.IntN(len(mine))
					id := mine[i]
					mine = slices.Delete(mine, i, i+1)
					ids.Delete(id)
					idList.Lock()
					if j := slices.Index(idList.s, id); j >= 0 {
						idList.s = slices.Delete(idList.s, j, j+1)
					}
					idList.Unlock()
					err = l.api.deleteContact(ctx, id)
				}
				if ctx.Err() == nil {
					ops["write"].done(time.Since(start), err)
				}
			}
		})
	}
	for i := range soakReaders {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), 11))
			for ctx.Err() == nil {
				start := time.Now()
				var err error
				idList.Lock()
				n := len(idList.s)
				var id string
				if n > 0 {
					id = idList.s[r.IntN(n)]
				}
				idList.Unlock()
				if id != "" && r.IntN(2) == 0 {
					_, err = l.api.do(ctx, "GET", "/me/contacts/"+id, nil, 200)
					if err != nil {
						if _, live := ids.Load(id); !live {
							err = nil // deleted meanwhile: a 404 is the right answer
						}
					}
				} else {
					_, err = l.api.do(ctx, "GET", "/me/contactFolders/"+folder+"/contacts?$top=50&$select=displayName,emailAddresses", nil, 200)
				}
				if ctx.Err() == nil {
					ops["read"].done(time.Since(start), err)
				}
			}
		})
	}
	for i := range soakDeltas {
		wg.Go(func() {
			c := l.api.deltaClient()
			c.PageSize = 50 + 50*(i%4)
			m := &client.MapMirror{}
			link, err := c.Sync(ctx, l.api.deltaURL(folder), "", m) // the first, full round is not timed
			if err != nil {
				if ctx.Err() == nil {
					ops["delta"].done(0, err)
				}
				return
			}
			for ctx.Err() == nil {
				start := time.Now()
				next, err := c.Sync(ctx, l.api.deltaURL(folder), link, m)
				if ctx.Err() != nil {
					return
				}
				ops["delta"].done(time.Since(start), err)
				if err == nil {
					link = next
				}
				select { // a client that polls, not one that spins
				case <-ctx.Done():
				case <-time.After(50 * time.Millisecond):
				}
			}
		})
	}

	// Memory and throughput over time, one sample a second.
	type sample struct {
		at       time.Duration
		rss      float64
		requests int64
	}
	var samples []sample
	total := func() int64 { return ops["write"].count.Load() + ops["read"].count.Load() + ops["delta"].count.Load() }
	start := time.Now()
	tick := time.NewTicker(time.Second)
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-tick.C:
			if rss, err := procStatus(pid, "VmRSS"); err == nil {
				samples = append(samples, sample{time.Since(start), rss, total()})
			}
		}
	}
	tick.Stop()
	wg.Wait()
	took := time.Since(start)

	be := b.backend
	errors := int64(0)
	for kind, o := range ops {
		errors += o.errs.Load()
		for _, e := range o.sample {
			b.logf("soak: %s error: %s", kind, e)
		}
		b.report.add(Record{Name: RecordName("soak_" + kind + "_p99"), Workload: wSoak, Backend: be, Size: soakFolder, Value: round3(ms(percentile(o.lat, 0.99))),
			Unit: "ms", Samples: len(o.lat), Note: fmt.Sprintf("%d requests, %d errors; p50 %.3f ms", o.count.Load(), o.errs.Load(), ms(percentile(o.lat, 0.5)))})
	}
	b.report.add(Record{Name: "soak_throughput", Workload: wSoak, Backend: be, Size: soakFolder, Value: round3(float64(total()) / took.Seconds()),
		Unit: "requests/s", Samples: int(total()), Note: fmt.Sprintf("%s of %d writers, %d readers, %d delta clients (deltaLink rounds every 50 ms)", took.Round(time.Second), soakWriters, soakReaders, soakDeltas)})
	b.report.add(Record{Name: "soak_errors", Workload: wSoak, Backend: be, Size: soakFolder, Value: float64(errors), Unit: "errors",
		Note: "every request that failed or got an unexpected status (a read of a contact deleted meanwhile excepted); must be 0"})
	if len(samples) >= 4 {
		q := len(samples) / 4
		avg := func(s []sample) float64 {
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
	b.logf("soak: %d requests in %s, %d errors", total(), took.Round(time.Second), errors)
	if errors > 0 {
		return fmt.Errorf("%d requests failed during the soak", errors)
	}
	return nil
}
