package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Flags of the package. The torture flags size TestTorture; the defaults
// keep the whole package within CI's budget (see doc.go for a long run).
var (
	serverFlag      = flag.String("e2e.server", "", "run this contactgraph binary instead of building ./cmd/contactgraph")
	tortureDuration = flag.Duration("torture.duration", 10*time.Second, "how long TestTorture's load runs, per backend")
	tortureWriters  = flag.Int("torture.writers", 4, "TestTorture: writer goroutines")
	tortureClients  = flag.Int("torture.clients", 4, "TestTorture: contact delta clients (besides 2 folder and 3 org contact clients)")
	tortureRestarts = flag.Int("torture.restarts", 0, "TestTorture: SIGKILL-and-restart cycles during the load (0: one per 10 s of -torture.duration, at least 3)")
	tortureSeed     = flag.Uint64("torture.seed", 0, "TestTorture: seed of the random choices (0: a new one, logged)")
	tortureObjects  = flag.Int("torture.objects", 40, "TestTorture: objects of each kind a writer keeps before it prefers deletes")
)

// serverBin is the contactgraph binary the tests run, set by TestMain.
var serverBin string

// TestMain builds the server binary once for every test of the package.
func TestMain(m *testing.M) {
	flag.Parse()
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	if *serverFlag != "" {
		bin, err := filepath.Abs(*serverFlag)
		if err != nil {
			return 0, err
		}
		serverBin = bin
		return m.Run(), nil
	}
	dir, err := os.MkdirTemp("", "contactgraph-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	serverBin = filepath.Join(dir, "contactgraph")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The package directory is e2e/ under the module root.
	cmd := exec.CommandContext(ctx, "go", "build", "-o", serverBin, "./cmd/contactgraph")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build -o %s ./cmd/contactgraph: %v\n%s", serverBin, err, out)
	}
	return m.Run(), nil
}
