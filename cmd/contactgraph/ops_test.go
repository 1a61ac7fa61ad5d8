package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph/auth"
	"github.com/contactgraph/contactgraph/client"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// get sends a GET (with a token when not empty) and returns the status and body.
func get(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// scrapeMetrics reads a /metrics answer into values keyed
// name{label="value",...} (labels sorted); a histogram gives its count.
func scrapeMetrics(t *testing.T, url string) map[string]float64 {
	t.Helper()
	st, body := get(t, url, "")
	if st != 200 {
		t.Fatalf("GET %s: %d %s", url, st, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.Metric {
			var ls []string
			for _, l := range m.Label {
				ls = append(ls, l.GetName()+`="`+l.GetValue()+`"`)
			}
			sort.Strings(ls)
			key := name
			if len(ls) > 0 {
				key += "{" + strings.Join(ls, ",") + "}"
			}
			switch {
			case m.Counter != nil:
				out[key] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[key] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[key] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

var metricsLineRE = regexp.MustCompile(`(?m)^metrics: (http://\S+)$`)

// TestServeOperations: serve with --metrics-addr and --log-format json.
// The probes answer on both listeners, /metrics only on its own; after
// real requests and a delivered change notification the metrics hold
// their values; every log line is JSON, one a request, with no token
// or user name in it.
func TestServeOperations(t *testing.T) {
	s := startServe(t, "--emulator", "--metrics-addr", "127.0.0.1:0", "--log-format", "json")
	mm := metricsLineRE.FindStringSubmatch(s.out.String())
	if mm == nil {
		t.Fatalf("serve printed no metrics line:\n%s", s.out.String())
	}
	metricsURL := mm[1]
	root := strings.TrimSuffix(s.base, "/v1.0")
	opsRoot := strings.TrimSuffix(metricsURL, "/metrics")
	for _, base := range []string{root, opsRoot} {
		for _, path := range []string{"/healthz", "/readyz"} {
			if st, body := get(t, base+path, ""); st != 200 || string(body) != "ok\n" {
				t.Errorf("GET %s%s: %d %q", base, path, st, body)
			}
		}
	}
	if st, _ := get(t, root+"/metrics", ""); st != http.StatusBadRequest {
		t.Errorf("/metrics on the main listener with --metrics-addr: %d, want the API's 400", st)
	}

	upn := "ada.lovelace@contoso.com"
	tok := mintToken(t, s.db, "--tenant", "contoso", "--user", upn, "--scopes", "Contacts.ReadWrite")
	got := make(chan client.Notifications, 1)
	hook := httptest.NewServer(&client.Receiver{ClientState: "cs", Handle: func(_ context.Context, n client.Notifications) error {
		got <- n
		return nil
	}})
	defer hook.Close()
	post := func(path string, body any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, s.base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: %d", path, resp.StatusCode)
		}
	}
	post("/subscriptions", map[string]any{"changeType": "created", "notificationUrl": hook.URL, "resource": "me/contacts",
		"expirationDateTime": time.Now().Add(time.Hour).Format(time.RFC3339), "clientState": "cs"})
	post("/me/contacts", map[string]any{"givenName": "Secretname"})
	if st, _ := get(t, s.base+"/me/contacts", tok); st != 200 {
		t.Fatalf("GET /me/contacts: %d", st)
	}
	if st, _ := get(t, s.base+"/me/contacts/delta", tok); st != 200 {
		t.Fatalf("GET /me/contacts/delta: %d", st)
	}
	if st, _ := get(t, s.base+"/me/contacts/delta?$deltatoken=nope", tok); st != 400 {
		t.Fatalf("a garbled deltatoken: %d", st)
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no notification within 10 s")
	}

	var m map[string]float64
	waitFor(t, "the delivery and every request counted", func() bool {
		m = scrapeMetrics(t, metricsURL)
		return m["contactgraph_notifications_delivered_total"] == 1 && m["contactgraph_notification_outbox_depth"] == 0 && // acknowledged
			m[`contactgraph_http_requests_total{method="GET",route="contacts.delta",status="400"}`] == 1
	})
	for key, want := range map[string]float64{
		`contactgraph_http_requests_total{method="POST",route="subscriptions",status="201"}`:        1,
		`contactgraph_http_requests_total{method="POST",route="contacts",status="201"}`:             1,
		`contactgraph_http_requests_total{method="GET",route="contacts",status="200"}`:              1,
		`contactgraph_http_requests_total{method="GET",route="contacts.delta",status="200"}`:        1,
		`contactgraph_http_request_duration_seconds{method="GET",route="contacts"}`:                 1,
		`contactgraph_delta_rounds_total{collection="contacts",round="first"}`:                      1,
		`contactgraph_delta_tokens_refused_total{collection="contacts",reason="malformed"}`:         1,
		`contactgraph_store_operation_duration_seconds{operation="CreateContact",result="ok"}`:      1,
		`contactgraph_store_operation_duration_seconds{operation="CreateSubscription",result="ok"}`: 1,
		`contactgraph_notification_delivery_latency_seconds`:                                        1,
		`contactgraph_notification_posts_failed_total`:                                              0,
		`contactgraph_notification_outbox_depth`:                                                    0,
		`contactgraph_db_pool_max_open_connections{pool="write"}`:                                   1,
	} {
		if v, ok := m[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}
	for _, key := range []string{"go_goroutines", "process_cpu_seconds_total", `contactgraph_db_pool_open_connections{pool="read"}`} {
		if _, ok := m[key]; !ok {
			t.Errorf("no %s", key)
		}
	}
	if m[`contactgraph_store_operation_duration_seconds{operation="ClaimNotifications",result="ok"}`] < 1 {
		t.Error("the sender's store calls are not timed")
	}

	// The logs: JSON, one line a request, nothing personal.
	s.stop(t)
	var requests []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s.errs.String()))
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("a log line is not JSON: %q", sc.Text())
		}
		if l["msg"] == "request" {
			requests = append(requests, l)
		}
	}
	var routes []string
	for _, l := range requests {
		routes = append(routes, l["route"].(string))
		if l["route"] == "unmatched" {
			continue // GET /metrics on the main listener: no token
		}
		if l["tenant-id"] == "" || l["caller"] != "delegated" || l["request-id"] == "" {
			t.Errorf("request line %v", l)
		}
	}
	if want := []string{"unmatched", "subscriptions", "contacts", "contacts", "contacts.delta", "contacts.delta"}; !slices.Equal(routes, want) {
		t.Errorf("request lines for %v, want %v", routes, want)
	}
	for _, secret := range []string{tok, upn, "Secretname", hook.URL, "/me/contacts"} {
		if strings.Contains(s.errs.String(), secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

// TestServeOpsFlags: defaults, then environment, then flags; bad values
// refused.
func TestServeOpsFlags(t *testing.T) {
	env := map[string]string{"CONTACTGRAPH_LOG_FORMAT": "json", "CONTACTGRAPH_LOG_LEVEL": "warn",
		"CONTACTGRAPH_METRICS_ADDR": "127.0.0.1:9090", "CONTACTGRAPH_CLOCK_SKEW": "5s"}
	m := &Main{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, Getenv: func(k string) string { return env[k] }}
	cfg, err := m.serveFlags([]string{"--log-level", "debug"})
	if err != nil {
		t.Fatal(err)
	}
	if o := cfg.Ops; o.LogFormat != "json" || o.LogLevel != "debug" || o.MetricsAddr != "127.0.0.1:9090" || o.ClockSkew != 5*time.Second {
		t.Fatalf("environment, then flags: %+v", o)
	}
	m.Getenv = func(string) string { return "" }
	if cfg, err = m.serveFlags(nil); err != nil || cfg.Ops != (opsConfig{LogFormat: "text", LogLevel: "info", ClockSkew: auth.DefaultLeeway}) {
		t.Fatalf("defaults: %+v, %v", cfg.Ops, err)
	}
	for _, bad := range [][]string{{"--log-format", "xml"}, {"--log-level", "loud"}, {"--clock-skew", "-1s"}} {
		if _, err := m.serveFlags(bad); err == nil {
			t.Errorf("serve %v must be refused", bad)
		}
	}
}

// TestServeClockSkew: a token is accepted until --clock-skew after its
// expiry (a minute by default, so a --ttl 1s token lives about a minute),
// and not a moment past it with --clock-skew 0.
func TestServeClockSkew(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
	}{
		{nil, 200},
		{[]string{"--clock-skew", "10s"}, 401},
		{[]string{"--clock-skew", "0"}, 401},
	} {
		s := startServe(t, c.args...)
		store, err := openStore(context.Background(), s.db, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		l, err := auth.NewLocal(context.Background(), store, auth.LocalOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Expired 20 s ago.
		tok, err := l.Mint(auth.MintOptions{TenantName: "contoso", UPN: "ada@contoso.com", Scopes: []string{"Contacts.Read"},
			TTL: time.Second, Now: time.Now().Add(-21 * time.Second)})
		store.Close()
		if err != nil {
			t.Fatal(err)
		}
		if st, body := get(t, s.base+"/me/contacts", tok); st != c.want {
			t.Errorf("serve %v: a token expired 20 s ago: %d %s, want %d", c.args, st, body, c.want)
		}
		s.stop(t)
	}
}
