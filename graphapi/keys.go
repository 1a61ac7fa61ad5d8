package graphapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/contactgraph/contactgraph"
)

// The key set: the server publishes the public keys of its signing key,
// unauthenticated, where Entra ID publishes its own, so that receivers of
// rich notifications can verify validationTokens (and anyone can verify
// the access tokens the server mints).

// keysTail is the path of a key set after its tenant segment.
var keysTail = []string{"discovery", "v2.0", "keys"}

// isKeysPath reports whether an escaped request path is a key set's:
// /common/discovery/v2.0/keys, or the same under any other tenant segment
// (a tenant id or name, "organizations", …; not "v1.0", which is Graph's),
// matched in any letter case.
// Every tenant has the same key set.
func isKeysPath(path string) bool {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(segs) != 1+len(keysTail) || segs[0] == "" || strings.EqualFold(segs[0], "v1.0") {
		return false
	}
	for i, s := range keysTail {
		if !strings.EqualFold(segs[1+i], s) {
			return false
		}
	}
	return true
}

// keysCacheControl lets receivers keep the key set for an hour, as the
// signing key does not change while the data lives.
const keysCacheControl = "public, max-age=3600"

// serveKeys answers a key set path: GET (or HEAD) with Config.JWKS as
// application/json; 404 when the server has no key set; 405 for any other
// method. Errors are Graph error bodies.
func (s *Server) serveKeys(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.writeError(w, r, contactgraph.Errorf(eMethodNotAllowed, "The HTTP method '%s' is not allowed on the key set.", r.Method))
		return
	}
	if s.cfg.JWKS == nil {
		s.writeError(w, r, contactgraph.Errorf(contactgraph.ENotFound, "This server publishes no signing keys."))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(s.cfg.JWKS)))
	h.Set("Cache-Control", keysCacheControl)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(s.cfg.JWKS)
	}
}

// isJSONObject reports whether b is one JSON object.
func isJSONObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}
