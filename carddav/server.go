package carddav

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/delta"
)

// Authenticator verifies a bearer token (auth.Authenticator).
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (contactgraph.Principal, error)
}

// BasicVerifier checks an HTTP Basic user name and password
// (auth.AppPasswords).
type BasicVerifier interface {
	Verify(ctx context.Context, user, password string) (contactgraph.Principal, error)
}

// Config configures a Handler. Store is required, and at least one of
// Bearer and Basic.
type Config struct {
	Store  contactgraph.Store
	Bearer Authenticator
	Basic  BasicVerifier
	// Retention is the Graph delta retention. Sync-tokens do not expire
	// by age: a token is refused (403 valid-sync-token) only once history
	// after it was pruned (the store's floors), so an unchanged address
	// book's token stays good. RoundLifetime is how long a truncated (507)
	// report may be continued; default 1 hour, as the Graph setting.
	Retention     time.Duration
	RoundLifetime time.Duration
	// PageSize is how many changes one store read returns; default 200.
	PageSize int
	Now      func() time.Time
	Logger   *slog.Logger
}

// Handler is the CardDAV HTTP handler. It is safe for concurrent use.
type Handler struct {
	cfg    Config
	engine *delta.Engine
	log    *slog.Logger
}

// Prefix is the path under which the handler serves.
const Prefix = "/dav/"

const wellKnown = "/.well-known/carddav"

// syncKeySecret names the key that signs sync-tokens.
const syncKeySecret = "carddav-sync-token-key"

// New returns a Handler for cfg.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("carddav: Config.Store is required")
	}
	if cfg.Bearer == nil && cfg.Basic == nil {
		return nil, errors.New("carddav: Config.Bearer or Config.Basic is required")
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 30 * 24 * time.Hour
	}
	if cfg.RoundLifetime <= 0 {
		cfg.RoundLifetime = time.Hour
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 200
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	key, err := cfg.Store.Secret(context.Background(), syncKeySecret, func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return []byte(hex.EncodeToString(b)), err
	})
	if err != nil {
		return nil, fmt.Errorf("carddav: sync-token key: %w", err)
	}
	codec, err := delta.NewCodec(key)
	if err != nil {
		return nil, err
	}
	// Retention 0: the engine's age check would refuse the stable
	// position tokens (ContactsPosition) of an address book that has not
	// changed for longer; the store's floors refuse exactly the tokens
	// whose history is gone.
	return &Handler{cfg: cfg, log: cfg.Logger, engine: &delta.Engine{Store: cfg.Store, Codec: codec, Now: cfg.Now,
		RoundLifetime: cfg.RoundLifetime}}, nil
}

// Wrap returns a handler that serves /dav/ and /.well-known/carddav with h
// and everything else with next.
func (h *Handler) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(p, Prefix) || p == strings.TrimSuffix(Prefix, "/") || strings.EqualFold(strings.TrimSuffix(p, "/"), wellKnown) {
			h.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// target is what a path names.
type target struct {
	kind   int
	user   string // the user id of the path
	folder string // the folder id, once resolved (the URL segment before)
	name   string // card name, unescaped
}

const (
	tRoot = iota
	tPrincipal
	tHome
	tBook
	tCard
	tDir     // the directory address book: the tenant's org contacts
	tDirCard // a card of it: "<org contact id>.vcf"
)

// parsePath splits a path under Prefix. ENotFound for anything else.
func parsePath(p string) (target, error) {
	nf := contactgraph.Errorf(contactgraph.ENotFound, "Not found.")
	rest, ok := strings.CutPrefix(p, Prefix)
	if !ok {
		if p == strings.TrimSuffix(Prefix, "/") {
			return target{kind: tRoot}, nil
		}
		return target{}, nf
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return target{kind: tRoot}, nil
	}
	segs := strings.Split(rest, "/")
	t := target{user: segs[0]}
	switch {
	case len(segs) == 1:
		t.kind = tPrincipal
	case len(segs) == 2 && segs[1] == "contacts":
		t.kind = tHome
	case len(segs) == 3 && segs[1] == "contacts" && segs[2] == directoryName:
		t.kind = tDir
	case len(segs) == 4 && segs[1] == "contacts" && segs[2] == directoryName && validName(segs[3]):
		t.kind, t.name = tDirCard, segs[3]
	case len(segs) == 3 && segs[1] == "contacts" && validName(segs[2]):
		t.kind, t.folder = tBook, segs[2]
	case len(segs) == 4 && segs[1] == "contacts" && validName(segs[2]) && validName(segs[3]):
		t.kind, t.folder, t.name = tCard, segs[2], segs[3]
	default:
		return target{}, nf
	}
	return t, nil
}

// validName reports whether a card name is one we keep: 1 to 255 bytes,
// no control characters.
func validName(s string) bool {
	if s == "" || len(s) > 255 || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f || r == '/' {
			return false
		}
	}
	return true
}

// Hrefs.
func principalHref(u string) string { return Prefix + u + "/" }
func homeHref(u string) string      { return Prefix + u + "/contacts/" }

// bookHref is the URL of the address book of folder f: under the name its
// client chose in MKCOL, else under the folder id.
func (c *call) bookHref(f string) string {
	if n, ok := c.names[f]; ok {
		f = n
	}
	return homeHref(c.p.UserID) + url.PathEscape(f) + "/"
}

// cardHref is the URL of the card name in the address book of folder f.
func (c *call) cardHref(f, name string) string {
	return c.bookHref(f) + url.PathEscape(name)
}

// resolveBook turns the URL segment of an address book into its folder
// id: a name a client chose in MKCOL, else a folder id. ENotFound for
// neither.
func (c *call) resolveBook(seg string) (string, error) {
	for id, n := range c.names {
		if n == seg {
			return id, nil
		}
	}
	if contactgraph.ValidID(seg) {
		return seg, nil
	}
	return "", contactgraph.Errorf(contactgraph.ENotFound, "Not found.")
}

// allow is the Allow header of OPTIONS and of a 405.
const allow = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, REPORT"

// ServeHTTP serves one CardDAV request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.EqualFold(strings.TrimSuffix(r.URL.Path, "/"), wellKnown) {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	}
	w.Header().Set("DAV", "1, 3, addressbook, extended-mkcol")
	if r.Method == http.MethodOptions {
		w.Header().Set("Allow", allow)
		w.WriteHeader(http.StatusOK)
		return
	}
	p, err := h.authenticate(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Basic realm="contactgraph", charset="UTF-8"`)
		h.writeError(w, r, err)
		return
	}
	t, err := parsePath(r.URL.Path)
	if r.Method == "MKCOL" && (err != nil || t.kind == tBook) {
		// A new address book's URL names no folder yet: mkcol reads it.
		t, err = target{kind: tBook, user: p.UserID}, nil
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if t.kind != tRoot && t.user != p.UserID {
		h.writeError(w, r, contactgraph.Errorf(contactgraph.ENotFound, "Not found."))
		return
	}
	ctx := contactgraph.NewContext(r.Context(), p)
	r = r.WithContext(ctx)
	mb, err := h.cfg.Store.EnsureMailbox(ctx, p.TenantID, p.UserID, p.UPN)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	c := &call{p: p, mb: mb, t: t}
	if t.kind == tHome || t.kind == tBook || t.kind == tCard {
		if c.names, err = h.cfg.Store.FolderNames(ctx, mb); err != nil {
			h.writeError(w, r, err)
			return
		}
		if (t.kind == tBook || t.kind == tCard) && r.Method != "MKCOL" {
			if c.t.folder, err = c.resolveBook(t.folder); err != nil {
				h.writeError(w, r, err)
				return
			}
		}
	}
	if (t.kind == tDir || t.kind == tDirCard) && r.Method != "PROPFIND" && r.Method != "REPORT" && r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.writeError(w, r, readOnly())
		return
	}
	switch r.Method {
	case "PROPFIND":
		err = h.propfind(w, r, c)
	case "REPORT":
		err = h.report(w, r, c)
	case http.MethodGet, http.MethodHead:
		err = h.get(w, r, c)
	case http.MethodPut:
		err = h.put(w, r, c)
	case http.MethodDelete:
		err = h.delete(w, r, c)
	case "PROPPATCH":
		err = h.proppatch(w, r, c)
	case "MKCOL":
		err = h.mkcol(w, r, c)
	default:
		w.Header().Set("Allow", allow)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err != nil {
		h.writeError(w, r, err)
	}
}

// call is one authenticated request.
type call struct {
	p     contactgraph.Principal
	mb    contactgraph.Mailbox
	t     target
	names map[string]string // the address books' names by folder id (CardStore.FolderNames)
}

// authenticate reads Basic or Bearer credentials. EUnauthenticated when
// there are none or they are refused.
func (h *Handler) authenticate(r *http.Request) (contactgraph.Principal, error) {
	hdr := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, cred, _ := strings.Cut(hdr, " ")
	var p contactgraph.Principal
	var err error
	switch {
	case strings.EqualFold(scheme, "Basic") && h.cfg.Basic != nil:
		user, pass, ok := r.BasicAuth()
		if !ok {
			return p, contactgraph.Errorf(contactgraph.EUnauthenticated, "The Basic credentials are malformed.")
		}
		p, err = h.cfg.Basic.Verify(r.Context(), user, pass)
	case strings.EqualFold(scheme, "Bearer") && h.cfg.Bearer != nil:
		p, err = h.cfg.Bearer.Authenticate(r.Context(), strings.TrimSpace(cred))
	default:
		return p, contactgraph.Errorf(contactgraph.EUnauthenticated, "Sign in with your user name and an app password.")
	}
	if err != nil {
		if contactgraph.ErrorCode(err) == contactgraph.EInternal {
			return p, err
		}
		return p, &contactgraph.Error{Code: contactgraph.EUnauthenticated, Message: contactgraph.ErrorMessage(err), Err: err}
	}
	if !p.Delegated() || p.TenantID == "" {
		return p, contactgraph.Errorf(contactgraph.EForbidden, "CardDAV serves a signed-in user's own contacts: use a delegated token or an app password.")
	}
	return p, nil
}

// status maps an error code to the HTTP status of a CardDAV answer.
func status(code contactgraph.Code) int {
	switch code {
	case contactgraph.EInvalid, contactgraph.EMalformedID, contactgraph.EBadToken:
		return http.StatusBadRequest
	case contactgraph.EUnauthenticated:
		return http.StatusUnauthorized
	case contactgraph.EForbidden, contactgraph.ESyncStateExpired, contactgraph.EResyncRequired:
		return http.StatusForbidden
	case contactgraph.ENotFound, contactgraph.EUserNotFound:
		return http.StatusNotFound
	case contactgraph.EConflict, contactgraph.EFolderExists:
		return http.StatusConflict
	case contactgraph.EPrecondition:
		return http.StatusPreconditionFailed
	case contactgraph.ETooLarge:
		return http.StatusRequestEntityTooLarge
	case contactgraph.EUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case contactgraph.EThrottled:
		return http.StatusTooManyRequests
	case contactgraph.EUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeError writes err as a plain-text answer with the status of its
// code; an error without a code is logged and answered with a generic 500.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var dav *davError
	isDAV := errors.As(err, &dav)
	st := status(contactgraph.ErrorCode(err))
	if st == http.StatusInternalServerError && !isDAV {
		h.log.Error("carddav: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if isDAV {
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(dav.status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>`+"\n"+`<D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">%s</D:error>`, dav.elem)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(st)
	fmt.Fprintln(w, contactgraph.ErrorMessage(err))
}

// davError is a WebDAV precondition failure with its XML element.
type davError struct {
	status int
	elem   string // such as <D:valid-sync-token/>
	err    error
}

func (e *davError) Error() string { return fmt.Sprintf("carddav: %s: %v", e.elem, e.err) }
func (e *davError) Unwrap() error { return e.err }
