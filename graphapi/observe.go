package graphapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/delta"
)

// Observer is told what the server does, for metrics. graphapi calls it on
// the goroutine of the request, from many requests at once: an
// implementation must be safe for concurrent use and return quickly. No
// value it receives carries tenant data, except RequestInfo's ids and
// TenantID, which are for logs and never fit for a metric label.
//
// graphapi itself imports no metrics library: the ops package implements
// Observer with Prometheus.
type Observer interface {
	// ObserveRequest is called once for each request ServeHTTP answered,
	// after its handler returned, and once for each inner request of a
	// $batch (RequestInfo.Batch set), before the batch answers.
	ObserveRequest(RequestInfo)
	// ObserveDeltaPage is called for each delta page answered 200.
	// collection is one of DeltaCollections(); round is the round's kind;
	// start says the page began its round (the request had no $skiptoken).
	ObserveDeltaPage(collection string, round DeltaRound, start bool)
	// ObserveTokenRefused is called when a delta request is refused for
	// its token.
	ObserveTokenRefused(collection string, reason TokenRefusal)
}

// RequestInfo describes one answered request.
type RequestInfo struct {
	Method   string        // the request method, or "OTHER" for one the server does not know (see MethodLabel)
	Route    string        // the route kind's name (see RouteNames)
	Status   int           // the status answered
	Duration time.Duration // from the start of ServeHTTP (or of the inner request) to the end of its handler
	Bytes    int64         // response body bytes written

	RequestID       string // the request-id header the server answered
	ClientRequestID string // the client-request-id header the server answered
	TenantID        string // the caller's tenant; "" when the request was not authenticated
	Caller          string // CallerDelegated, CallerApplication, or "" when not authenticated
	ErrorCode       string // the Graph error code answered, "" for a success
	Batch           string // for an inner request of a $batch, the request-id of the batch
}

// Caller kinds of RequestInfo.Caller.
const (
	CallerDelegated   = "delegated"   // a token for a signed-in user
	CallerApplication = "application" // an app-only token
)

// DeltaRound is the kind of a delta round.
type DeltaRound string

// Kinds of delta rounds.
const (
	// RoundFirst is a round without a start position (no token, or
	// $deltatoken=latest): it returns the current state.
	RoundFirst DeltaRound = "first"
	// RoundIncremental is a round from a deltaLink: it returns changes.
	RoundIncremental DeltaRound = "incremental"
)

// TokenRefusal is why a delta token was refused.
type TokenRefusal string

// Reasons a delta token is refused.
const (
	// RefusedExpired: older than the kept history or the round lifetime
	// (410 or 400 syncStateNotFound).
	RefusedExpired TokenRefusal = "expired"
	// RefusedMalformed: garbled, tampered, of another collection or caller,
	// or sent in the wrong parameter (400 Badly formed token).
	RefusedMalformed TokenRefusal = "malformed"
	// RefusedResync: the server asks for a full resync, such as after the
	// emulator's forced resync or a delta key change (410 resyncRequired).
	RefusedResync TokenRefusal = "resync"
)

// DeltaCollections returns the collection names of ObserveDeltaPage and
// ObserveTokenRefused.
func DeltaCollections() []string { return []string{"contacts", "contactFolders", "orgContacts"} }

func deltaCollection(c delta.Collection) string {
	switch c {
	case delta.Contacts:
		return "contacts"
	case delta.Folders:
		return "contactFolders"
	}
	return "orgContacts"
}

// Route names of requests outside the route table.
const (
	routeKeys      = "keys"      // the signing keys (keys.go)
	routeEmulator  = "emulator"  // the emulator controls
	routeUnmatched = "unmatched" // a path that is no route (400), or a CORS preflight of one
)

// kindNames are the route label of each kind: stable, short, and the same
// in metrics and logs. A kind missing here is "unknown" (a test keeps the
// table complete).
var kindNames = map[kind]string{
	kUsers:                   "users",
	kUser:                    "user",
	kMe:                      "me",
	kFolders:                 "contactFolders",
	kFolder:                  "contactFolder",
	kFolderDelta:             "contactFolders.delta",
	kFoldersCount:            "contactFolders.count",
	kFolderPermanentDelete:   "contactFolder.permanentDelete",
	kContacts:                "contacts",
	kContact:                 "contact",
	kContactDelta:            "contacts.delta",
	kContactsCount:           "contacts.count",
	kContactPermanentDelete:  "contact.permanentDelete",
	kContactPhoto:            "contact.photo",
	kContactPhotoValue:       "contact.photo.value",
	kContactExtensions:       "contact.extensions",
	kContactExtension:        "contact.extension",
	kOrgContacts:             "orgContacts",
	kOrgContact:              "orgContact",
	kOrgDelta:                "orgContacts.delta",
	kOrgCount:                "orgContacts.count",
	kDeletedOrgContacts:      "deletedOrgContacts",
	kDeletedItem:             "deletedItem",
	kDeletedItemRestore:      "deletedItem.restore",
	kSubscriptions:           "subscriptions",
	kSubscription:            "subscription",
	kSubscriptionReauthorize: "subscription.reauthorize",
	kSubscriptionDeliveries:  "subscription.deliveries",
	kBatch:                   "batch",
}

// String returns the kind's route name.
func (k kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return "unknown"
}

// RouteNames returns every value RequestInfo.Route takes: the name of each
// route kind, then "keys", "emulator" and "unmatched".
func RouteNames() []string {
	seen := map[kind]bool{}
	var out []string
	for _, rt := range routes {
		if !seen[rt.kind] {
			seen[rt.kind] = true
			out = append(out, rt.kind.String())
		}
	}
	return append(out, routeKeys, routeEmulator, routeUnmatched)
}

// knownMethods are the methods RequestInfo.Method names as they are.
var knownMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions}

// MethodLabel returns method if the server knows it, else "OTHER": a
// client cannot grow the set of label values or log fields.
func MethodLabel(method string) string {
	for _, m := range knownMethods {
		if method == m {
			return m
		}
	}
	return "OTHER"
}

// record is what a request's handlers tell its observation: set by the
// router, authentication and the error writer, read when it ends. Each
// request (and each inner request of a batch) has its own, used by one
// goroutine only.
type record struct {
	requestID string
	kind      kind
	p         contactgraph.Principal
	authed    bool
	errorCode string
}

type recordKey struct{}

func recordOf(r *http.Request) *record {
	rec, _ := r.Context().Value(recordKey{}).(*record)
	return rec
}

// noteRoute records the request's route kind.
func noteRoute(r *http.Request, k kind) {
	if rec := recordOf(r); rec != nil {
		rec.kind = k
	}
}

// noteCaller records the authenticated principal.
func noteCaller(r *http.Request, p contactgraph.Principal) {
	if rec := recordOf(r); rec != nil {
		rec.p, rec.authed = p, true
	}
}

// noteError records the Graph error code answered.
func noteError(r *http.Request, code string) {
	if rec := recordOf(r); rec != nil {
		rec.errorCode = code
	}
}

// routeName returns the route label of r: its kind once routed; for a
// request answered before routing (a 401), the kind its path parses to;
// else what its path is outside the route table.
func routeName(r *http.Request) string {
	if rec := recordOf(r); rec != nil && rec.kind != 0 {
		return rec.kind.String()
	}
	path := r.URL.EscapedPath()
	switch {
	case isKeysPath(path):
		return routeKeys
	case hasPrefixFold(path, emulatorPrefix):
		return routeEmulator
	}
	if segs, err := splitPath(path); err == nil {
		if t, err := parseTarget(segs); err == nil {
			return t.kind.String()
		}
	}
	return routeUnmatched
}

// meter is the ResponseWriter of an observed request: it counts what the
// handler wrote.
type meter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (m *meter) WriteHeader(code int) {
	if m.status == 0 && code >= 200 {
		m.status = code
	}
	m.ResponseWriter.WriteHeader(code)
}

func (m *meter) Write(b []byte) (int, error) {
	if m.status == 0 {
		m.status = http.StatusOK
	}
	n, err := m.ResponseWriter.Write(b)
	m.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (m *meter) Unwrap() http.ResponseWriter { return m.ResponseWriter }

// observe starts the observation of a request of ServeHTTP: the returned
// writer and request replace w and r, and done, deferred, reports the
// request to the Observer and the access log.
func (s *Server) observe(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, func()) {
	start := time.Now()
	m := &meter{ResponseWriter: w}
	rec := &record{requestID: w.Header().Get(hdrRequestID)}
	r = r.WithContext(context.WithValue(r.Context(), recordKey{}, rec))
	return m, r, func() {
		status := m.status
		if status == 0 {
			status = http.StatusOK // what net/http answers for a handler that wrote nothing
		}
		s.report(r, rec, status, m.bytes, time.Since(start), w.Header(), "")
	}
}

// observeInner starts the observation of an inner request of a batch,
// answered into rec; outer is the batch request, whose principal the inner
// request has.
func (s *Server) observeInner(outer, req *http.Request, rec *batchRecorder) (*http.Request, func()) {
	start := time.Now()
	ir := &record{}
	var batch string
	if o := recordOf(outer); o != nil {
		batch, ir.p, ir.authed = o.requestID, o.p, o.authed
	}
	req = req.WithContext(context.WithValue(req.Context(), recordKey{}, ir))
	return req, func() {
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		s.report(req, ir, status, int64(rec.body.Len()), time.Since(start), rec.header, batch)
	}
}

// report hands a finished request to the Observer and writes its access
// log line. The line holds no path, query, header other than the request
// ids, token or body: only the route kind says what was asked, so that no
// user name, id or other personal data reaches the logs.
func (s *Server) report(r *http.Request, rec *record, status int, bytes int64, d time.Duration, h http.Header, batch string) {
	info := RequestInfo{
		Method:          MethodLabel(r.Method),
		Route:           routeName(r),
		Status:          status,
		Duration:        d,
		Bytes:           bytes,
		RequestID:       h.Get(hdrRequestID),
		ClientRequestID: h.Get(hdrClientRequestID),
		ErrorCode:       rec.errorCode,
		Batch:           batch,
	}
	if rec.authed {
		info.TenantID, info.Caller = rec.p.TenantID, CallerApplication
		if rec.p.Delegated() {
			info.Caller = CallerDelegated
		}
	}
	if s.cfg.Observer != nil {
		s.cfg.Observer.ObserveRequest(info)
	}
	if l := s.cfg.AccessLog; l != nil {
		attrs := []slog.Attr{
			slog.String("method", info.Method),
			slog.String("route", info.Route),
			slog.Int("status", info.Status),
			slog.Float64("duration-ms", float64(d.Microseconds())/1000),
			slog.Int64("bytes", info.Bytes),
			slog.String("request-id", info.RequestID),
			slog.String("client-request-id", info.ClientRequestID),
			slog.String("tenant-id", info.TenantID),
			slog.String("caller", info.Caller),
		}
		if info.ErrorCode != "" {
			attrs = append(attrs, slog.String("error", info.ErrorCode))
		}
		if batch != "" {
			attrs = append(attrs, slog.String("batch", batch))
		}
		l.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	}
}

// observeDelta reports a delta answer: a page, or the refusal of its token
// when err has one of the token codes. Other errors are not reported.
func (s *Server) observeDelta(c delta.Collection, p delta.Page, start bool, err error) {
	o := s.cfg.Observer
	if o == nil {
		return
	}
	coll := deltaCollection(c)
	if err == nil {
		round := RoundFirst
		if p.Incremental {
			round = RoundIncremental
		}
		o.ObserveDeltaPage(coll, round, start)
		return
	}
	switch contactgraph.ErrorCode(err) {
	case contactgraph.EBadToken:
		o.ObserveTokenRefused(coll, RefusedMalformed)
	case contactgraph.ESyncStateExpired:
		o.ObserveTokenRefused(coll, RefusedExpired)
	case contactgraph.EResyncRequired:
		o.ObserveTokenRefused(coll, RefusedResync)
	}
}
