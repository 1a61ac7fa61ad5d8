package graphapi

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// CORS lets browser applications on other origins call the server. An
// allowed origin (Config.CORSOrigins: exact origins, or "*" for any) gets
// Access-Control-Allow-Origin naming it on every answer; a preflight
// (OPTIONS with Access-Control-Request-Method) is answered 204 before
// authentication, as browsers send it without the bearer token. Origins
// not allowed get no CORS headers, and the browser keeps its answers from
// the page. Credentials are bearer tokens, never cookies, so
// Access-Control-Allow-Credentials is not sent.

const (
	corsMethods = "GET, POST, PATCH, PUT, DELETE, OPTIONS"
	corsHeaders = "Authorization, Content-Type, Content-Encoding, Prefer, If-Match, If-None-Match, ConsistencyLevel, client-request-id, return-client-request-id"
	corsExpose  = "request-id, client-request-id, Location, Preference-Applied, Retry-After, ETag, WWW-Authenticate, " + FaultHeader
	corsMaxAge  = "600"
)

// CheckCORSOrigin validates an entry of Config.CORSOrigins: "*", or an
// origin scheme://host[:port] with http or https and nothing after.
func CheckCORSOrigin(o string) error {
	if o == "*" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("graphapi: CORS origin %q is not \"*\" or scheme://host[:port]", o)
	}
	return nil
}

// corsAllowed reports whether origin may call the server.
func (s *Server) corsAllowed(origin string) bool {
	if origin == "" {
		return false
	}
	return slices.ContainsFunc(s.cfg.CORSOrigins, func(o string) bool { return o == "*" || strings.EqualFold(o, origin) })
}

// cors adds the CORS headers of an allowed origin and answers a preflight.
// It reports whether the request has been answered.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	if len(s.cfg.CORSOrigins) == 0 {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if !s.corsAllowed(origin) {
		return false
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		h.Set("Access-Control-Expose-Headers", corsExpose)
		return false
	}
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", corsMethods)
	h.Set("Access-Control-Allow-Headers", corsHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
	return true
}
