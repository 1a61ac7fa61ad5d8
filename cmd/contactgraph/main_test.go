package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is `contactgraph serve` running in-process on a free port.
type server struct {
	base   string
	out    *syncBuffer
	errs   *syncBuffer
	db     string
	cancel context.CancelFunc
	done   chan error
}

func startServe(t *testing.T, args ...string) *server {
	t.Helper()
	db := filepath.Join(t.TempDir(), "cg.db")
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{out: &syncBuffer{}, errs: &syncBuffer{}, db: db, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan string, 1)
	m := &Main{Stdout: s.out, Stderr: s.errs, Getenv: func(string) string { return "" }, Ready: func(b string) { ready <- b }}
	go func() {
		s.done <- m.Run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, args...))
	}()
	select {
	case s.base = <-ready:
	case err := <-s.done:
		t.Fatalf("serve stopped: %v\n%s", err, s.errs.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

func (s *server) stop(t *testing.T) {
	t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve ended with %v", err)
		}
		s.done <- nil // later calls return at once
	case <-time.After(30 * time.Second):
		t.Error("serve did not shut down")
	}
}

// bash runs a script with bash in dir and returns its output.
func bash(t *testing.T, dir, script string, env ...string) string {
	t.Helper()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed to run the README's commands as a user would")
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("script failed: %v\n--- script\n%s\n--- output\n%s", err, script, out)
	}
	return string(out)
}

// TestServePrintsWorkingCurl starts serve as a new user would and runs the
// curl line it prints, as printed.
func TestServePrintsWorkingCurl(t *testing.T) {
	s := startServe(t)
	out := s.out.String()
	if !strings.Contains(out, "base URL: "+s.base+"\n") {
		t.Fatalf("no base URL line in:\n%s", out)
	}
	lines := strings.Split(out, "\n")
	var curl string
	for i, l := range lines {
		if l == "try:" && i+1 < len(lines) {
			curl = lines[i+1]
		}
	}
	if !strings.HasPrefix(curl, "curl ") {
		t.Fatalf("no curl line in:\n%s", out)
	}
	body := bash(t, t.TempDir(), curl+" -sf")
	var page struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil || page.Value == nil {
		t.Fatalf("the printed curl line answered %q", body)
	}
}

var walkthroughRE = regexp.MustCompile("(?s)<!-- walkthrough:begin -->\\s*```sh\\n(.*?)```\\s*<!-- walkthrough:end -->")

// TestReadmeWalkthrough runs the README's curl walkthrough, as pasted,
// against a real server, and checks what it shows.
func TestReadmeWalkthrough(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := walkthroughRE.FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no walkthrough block")
	}
	s := startServe(t)
	tok := mintToken(t, s.db, "--tenant", "contoso", "--user", "demo@contoso.com", "--scopes", "Contacts.ReadWrite")
	out := bash(t, "../..", string(m[1]), "BASE="+s.base, "TOKEN="+tok)
	for _, want := range []string{`"displayName":"Ada Lovelace"`, `"@odata.deltaLink"`, `"jobTitle":"Analyst"`, `"@removed":{"reason":"deleted"}`} {
		if !strings.Contains(out, want) {
			t.Errorf("the walkthrough's output lacks %s:\n%s", want, out)
		}
	}
	// The first round came in pages of two: three pages for two contacts
	// is impossible, one page would mean Prefer was ignored.
	if n := strings.Count(out, `"@odata.nextLink"`); n != 0 && n != 1 {
		t.Errorf("%d nextLinks for two contacts in pages of two", n)
	}
}

var orgRE = regexp.MustCompile("(?s)<!-- orgcontacts:begin -->\\s*```sh\\n(.*?)```\\s*<!-- orgcontacts:end -->")

// TestReadmeOrgContacts runs the README's org contact commands as pasted.
func TestReadmeOrgContacts(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := orgRE.FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no org contacts block")
	}
	s := startServe(t)
	admin := mintToken(t, s.db, "--tenant", "contoso", "--app", "hr-sync", "--roles", "Directory.ReadWrite.All")
	out := bash(t, "../..", string(m[1]), "BASE="+s.base, "ADMIN="+admin)
	for _, want := range []string{`"displayName":"Dana Lee-Park","jobTitle":null}`, `"@removed":{"reason":"changed"}`, `"deletedDateTime":"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the org contact commands' output lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, `"mail":"dana@fabrikam.com"}`) {
		t.Errorf("return=minimal returned the unchanged mail:\n%s", out)
	}
	if !strings.HasSuffix(strings.TrimSpace(out), "1") {
		t.Errorf("after the restore, $count should be 1:\n%s", out)
	}
}

func mintToken(t *testing.T, db string, args ...string) string {
	t.Helper()
	var out syncBuffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	if err := m.Run(context.Background(), append([]string{"token", "--db", db}, args...)); err != nil {
		t.Fatalf("token: %v: %s", err, out.String())
	}
	return strings.TrimSpace(out.String())
}

// TestTokenCommand: tokens from the token command work on a server using
// the same database, for users and for apps, and bad flags are refused.
func TestTokenCommand(t *testing.T) {
	s := startServe(t)
	app := mintToken(t, s.db, "--tenant", "contoso", "--app", "backup", "--roles", "Contacts.Read User.ReadWrite.All")
	req, _ := http.NewRequest(http.MethodGet, s.base+"/users", nil)
	req.Header.Set("Authorization", "Bearer "+app)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /users with an app token: %d", resp.StatusCode)
	}
	for _, args := range [][]string{{"--tenant", "t"}, {"--user", "a@b.c", "--app", "x"}, {"--app", "x"}} {
		m := &Main{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, Getenv: func(string) string { return "" }}
		if err := m.Run(context.Background(), append([]string{"token", "--db", s.db}, args...)); err == nil {
			t.Errorf("token %v must fail", args)
		}
	}
}

// TestServeTLS: --tls serves HTTPS with the certificate cert prints.
func TestServeTLS(t *testing.T) {
	s := startServe(t, "--tls")
	if !strings.HasPrefix(s.base, "https://") {
		t.Fatalf("base URL %s", s.base)
	}
	var pemOut syncBuffer
	m := &Main{Stdout: &pemOut, Stderr: &pemOut, Getenv: func(string) string { return "" }}
	if err := m.Run(context.Background(), []string{"cert", "--db", s.db}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cg.pem"), []byte(pemOut.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	tok := mintToken(t, s.db, "--user", "demo@contoso.com")
	out := bash(t, dir, `curl -sf --cacert cg.pem -H "Authorization: Bearer $TOKEN" "$BASE/me/contactFolders"`, "TOKEN="+tok, "BASE="+s.base)
	if !strings.Contains(out, `"value":[]`) {
		t.Fatalf("over HTTPS: %s", out)
	}
}

func TestEnvironmentConfiguration(t *testing.T) {
	env := map[string]string{"CONTACTGRAPH_ADDR": "127.0.0.1:9", "CONTACTGRAPH_MAX_PAGE_SIZE": "50", "CONTACTGRAPH_RETENTION": "48h"}
	m := &Main{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, Getenv: func(k string) string { return env[k] }}
	cfg, err := m.serveFlags([]string{"--max-page-size", "20"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9" || cfg.MaxPageSize != 20 || cfg.Retention != 48*time.Hour || cfg.DB != "contactgraph.db" {
		t.Fatalf("defaults, then environment, then flags: %+v", cfg)
	}
	for _, bad := range [][]string{{"--cert", "x"}, {"--max-page-size", "0"}, {"--jwks-url", "http://x"}, {"extra"}} {
		if _, err := m.serveFlags(bad); err == nil {
			t.Errorf("serve %v must be refused", bad)
		}
	}
}

var filterRE = regexp.MustCompile("(?s)<!-- filter:begin -->\\s*```sh\\n(.*?)```\\s*<!-- filter:end -->")

// TestReadmeFilter runs the README's list query commands as pasted.
func TestReadmeFilter(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := filterRE.FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no filter block")
	}
	s := startServe(t)
	tok := mintToken(t, s.db, "--tenant", "contoso", "--user", "demo@contoso.com", "--scopes", "Contacts.ReadWrite")
	admin := mintToken(t, s.db, "--tenant", "contoso", "--app", "hr-sync", "--roles", "Directory.ReadWrite.All")
	out := bash(t, "../..", string(m[1]), "BASE="+s.base, "TOKEN="+tok, "ADMIN="+admin)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 8 {
		t.Fatalf("%d lines of output, want 8:\n%s", len(lines), out)
	}
	for i, want := range [][]string{
		{`"value":[{"@odata.etag":`, `"displayName":"Ada Lovelace"}]}`},
		{`"value":[{"@odata.etag":`, `"displayName":"Ada Lovelace"}]}`},
		{`"@odata.count":2,`, `"displayName":"Grace Hopper"}`, `"displayName":"Alan Turing"}]}`},
		{`"displayName":"Ada Lovelace"}`, `"displayName":"Alan Turing"}]`, `"@odata.nextLink":"` + s.base + `/me/contactFolders/`, `?$orderby=displayName&$select=displayName&$top=2&$skiptoken=`},
		{`"displayName":"Grace Hopper"}]}`},
		{`"code":"ErrorInvalidUrlQueryFilter","message":"The query filter contains one or more invalid nodes."`},
		{`"displayName":"Dana Lee","mail":"dana@fabrikam.com"}]}`},
		{`"@odata.count":1,`, `"displayName":"Dana Lee"}]}`},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d lacks %s:\n%s", i+1, w, lines[i])
			}
		}
	}
	if strings.Contains(out, `\u0026`) {
		t.Errorf("a link with an escaped &:\n%s", out)
	}
	if i, j := strings.Index(lines[2], "Grace"), strings.Index(lines[2], "Alan"); i > j {
		t.Errorf("$orderby=displayName desc: Grace before Alan:\n%s", lines[2])
	}
}
