package graphapi

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/throttle"
)

// Throttling (Config.Throttle; see the throttle package for the model).
//
// A request is checked once the router has resolved it, just before its
// handler runs: after its path, query, permission and mailbox checks, so
// that a request refused for any of those counts nowhere. Each inner
// request of a $batch goes through the router, so each counts on its own;
// the batch itself and /subscriptions do not count.
//
//   - Outlook routes: the concurrency slot is held until the handler
//     returns. A body of known length counts as an upload before the
//     handler runs; a chunked one counts once read, against the next
//     requests.
//   - Directory routes carry x-ms-resource-unit (the request's cost) and,
//     from 80 % of the unit quota used, x-ms-throttle-limit-percentage; a
//     directory 429 adds x-ms-throttle-scope and x-ms-throttle-information.
//
// Every 429 carries Retry-After in whole seconds, rounded up. When the
// counters fail (the database is unreachable) the request is served
// unthrottled and the failure logged: throttling never fails a request
// by itself.

// Headers of the directory's throttling.
const (
	hdrResourceUnit    = "x-ms-resource-unit"
	hdrLimitPercentage = "x-ms-throttle-limit-percentage"
	hdrThrottleScope   = "x-ms-throttle-scope"
	hdrThrottleInfo    = "x-ms-throttle-information"
)

// usageHeaderFrom is the share of the unit quota from which
// x-ms-throttle-limit-percentage is sent.
const usageHeaderFrom = 0.8

// releaseTimeout bounds the release of a concurrency slot, which runs
// even when the request's context has ended.
const releaseTimeout = 5 * time.Second

// serveRoute runs the route's handler under the throttling limits, when
// they are on.
func (s *Server) serveRoute(rt route, w http.ResponseWriter, r *http.Request, c *call) {
	l := s.cfg.Throttle
	switch {
	case l == nil || c.t.kind.ownScope():
		rt.handle(s, w, r, c)
	case c.t.kind.family() == directory:
		s.serveDirectoryThrottled(l, rt, w, r, c)
	default:
		s.serveMailboxThrottled(l, rt, w, r, c)
	}
}

func (s *Server) serveMailboxThrottled(l *throttle.Limiter, rt route, w http.ResponseWriter, r *http.Request, c *call) {
	upload := isUpload(r.Method)
	req := throttle.MailboxRequest{App: c.p.AppID, Tenant: c.mb.TenantID, User: c.mb.UserID}
	if upload && r.ContentLength > 0 {
		req.Upload = r.ContentLength
	}
	tk, err := l.Mailbox(r.Context(), req)
	if err != nil && s.throttleRefused(w, r, err) {
		return
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), releaseTimeout)
		defer cancel()
		if err := tk.Release(ctx); err != nil {
			s.log.Warn("graphapi: throttle: release", "request-id", w.Header().Get(hdrRequestID), "err", err)
		}
	}()
	var body *countingReader
	if upload && r.ContentLength < 0 && r.Body != nil {
		body = &countingReader{r: r.Body}
		r.Body = body
	}
	rt.handle(s, w, r, c)
	if body != nil && tk != nil {
		if err := tk.Uploaded(context.WithoutCancel(r.Context()), body.n); err != nil {
			s.log.Warn("graphapi: throttle: count upload", "request-id", w.Header().Get(hdrRequestID), "err", err)
		}
	}
}

func (s *Server) serveDirectoryThrottled(l *throttle.Limiter, rt route, w http.ResponseWriter, r *http.Request, c *call) {
	units := directoryCost(c.t.kind, r.Method, c.q)
	u, err := l.Directory(r.Context(), throttle.DirectoryRequest{App: c.p.AppID, Tenant: c.p.TenantID, Units: units, Write: isWrite(r.Method)})
	h := w.Header()
	var ref *throttle.Refusal
	if errors.As(err, &ref) {
		u = throttle.DirectoryUsage{Units: ref.Units, Usage: ref.Usage}
		h.Set(hdrThrottleScope, ref.Scope)
		h.Set(hdrThrottleInfo, ref.Info)
	}
	if err == nil || ref != nil {
		h.Set(hdrResourceUnit, strconv.FormatInt(u.Units, 10))
		if u.Usage >= usageHeaderFrom {
			h.Set(hdrLimitPercentage, strconv.FormatFloat(math.Round(u.Usage*100)/100, 'f', -1, 64))
		}
	}
	if err != nil && s.throttleRefused(w, r, err) {
		return
	}
	rt.handle(s, w, r, c)
}

// throttleRefused answers a refusal and reports true; any other error is
// logged and reports false: the request is served.
func (s *Server) throttleRefused(w http.ResponseWriter, r *http.Request, err error) bool {
	var ref *throttle.Refusal
	if !errors.As(err, &ref) {
		s.log.Warn("graphapi: throttle: counters failed; request served unthrottled", "request-id", w.Header().Get(hdrRequestID), "err", err)
		return false
	}
	code, msg := contactgraph.EThrottled, "Please retry again later."
	if ref.Limit == throttle.LimitConcurrency {
		code, msg = eApplicationThrottled, "Application is over its MailboxConcurrency limit."
	}
	s.writeError(w, r, &retryError{err: contactgraph.Errorf(code, "%s", msg), after: ref.RetryAfter})
	return true
}

// directoryCost is a directory request's cost in resource units, as Graph
// documents it: GET /users 2, any other request 1; $select -1, $expand
// +1, $top under 20 -1; never under 1.
func directoryCost(k kind, method string, q url.Values) int64 {
	cost := int64(1)
	if k == kUsers && method == http.MethodGet {
		cost = 2
	}
	if q.Has(optSelect) {
		cost--
	}
	if q.Has(optExpand) {
		cost++
	}
	if top, err := strconv.Atoi(q.Get(optTop)); err == nil && top < 20 {
		cost--
	}
	return max(cost, 1)
}

// isUpload reports whether a request of method uploads, for Outlook's
// upload limit.
func isUpload(method string) bool {
	return method == http.MethodPost || method == http.MethodPatch || method == http.MethodPut
}

// isWrite reports whether a request of method counts against the
// directory's write quota.
func isWrite(method string) bool {
	return method != http.MethodGet && method != http.MethodHead
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.ReadCloser
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) Close() error { return c.r.Close() }
