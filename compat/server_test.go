package compat

// Helpers: build the contactgraph binary from the main module's source, run
// it as a separate process, mint tokens with its CLI and point the official
// Microsoft Graph Go SDK at it.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphcore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// mainModulePath is the module whose ./cmd/contactgraph the tests build.
const mainModulePath = "github.com/contactgraph/contactgraph"

// testTenant is the tenant every token of these tests belongs to.
const testTenant = "contoso"

// testDBEnv, when set, is passed to the server as --db instead of a fresh
// SQLite file per test (for example a PostgreSQL DSN).
const testDBEnv = "CONTACTGRAPH_TEST_DB"

const (
	buildTimeout   = 10 * time.Minute
	startTimeout   = 60 * time.Second
	stopTimeout    = 30 * time.Second
	commandTimeout = 60 * time.Second
)

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// serverBinary builds ./cmd/contactgraph of the main module once per test
// run and returns the path of the binary.
func serverBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := mainModuleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "contactgraph-compat-")
		if err != nil {
			buildErr = err
			return
		}
		buildDir = dir
		bin := filepath.Join(dir, "contactgraph")
		if runtime.GOOS == "windows" {
			bin += ".exe"
		}
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/contactgraph")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build -o %s ./cmd/contactgraph (in %s): %v\n%s", bin, root, err, out)
			return
		}
		buildBin = bin
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// mainModuleRoot walks up from the working directory (the compat package
// directory under go test) to the directory holding the go.mod of
// mainModulePath.
func mainModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && modulePath(data) == mainModulePath {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module %s above the working directory", mainModulePath)
		}
		dir = parent
	}
}

// modulePath returns the path of the module directive of a go.mod file.
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		line = strings.TrimSpace(line)
		rest, ok := strings.CutPrefix(line, "module")
		if !ok || rest == "" || !strings.ContainsAny(rest[:1], " \t\"`") {
			continue
		}
		if i := strings.Index(rest, "//"); i >= 0 {
			rest = rest[:i]
		}
		return strings.Trim(strings.TrimSpace(rest), "\"`")
	}
	return ""
}

// testDB returns the --db value of a test: $CONTACTGRAPH_TEST_DB when set,
// else a new SQLite file in dir. This is the only place that reads it.
func testDB(dir string) string {
	if v := os.Getenv(testDBEnv); v != "" {
		return v
	}
	return filepath.Join(dir, "cg.db")
}

// testServer is one running `contactgraph serve` process.
type testServer struct {
	BaseURL string
	bin     string
	db      string
	dir     string
	output  *lineLog
}

// startServer starts a server on a free port, with args added to serve's
// flags, and stops it (SIGTERM) when the test ends.
func startServer(t *testing.T, args ...string) *testServer {
	t.Helper()
	bin := serverBinary(t)
	dir := t.TempDir()
	s := &testServer{bin: bin, db: testDB(dir), dir: dir}
	s.output = &lineLog{prefix: "stdout: ", watch: "base URL: ", found: make(chan string, 1)}
	stderr := &lineLog{prefix: "stderr: ", shared: s.output}

	// Receivers of the subscription tests run in the test process: http on loopback.
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", s.db, "--allow-http-notifications", "--notification-allow", "127.0.0.1"}, args...)...)
	cmd.Dir = dir
	cmd.Stdout = s.output
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s serve: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	stopped := false
	t.Cleanup(func() {
		if !stopped {
			select {
			case err := <-exited:
				// Crashed or killed from outside while the test ran.
				stopped = true
				t.Errorf("server exited during the test: %v", err)
			default:
			}
		}
		if !stopped {
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				cmd.Process.Kill()
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("server exited with an error (SIGTERM sent at the end of the test): %v", err)
				}
			case <-time.After(stopTimeout):
				cmd.Process.Kill()
				<-exited
				t.Errorf("server did not exit within %v of SIGTERM; killed", stopTimeout)
			}
		}
		if t.Failed() {
			t.Logf("server output:\n%s", s.output.String())
		}
	})

	select {
	case base := <-s.output.found:
		s.BaseURL = strings.TrimRight(strings.TrimSpace(base), "/")
	case err := <-exited:
		stopped = true
		t.Fatalf("server exited before printing its base URL: %v", err)
	case <-time.After(startTimeout):
		t.Fatalf("server printed no %q line within %v", "base URL: ", startTimeout)
	}
	if !strings.HasSuffix(s.BaseURL, "/v1.0") {
		t.Fatalf("base URL %q does not end in /v1.0", s.BaseURL)
	}
	return s
}

// token runs `contactgraph token` against the server's database.
func (s *testServer) token(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	args = append([]string{"token", "--db", s.db, "--tenant", testTenant}, args...)
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Dir = s.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("contactgraph %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	tok := strings.TrimSpace(stdout.String())
	if strings.Count(tok, ".") != 2 || strings.ContainsAny(tok, " \t\r\n") {
		t.Fatalf("contactgraph %s printed %q, want a single JWT", strings.Join(args, " "), stdout.String())
	}
	return tok
}

// delegatedToken mints a token for user upn with the given scopes.
func (s *testServer) delegatedToken(t *testing.T, upn string, scopes ...string) string {
	t.Helper()
	return s.token(t, "--user", upn, "--scopes", strings.Join(scopes, " "))
}

// appToken mints an app-only token with the given application roles.
func (s *testServer) appToken(t *testing.T, app string, roles ...string) string {
	t.Helper()
	return s.token(t, "--app", app, "--roles", strings.Join(roles, " "))
}

// uniqueUPN returns a user principal name in the test tenant that no other
// test (and no earlier run on a shared database) uses.
func uniqueUPN(name string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s-%s@%s.com", name, hex.EncodeToString(b), testTenant)
}

// graphClient is the SDK's GraphServiceClient plus a log of what went over
// the wire.
type graphClient struct {
	*msgraphsdk.GraphServiceClient
	rec *recorder
}

// client returns a GraphServiceClient that sends token to the server. It
// uses the SDK's default middleware (retry, redirect, gzip compression of
// request bodies, parameter name decoding, the /users/me-token-to-replace
// → /me URL replacement, telemetry), plus a recorder at the end of the
// chain that sees exactly what goes over the wire.
func (s *testServer) client(t *testing.T, token string) *graphClient {
	t.Helper()
	rec := &recorder{}
	opts := msgraphsdk.GetDefaultClientOptions()
	middleware := append(msgraphcore.GetDefaultMiddlewaresWithOptions(&opts), khttp.Middleware(rec))
	httpClient := msgraphcore.GetDefaultClient(&opts, middleware...)
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(
		bearerAuth{token: token}, nil, nil, httpClient)
	if err != nil {
		t.Fatalf("NewGraphRequestAdapter: %v", err)
	}
	adapter.SetBaseUrl(s.BaseURL)
	c := &graphClient{GraphServiceClient: msgraphsdk.NewGraphServiceClient(adapter), rec: rec}
	t.Cleanup(func() {
		for _, ex := range rec.exchanges() {
			if ex.reqGzip && ex.status == http.StatusUnsupportedMediaType {
				t.Errorf("server refused a gzip-compressed body with 415 (the SDK then resent it uncompressed): %s %s", ex.method, ex.url)
			}
		}
		if t.Failed() {
			t.Logf("HTTP exchanges of this client:\n%s", rec.dump())
		}
	})
	return c
}

// bearerAuth is a kiota AuthenticationProvider with a fixed bearer token.
type bearerAuth struct{ token string }

func (b bearerAuth) AuthenticateRequest(_ context.Context, req *abstractions.RequestInformation, _ map[string]any) error {
	if req == nil {
		return errors.New("request is nil")
	}
	if req.Headers == nil {
		req.Headers = abstractions.NewRequestHeaders()
	}
	if !req.Headers.ContainsKey("Authorization") {
		req.Headers.Add("Authorization", "Bearer "+b.token)
	}
	return nil
}

// exchange is one HTTP request and its response as seen on the wire.
type exchange struct {
	method, url string
	reqGzip     bool
	reqBody     []byte // decompressed
	status      int
	respHeader  http.Header
	respBody    []byte
	err         error
}

// recorder is the last middleware of the SDK's chain: it records every
// request as sent and every response as received.
type recorder struct {
	mu  sync.Mutex
	log []exchange
}

func (r *recorder) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	ex := exchange{method: req.Method, url: req.URL.String()}
	ex.reqGzip = strings.EqualFold(req.Header.Get("Content-Encoding"), "gzip")
	if req.Body != nil && req.Body != http.NoBody {
		raw, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(raw))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }
		ex.reqBody = raw
		if ex.reqGzip {
			if zr, err := gzip.NewReader(bytes.NewReader(raw)); err == nil {
				if plain, err := io.ReadAll(zr); err == nil {
					ex.reqBody = plain
				}
			}
		}
	}
	resp, err := p.Next(req, i)
	if err != nil {
		ex.err = err
		r.add(ex)
		return resp, err
	}
	ex.status = resp.StatusCode
	ex.respHeader = resp.Header.Clone()
	if resp.Body != nil {
		raw, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(raw))
		ex.respBody = raw
		if rerr != nil {
			ex.err = rerr
		}
	}
	r.add(ex)
	return resp, nil
}

func (r *recorder) add(ex exchange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, ex)
}

func (r *recorder) exchanges() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]exchange(nil), r.log...)
}

// last returns the most recent exchange.
func (r *recorder) last() exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.log) == 0 {
		return exchange{}
	}
	return r.log[len(r.log)-1]
}

func (r *recorder) dump() string {
	var b strings.Builder
	for _, ex := range r.exchanges() {
		b.WriteString(ex.String())
	}
	return b.String()
}

func (ex exchange) String() string {
	var b strings.Builder
	gz := ""
	if ex.reqGzip {
		gz = " [body gzip-compressed]"
	}
	fmt.Fprintf(&b, "%s %s%s\n", ex.method, ex.url, gz)
	if len(ex.reqBody) > 0 {
		fmt.Fprintf(&b, "  > %s\n", clip(ex.reqBody))
	}
	if ex.err != nil {
		fmt.Fprintf(&b, "  < transport error: %v\n", ex.err)
		return b.String()
	}
	fmt.Fprintf(&b, "  < %d %s\n", ex.status, ex.respHeader.Get("Content-Type"))
	if len(ex.respBody) > 0 {
		fmt.Fprintf(&b, "  < %s\n", clip(ex.respBody))
	}
	return b.String()
}

func clip(b []byte) string {
	const max = 4000
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// lineLog collects a process's output line by line; with watch set it
// sends the rest of the first line starting with watch to found.
type lineLog struct {
	prefix string
	watch  string
	found  chan string
	shared *lineLog // write into another lineLog's buffer

	mu      sync.Mutex
	partial []byte
	buf     bytes.Buffer
	seen    bool
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(l.partial[:i]), "\r")
		l.partial = l.partial[i+1:]
		l.line(line)
	}
	return len(p), nil
}

func (l *lineLog) line(line string) {
	if l.shared != nil {
		l.shared.appendLine(l.prefix + line)
	} else {
		l.buf.WriteString(l.prefix + line + "\n")
	}
	if l.watch != "" && !l.seen {
		if rest, ok := strings.CutPrefix(line, l.watch); ok {
			l.seen = true
			l.found <- rest
		}
	}
}

func (l *lineLog) appendLine(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.WriteString(s + "\n")
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String() + string(l.partial)
}

// odataError asserts that err is an *odataerrors.ODataError as the SDK
// returns it for an error response, with the given HTTP status (0: any 4xx)
// and one of the given codes (none: any non-empty code), carrying a
// message and an innerError with a request-id and a date.
func odataError(t *testing.T, err error, what string, status int, codes ...string) *odataerrors.ODataError {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want an error (status %d, code %v)", what, status, codes)
	}
	var oe *odataerrors.ODataError
	if !errors.As(err, &oe) {
		t.Fatalf("%s: got error %T %q, want *odataerrors.ODataError", what, err, describe(err))
	}
	main := oe.GetErrorEscaped()
	if main == nil {
		t.Fatalf("%s: ODataError (status %d) without an error object", what, oe.GetStatusCode())
	}
	code, msg := deref(main.GetCode()), deref(main.GetMessage())
	if main.GetMessage() == nil || msg == "" {
		t.Errorf("%s: error %q (status %d) has no message; the SDK's ODataError.Error() dereferences it and panics", what, code, oe.GetStatusCode())
	} else if s := safeError(err); s != msg {
		t.Errorf("%s: err.Error() = %q, want the message %q", what, s, msg)
	}
	if code == "" {
		t.Errorf("%s: error (status %d) has an empty code", what, oe.GetStatusCode())
	}
	if status != 0 && oe.GetStatusCode() != status {
		t.Errorf("%s: status %d, want %d (code %q, message %q)", what, oe.GetStatusCode(), status, code, msg)
	}
	if status == 0 && (oe.GetStatusCode() < 400 || oe.GetStatusCode() > 499) {
		t.Errorf("%s: status %d, want 4xx (code %q, message %q)", what, oe.GetStatusCode(), code, msg)
	}
	if len(codes) > 0 && !contains(codes, code) {
		t.Errorf("%s: code %q, want %s (status %d, message %q)", what, code, strings.Join(codes, " or "), oe.GetStatusCode(), msg)
	}
	if inner := main.GetInnerError(); inner == nil {
		t.Errorf("%s: error %q has no innerError", what, code)
	} else {
		if deref(inner.GetRequestId()) == "" {
			t.Errorf("%s: innerError has no request-id", what)
		}
		if inner.GetDate() == nil {
			t.Errorf("%s: innerError has no date", what)
		}
	}
	return oe
}

// check fails the test if err is not nil, describing an SDK error in full.
func check(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %s", what, describe(err))
	}
}

// describe formats an error without risking the SDK's panic on an
// ODataError that has no message.
func describe(err error) string {
	if err == nil {
		return "no error"
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		main := oe.GetErrorEscaped()
		if main == nil {
			return fmt.Sprintf("ODataError status %d without an error object", oe.GetStatusCode())
		}
		return fmt.Sprintf("ODataError status %d code %q message %q", oe.GetStatusCode(), deref(main.GetCode()), deref(main.GetMessage()))
	}
	return fmt.Sprintf("%T: %s", err, safeError(err))
}

// safeError returns err.Error(), or a note if it panics.
func safeError(err error) (s string) {
	defer func() {
		if r := recover(); r != nil {
			s = fmt.Sprintf("<err.Error() panicked: %v>", r)
		}
	}()
	return err.Error()
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// pathOf returns the path of a URL string as sent (escaped), for messages.
func pathOf(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexByte(u, '/'); j >= 0 {
			return u[j:]
		}
	}
	return u
}
