package graphapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/notify"
	"github.com/contactgraph/contactgraph/throttle"
)

// Authenticator verifies a bearer token and returns its principal. An
// invalid, expired or foreign token is an error with code
// contactgraph.EUnauthenticated whose message is shown to the client.
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (contactgraph.Principal, error)
}

// Config configures a Server. Store and Auth are required; every other
// field has a default.
type Config struct {
	Store contactgraph.Store
	Auth  Authenticator
	// PublicURL, when set, is the absolute URL (scheme, host, optional
	// path prefix) under which clients reach the server; links are built on
	// it instead of the request's scheme and Host. "/v1.0" is appended
	// unless it already ends the URL.
	PublicURL string
	// TrustedProxies are the addresses of the reverse proxies in front of
	// the server: only their requests may say, in Forwarded or
	// X-Forwarded-Proto and X-Forwarded-Host, which scheme and host links
	// are built on (links.go).
	TrustedProxies []netip.Prefix
	// MaxHeaderBytes limits a request's line and header fields; a larger
	// head is 431 with a Graph error body (framing.go). Default 64 KiB.
	MaxHeaderBytes int
	// MaxBodyBytes limits a request body, before and after gzip
	// decompression. Default 4 MiB. A contact photo upload has a limit of
	// its own, contactgraph.MaxPhotoBytes, whatever this one is.
	MaxBodyBytes int64
	// DeltaMaxPageSize caps Prefer: odata.maxpagesize on delta. Default 200.
	DeltaMaxPageSize int
	// DeltaRetention is how long delta history of contacts and folders
	// stays answerable. Default 30 days.
	DeltaRetention time.Duration
	// DirectoryRetention is the same for org contacts. Default 7 days.
	DirectoryRetention time.Duration
	// RoundLifetime is how long a client may page through one delta round;
	// an older nextLink is refused. Default 1 hour.
	RoundLifetime time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives internal errors with their request-id. Default slog.Default().
	Logger *slog.Logger
	// AccessLog, when set, receives one Info line per request, and one per
	// inner request of a $batch: method, route kind, status, duration,
	// bytes, request ids, tenant id and caller kind, never a path, token
	// or body (see observe.go). Nil writes none.
	AccessLog *slog.Logger
	// Observer, when set, is told of every request and delta answer, for
	// metrics (see Observer). Nil for none.
	Observer Observer
	// Deliveries, when Emulator is set, is where /emulator/deliveries
	// queues delivery faults: the Faults of this process's notification
	// senders. Nil refuses those controls.
	Deliveries *notify.Faults
	// DeliveryLog, when set, is the log of this process's notification
	// senders that GET /subscriptions/{id}/deliveries reads. Nil answers
	// an empty list.
	DeliveryLog *notify.DeliveryLog
	// Emulator turns on the emulator controls under /emulator (see emulator.go).
	// It also allows http notification URLs and receivers on loopback and
	// private addresses, as a local emulator needs.
	Emulator bool

	// CORSOrigins are the browser origins allowed to call the server
	// (scheme://host[:port], or "*" for any); none by default. See cors.go.
	CORSOrigins []string

	// AllowHTTPNotifications accepts http:// notification URLs; Graph
	// accepts https only.
	AllowHTTPNotifications bool
	// NotificationClient makes the validation requests of new
	// subscriptions. Default: a client through notify.Guard (loopback and
	// private addresses allowed only under Emulator), with ValidationTimeout.
	NotificationClient *http.Client
	// ValidationTimeout is how long a receiver has to answer the
	// validation request. Default 10 s, as in Graph.
	ValidationTimeout time.Duration
	// SubscriptionLifetime and RichSubscriptionLifetime cap how far ahead a
	// subscription may expire, without and with resource data. Defaults
	// 10,080 and 1,440 minutes, as Graph's Outlook contacts.
	SubscriptionLifetime     time.Duration
	RichSubscriptionLifetime time.Duration
	// Throttle, when set, applies Graph's throttling limits (throttle.go);
	// nil serves every request unthrottled.
	Throttle *throttle.Limiter

	// JWKS is the JSON Web Key Set of the server's signing keys (as
	// auth.Local.PublicJWKS returns it), served unauthenticated at
	// /common/discovery/v2.0/keys and /{tenant}/discovery/v2.0/keys (see
	// keys.go) so that receivers can verify validationTokens. nil answers
	// those paths 404.
	JWKS []byte
}

// Defaults of Config.
const (
	DefaultMaxBodyBytes       = 4 << 20
	DefaultDeltaMaxPageSize   = 200
	DefaultDeltaRetention     = 30 * 24 * time.Hour
	DefaultDirectoryRetention = 7 * 24 * time.Hour
	DefaultRoundLifetime      = time.Hour
)

// emulatorPrefix is where the emulator controls live, outside /v1.0.
const emulatorPrefix = "/emulator/"

// Server is the Graph HTTP handler. It is safe for concurrent use.
type Server struct {
	cfg   Config // defaults applied
	log   *slog.Logger
	base  string // base URL from cfg.PublicURL, "" when taken from requests
	delta deltaState
	emu   *emulator // nil unless Config.Emulator
	// outbound makes the validation requests of new subscriptions.
	outbound *http.Client
}

// New returns a Server for cfg. It fails when Store or Auth is missing,
// PublicURL is not an absolute http(s) URL, or JWKS is set but not a JSON
// object.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errors.New("graphapi: Config.Store is required")
	}
	if cfg.Auth == nil {
		return nil, errors.New("graphapi: Config.Auth is required")
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.DeltaMaxPageSize <= 0 {
		cfg.DeltaMaxPageSize = DefaultDeltaMaxPageSize
	}
	if cfg.DeltaRetention <= 0 {
		cfg.DeltaRetention = DefaultDeltaRetention
	}
	if cfg.DirectoryRetention <= 0 {
		cfg.DirectoryRetention = DefaultDirectoryRetention
	}
	if cfg.RoundLifetime <= 0 {
		cfg.RoundLifetime = DefaultRoundLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ValidationTimeout <= 0 {
		cfg.ValidationTimeout = DefaultValidationTimeout
	}
	if cfg.SubscriptionLifetime <= 0 {
		cfg.SubscriptionLifetime = DefaultSubscriptionLifetime
	}
	if cfg.RichSubscriptionLifetime <= 0 {
		cfg.RichSubscriptionLifetime = DefaultRichSubscriptionLifetime
	}
	if cfg.Emulator {
		cfg.AllowHTTPNotifications = true
	}
	if cfg.JWKS != nil && !isJSONObject(cfg.JWKS) {
		return nil, errors.New("graphapi: Config.JWKS is not a JSON object")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	for _, o := range cfg.CORSOrigins {
		if err := CheckCORSOrigin(o); err != nil {
			return nil, err
		}
	}
	s := &Server{cfg: cfg, log: cfg.Logger, outbound: cfg.NotificationClient}
	if s.outbound == nil {
		s.outbound = (&notify.Guard{AllowPrivate: cfg.Emulator}).Client(cfg.ValidationTimeout)
	}
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("graphapi: PublicURL %q is not an absolute http(s) URL", cfg.PublicURL)
		}
		base := strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/")
		if !strings.HasSuffix(strings.ToLower(base), "/v1.0") {
			base += "/v1.0"
		}
		s.base = base
	}
	if err := s.initDelta(); err != nil {
		return nil, fmt.Errorf("graphapi: %w", err)
	}
	if cfg.Emulator {
		s.emu = newEmulator()
		s.delta.engine.ResyncBefore = s.emu.resync
	}
	return s, nil
}

// ServeHTTP serves one request: request ids, the framing checks
// (framing.go), CORS, authentication, routing, permission and mailbox
// checks, then the route's handler. A panic in a
// handler is logged and answered with a 500 Graph error when nothing has
// been written yet.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setRequestIDs(w, r)
	w, r, done := s.observe(w, r)
	defer done()
	rw := &trackingWriter{ResponseWriter: w}
	defer s.recoverPanic(rw, r)
	if s.refuseFraming(rw, r) { // framing.go
		return
	}
	if s.cors(rw, r) {
		return
	}

	path := r.URL.EscapedPath()
	if isKeysPath(path) {
		s.serveKeys(rw, r)
		return
	}
	if s.emu != nil && hasPrefixFold(path, emulatorPrefix) {
		p, err := s.authenticate(r)
		if err != nil {
			s.writeError(rw, r, err)
			return
		}
		s.serveEmulator(rw, r, p, strings.Trim(path[len(emulatorPrefix):], "/"))
		return
	}
	segs, err := splitPath(path)
	if err != nil {
		s.writeError(rw, r, err)
		return
	}
	p, err := s.authenticate(r)
	if err != nil {
		s.writeError(rw, r, err)
		return
	}
	s.serveAuthenticated(rw, r, p, path, segs)
}

// serveAuthenticated serves a request of an authenticated principal whose
// escaped path (segs once split) is under /v1.0: the emulator's queued
// faults, then the route table. It is the part of ServeHTTP that every
// inner request of a $batch goes through as well (batch.go).
func (s *Server) serveAuthenticated(w http.ResponseWriter, r *http.Request, p contactgraph.Principal, path string, segs []string) {
	if s.emu != nil {
		if err := s.emu.take(p.TenantID, r.Method, strings.TrimPrefix(strings.ToLower(path), "/v1.0")); err != nil {
			w.Header().Set(FaultHeader, "emulator")
			s.writeError(w, r, err)
			return
		}
	}
	r = r.WithContext(contactgraph.NewContext(r.Context(), p))
	s.route(w, r, p, segs)
}

// recoverPanic turns a handler panic into a logged 500.
func (s *Server) recoverPanic(w *trackingWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	err := fmt.Errorf("panic: %v", v)
	if w.wrote {
		s.log.Error("graphapi: panic after the answer started", "request-id", w.Header().Get(hdrRequestID), "err", err)
		return
	}
	s.writeError(w, r, err)
}

// trackingWriter records whether the answer has started.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *trackingWriter) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *trackingWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *trackingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
