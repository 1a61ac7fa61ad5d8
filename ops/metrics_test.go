package ops_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/auth"
	"github.com/contactgraph/contactgraph/client"
	"github.com/contactgraph/contactgraph/notify"
	"github.com/contactgraph/contactgraph/ops"
	dto "github.com/prometheus/client_model/go"
)

// TestMetricsAfterRequests drives a real server over HTTP (contacts,
// delta rounds, refused tokens, a change notification) and checks the
// names and values /metrics then shows, and that no label value holds
// tenant data.
func TestMetricsAfterRequests(t *testing.T) {
	e := newEnv(t)
	upn := "ada@contoso.com"
	tok := e.token(upn, "Contacts.ReadWrite")
	calls := 0
	call := func(want int, method, path, token string, body any, hdr ...string) map[string]any {
		t.Helper()
		calls++
		return e.expect(want, method, path, token, body, hdr...)
	}
	var ids []string
	for _, n := range []string{"Ada", "Grace", "Alan"} {
		ids = append(ids, call(201, http.MethodPost, "/v1.0/me/contacts", tok, map[string]any{"givenName": n})["id"].(string))
	}
	call(200, http.MethodGet, "/v1.0/me/contacts/"+ids[0], tok, nil)
	pages := []string{"Prefer", "odata.maxpagesize=2"}
	calls += 2 // the round's two pages
	dl := e.round("/v1.0/me/contacts/delta", tok, pages...)
	call(204, http.MethodDelete, "/v1.0/me/contacts/"+ids[2], tok, nil)
	call(404, http.MethodGet, "/v1.0/me/contacts/"+ids[2], tok, nil)
	calls++
	dl = e.round(dl, tok)

	call(400, http.MethodGet, "/v1.0/me/contacts/delta?$deltatoken=garbage", tok, nil)
	next := call(200, http.MethodGet, "/v1.0/me/contacts/delta", tok, nil, "Prefer", "odata.maxpagesize=1")["@odata.nextLink"].(string)
	e.clock.Advance(2 * time.Hour) // past the round lifetime
	call(410, http.MethodGet, next, tok, nil)
	ctl, err := e.local.Mint(auth.MintOptions{TenantName: "contoso", AppName: "harness", Roles: []string{contactgraph.PermEmulatorControl}})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	call(204, http.MethodPost, "/emulator/resync", ctl, nil)
	e.clock.Advance(time.Second)
	call(410, http.MethodGet, dl, tok, nil)

	// A change notification, delivered by a sender on the timed store.
	got := make(chan client.Notifications, 1)
	hook := httptest.NewServer(&client.Receiver{ClientState: "cs", Handle: func(_ context.Context, n client.Notifications) error {
		got <- n
		return nil
	}})
	defer hook.Close()
	call(201, http.MethodPost, "/v1.0/subscriptions", tok, map[string]any{
		"changeType": "created", "notificationUrl": hook.URL, "resource": "me/contacts",
		"expirationDateTime": e.clock.Now().Add(time.Hour).Format(time.RFC3339), "clientState": "cs",
	})
	sender := &notify.Sender{Store: e.store, Owner: "test"}
	if err := e.metrics.WatchSender(sender); err != nil {
		t.Fatal(err)
	}
	ids = append(ids, call(201, http.MethodPost, "/v1.0/me/contacts", tok, map[string]any{"givenName": "Edsger"})["id"].(string))

	metrics := e.srv.URL + ops.MetricsPath
	var s scrape
	waitFor(t, "every request counted", func() bool {
		s, _ = scrapeURL(t, metrics)
		return s.sum("contactgraph_http_requests_total") == float64(calls)
	})
	if v := s.value("contactgraph_notification_outbox_depth"); v != 1 {
		t.Errorf("outbox depth %v before delivery, want 1", v)
	}
	if n, err := sender.Once(context.Background()); n != 1 || err != nil {
		t.Fatalf("sender: %d, %v", n, err)
	}
	<-got
	s, text := scrapeURL(t, metrics)

	want := []struct {
		name   string
		labels []string
		value  float64
	}{
		{"contactgraph_http_requests_total", []string{"route", "contacts", "method", "POST", "status", "201"}, 4},
		{"contactgraph_http_requests_total", []string{"route", "contact", "method", "GET", "status", "200"}, 1},
		{"contactgraph_http_requests_total", []string{"route", "contact", "method", "GET", "status", "404"}, 1},
		{"contactgraph_http_requests_total", []string{"route", "contacts.delta", "method", "GET", "status", "200"}, 4},
		{"contactgraph_http_requests_total", []string{"route", "contacts.delta", "method", "GET", "status", "400"}, 1},
		{"contactgraph_http_requests_total", []string{"route", "contacts.delta", "method", "GET", "status", "410"}, 2},
		{"contactgraph_http_requests_total", []string{"route", "emulator", "method", "POST", "status", "204"}, 1},
		{"contactgraph_http_requests_total", []string{"route", "subscriptions", "method", "POST", "status", "201"}, 1},
		{"contactgraph_http_request_duration_seconds", []string{"route", "contacts", "method", "POST"}, 4},
		{"contactgraph_http_request_duration_seconds", []string{"route", "contacts.delta", "method", "GET"}, 7},
		{"contactgraph_delta_rounds_total", []string{"collection", "contacts", "round", "first"}, 2},
		{"contactgraph_delta_rounds_total", []string{"collection", "contacts", "round", "incremental"}, 1},
		{"contactgraph_delta_rounds_total", []string{"collection", "orgContacts", "round", "first"}, 0},
		{"contactgraph_delta_pages_total", []string{"collection", "contacts", "round", "first"}, 3},
		{"contactgraph_delta_pages_total", []string{"collection", "contacts", "round", "incremental"}, 1},
		{"contactgraph_delta_tokens_refused_total", []string{"collection", "contacts", "reason", "malformed"}, 1},
		{"contactgraph_delta_tokens_refused_total", []string{"collection", "contacts", "reason", "expired"}, 1},
		{"contactgraph_delta_tokens_refused_total", []string{"collection", "contacts", "reason", "resync"}, 1},
		{"contactgraph_delta_tokens_refused_total", []string{"collection", "contactFolders", "reason", "resync"}, 0},
		{"contactgraph_store_operation_duration_seconds", []string{"operation", "CreateContact", "result", "ok"}, 4},
		{"contactgraph_store_operation_duration_seconds", []string{"operation", "Contact", "result", "ok"}, 1},
		{"contactgraph_store_operation_duration_seconds", []string{"operation", "Contact", "result", "not_found"}, 1},
		{"contactgraph_store_operation_duration_seconds", []string{"operation", "DeleteContact", "result", "ok"}, 1},
		{"contactgraph_store_operation_duration_seconds", []string{"operation", "ClaimNotifications", "result", "ok"}, 1},
		{"contactgraph_store_operation_duration_seconds", []string{"operation", "AckNotifications", "result", "ok"}, 1},
		{"contactgraph_db_pool_max_open_connections", []string{"pool", "write"}, 1},
		{"contactgraph_db_pool_closed_total", []string{"pool", "read", "reason", "max_lifetime"}, 0},
		{"contactgraph_notification_outbox_depth", nil, 0},
		{"contactgraph_notifications_delivered_total", nil, 1},
		{"contactgraph_notification_posts_failed_total", nil, 0},
		{"contactgraph_notifications_retried_total", nil, 0},
		{"contactgraph_notifications_dropped_total", nil, 0},
		{"contactgraph_notification_delivery_latency_seconds", nil, 1},
	}
	for _, w := range want {
		if v := s.value(w.name, w.labels...); v != w.value {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, v, w.value)
		}
	}
	// Present, whatever their values.
	for _, name := range []string{"contactgraph_db_pool_open_connections", "contactgraph_db_pool_in_use_connections",
		"contactgraph_db_pool_idle_connections", "contactgraph_db_pool_wait_count_total", "contactgraph_db_pool_wait_duration_seconds_total",
		"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes",
		"promhttp_metric_handler_requests_total"} {
		if s[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if s.value("contactgraph_db_pool_max_open_connections", "pool", "read") < 1 {
		t.Errorf("no read pool")
	}
	for name, typ := range map[string]dto.MetricType{
		"contactgraph_http_request_duration_seconds":         dto.MetricType_HISTOGRAM,
		"contactgraph_store_operation_duration_seconds":      dto.MetricType_HISTOGRAM,
		"contactgraph_notification_delivery_latency_seconds": dto.MetricType_HISTOGRAM,
		"contactgraph_http_requests_total":                   dto.MetricType_COUNTER,
		"contactgraph_notification_outbox_depth":             dto.MetricType_GAUGE,
	} {
		if s[name].GetType() != typ {
			t.Errorf("%s is a %v, want %v", name, s[name].GetType(), typ)
		}
	}

	// No tenant data in any label value.
	tid := contactgraph.TenantID("contoso")
	secrets := append([]string{tid, upn, "contoso", contactgraph.UserID(tid, upn), contactgraph.AppID(tid, "harness"), hook.URL}, ids...)
	for _, f := range s {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				for _, x := range secrets {
					if strings.Contains(l.GetValue(), x) {
						t.Errorf("%s has label %s=%q, which holds %q", f.GetName(), l.GetName(), l.GetValue(), x)
					}
				}
			}
		}
	}
	if strings.Contains(text, tid) {
		t.Errorf("the scrape holds the tenant id")
	}
}

// TestMetricsRegistries: two Metrics do not share a registry, and each
// counts only what it observed.
func TestMetricsRegistries(t *testing.T) {
	a, b := newEnv(t), newEnv(t)
	tok := a.token("ada@contoso.com", "Contacts.Read")
	a.expect(200, http.MethodGet, "/v1.0/me/contacts", tok, nil)
	waitFor(t, "the request counted", func() bool {
		s, _ := scrapeURL(t, a.srv.URL+ops.MetricsPath)
		return s.sum("contactgraph_http_requests_total") == 1
	})
	s, _ := scrapeURL(t, b.srv.URL+ops.MetricsPath)
	if n := s.sum("contactgraph_http_requests_total"); n != 0 {
		t.Errorf("the other server counted %v requests", n)
	}
}
