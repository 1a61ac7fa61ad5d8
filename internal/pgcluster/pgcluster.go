// Package pgcluster runs a throwaway PostgreSQL cluster for tests that
// stop, start and freeze a database server, which the shared test server
// must never be: initdb into a new temporary directory, then pg_ctl with
// the server listening on a free port of 127.0.0.1 (and its socket in that
// directory), so that nothing of the machine's own clusters is touched.
//
// The server binaries are looked up under /usr/lib/postgresql/*/bin (the
// newest version first, as Debian installs them), then on PATH. initdb and
// the server refuse to run as root: as root, every PostgreSQL program runs
// as the postgres user through runuser (or su), and the directory is
// handed to that user. New reports why a cluster is impossible here (no
// binaries, no postgres user) as an error wrapping ErrUnsupported, so that
// tests can skip with the reason.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ErrUnsupported is wrapped by New's errors that say this machine cannot
// run a cluster of a test's own, as opposed to a cluster that failed.
var ErrUnsupported = errors.New("pgcluster: cannot run a PostgreSQL cluster here")

// Cluster is one throwaway cluster. Its methods are not safe for
// concurrent use.
type Cluster struct {
	Dir  string // the temporary directory: data/, the socket, server.log
	Port int    // the TCP port on 127.0.0.1
	bin  string // the directory of initdb and pg_ctl
	via  string // "runuser" or "su": how programs run as postgres; "" as ourselves
}

// New creates a cluster (initdb) in a new temporary directory, on a free
// port, without starting it. Remove deletes it.
func New(ctx context.Context) (*Cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin}
	var owner *user.User
	if os.Geteuid() == 0 {
		owner, err = user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("%w: running as root, and initdb refuses root, but there is no postgres user to run it as (%v)", ErrUnsupported, err)
		}
		if _, err := exec.LookPath("runuser"); err == nil {
			c.via = "runuser"
		} else if _, err := exec.LookPath("su"); err == nil {
			c.via = "su"
		} else {
			return nil, fmt.Errorf("%w: running as root, and neither runuser nor su is there to run initdb as postgres", ErrUnsupported)
		}
	}
	dir, err := os.MkdirTemp("", "contactgraph-pgcluster-")
	if err != nil {
		return nil, err
	}
	c.Dir = dir
	if owner != nil {
		uid, _ := strconv.Atoi(owner.Uid)
		gid, _ := strconv.Atoi(owner.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgcluster: hand %s to postgres: %w", dir, err)
		}
	}
	if c.Port, err = freePort(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if out, err := c.command(ctx, "initdb", "-D", c.data(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgcluster: initdb: %v\n%s", err, out)
	}
	return c, nil
}

// findBin returns the directory of the newest initdb and pg_ctl.
func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isFile(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w: no initdb and pg_ctl under /usr/lib/postgresql/*/bin nor on PATH (install the PostgreSQL server, e.g. apt-get install postgresql)", ErrUnsupported)
}

// version is the major version in a path such as /usr/lib/postgresql/15/bin.
func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (c *Cluster) data() string { return filepath.Join(c.Dir, "data") }

// command returns the command running a PostgreSQL program of the
// cluster's installation, as the postgres user when we are root.
func (c *Cluster) command(ctx context.Context, prog string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, prog)
	var cmd *exec.Cmd
	switch c.via {
	case "":
		cmd = exec.CommandContext(ctx, path, args...)
	case "runuser":
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	case "su":
		line := quote(path)
		for _, a := range args {
			line += " " + quote(a)
		}
		cmd = exec.CommandContext(ctx, "su", "postgres", "-s", "/bin/sh", "-c", line)
	}
	cmd.Dir = c.Dir
	return cmd
}

// quote quotes s for sh.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// DSN returns the URL of database db (postgres when empty) on the cluster.
func (c *Cluster) DSN(db string) string {
	if db == "" {
		db = "postgres"
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start(ctx context.Context) error {
	opts := strings.Join([]string{
		"-p", strconv.Itoa(c.Port), "-k", quote(c.Dir), "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "shared_buffers=16MB", "-c", "max_connections=40",
	}, " ")
	out, err := c.command(ctx, "pg_ctl", "-D", c.data(), "-l", filepath.Join(c.Dir, "server.log"), "-o", opts, "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgcluster: pg_ctl start: %v\n%s\n%s", err, out, c.Log())
	}
	return nil
}

// Stop stops the server: mode "fast" (sessions are ended with 57P01, the
// server shuts down cleanly) or "immediate" (as after a crash).
func (c *Cluster) Stop(ctx context.Context, mode string) error {
	out, err := c.command(ctx, "pg_ctl", "-D", c.data(), "-m", mode, "-w", "-t", "60", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgcluster: pg_ctl stop -m %s: %v\n%s", mode, err, out)
	}
	return nil
}

// Running reports whether the server's postmaster is alive.
func (c *Cluster) Running() bool {
	pid, err := c.postmaster()
	return err == nil && syscall.Kill(pid, 0) == nil
}

// Freeze stops the server's processes with SIGSTOP, as a server that
// hangs or a network that drops every packet: connections are accepted by
// the kernel, and nothing answers. Thaw resumes them.
func (c *Cluster) Freeze() error { return c.signal(syscall.SIGSTOP) }

// Thaw resumes the processes Freeze stopped (SIGCONT).
func (c *Cluster) Thaw() error { return c.signal(syscall.SIGCONT) }

// signal sends sig to the postmaster and every process it started.
func (c *Cluster) signal(sig syscall.Signal) error {
	pid, err := c.postmaster()
	if err != nil {
		return err
	}
	pids := append([]int{pid}, children(pid)...)
	for _, p := range pids {
		if err := syscall.Kill(p, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("pgcluster: signal %d: %w", p, err)
		}
	}
	return nil
}

// postmaster returns the pid in the data directory's postmaster.pid.
func (c *Cluster) postmaster() (int, error) {
	b, err := os.ReadFile(filepath.Join(c.data(), "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("pgcluster: the server is not running: %w", err)
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	return strconv.Atoi(strings.TrimSpace(string(line)))
}

// children returns the pids whose parent is pid, from /proc.
func children(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 {
			if pp, err := strconv.Atoi(f[1]); err == nil && pp == pid {
				out = append(out, p)
			}
		}
	}
	return out
}

// Log returns the server's log.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "server.log"))
	return string(b)
}

// Remove stops the server if it runs (thawed first, then immediate) and
// deletes the directory.
func (c *Cluster) Remove() error {
	var err error
	if c.Running() {
		c.Thaw()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err = c.Stop(ctx, "immediate")
	}
	return errors.Join(err, os.RemoveAll(c.Dir))
}

// ForTest returns a new cluster, started, and removes it when the test
// ends. A machine that cannot run one (ErrUnsupported) skips the test
// with the reason, or fails it when CONTACTGRAPH_TEST_OUTAGES=require (CI).
func ForTest(t testing.TB) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := New(ctx)
	if errors.Is(err, ErrUnsupported) {
		if os.Getenv("CONTACTGRAPH_TEST_OUTAGES") == "require" {
			t.Fatalf("%v (and CONTACTGRAPH_TEST_OUTAGES=require)", err)
		}
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("PostgreSQL log of the test's cluster:\n%s", c.Log())
		}
		if err := c.Remove(); err != nil {
			t.Errorf("remove the test's cluster: %v", err)
		}
	})
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// Program returns the path of a program of the cluster's PostgreSQL
// installation, such as pg_dump or pg_restore (of the server's version).
func (c *Cluster) Program(name string) string { return filepath.Join(c.bin, name) }
