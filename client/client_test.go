package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

// script serves canned answers in order: the failures a real server can
// only produce on demand.
func script(t *testing.T, answers ...func(w http.ResponseWriter, r *http.Request)) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i >= len(answers) {
			t.Errorf("unexpected request %d: %s", i, r.URL)
			w.WriteHeader(500)
			return
		}
		answers[i](w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func page(body string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}
}

func graphError(status int, code, retryAfter string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("request-id", "rid")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"code":%q,"message":"m"}}`, code)
	}
}

func TestRetryAfterAndPrefer(t *testing.T) {
	var prefers []string
	record := func(next func(w http.ResponseWriter, r *http.Request)) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			prefers = append(prefers, r.Header.Get("Prefer"))
			next(w, r)
		}
	}
	var srv *httptest.Server
	srv, _ = script(t,
		record(graphError(429, "TooManyRequests", "2.5")),
		record(func(w http.ResponseWriter, r *http.Request) {
			page(`{"value":[{"id":"a"}],"@odata.nextLink":"`+srv.URL+`/next"}`)(w, r)
		}),
		record(graphError(503, "serviceNotAvailable", "1")),
		record(page(`{"value":[{"id":"b","@removed":{"reason":"deleted"}}],"@odata.deltaLink":"x"}`)),
	)
	var waits []time.Duration
	c := &Client{PageSize: 2, Minimal: true, Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	var items []Item
	link, err := c.Round(context.Background(), srv.URL+"/start", func(it Item) error { items = append(items, it); return nil })
	if err != nil || link != "x" {
		t.Fatalf("round: %q %v", link, err)
	}
	if fmt.Sprint(waits) != "[2.5s 1s]" {
		t.Fatalf("waits = %v, want the Retry-After values", waits)
	}
	for _, p := range prefers {
		if p != "odata.maxpagesize=2, return=minimal" {
			t.Fatalf("Prefer must be re-sent on every page: %q", prefers)
		}
	}
	if len(items) != 2 || items[1].Removed != "deleted" {
		t.Fatalf("items = %+v", items)
	}
}

func TestErrorsCarryDomainCodes(t *testing.T) {
	for code, want := range map[string]contactgraph.Code{
		"ErrorItemNotFound": contactgraph.ENotFound, "syncStateNotFound": contactgraph.ESyncStateExpired,
		"SyncStateNotFound": contactgraph.ESyncStateExpired, "resyncRequired": contactgraph.EResyncRequired,
		"Request_UnsupportedQuery": contactgraph.EUnsupported, "somethingNew": contactgraph.EInvalid,
	} {
		srv, _ := script(t, graphError(400, code, ""))
		_, err := (&Client{}).Get(context.Background(), srv.URL)
		if got := contactgraph.ErrorCode(err); got != want {
			t.Errorf("%s: code %q, want %q", code, got, want)
		}
		var herr *HTTPError
		if !errors.As(err, &herr) || herr.Code != code || herr.RequestID != "rid" {
			t.Errorf("%s: the HTTP error is not wrapped: %v", code, err)
		}
	}
}

func TestRetriesAreBounded(t *testing.T) {
	answers := make([]func(http.ResponseWriter, *http.Request), 4)
	for i := range answers {
		answers[i] = graphError(503, "serviceNotAvailable", "0")
	}
	srv, n := script(t, answers...)
	c := &Client{Retries: 3, Sleep: func(context.Context, time.Duration) error { return nil }}
	_, err := c.Get(context.Background(), srv.URL)
	if contactgraph.ErrorCode(err) != contactgraph.EUnavailable || n.Load() != 4 {
		t.Fatalf("after %d requests: %v", n.Load(), err)
	}
}

func TestSyncRestartsOnExpiredState(t *testing.T) {
	var srv *httptest.Server
	srv, _ = script(t,
		graphError(410, "SyncStateNotFound", ""),
		page(`{"value":[{"id":"fresh","displayName":"F"}],"@odata.deltaLink":"new"}`),
	)
	m := &MapMirror{}
	m.Apply(Item{ID: "stale", Raw: []byte(`{"id":"stale"}`)})
	link, err := (&Client{}).Sync(context.Background(), srv.URL+"/initial", srv.URL+"/old", m)
	if err != nil || link != "new" {
		t.Fatalf("sync: %q %v", link, err)
	}
	if _, ok := m.Get("stale"); ok || m.Len() != 1 {
		t.Fatalf("the mirror must be reset before the full round: %v", m.IDs())
	}
}

func TestMapMirrorMerge(t *testing.T) {
	m := &MapMirror{Merge: true}
	m.Apply(Item{ID: "a", Raw: []byte(`{"id":"a","displayName":"A","mail":"a@x.com","@odata.etag":"e"}`)})
	m.Apply(Item{ID: "a", Raw: []byte(`{"id":"a","displayName":null}`)})
	got, _ := m.Get("a")
	if string(got["displayName"]) != "null" || string(got["mail"]) != `"a@x.com"` || got["@odata.etag"] != nil {
		t.Fatalf("merged = %v", got)
	}
	m.Apply(Item{ID: "a", Removed: "changed"})
	if m.Len() != 0 {
		t.Fatal("a removed item leaves the mirror")
	}
}
