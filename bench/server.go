package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// binary is the contactgraph executable the bench built.
type binary struct {
	path   string
	report *Report
}

// build compiles ./cmd/contactgraph of repo into dir.
func build(ctx context.Context, repo, dir string, r *Report) (*binary, error) {
	path := filepath.Join(dir, "contactgraph")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", path, "./cmd/contactgraph")
	cmd.Dir = repo
	r.command("go", "build", "-o", path, "./cmd/contactgraph")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %w\n%s", err, out)
	}
	return &binary{path: path, report: r}, nil
}

// run runs a subcommand and returns its standard output.
func (b *binary) run(ctx context.Context, args ...string) (string, error) {
	return b.runEnv(ctx, nil, args...)
}

// runEnv runs a subcommand with extra environment variables.
func (b *binary) runEnv(ctx context.Context, env []string, args ...string) (string, error) {
	b.report.command(append(append(env[:len(env):len(env)], "contactgraph"), args...)...)
	cmd := exec.CommandContext(ctx, b.path, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("contactgraph %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// gitCommit returns the HEAD commit of repo, with "+dirty" when files
// outside bench/ differ from it, or "" when git cannot tell.
func gitCommit(ctx context.Context, repo string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", repo, "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return ""
	}
	commit := strings.TrimSpace(string(out))
	st, err := exec.CommandContext(ctx, "git", "-C", repo, "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)bench").Output()
	if err == nil && len(bytes.TrimSpace(st)) > 0 {
		commit += "+dirty"
	}
	return commit
}

var folderIDRe = regexp.MustCompile(`\(folder id ([A-Za-z0-9_-]+)\)`)

// Seeding settings: transactions of 50,000 contacts and a lazier garbage
// collector take a million-contact seed from 83 s to 61 s on the reference
// machine (BENCHMARKS.md); the data is the same.
const (
	seedBatch = "50000"
	seedGOGC  = "GOGC=400"
)

// seed fills a folder with n generated contacts and returns the folder id.
func (b *binary) seed(ctx context.Context, db, tenant, user, folder string, n int, seed uint64) (string, error) {
	out, err := b.runEnv(ctx, []string{seedGOGC}, "seed", "--db", db, "--tenant", tenant, "--user", user, "--folder", folder,
		"--contacts", strconv.Itoa(n), "--seed", strconv.FormatUint(seed, 10), "--batch", seedBatch)
	if err != nil {
		return "", err
	}
	m := folderIDRe.FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("seed: no folder id in its output %q", out)
	}
	return m[1], nil
}

// token mints a delegated Contacts.ReadWrite token for user.
func (b *binary) token(ctx context.Context, db, tenant, user string) (string, error) {
	return b.mint(ctx, "--db", db, "--create", "--tenant", tenant, "--user", user, "--scopes", "Contacts.ReadWrite") // before the server starts: the database may be new
}

// appToken mints an app-only Contacts.ReadWrite token of application app.
func (b *binary) appToken(ctx context.Context, db, tenant, app string) (string, error) {
	return b.mint(ctx, "--db", db, "--tenant", tenant, "--app", app, "--roles", "Contacts.ReadWrite")
}

// mint runs contactgraph token with args for a day's token and returns it.
func (b *binary) mint(ctx context.Context, args ...string) (string, error) {
	out, err := b.run(ctx, append(append([]string{"token"}, args...), "--ttl", "24h")...)
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(out)
	if tok == "" || strings.ContainsAny(tok, " \n") {
		return "", fmt.Errorf("token: unexpected output %q", out)
	}
	return tok, nil
}

// appPassword issues an app password for user's CardDAV sign-in (HTTP
// Basic with the UPN).
func (b *binary) appPassword(ctx context.Context, db, tenant, user string) (string, error) {
	out, err := b.run(ctx, "app-password", "--db", db, "--tenant", tenant, "--user", user) // before the server starts, as token
	if err != nil {
		return "", err
	}
	pw := strings.TrimSpace(out)
	if pw == "" || strings.ContainsAny(pw, " \n") {
		return "", fmt.Errorf("app-password: unexpected output %q", out)
	}
	return pw, nil
}

// server is a running `contactgraph serve`.
type server struct {
	cmd  *exec.Cmd
	base string // http://127.0.0.1:PORT/v1.0
	done chan error
	log  string // the server's standard error
}

// serve starts the server on a free loopback port and waits until it
// prints its base URL.
func (b *binary) serve(ctx context.Context, db, logPath string, extra ...string) (*server, error) {
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--log-level", "warn"}, extra...) // no line per request: it would cost every figure
	b.report.command(append([]string{"contactgraph"}, args...)...)
	cmd := exec.Command(b.path, args...)
	// The server dies with the bench, even when the bench is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s := &server{cmd: cmd, done: make(chan error, 1), log: logPath}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if base, ok := strings.CutPrefix(sc.Text(), "base URL: "); ok {
				ready <- strings.TrimSpace(base)
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		s.done <- cmd.Wait()
		logf.Close()
	}()
	select {
	case s.base = <-ready:
		return s, nil
	case err := <-s.done:
		return nil, fmt.Errorf("serve exited before it was ready: %v (log %s: %s)", err, logPath, tail(logPath))
	case <-time.After(2 * time.Minute):
		s.stop()
		return nil, errors.New("serve did not print its base URL within 2 minutes")
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// pid returns the server's process id.
func (s *server) pid() int { return s.cmd.Process.Pid }

// stop sends SIGTERM and waits for the exit (SIGKILL after 30 seconds).
func (s *server) stop() error {
	if s == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		return errors.New("serve did not stop within 30 seconds of SIGTERM")
	}
}

// tail returns the last lines of a file, for error messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// procStatus returns a kB field (VmHWM, VmRSS) of /proc/<pid>/status in MB.
func procStatus(pid int, field string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == field+":" {
			kb, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}
