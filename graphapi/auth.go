package graphapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/contactgraph/contactgraph"
)

// authenticate reads the bearer token of r and verifies it. A missing token
// is EUnauthenticated "Access token is empty.", several Authorization
// headers EUnauthenticated as well; an authenticator error with
// a code keeps it; one without a code becomes a 401, never a 500, since
// a token the authenticator cannot make sense of is the client's problem.
func (s *Server) authenticate(r *http.Request) (contactgraph.Principal, error) {
	if len(r.Header.Values("Authorization")) > 1 {
		// Which one counts is up to each reader: a proxy may check one
		// and this server use another. None does.
		return contactgraph.Principal{}, contactgraph.Errorf(contactgraph.EUnauthenticated, "The request has more than one Authorization header.")
	}
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, token, _ := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if h == "" || !strings.EqualFold(scheme, "Bearer") || token == "" {
		if h != "" && !strings.EqualFold(scheme, "Bearer") {
			return contactgraph.Principal{}, contactgraph.Errorf(contactgraph.EUnauthenticated, "The authorization scheme '%s' is not supported; send a Bearer token.", scheme)
		}
		return contactgraph.Principal{}, contactgraph.Errorf(contactgraph.EUnauthenticated, "Access token is empty.")
	}
	p, err := s.cfg.Auth.Authenticate(r.Context(), token)
	if err != nil {
		var e *contactgraph.Error
		if !errors.As(err, &e) || e.Code == contactgraph.EInternal {
			s.log.Warn("graphapi: token refused", "err", err)
			return p, &contactgraph.Error{Code: contactgraph.EUnauthenticated, Message: "Access token validation failure.", Err: err}
		}
		return p, err
	}
	if p.TenantID == "" {
		return p, contactgraph.Errorf(contactgraph.EUnauthenticated, "Access token validation failure.")
	}
	if s.emu != nil && s.emu.expired(p) && !s.emu.exempt(r, p) {
		return contactgraph.Principal{}, contactgraph.Errorf(contactgraph.EUnauthenticated, "Lifetime validation failed, the token is expired.")
	}
	noteCaller(r, p)
	return p, nil
}

// forbidden is the error for a principal without the route's permission.
func forbidden(f family) error {
	if f == directory {
		return contactgraph.Errorf(contactgraph.EForbidden, "Insufficient privileges to complete the operation.")
	}
	return contactgraph.Errorf(contactgraph.EForbidden, "Access is denied. Check credentials and try again.")
}

// invalidUser is Outlook's error for a user that does not exist.
func invalidUser(x string) error {
	return contactgraph.About(contactgraph.EUserNotFound, x)
}

// openMailbox resolves the mailbox of an Outlook route into c.mb and, when
// the path nests folders, checks the chain (c.folder). A delegated
// principal reaches only its own mailbox (via /me or /users/{own id or
// upn}), created on first access; an application reaches any existing
// user's mailbox via /users/{id|upn}, never /me.
func (s *Server) openMailbox(r *http.Request, c *call, perms []string) error {
	ctx, p, t := r.Context(), c.p, c.t
	if t.me && !p.Delegated() {
		return contactgraph.Errorf(eBadRequest, "/me request is only valid with delegated authentication flow.")
	}
	if !p.Has(perms...) {
		return forbidden(outlook)
	}
	var err error
	switch {
	case p.Delegated():
		if !t.me && !strings.EqualFold(t.user, p.UserID) && (p.UPN == "" || !strings.EqualFold(t.user, p.UPN)) {
			return forbidden(outlook)
		}
		c.mb, err = s.cfg.Store.EnsureMailbox(ctx, p.TenantID, p.UserID, p.UPN)
	default:
		var u contactgraph.User
		u, err = s.cfg.Store.User(ctx, p.TenantID, t.user)
		if errors.Is(err, contactgraph.ErrNotFound) {
			return invalidUser(t.user)
		}
		if err != nil {
			return err
		}
		c.mb, err = s.cfg.Store.Mailbox(ctx, p.TenantID, u.ID)
	}
	if err != nil {
		return err
	}
	return s.checkFolderChain(r, c)
}

// checkFolderChain checks that each folder of a nested path is a child of
// the one before (ENotFound otherwise) and sets c.folder to the last one.
// For a path with one folder nothing is read here: the store checks the
// folder itself (a delta page in the snapshot it reads the page from; see
// serveDelta for the answer to a bad token in a missing folder).
func (s *Server) checkFolderChain(r *http.Request, c *call) error {
	ids := c.t.folders
	if len(ids) < 2 {
		return nil
	}
	for i := len(ids) - 1; i >= 0; i-- {
		f, err := s.cfg.Store.Folder(r.Context(), c.mb, ids[i])
		if err != nil {
			return err
		}
		if i > 0 && f.ParentID != ids[i-1] {
			return contactgraph.ErrNotFound
		}
		if i == len(ids)-1 {
			c.folder = f
		}
		if i <= 1 {
			break // the parent of an existing folder exists
		}
	}
	return nil
}

// validUPN reports whether s has the shape of a user principal name:
// local@domain, printable, without spaces, slashes, quotes or angle
// brackets, at most 256 bytes.
func validUPN(s string) bool {
	if len(s) > 256 {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(`/\"<>,;`, r) {
			return false
		}
	}
	return true
}
