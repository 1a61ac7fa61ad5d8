package e2e

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// cli is one run of the binary: its exit status and output.
type cli struct {
	code           int
	stdout, stderr string
}

// runBinary runs the contactgraph binary in dir with args.
func runBinary(t *testing.T, dir string, args ...string) cli {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, serverBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CONTACTGRAPH_DB=") // the defaults, not the caller's
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("contactgraph %s: %v", strings.Join(args, " "), err)
	}
	return cli{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// entries lists a directory's names.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestCLIHelp: -h and --help exit 0 and print one clean usage to standard
// output; a wrong flag exits 2 and prints its error once, without the
// usage; a call without a command prints the usage to standard error and
// exits 2.
func TestCLIHelp(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"-h"}, {"--help"}, {"help"}} {
		r := runBinary(t, dir, args...)
		if r.code != 0 || strings.Count(r.stdout, "usage: contactgraph") != 1 || r.stderr != "" {
			t.Errorf("contactgraph %s: exit %d, stdout %q, stderr %q; want 0 and one usage on stdout", args[0], r.code, r.stdout, r.stderr)
		}
	}
	for _, cmd := range []string{"serve", "token", "cert", "seed", "sync", "receive", "backup"} {
		for _, h := range []string{"-h", "--help"} {
			r := runBinary(t, dir, cmd, h)
			if r.code != 0 || strings.Count(r.stdout, "usage: contactgraph "+cmd) != 1 || !strings.Contains(r.stdout, "\nflags:\n") || r.stderr != "" {
				t.Errorf("contactgraph %s %s: exit %d, stdout %q, stderr %q; want 0 and one usage with the flags on stdout", cmd, h, r.code, r.stdout, r.stderr)
			}
		}
	}
	if r := runBinary(t, dir, "serve", "-h"); !strings.Contains(r.stdout, "-db-timeout duration") || !strings.Contains(r.stdout, "CONTACTGRAPH_DB_TIMEOUT") {
		t.Errorf("serve -h does not show --db-timeout and its variable:\n%s", r.stdout)
	}
	r := runBinary(t, dir, "serve", "--no-such-flag")
	if r.code != 2 || strings.Count(r.stderr, "flag provided but not defined: -no-such-flag") != 1 || strings.Contains(r.stderr, "usage:") || r.stdout != "" {
		t.Errorf("serve --no-such-flag: exit %d, stdout %q, stderr %q; want 2 and the error once, without the usage", r.code, r.stdout, r.stderr)
	}
	r = runBinary(t, dir, "token", "--ttl", "soon")
	if r.code != 2 || strings.Count(r.stderr, `invalid value "soon" for flag -ttl`) != 1 {
		t.Errorf("token --ttl soon: exit %d, stderr %q; want 2 and the error once", r.code, r.stderr)
	}
	r = runBinary(t, dir)
	if r.code != 2 || strings.Count(r.stderr, "usage: contactgraph") != 1 || r.stdout != "" {
		t.Errorf("contactgraph without a command: exit %d, stdout %q, stderr %q; want 2 and the usage on stderr", r.code, r.stdout, r.stderr)
	}
	r = runBinary(t, dir, "frobnicate")
	if r.code != 2 || strings.Count(r.stderr, `unknown command "frobnicate"`) != 1 {
		t.Errorf("contactgraph frobnicate: exit %d, stderr %q", r.code, r.stderr)
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("help and wrong flags created %v", names)
	}
}

var versionRE = regexp.MustCompile(`^contactgraph (\S+) commit ([0-9a-f]{40}|unknown)( \([^)]*\))?( with uncommitted changes)?, go\S+ \S+/\S+\n$`)

// TestCLIVersion: --version prints one line with the module version and
// the commit the binary was built from: the vcs.revision go build stamped
// (go version -m shows it), or else the one given at link time with
// -ldflags "-X main.buildCommit=..." (Go stamps nothing in a git worktree
// or with -buildvcs=false).
func TestCLIVersion(t *testing.T) {
	r := runBinary(t, t.TempDir(), "--version")
	m := versionRE.FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("--version: exit %d, %q; want one line matching %s", r.code, r.stdout, versionRE)
	}
	t.Logf("--version: %s", strings.TrimSpace(r.stdout))
	info, err := exec.Command("go", "version", "-m", serverBin).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	rev := regexp.MustCompile(`(?m)^\s+build\s+vcs\.revision=([0-9a-f]+)$`).FindSubmatch(info)
	switch {
	case rev != nil && m[2] != string(rev[1]):
		t.Errorf("--version names commit %s, the build information %s", m[2], rev[1])
	case rev == nil && m[2] != "unknown":
		t.Errorf("--version names commit %s, the build information none", m[2])
	}
	if *serverFlag != "" {
		return
	}
	head, err := exec.Command("git", "-C", "..", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Logf("no git HEAD (%v): the link-time commit is not checked", err)
		return
	}
	commit := strings.TrimSpace(string(head))
	bin := filepath.Join(t.TempDir(), "contactgraph")
	build := exec.Command("go", "build", "-buildvcs=false", "-ldflags", "-X main.buildCommit="+commit, "-o", bin, "./cmd/contactgraph")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.Contains(string(out), " commit "+commit+",") {
		t.Errorf("a build with -X main.buildCommit=%s prints %q (%v)", commit, out, err)
	}
}

// TestCLIDatabases: token and cert refuse a database that does not exist,
// with a hint and without creating it, unless --create; seed without a
// count is an error; serve refuses a missing directory and a port in use
// with a plain sentence, before creating any file; backup refuses to
// overwrite and points PostgreSQL users to pg_dump.
func TestCLIDatabases(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	for _, args := range [][]string{
		{"token", "--db", missing, "--user", "a@contoso.com"},
		{"cert", "--db", missing},
	} {
		r := runBinary(t, dir, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "the database does not exist") || !strings.Contains(r.stderr, "--create") || r.stdout != "" {
			t.Errorf("%s on a missing database: exit %d, stdout %q, stderr %q; want a refusal with a hint", args[0], r.code, r.stdout, r.stderr)
		}
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Fatalf("a refused token or cert created %v", names)
	}
	r := runBinary(t, dir, "token", "--db", missing, "--create", "--user", "a@contoso.com")
	if r.code != 0 || strings.Count(strings.TrimSpace(r.stdout), ".") != 2 {
		t.Fatalf("token --create: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r := runBinary(t, dir, "cert", "--db", missing); r.code != 0 || !strings.Contains(r.stdout, "BEGIN CERTIFICATE") {
		t.Fatalf("cert on the database token created: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}

	r = runBinary(t, dir, "seed", "--db", missing)
	if r.code != 2 || !strings.Contains(r.stderr, "nothing to create") {
		t.Errorf("seed without a count: exit %d, stderr %q", r.code, r.stderr)
	}

	noDir := filepath.Join(dir, "no", "such", "dir", "cg.db")
	r = runBinary(t, dir, "serve", "--addr", "127.0.0.1:0", "--db", noDir)
	if r.code != 2 || !strings.Contains(r.stderr, "the directory "+filepath.Dir(noDir)+" of the database "+noDir+" does not exist") {
		t.Errorf("serve on a missing directory: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve on a missing directory created some of it: %v", err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	fresh := filepath.Join(dir, "fresh.db")
	r = runBinary(t, dir, "serve", "--addr", ln.Addr().String(), "--db", fresh)
	if r.code != 2 || !strings.Contains(r.stderr, ln.Addr().String()+" is already in use by another program") || strings.Contains(r.stderr, "bind:") {
		t.Errorf("serve on a port in use: exit %d, stderr %q; want one plain sentence", r.code, r.stderr)
	}
	if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve on a port in use created the database first: %v", err)
	}

	out := filepath.Join(dir, "copy.db")
	if r := runBinary(t, dir, "backup", "--db", missing, "--out", out); r.code != 0 {
		t.Fatalf("backup: exit %d, %q", r.code, r.stderr)
	}
	r = runBinary(t, dir, "backup", "--db", missing, "--out", out)
	if r.code != 2 || !strings.Contains(r.stderr, "exists; give a new file to --out") {
		t.Errorf("backup onto an existing file: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runBinary(t, dir, "backup", "--db", filepath.Join(dir, "none.db"), "--out", filepath.Join(dir, "none-copy.db"))
	if r.code != 2 || !strings.Contains(r.stderr, "there is no database") {
		t.Errorf("backup of a missing database: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runBinary(t, dir, "backup", "--db", "postgres://db.example.com/contactgraph", "--out", filepath.Join(dir, "pg.db"))
	if r.code != 2 || !strings.Contains(r.stderr, "pg_dump --format=custom") {
		t.Errorf("backup of a PostgreSQL database: exit %d, stderr %q", r.code, r.stderr)
	}
}
