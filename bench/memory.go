package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// runMemory starts a fresh server on the folder of the memory size and
// reads its peak RSS (VmHWM) after 4 clients ran full rounds at once. The
// clients read the pages without decoding the items (rawRound), so that
// they keep the server busy rather than themselves.
func (b *bench) runMemory(ctx context.Context) error {
	n, k := b.cfg.sizes.Memory, b.cfg.sizes.MemClients
	name := "folder-" + human(n)
	folder, l, err := b.seedAndStart(ctx, name, n)
	if err != nil {
		return err
	}
	defer l.stop()
	pid := l.srv.pid()
	idle, err := procStatus(pid, "VmHWM")
	if err != nil {
		return err
	}
	b.logf("memory: %d clients run full rounds over %d contacts (server pid %d, VmHWM %.1f MB at start)", k, n, pid, idle)

	// Sample VmRSS too, to see the profile and not only the peak.
	stopSampling := make(chan struct{})
	var maxRSS float64
	var sampler sync.WaitGroup
	sampler.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if v, err := procStatus(pid, "VmRSS"); err == nil {
				maxRSS = max(maxRSS, v)
			}
			select {
			case <-stopSampling:
				return
			case <-t.C:
			}
		}
	})
	errs := make([]error, k)
	counts := make([]int, k)
	var wg sync.WaitGroup
	start := time.Now()
	m := startMeter(pid)
	for i := range k {
		wg.Go(func() { counts[i], _, errs[i] = rawRound(ctx, l.api, l.api.deltaURL(folder)) })
	}
	wg.Wait()
	took := time.Since(start)
	close(stopSampling)
	sampler.Wait()
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("client %d: %w", i, err)
		}
	}
	peak, err := procStatus(pid, "VmHWM")
	if err != nil {
		return err
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	be := b.backend
	b.report.addMeasured(Record{Name: recMemoryPeakRSS, Workload: wMemory, Backend: be, Size: n, Value: round3(peak), Unit: "MB", Samples: k,
		Note: fmt.Sprintf("VmHWM of a fresh server process after %d concurrent full rounds (pages of %d, read undecoded); %.1f MB before they started", k, pageSize, idle)}, m)
	b.report.add(Record{Name: "memory_max_sampled_rss", Workload: wMemory, Backend: be, Size: n, Value: round3(maxRSS), Unit: "MB",
		Note: "largest VmRSS sampled every 50 ms during the rounds"})
	b.report.add(Record{Name: "memory_rounds_rate", Workload: wMemory, Backend: be, Size: n, Value: round3(perSecond(total, took)), Unit: "contacts/s", Samples: k,
		Note: fmt.Sprintf("contacts delivered per second to all %d clients together", k)})
	b.logf("memory: peak RSS %.1f MB (sampled max %.1f MB), %d clients got %d contacts in %s", peak, maxRSS, k, total, took.Round(time.Millisecond))
	return l.stop()
}
