package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// finish computes the ratios and the targets from the records.
func (r *Report) finish() {
	r.DurationS = math.Round(time.Since(r.Started).Seconds()*10) / 10
	r.Machine.LoadEnd = loadavg()
	be := r.Backend
	ratio := func(name, of string, num, den float64) {
		if den > 0 && num > 0 {
			r.Ratios = append(r.Ratios, Ratio{name, round3(num / den), of})
		}
	}

	// Incremental: the largest folder against the smallest.
	if s := r.sizesOf(recIncrementalP50, be); len(s) >= 2 {
		lo, _ := r.find(recIncrementalP50, be, s[0])
		hi, _ := r.find(recIncrementalP50, be, s[len(s)-1])
		ratio(fmt.Sprintf("incremental_p50_%s_vs_%s", human(s[len(s)-1]), human(s[0])),
			fmt.Sprintf("incremental_p50 at %d / at %d", s[len(s)-1], s[0]), hi.Value, lo.Value)
	}
	// First round against the floor, per size.
	for _, n := range r.sizesOf(recFirstRound, be) {
		fr, _ := r.find(recFirstRound, be, n)
		fl, ok := r.find(recFloor, be, n)
		if !ok {
			continue
		}
		ratio("first_round_vs_floor_"+human(n), fmt.Sprintf("first_round / floor at %d", n), fr.Value, fl.Value)
		if w, ok := r.find(recFirstRoundUndecoded, be, n); ok {
			ratio("first_round_undecoded_vs_floor_"+human(n), fmt.Sprintf("first_round_undecoded / floor at %d", n), w.Value, fl.Value)
		}
	}
	if seq, ok := r.find(recWritesSeq, be, r.sizeOf(recWritesSeq, be)); ok {
		if c16, ok := r.find(recWritesC16, be, r.sizeOf(recWritesC16, be)); ok {
			ratio("writes_c16_vs_seq", "writes_c16 / writes_seq", c16.Value, seq.Value)
		}
	}
	if seq, ok := r.find(recCapWritesSeq, be, r.sizeOf(recCapWritesSeq, be)); ok {
		if c16, ok := r.find(recCapWritesC16, be, seq.Size); ok {
			ratio("capacity_writes_c16_vs_seq", "capacity_writes_c16 / capacity_writes_seq", c16.Value, seq.Value)
		}
	}
	// contactgraph against each CardDAV peer: how many times faster.
	for _, peer := range peerNames {
		for _, m := range peerMetrics {
			cg, ok1 := r.find(m.name, be, r.sizeOf(m.name, be))
			p, ok2 := r.find(m.name, peer, cg.Size)
			if !ok1 || !ok2 {
				continue
			}
			if m.higherBetter {
				ratio("speedup_vs_"+peer+"_"+m.short, fmt.Sprintf("%s contactgraph / %s", m.name, peer), cg.Value, p.Value)
			} else {
				ratio("speedup_vs_"+peer+"_"+m.short, fmt.Sprintf("%s %s / contactgraph", m.name, peer), p.Value, cg.Value)
			}
		}
	}
	// contactgraph over CardDAV against each peer, per size: the same
	// client code on all three.
	for _, n := range r.sizesOf(recDavWrites, be) {
		for _, peer := range peerNames {
			for _, m := range peerMetrics {
				cg, ok1 := r.find(m.dav, be, n)
				p, ok2 := r.find(m.name, peer, n)
				if !ok1 || !ok2 {
					continue
				}
				name := davSpeedup(peer, m.short, n)
				if m.higherBetter {
					ratio(name, fmt.Sprintf("%s contactgraph / %s %s at %d", m.dav, peer, m.name, n), cg.Value, p.Value)
				} else {
					ratio(name, fmt.Sprintf("%s %s / contactgraph %s at %d", m.name, peer, m.dav, n), p.Value, cg.Value)
				}
			}
		}
	}
	r.targets()
}

// davSpeedup names the ratio of contactgraph over CardDAV to a peer.
func davSpeedup(peer, metric string, n int) string {
	return "carddav_speedup_vs_" + peer + "_" + metric + "_" + human(n)
}

// sizeOf returns the largest size with a record of name and backend.
func (r *Report) sizeOf(name RecordName, backend string) int {
	s := r.sizesOf(name, backend)
	if len(s) == 0 {
		return -1
	}
	return s[len(s)-1]
}

func (r *Report) ratioValue(name string) (float64, bool) {
	for _, x := range r.Ratios {
		if x.Name == name {
			return x.Value, true
		}
	}
	return 0, false
}

// targets evaluates the goals of the issue. Each is judged on the figure
// it names; quick runs use their own (small) sizes and mean nothing.
func (r *Report) targets() {
	be := r.Backend
	add := func(name, goal string, v float64, unit string, met bool) {
		r.Targets = append(r.Targets, Target{name, goal, round3(v), unit, met})
	}
	if be == "postgres" {
		r.postgresTargets(add)
	} else {
		r.sqliteTargets(add)
	}
	if n := r.sizeOf(recFirstRound, be); n > 0 {
		if v, ok := r.ratioValue("first_round_vs_floor_" + human(n)); ok {
			add("first_round_vs_floor_"+human(n), ">= 0.5 of the floor", v, "ratio", v >= 0.5)
		}
	}
	for _, m := range peerMetrics {
		if !m.target {
			continue
		}
		best, bestPeer := 0.0, ""
		for _, peer := range peerNames {
			if v, ok := r.ratioValue("speedup_vs_" + peer + "_" + m.short); ok && (bestPeer == "" || v < best) {
				best, bestPeer = v, peer
			}
		}
		if bestPeer != "" {
			add("speedup_vs_faster_peer_"+m.short+" ("+bestPeer+")", ">= 100x", best, "x", best >= 100)
		}
	}
	// The same goal over CardDAV, per size, against the faster of the
	// peers that ran there (at the large size a peer may have been given up).
	for _, n := range r.sizesOf(recDavWrites, be) {
		for _, m := range peerMetrics {
			if !m.target {
				continue
			}
			best, bestPeer, ran := 0.0, "", 0
			for _, peer := range peerNames {
				if v, ok := r.ratioValue(davSpeedup(peer, m.short, n)); ok {
					ran++
					if bestPeer == "" || v < best {
						best, bestPeer = v, peer
					}
				}
			}
			if bestPeer == "" {
				continue
			}
			goal := ">= 100x both peers"
			if ran < len(peerNames) {
				goal = ">= 100x (only " + bestPeer + " ran at this size)"
			}
			add("carddav_speedup_vs_faster_peer_"+m.short+"_"+human(n)+" ("+bestPeer+")", goal, best, "x", best >= 100)
		}
	}
	if n := r.sizeOf(recEmailLookupP50, be); n > 0 {
		rec, _ := r.find(recEmailLookupP50, be, n)
		add("email_lookup_p50_"+human(n), "< 2 ms over HTTP in a folder of 1,000,000", rec.Value, rec.Unit, rec.Value < 2)
	}
	if rec, ok := r.find(recNotifyLatencyP50, be, r.sizeOf(recNotifyLatencyP50, be)); ok {
		add("notify_latency_p50", "< 5 ms on loopback (from sending the write: an upper bound)", rec.Value, rec.Unit, rec.Value < 5)
	}
	if n := r.sizeOf(recNotifyFanout, be); n > 0 {
		rec, _ := r.find(recNotifyFanout, be, n)
		add("notify_fanout_"+human(n), "< 1 s for 1,000 subscriptions", rec.Value, rec.Unit, rec.Value < 1000)
	}
	if n := r.sizeOf(recMemoryPeakRSS, be); n > 0 {
		rec, _ := r.find(recMemoryPeakRSS, be, n)
		add("memory_peak_rss_"+human(n), "< 200 MB (4 clients, 1,000,000)", rec.Value, rec.Unit, rec.Value < 200)
	}
}

// addTarget records a target of Report.targets: its name, goal, figure,
// unit and whether it is met.
type addTarget func(name, goal string, v float64, unit string, met bool)

// sqliteTargets are the goals of the full run on SQLite.
func (r *Report) sqliteTargets(add addTarget) {
	be := r.Backend
	if rec, ok := r.find(recIncrementalP50, be, 100_000); ok {
		add("incremental_p50_100k", "<= 0.3 ms at 100,000", rec.Value, "ms", rec.Value <= 0.3)
	}
	for _, x := range r.Ratios {
		if strings.HasPrefix(x.Name, "incremental_p50_") {
			add(x.Name, "<= 1.1 (1,000,000 vs 10,000)", x.Value, "ratio", x.Value <= 1.1)
		}
	}
	if rec, ok := r.find(recWritesSeq, be, r.sizeOf(recWritesSeq, be)); ok {
		add("writes_seq", ">= 5,000 creates/s (about 100x Xandikos)", rec.Value, rec.Unit, rec.Value >= 5000)
	}
	if rec, ok := r.find(recWritesC16, be, r.sizeOf(recWritesC16, be)); ok {
		add("writes_c16", ">= 10,000 creates/s", rec.Value, rec.Unit, rec.Value >= 10_000)
	}
	if n := r.sizeOf(recFirstRound, be); n > 0 {
		rec, _ := r.find(recFirstRound, be, n)
		add("first_round_"+human(n), ">= 100,000 contacts/s decoded by client.Client", rec.Value, rec.Unit, rec.Value >= 100_000)
	}
}

// postgresTargets are the goals of the full run on PostgreSQL.
func (r *Report) postgresTargets(add addTarget) {
	be := r.Backend
	if n := r.sizeOf(recIncrementalP50, be); n > 0 {
		rec, _ := r.find(recIncrementalP50, be, n)
		add("incremental_p50_"+human(n), "< 1 ms at 1,000,000", rec.Value, "ms", rec.Value < 1)
	}
	if rec, ok := r.find(recWritesSeq, be, r.sizeOf(recWritesSeq, be)); ok {
		add("writes_seq", ">= 2,000 creates/s", rec.Value, rec.Unit, rec.Value >= 2000)
	}
	if rec, ok := r.find(recCapWritesC16, be, r.sizeOf(recCapWritesC16, be)); ok {
		add("capacity_writes_c16", ">= 5,000 creates/s (16 clients, random mailboxes, two replicas)", rec.Value, rec.Unit, rec.Value >= 5000)
	}
	if rec, ok := r.find(recSeed, be, 1_000_000); ok {
		add("seed_1m", "1,000,000 in under a minute (>= 16,667 contacts/s)", rec.Value, rec.Unit, rec.Value >= 1_000_000/60.0)
	}
}
