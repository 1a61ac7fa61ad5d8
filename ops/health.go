package ops

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/contactgraph/contactgraph"
)

// DefaultReadyTimeout bounds a readiness check when Health.Timeout is zero.
const DefaultReadyTimeout = 2 * time.Second

// Health answers the probes of orchestrators and load balancers: liveness
// (the process serves HTTP) and readiness (it can serve requests).
type Health struct {
	// Ready reports whether the server can serve: a store's Ready. It must
	// return when its context ends.
	Ready func(context.Context) error
	// Timeout bounds one readiness check; zero means DefaultReadyTimeout.
	// A check still running then is a failure: /readyz never hangs.
	Timeout time.Duration
	// Logger, when set, receives a line each time readiness changes, with
	// the cause of a failure: not one a probe.
	Logger *slog.Logger

	mu    sync.Mutex
	known bool // a check has run
	ready bool // the last check passed
}

// serveLive answers GET /healthz: 200 while the process serves HTTP,
// whatever the database does.
func (h *Health) serveLive(w http.ResponseWriter, r *http.Request) {
	writeText(w, r, http.StatusOK, "ok\n")
}

// serveReady answers GET /readyz: 200 when Ready passes within Timeout,
// else 503 with Retry-After and the failure's client-safe message (never
// its cause, which goes to the log).
func (h *Health) serveReady(w http.ResponseWriter, r *http.Request) {
	d := h.Timeout
	if d <= 0 {
		d = DefaultReadyTimeout
	}
	ctx, cancel := context.WithTimeout(r.Context(), d)
	defer cancel()
	err := h.Ready(ctx)
	if r.Context().Err() != nil {
		return // the prober went away: what its check says means nothing
	}
	h.note(err)
	if err != nil {
		w.Header().Set("Retry-After", "1")
		writeText(w, r, http.StatusServiceUnavailable, "not ready: "+contactgraph.ErrorMessage(err)+"\n")
		return
	}
	writeText(w, r, http.StatusOK, "ok\n")
}

// note logs a change of readiness.
func (h *Health) note(err error) {
	h.mu.Lock()
	changed := !h.known || h.ready != (err == nil)
	first := !h.known
	h.known, h.ready = true, err == nil
	h.mu.Unlock()
	switch {
	case h.Logger == nil || !changed:
	case err != nil:
		h.Logger.Warn("not ready", "err", err)
	case !first:
		h.Logger.Info("ready again")
	}
}

func writeText(w http.ResponseWriter, r *http.Request, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(body))
	}
}

// Paths of the operator endpoints.
const (
	LivePath    = "/healthz"
	ReadyPath   = "/readyz"
	MetricsPath = "/metrics"
)

// Handler returns next with the operator endpoints in front of it,
// unauthenticated and outside /v1.0:
//
//	GET /healthz   200 while the process serves HTTP
//	GET /readyz    200 when h.Ready passes, else 503 (see Health)
//	GET /metrics   metrics, when metrics is not nil
//
// The path must match exactly; HEAD works as GET and any other method is
// 405. Every other request goes to next unchanged: next may be nil for a
// listener of the endpoints alone, which answers 404 to anything else.
func Handler(next http.Handler, h *Health, metrics http.Handler) http.Handler {
	if next == nil {
		next = http.NotFoundHandler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var serve http.HandlerFunc
		switch r.URL.Path {
		case LivePath:
			serve = h.serveLive
		case ReadyPath:
			serve = h.serveReady
		case MetricsPath:
			if metrics != nil {
				serve = metrics.ServeHTTP
			}
		}
		if serve == nil {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeText(w, r, http.StatusMethodNotAllowed, "method not allowed\n")
			return
		}
		serve(w, r)
	})
}
