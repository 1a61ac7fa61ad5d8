package ops_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph/ops"
	_ "modernc.org/sqlite"
)

// probe GETs an endpoint and returns its status, body and Retry-After.
func probe(t *testing.T, method, url string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Retry-After")
}

// logLines is a JSON log a test reads back.
type logLines struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// messages returns the msg of each line.
func (l *logLines) messages(t *testing.T) []string {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	sc := bufio.NewScanner(strings.NewReader(l.b.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m["msg"].(string))
	}
	return out
}

// TestReadinessSQLite: /readyz follows the store: 503 with Retry-After
// while the database cannot answer or lacks its migrations, 200 again
// once it can, without a restart; 503 for good once the store is closed.
// /healthz answers 200 throughout. A change is logged once, not at every
// probe.
func TestReadinessSQLite(t *testing.T) {
	e := newEnv(t)
	var logs logLines
	h := &ops.Health{Ready: e.db.Ready, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	srv := httptest.NewServer(ops.Handler(nil, h, nil))
	defer srv.Close()
	live := func() {
		t.Helper()
		if st, body, _ := probe(t, http.MethodGet, srv.URL+ops.LivePath); st != 200 || body != "ok\n" {
			t.Fatalf("/healthz: %d %q", st, body)
		}
	}
	ready := func(want int, wantBody string) {
		t.Helper()
		st, body, ra := probe(t, http.MethodGet, srv.URL+ops.ReadyPath)
		if st != want || !strings.Contains(body, wantBody) || (want == 503) != (ra == "1") {
			t.Fatalf("/readyz: %d %q Retry-After %q, want %d %q", st, body, ra, want, wantBody)
		}
		live()
	}
	ready(200, "ok")

	// A second connection takes the database away from under the store:
	// the schema's version table, then one migration.
	other, err := sql.Open("sqlite", "file:"+e.db.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := other.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	exec(`ALTER TABLE schema_migrations RENAME TO schema_migrations_away`)
	ready(503, "not ready: The database does not answer.")
	ready(503, "not ready")
	exec(`ALTER TABLE schema_migrations_away RENAME TO schema_migrations`)
	ready(200, "ok")
	exec(`DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)`)
	ready(503, "this server needs version")
	exec(`INSERT INTO schema_migrations (version) SELECT MAX(version) + 1 FROM schema_migrations`)
	ready(200, "ok")
	if got, want := strings.Join(logs.messages(t), ","), "not ready,ready again,not ready,ready again"; got != want {
		t.Errorf("logged %s, want %s", got, want)
	}

	if st, _, _ := probe(t, http.MethodHead, srv.URL+ops.ReadyPath); st != 200 {
		t.Errorf("HEAD /readyz: %d", st)
	}
	if st, _, _ := probe(t, http.MethodPost, srv.URL+ops.ReadyPath); st != 405 {
		t.Errorf("POST /readyz: %d", st)
	}
	if st, _, _ := probe(t, http.MethodGet, srv.URL+"/v1.0/me"); st != 404 {
		t.Errorf("a listener of the endpoints alone: GET /v1.0/me answered %d", st)
	}

	e.db.Close()
	ready(503, "not ready")
}

// TestReadinessTimeout: a check that does not end in time is a failure:
// /readyz answers 503 after Health.Timeout, never hangs.
func TestReadinessTimeout(t *testing.T) {
	stuck := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	srv := httptest.NewServer(ops.Handler(nil, &ops.Health{Ready: stuck, Timeout: 50 * time.Millisecond}, nil))
	defer srv.Close()
	start := time.Now()
	if st, body, _ := probe(t, http.MethodGet, srv.URL+ops.ReadyPath); st != 503 || !strings.HasPrefix(body, "not ready") {
		t.Fatalf("/readyz: %d %q", st, body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("/readyz took %v", d)
	}
}
