package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Workload names, in the order they run.
const (
	wWrites      = "writes"
	wFirst       = "first"
	wIncremental = "incremental"
	wFloor       = "floor"
	wMemory      = "memory"
	wPeers       = "peers"
	wNotify      = "notify"
	wFilter      = "filter"
	wCapacity    = "capacity"
	wSoak        = "soak" // only with -soak: a long mixed load (see soak.go)
)

var allWorkloads = []string{wWrites, wFirst, wIncremental, wFloor, wFilter, wMemory, wNotify, wCapacity, wPeers}

// config is the parsed command line.
type config struct {
	Quick    bool
	Backend  string // sqlite or postgres
	DB       string // postgres DSN
	URL      string // an already running server's base URL (…/v1.0)
	Token    string // bearer token for URL
	Out      string // directory of the result file
	Only     map[string]bool
	Data     string        // directory kept between runs for seeded databases ("" = temporary)
	Seed     uint64        // fakedata seed
	NoPeers  bool          // do not install or run the CardDAV peers
	Soak     time.Duration // > 0: run the soak load for this long, instead of the workloads
	Repo     string        // module root (where go build runs)
	explicit bool          // -out given
	sizes    sizes
}

// sizes are the workload sizes of a run.
type sizes struct {
	Writes      int   // contacts created per writes figure
	First       []int // folder sizes of the first round (and the floor)
	FirstReps   []int // repetitions of the first round per size
	Incremental []int // folder sizes of the incremental rounds
	Rounds      int   // incremental rounds per size
	Peers       int   // cards of the CardDAV comparison
	PeerReps    int   // initial syncs and incremental cycles per peer
	// PeersLarge is the collection size of the CardDAV comparison's second
	// run (0: none): the peers are seeded through their storage, then every
	// server does PeerLargeWrites timed PUTs and PeerLargeReps syncs and
	// cycles.
	PeersLarge      int
	PeerLargeWrites int
	PeerLargeReps   int
	Memory          int // folder size of the memory workload
	MemClients      int
	Filter          []int // folder sizes of the email lookups
	Lookups         int   // email lookups timed per size
	// NotifyLatency, NotifySustained and NotifyFanout size the
	// notifications workload: sequential writes waited for, concurrent
	// writes delivered, subscriptions of the fan-out.
	NotifyLatency   int
	NotifySustained int
	NotifyFanout    int
	// Capacity sizes the capacity workload (capacity.go).
	Capacity capSize
}

var fullSizes = sizes{
	Writes:      10_000,
	First:       []int{10_000, 100_000, 1_000_000},
	FirstReps:   []int{5, 3, 2},
	Incremental: []int{10_000, 100_000, 1_000_000},
	Rounds:      300,
	Peers:       2_000,
	PeerReps:    5,

	PeersLarge:      100_000,
	PeerLargeWrites: 200,
	PeerLargeReps:   2,
	Memory:          1_000_000,
	MemClients:      4,
	Filter:          []int{1_000_000},
	Lookups:         1_000,

	NotifyLatency:   1_000,
	NotifySustained: 10_000,
	NotifyFanout:    1_000,

	Capacity: capSize{Users: 10_000, Contacts: 100, Writes: 5_000, Sample: 500, Passes: 4, Mixed: 30 * time.Second},
}

var quickSizes = sizes{
	Writes:      300,
	First:       []int{3_000},
	FirstReps:   []int{3},
	Incremental: []int{1_000, 5_000},
	Rounds:      20,
	Peers:       100,
	PeerReps:    3,

	PeersLarge:      300,
	PeerLargeWrites: 20,
	PeerLargeReps:   2,
	Memory:          5_000,
	MemClients:      4,
	Filter:          []int{5_000},
	Lookups:         100,

	NotifyLatency:   100,
	NotifySustained: 500,
	NotifyFanout:    50,

	Capacity: capSize{Users: 50, Contacts: 20, Writes: 200, Sample: 20, Passes: 3, Mixed: 3 * time.Second},
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&c.Quick, "quick", false, "every workload at small sizes (a smoke test: under a minute, no timing asserts)")
	fs.StringVar(&c.Backend, "backend", "sqlite", "store of the server: sqlite or postgres")
	fs.StringVar(&c.DB, "db", "", "PostgreSQL DSN (with -backend postgres)")
	fs.StringVar(&c.URL, "url", "", "measure an already running server at this base URL (…/v1.0); needs -token")
	fs.StringVar(&c.Token, "token", "", "bearer token (Contacts.ReadWrite) for -url")
	fs.StringVar(&c.Out, "out", "", "directory of the result JSON (default bench/results; a temporary directory with -quick)")
	only := fs.String("only", "", "comma-separated workloads to run: "+strings.Join(allWorkloads, ","))
	fs.StringVar(&c.Data, "data", "", "keep seeded databases in this directory and reuse them in later runs (default: a temporary directory)")
	fs.Uint64Var(&c.Seed, "seed", 1, "fake data seed")
	fs.BoolVar(&c.NoPeers, "no-peers", false, "skip the CardDAV peers (no package install)")
	large := fs.Int("peers-large", -1, "cards of the CardDAV comparison's large size (default 100000; 300 with -quick; 0 skips it)")
	fs.DurationVar(&c.Soak, "soak", 0, "run a mixed load of reads, writes and delta rounds from many clients for this long (e.g. 10m) instead of the workloads")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.Backend != "sqlite" && c.Backend != "postgres" {
		return c, fmt.Errorf("-backend must be sqlite or postgres, not %q", c.Backend)
	}
	if c.Backend == "postgres" && c.DB == "" && c.URL == "" {
		return c, errors.New("-backend postgres needs -db DSN")
	}
	if (c.URL == "") != (c.Token == "") {
		return c, errors.New("-url and -token go together")
	}
	c.Only = map[string]bool{}
	if *only == "" {
		for _, w := range allWorkloads {
			c.Only[w] = true
		}
	} else {
		for w := range strings.SplitSeq(*only, ",") {
			w = strings.TrimSpace(w)
			if !slices.Contains(allWorkloads, w) {
				return c, fmt.Errorf("-only: unknown workload %q (have %s)", w, strings.Join(allWorkloads, ","))
			}
			c.Only[w] = true
		}
	}
	if c.NoPeers {
		delete(c.Only, wPeers)
	}
	c.sizes = fullSizes
	if c.Quick {
		c.sizes = quickSizes
	}
	if *large >= 0 {
		c.sizes.PeersLarge = *large
	}
	repo, err := findRepo()
	if err != nil {
		return c, err
	}
	c.Repo = repo
	c.explicit = c.Out != ""
	if c.Out == "" && !c.Quick {
		c.Out = filepath.Join(repo, "bench", "results")
	}
	return c, nil
}

// findRepo returns the module root: the nearest directory upwards from the
// working directory whose go.mod declares this module.
func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/contactgraph/contactgraph\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run the bench inside the contactgraph repository (go run ./bench)")
		}
		dir = parent
	}
}
