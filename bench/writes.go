package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contactgraph/contactgraph/fakedata"
)

// writers is the number of concurrent clients of the concurrent writes.
const writers = 16

// runWrites measures creates on a fresh database.
func (b *bench) runWrites(ctx context.Context) error {
	b.fresh("writes")
	l, err := b.start(ctx, "writes")
	if err != nil {
		return err
	}
	defer l.stop()
	if _, err := b.writes(ctx, l.api); err != nil {
		return err
	}
	return l.stop()
}

// writes creates N contacts with one client, then N with 16 concurrent
// clients, each into a folder of its own, and returns the folder of the
// sequential ones. When the writes workload is not selected it only fills
// that folder, untimed.
func (b *bench) writes(ctx context.Context, a *api) (string, error) {
	n := b.cfg.sizes.Writes
	gen := fakedata.New(b.cfg.Seed + 100)
	bodies := func(k int) [][]byte {
		out := make([][]byte, k)
		for i := range out {
			out[i] = gen.ContactJSON()
		}
		return out
	}
	warm, err := a.createFolder(ctx, "Warmup "+b.runID)
	if err != nil {
		return "", err
	}
	for _, body := range bodies(max(n/10, 20)) {
		if _, err := a.createContact(ctx, warm, body); err != nil {
			return "", err
		}
	}
	seq, err := a.createFolder(ctx, "Sequential "+b.runID)
	if err != nil {
		return "", err
	}
	timed := b.selected(wWrites)
	if timed {
		b.logf("writes: %d sequential creates", n)
	}
	m := a.meter()
	lat, took, err := createAll(ctx, a, seq, bodies(n), 1)
	if err != nil {
		return "", err
	}
	if !timed {
		return seq, nil
	}
	b.recordWrites(recWritesSeq, n, lat, took, m, "1 client, POST …/contactFolders/{id}/contacts, keep-alive")

	conc, err := a.createFolder(ctx, "Concurrent "+b.runID)
	if err != nil {
		return "", err
	}
	b.logf("writes: %d creates by %d concurrent clients", n, writers)
	cb := bodies(n)
	m = a.meter()
	lat, took, err = createAll(ctx, a, conc, cb, writers)
	if err != nil {
		return "", err
	}
	b.recordWrites(recWritesC16, n, lat, took, m, fmt.Sprintf("%d concurrent clients, one folder", writers))
	return seq, nil
}

func (b *bench) recordWrites(name RecordName, n int, lat []time.Duration, took time.Duration, m *cpuMeter, note string) {
	be := b.backend
	b.report.addMeasured(Record{Name: name, Workload: wWrites, Backend: be, Size: n, Value: round3(perSecond(n, took)), Unit: "creates/s", Samples: n, Note: note}, m)
	b.report.add(Record{Name: name + "_p50", Workload: wWrites, Backend: be, Size: n, Value: round3(ms(percentile(lat, 0.5))), Unit: "ms", Samples: n})
	b.report.add(Record{Name: name + "_p99", Workload: wWrites, Backend: be, Size: n, Value: round3(ms(percentile(lat, 0.99))), Unit: "ms", Samples: n})
	b.logf("%s: %.0f creates/s, p50 %.3f ms, p99 %.3f ms", name, perSecond(n, took), ms(percentile(lat, 0.5)), ms(percentile(lat, 0.99)))
}

// createAll posts every body into folder with c concurrent clients and
// returns each request's latency and the total time.
func createAll(ctx context.Context, a *api, folder string, bodies [][]byte, c int) ([]time.Duration, time.Duration, error) {
	lat := make([]time.Duration, len(bodies))
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	for range c {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) || ctx.Err() != nil {
					return
				}
				t := time.Now()
				if _, err := a.createContact(ctx, folder, bodies[i]); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
				lat[i] = time.Since(t)
			}
		})
	}
	wg.Wait()
	return lat, time.Since(start), firstErr
}
