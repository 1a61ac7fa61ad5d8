package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// RecordName names a figure of the result file. The names that finish and
// targets look up are the constants below, shared with the workloads that
// record them.
type RecordName string

// Figures that ratios and targets are computed from.
const (
	recIncrementalP50      RecordName = "incremental_p50"
	recFirstRound          RecordName = "first_round"
	recFirstRoundUndecoded RecordName = "first_round_undecoded"
	recFloor               RecordName = "floor"
	recWritesSeq           RecordName = "writes_seq"
	recWritesC16           RecordName = "writes_c16"
	recEmailLookupP50      RecordName = "email_lookup_p50"
	recNotifyLatencyP50    RecordName = "notify_latency_p50"
	recNotifyFanout        RecordName = "notify_fanout"
	recMemoryPeakRSS       RecordName = "memory_peak_rss"
	recPeerWrites          RecordName = "peer_writes"
	recPeerInitialSync     RecordName = "peer_initial_sync"
	recPeerIncrementalSync RecordName = "peer_incremental_sync"
	// contactgraph over CardDAV in the peer job (its Graph figures and the
	// peers' are the peer_ ones).
	recDavWrites          RecordName = "dav_writes"
	recDavInitialSync     RecordName = "dav_initial_sync"
	recDavIncrementalSync RecordName = "dav_incremental_sync"
	recDavFill            RecordName = "dav_fill" // the PUTs that fill the large address book
)

// Record is one measured figure.
type Record struct {
	Name     RecordName `json:"name"`
	Workload string     `json:"workload"`
	Backend  string     `json:"backend"` // the store of the server measured, or the CardDAV peer
	Size     int        `json:"size"`    // contacts in the collection (or created)
	Value    float64    `json:"value"`
	Unit     string     `json:"unit"`
	Samples  int        `json:"samples,omitempty"` // measurements the value summarises
	// OtherCPU is the share of the machine's CPU time that processes other
	// than the bench and the server (or peer) measured used meanwhile.
	OtherCPU *float64 `json:"other_cpu,omitempty"`
	Note     string   `json:"note,omitempty"`
}

// Ratio is a quotient of two figures of the same run.
type Ratio struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Of    string  `json:"of"` // what is divided by what
}

// Target is a goal of the full run and where the run stands.
type Target struct {
	Name  string  `json:"name"`
	Goal  string  `json:"goal"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	Met   bool    `json:"met"`
}

// Skipped is a workload that did not run, with the reason.
type Skipped struct {
	Workload string `json:"workload"`
	Reason   string `json:"reason"`
}

// Machine describes where the run happened.
type Machine struct {
	NumCPU     int    `json:"nproc"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	MemTotalMB int    `json:"mem_total_mb"`
	CPUModel   string `json:"cpu_model,omitempty"`
	Kernel     string `json:"kernel,omitempty"`
	GoVersion  string `json:"go_version"`
	LoadStart  string `json:"loadavg_start,omitempty"` // /proc/loadavg: other work on the machine skews figures
	LoadEnd    string `json:"loadavg_end,omitempty"`
}

// Report is the result file.
type Report struct {
	Date      string    `json:"date"`
	Backend   string    `json:"backend"`
	Quick     bool      `json:"quick"`
	Target    string    `json:"target"`           // "local" (the bench started the server) or the -url
	Commit    string    `json:"commit,omitempty"` // git HEAD of the code measured, "+dirty" when it has local changes
	Args      []string  `json:"args"`             // the bench's own flags
	Nice      int       `json:"nice"`             // the bench's scheduling niceness (its servers and peers inherit it)
	Started   time.Time `json:"started"`
	DurationS float64   `json:"duration_s"`
	Machine   Machine   `json:"machine"`
	Commands  []string  `json:"commands"` // what the bench ran, in order
	Records   []Record  `json:"records"`
	Ratios    []Ratio   `json:"ratios"`
	Targets   []Target  `json:"targets"`
	Skipped   []Skipped `json:"skipped"`
	Errors    []string  `json:"errors,omitempty"`

	mu sync.Mutex
}

func newReport(backend string, quick bool, target string) *Report {
	now := time.Now()
	return &Report{
		Date: now.Format("2006-01-02"), Backend: backend, Quick: quick, Target: target, Started: now,
		Args: append([]string{}, os.Args[1:]...), Nice: niceness(),
		Machine:  machine(),
		Commands: []string{}, Records: []Record{}, Ratios: []Ratio{}, Targets: []Target{}, Skipped: []Skipped{},
	}
}

// addMeasured adds a record with the noise its meter saw.
func (r *Report) addMeasured(rec Record, m *cpuMeter) {
	if m != nil {
		if v := m.others(); v >= 0 {
			rec.OtherCPU = &v
		}
	}
	r.add(rec)
}

func (r *Report) add(rec Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Records = append(r.Records, rec)
}

func (r *Report) command(args ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Commands = append(r.Commands, strings.Join(args, " "))
}

func (r *Report) skip(workload, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Skipped = append(r.Skipped, Skipped{workload, reason})
}

func (r *Report) fail(workload string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Errors = append(r.Errors, workload+": "+err.Error())
}

// find returns the record of a name, backend and size.
func (r *Report) find(name RecordName, backend string, size int) (Record, bool) {
	for _, rec := range r.Records {
		if rec.Name == name && rec.Backend == backend && rec.Size == size {
			return rec, true
		}
	}
	return Record{}, false
}

// sizesOf returns the sizes that have a record of name and backend, ascending.
func (r *Report) sizesOf(name RecordName, backend string) []int {
	var out []int
	for _, rec := range r.Records {
		if rec.Name == name && rec.Backend == backend {
			out = append(out, rec.Size)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

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
	if n := r.sizeOf(recIncrementalP50, be); n > 0 {
		rec, _ := r.find(recIncrementalP50, be, n)
		add("incremental_p50_"+human(n), "< 1 ms at 1,000,000", rec.Value, "ms", rec.Value < 1)
	}
	for _, x := range r.Ratios {
		if strings.HasPrefix(x.Name, "incremental_p50_") {
			add(x.Name, "< 1.3 (1,000,000 vs 10,000)", x.Value, "ratio", x.Value < 1.3)
		}
	}
	if rec, ok := r.find(recWritesSeq, be, r.sizeOf(recWritesSeq, be)); ok {
		add("writes_seq", ">= 5,000 creates/s", rec.Value, rec.Unit, rec.Value >= 5000)
	}
	if rec, ok := r.find(recWritesC16, be, r.sizeOf(recWritesC16, be)); ok {
		add("writes_c16", ">= 15,000 creates/s", rec.Value, rec.Unit, rec.Value >= 15000)
	}
	if n := r.sizeOf(recFirstRound, be); n > 0 {
		rec, _ := r.find(recFirstRound, be, n)
		add("first_round_"+human(n), ">= 100,000 contacts/s", rec.Value, rec.Unit, rec.Value >= 100_000)
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

// peerMetrics are the figures measured for contactgraph and each peer.
var peerMetrics = []struct {
	name         RecordName // contactgraph over Graph, and the peers
	dav          RecordName // contactgraph over CardDAV
	short        string
	higherBetter bool
	target       bool // a goal of the issue
}{
	{recPeerWrites, recDavWrites, "writes", true, true},
	{recPeerInitialSync, recDavInitialSync, "initial_sync", false, false},
	{recPeerIncrementalSync, recDavIncrementalSync, "incremental_sync", false, true},
}

// write saves the report as <dir>/<date>-<backend>.json (-quick.json for
// a quick run, so that it never replaces a full run's file) and returns
// the path.
func (r *Report) write(dir string) (string, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "contactgraph-bench-results-")
		if err != nil {
			return "", err
		}
		dir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	name := r.Date + "-" + r.Backend
	if r.Quick {
		name += "-quick"
	}
	path := filepath.Join(dir, name+".json")
	return path, os.WriteFile(path, append(b, '\n'), 0o644)
}

// printTable prints the records, ratios, targets and skipped workloads.
func printTable(w io.Writer, r *Report) {
	fmt.Fprintf(w, "\ncontactgraph bench, %s, backend %s%s, %d CPU, %s, load %s -> %s\n\n", r.Date, r.Backend,
		map[bool]string{true: " (quick sizes)", false: ""}[r.Quick], r.Machine.NumCPU, r.Machine.GoVersion, r.Machine.LoadStart, r.Machine.LoadEnd)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\tfigure\tbackend\tsize\tvalue\tunit\tn\tother CPU\t")
	for _, rec := range r.Records {
		n, oc := "", ""
		if rec.Samples > 0 {
			n = strconv.Itoa(rec.Samples)
		}
		if rec.OtherCPU != nil {
			oc = strconv.Itoa(int(*rec.OtherCPU*100+0.5)) + "%"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t\n", rec.Workload, rec.Name, rec.Backend, rec.Size, num(rec.Value), rec.Unit, n, oc)
	}
	tw.Flush()
	if len(r.Ratios) > 0 {
		fmt.Fprintln(w, "\nratios")
		tw = tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		for _, x := range r.Ratios {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", x.Name, num(x.Value), x.Of)
		}
		tw.Flush()
	}
	if len(r.Targets) > 0 {
		if r.Quick {
			fmt.Fprintln(w, "\ntargets (quick sizes: not comparable with the goals, which are for the full run on SQLite)")
		} else {
			fmt.Fprintln(w, "\ntargets (goals of the full run on SQLite; reported, not asserted)")
		}
		tw = tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		for _, t := range r.Targets {
			mark := "not met"
			if t.Met {
				mark = "met"
			}
			fmt.Fprintf(tw, "  %s\t%s %s\tgoal %s\t%s\n", t.Name, num(t.Value), t.Unit, t.Goal, mark)
		}
		tw.Flush()
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "not run: %s: %s\n", s.Workload, s.Reason)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
}

// num formats a figure with three significant decimals at most.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

func round3(v float64) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	mag := math.Pow(10, 3-math.Ceil(math.Log10(math.Abs(v))))
	if mag < 1 {
		return math.Round(v)
	}
	return math.Round(v*mag) / mag
}

// human names a size: 10k, 1m, 2000.
func human(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "m"
	case n >= 1000 && n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

func machine() Machine {
	m := Machine{NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(), LoadStart: loadavg()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.Atoi(f[1])
				m.MemTotalMB = kb / 1024
			}
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// loadavg returns the first three fields of /proc/loadavg.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
