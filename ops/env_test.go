package ops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/auth"
	"github.com/contactgraph/contactgraph/graphapi"
	"github.com/contactgraph/contactgraph/ops"
	"github.com/contactgraph/contactgraph/sqlite"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// env is a server as serve wires it, on loopback with a fresh SQLite
// file: the timed store, the Observer, the probes and /metrics in front.
type env struct {
	t       *testing.T
	srv     *httptest.Server
	db      *sqlite.DB
	store   *ops.Store
	metrics *ops.Metrics
	local   *auth.Local
	clock   *clock
}

// clock is the API's clock, which a test moves (delta expiry).
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "cg.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, db: db, metrics: ops.NewMetrics(), clock: &clock{now: time.Now()}}
	e.store = e.metrics.InstrumentStore(db)
	if err := e.metrics.WatchPools(db.Pools); err != nil {
		t.Fatal(err)
	}
	if err := e.metrics.WatchOutbox(db.OutboxDepth, time.Second); err != nil {
		t.Fatal(err)
	}
	if e.local, err = auth.NewLocal(ctx, e.store, auth.LocalOptions{}); err != nil {
		t.Fatal(err)
	}
	api, err := graphapi.New(graphapi.Config{Store: e.store, Auth: e.local, Observer: e.metrics, Emulator: true, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(ops.Handler(api, &ops.Health{Ready: db.Ready}, e.metrics.Handler()))
	t.Cleanup(e.srv.Close)
	return e
}

// token mints a delegated token.
func (e *env) token(upn string, scopes ...string) string {
	e.t.Helper()
	tok, err := e.local.Mint(auth.MintOptions{TenantName: "contoso", UPN: upn, Scopes: scopes})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// call sends a request and returns its status and decoded JSON body
// (nil when the body is not a JSON object).
func (e *env) call(method, path, token string, body any, hdr ...string) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	url := path
	if !strings.HasPrefix(path, "http") {
		url = e.srv.URL + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// expect is call, failing the test unless the status is want.
func (e *env) expect(want int, method, path, token string, body any, hdr ...string) map[string]any {
	e.t.Helper()
	status, m := e.call(method, path, token, body, hdr...)
	if status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %v", method, path, status, want, m)
	}
	return m
}

// round follows a delta round to its deltaLink.
func (e *env) round(link, token string, hdr ...string) string {
	e.t.Helper()
	for {
		m := e.expect(200, http.MethodGet, link, token, nil, hdr...)
		if dl, ok := m["@odata.deltaLink"].(string); ok {
			return dl
		}
		link = m["@odata.nextLink"].(string)
	}
}

// scrape is one answer of /metrics, parsed.
type scrape map[string]*dto.MetricFamily

func scrapeURL(t *testing.T, url string) (scrape, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics is not the text format: %v\n%s", err, body)
	}
	return fams, string(body)
}

// metric returns the metric of family name whose labels are exactly
// labels (name, value pairs), or nil.
func (s scrape) metric(name string, labels ...string) *dto.Metric {
	f := s[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels)/2 {
			continue
		}
		for _, l := range m.Label {
			found := false
			for i := 0; i+1 < len(labels); i += 2 {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m
	}
	return nil
}

// value returns the value of a counter or gauge, the sample count of a
// histogram, or -1 when the series is absent.
func (s scrape) value(name string, labels ...string) float64 {
	m := s.metric(name, labels...)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return -1
}

// sum adds the values of every series of a counter family.
func (s scrape) sum(name string) float64 {
	var n float64
	if f := s[name]; f != nil {
		for _, m := range f.Metric {
			n += m.GetCounter().GetValue()
		}
	}
	return n
}

// waitFor polls cond until it holds, for at most 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var _ contactgraph.Store = (*ops.Store)(nil)
