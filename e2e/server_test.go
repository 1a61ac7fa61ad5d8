package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph/internal/pgtest"
	"github.com/jackc/pgx/v5"
)

const (
	startTimeout   = 60 * time.Second // from exec to the "base URL:" line
	stopTimeout    = 30 * time.Second // from SIGTERM to exit
	commandTimeout = 60 * time.Second // a `contactgraph token` or `app-password` run
	tenant         = "contoso"
)

// envPostgres names the environment variable holding the DSN of the
// PostgreSQL test database, as in the postgres package's tests.
const envPostgres = pgtest.EnvDSN

// sqliteDB returns the --db value of a new SQLite file.
func sqliteDB(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "contactgraph.db")
}

// postgresDB returns a DSN whose sessions use a new schema of the test
// database, dropped when the test ends, or skips the test when
// CONTACTGRAPH_TEST_POSTGRES is not set.
func postgresDB(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(envPostgres)
	if dsn == "" {
		t.Skip(envPostgres + " is not set: this test runs server processes on PostgreSQL and needs a DSN such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	schema := pgtest.Schema(t, dsn, "cge2e_") // dropped when the test ends
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", envPostgres, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	return withParams(dsn, map[string]string{"search_path": schema, "application_name": schema})
}

// withParams adds run-time parameters to a DSN (URL or key=value form).
func withParams(dsn string, params map[string]string) string {
	if !strings.Contains(dsn, "://") {
		for k, v := range params {
			dsn += " " + k + "=" + v
		}
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn // the server reports the bad DSN
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// server is one `contactgraph serve` slot on a database: a process that
// can be started, killed with SIGKILL and started again, each run on a new
// port of 127.0.0.1. It is safe for concurrent use.
type server struct {
	name string
	db   string
	args []string // serve's flags besides --addr and --db, on every run
	dir  string
	log  *serverLog

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when the current run's process has exited
	addr   string        // host:port while up and not being killed, else ""
	runs   int
	took   time.Duration // the last start's time from exec to the base URL line
	ending bool          // a kill or stop is under way: the exit is expected
	deaths []string      // runs that exited without being told to
}

// start runs the server and waits until it prints its base URL.
func (s *server) start() error {
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		return fmt.Errorf("%s: already running", s.name)
	}
	s.runs++
	run := s.runs
	found := make(chan string, 1)
	out := &runWriter{log: s.log, prefix: fmt.Sprintf("[%s run %d] ", s.name, run), watch: "base URL: ", found: found}
	// Warnings and errors only: a line a request would push the errors
	// that errorLines looks for out of the kept lines.
	cmd := exec.Command(serverBin, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", s.db, "--log-level", "warn"}, s.args...)...)
	cmd.Dir = s.dir
	cmd.Stdout = out
	cmd.Stderr = out
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("%s: start: %w", s.name, err)
	}
	exited := make(chan struct{})
	s.cmd, s.exited, s.ending = cmd, exited, false
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		out.flush()
		s.log.add(fmt.Sprintf("[%s run %d] exited: %v", s.name, run, err))
		s.mu.Lock()
		if !s.ending {
			s.addr = ""
			s.deaths = append(s.deaths, fmt.Sprintf("run %d exited by itself: %v", run, err))
		}
		s.mu.Unlock()
		close(exited)
	}()

	began := time.Now()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case base := <-found:
		u, err := url.Parse(strings.TrimSpace(base))
		if err != nil || u.Host == "" || u.Path != "/v1.0" {
			s.kill()
			return fmt.Errorf("%s: printed base URL %q, want http://host:port/v1.0", s.name, base)
		}
		s.mu.Lock()
		s.addr, s.took = u.Host, time.Since(began)
		s.mu.Unlock()
		return nil
	case <-exited:
		s.mu.Lock()
		s.cmd = nil
		s.deaths = s.deaths[:len(s.deaths)-1] // reported here
		s.mu.Unlock()
		return fmt.Errorf("%s: exited before printing its base URL:\n%s", s.name, s.log.tail(20))
	case <-timer.C:
		s.kill()
		return fmt.Errorf("%s: printed no base URL within %v", s.name, startTimeout)
	}
}

// Addr returns the server's host:port, or "" while it is down.
func (s *server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// startTime returns how long the last start took, from exec to the base
// URL line.
func (s *server) startTime() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.took
}

// BaseURL returns the base URL of the current run.
func (s *server) BaseURL() string { return "http://" + s.Addr() + "/v1.0" }

// died returns what is known of runs that exited without being told to.
func (s *server) died() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.deaths...)
}

// kill sends SIGKILL and waits for the process to exit. The server is
// marked down first, so that the balancer sends it nothing new.
func (s *server) kill() error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.addr, s.ending = "", true
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: SIGKILL: %w", s.name, err)
	}
	<-exited
	s.mu.Lock()
	s.cmd = nil
	s.mu.Unlock()
	return nil
}

// stop shuts the server down with SIGTERM and checks that it exits cleanly.
func (s *server) stop() error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.addr, s.ending = "", true
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	defer func() {
		s.mu.Lock()
		s.cmd = nil
		s.mu.Unlock()
	}()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM: %w", err)
	}
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		cmd.Process.Kill()
		<-exited
		return fmt.Errorf("did not exit within %v of SIGTERM; killed", stopTimeout)
	}
	if !cmd.ProcessState.Success() {
		return fmt.Errorf("exited with %v after SIGTERM, want a clean exit", cmd.ProcessState)
	}
	return nil
}

// token runs `contactgraph token --db <db>` and returns the token it printed.
func token(t *testing.T, db string, args ...string) string {
	t.Helper()
	args = append([]string{"token", "--db", db, "--tenant", tenant, "--ttl", "2h"}, args...)
	tok := printed(t, args...)
	if strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, " \t\r\n") {
		t.Fatalf("contactgraph %s printed %q, want one JWT", strings.Join(args, " "), tok)
	}
	return tok
}

// printed runs the binary with args, which must succeed, and returns what
// it printed, trimmed.
func printed(t *testing.T, args ...string) string {
	t.Helper()
	r := runBinary(t, t.TempDir(), args...)
	if r.code != 0 {
		t.Fatalf("contactgraph %s: exit status %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

// userToken mints a delegated token for upn that reads and writes contacts
// and org contacts.
func userToken(t *testing.T, db, upn string) string {
	t.Helper()
	return token(t, db, "--user", upn, "--scopes", "Contacts.ReadWrite Directory.ReadWrite.All")
}

// serverLog keeps the output of every run of a server, line by line.
type serverLog struct {
	mu    sync.Mutex
	lines []string
}

// maxLogLines bounds a server's kept output; older lines are dropped.
const maxLogLines = 20000

func (l *serverLog) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) >= maxLogLines {
		l.lines = append(l.lines[:0:0], l.lines[maxLogLines/2:]...)
	}
	l.lines = append(l.lines, line)
}

// tail returns the last n lines.
func (l *serverLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines[max(0, len(l.lines)-n):], "\n")
}

// errorLines returns the lines logged at level ERROR (slog's text format).
func (l *serverLog) errorLines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range l.lines {
		if strings.Contains(line, " level=ERROR ") {
			out = append(out, line)
		}
	}
	return out
}

// runWriter splits one run's output into lines for its serverLog and
// reports the rest of the first line starting with watch.
type runWriter struct {
	log     *serverLog
	prefix  string
	watch   string
	found   chan string
	mu      sync.Mutex
	partial []byte
	seen    bool
}

func (w *runWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.line(strings.TrimRight(string(w.partial[:i]), "\r"))
		w.partial = w.partial[i+1:]
	}
}

func (w *runWriter) line(line string) {
	if strings.HasPrefix(line, "eyJ") || strings.HasPrefix(line, "curl ") {
		line = "(token elided)"
	}
	w.log.add(w.prefix + line)
	if !w.seen {
		if rest, ok := strings.CutPrefix(line, w.watch); ok {
			w.seen = true
			w.found <- rest
		}
	}
}

func (w *runWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.line(string(w.partial))
		w.partial = nil
	}
}
