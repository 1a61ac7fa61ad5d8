package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RecordName names a figure of the result file. The names that finish and
// targets look up are the constants below, shared with the workloads that
// record them.
type RecordName string

// Figures that ratios and targets are computed from.
const (
	recSeed                RecordName = "seed" // contactgraph seed of a size's folder
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
	// The capacity workload (a tenant of many mailboxes); the phases' CPU
	// time per operation is <name>_server_cpu (and <name>_db_cpu on
	// PostgreSQL), their latencies <name>_p50 and <name>_p99.
	recCapSeed        RecordName = "capacity_seed"
	recCapWritesSeq   RecordName = "capacity_writes_seq"
	recCapWritesC16   RecordName = "capacity_writes_c16"
	recCapFirstRound  RecordName = "capacity_first_round"
	recCapIncremental RecordName = "capacity_incremental"
	recCapIdle        RecordName = "capacity_idle_round"
	recCapMixed       RecordName = "capacity_mixed"
	recCapDBSize      RecordName = "capacity_db_size"
	recCapContactRows RecordName = "capacity_contact_rows"
	recCapChangeRows  RecordName = "capacity_change_log_rows"
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
