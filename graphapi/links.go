package graphapi

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// Links (nextLink, deltaLink, @odata.context, Location) are absolute URLs
// on a base such as "http://127.0.0.1:8080/v1.0". baseURL picks it:
//
//  1. Config.PublicURL, when set, always.
//  2. For a request whose connection comes from one of
//     Config.TrustedProxies: the scheme and host the proxy says the client
//     used, from Forwarded (RFC 7239: the first element's proto= and host=)
//     or else X-Forwarded-Proto and X-Forwarded-Host (their first values);
//     what it does not say comes from the connection (TLS or not) and Host.
//  3. Otherwise (a client connected directly) the scheme of the
//     connection, and Host when it names the address the client connected
//     to: an IP literal equal to the connection's local address, or
//     "localhost" (or a name under .localhost) on a loopback connection.
//     Any other Host, which the client is free to make up, and an absolute
//     request URI's host (which net/http puts in place of Host) give way to
//     the connection's local address itself: links still lead to this
//     server, by address instead of by name.
//
// Forwarding headers of a client that is not a trusted proxy are ignored.
// A forwarded host that is not a valid host[:port] is ignored, as is a
// proto other than http or https.

// forwardingHeaders are the request headers a trusted proxy sets; an inner
// request of a $batch takes them from the batch, never from its own
// headers.
var forwardingHeaders = []string{"Forwarded", "X-Forwarded-Proto", "X-Forwarded-Host"}

// baseURL returns the absolute base of links (see above).
func (s *Server) baseURL(r *http.Request) string {
	if s.base != "" {
		return s.base
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if s.fromTrustedProxy(r) {
		host := r.Host
		proto, fhost := forwardedFor(r.Header)
		if proto != "" {
			scheme = proto
		}
		if fhost != "" {
			host = fhost
		}
		if validHost(host) {
			return scheme + "://" + host + "/v1.0"
		}
	}
	return scheme + "://" + directHost(r) + "/v1.0"
}

// fromTrustedProxy reports whether r's connection comes from an address of
// Config.TrustedProxies.
func (s *Server) fromTrustedProxy(r *http.Request) bool {
	return len(s.cfg.TrustedProxies) > 0 && addrIn(r.RemoteAddr, s.cfg.TrustedProxies)
}

// addrIn reports whether the host of hostport, an "ip:port", is in one of
// prefixes.
func addrIn(hostport string, prefixes []netip.Prefix) bool {
	ap, err := netip.ParseAddrPort(hostport)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor returns the scheme and host a trusted proxy reports:
// Forwarded's first element when the header is there, else the first
// X-Forwarded-Proto and X-Forwarded-Host. Values that are not usable are
// "".
func forwardedFor(h http.Header) (proto, host string) {
	if v := h.Values("Forwarded"); len(v) > 0 {
		for _, pair := range firstForwardedElement(v[0]) {
			name, value, _ := strings.Cut(pair, "=")
			value = unquote(strings.TrimSpace(value))
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "proto":
				proto = value
			case "host":
				host = value
			}
		}
	} else {
		proto = firstValue(h.Get("X-Forwarded-Proto"))
		host = firstValue(h.Get("X-Forwarded-Host"))
	}
	switch proto = strings.ToLower(proto); proto {
	case "http", "https":
	default:
		proto = ""
	}
	if !validHost(host) {
		host = ""
	}
	return proto, host
}

// firstForwardedElement splits the first element of a Forwarded header
// value (up to a comma outside quotes) into its name=value pairs.
func firstForwardedElement(v string) []string {
	var pairs []string
	start, quoted := 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			quoted = !quoted
		case c == '\\' && quoted:
			i++
		case (c == ';' || c == ',') && !quoted:
			pairs = append(pairs, v[start:i])
			start = i + 1
			if c == ',' {
				return pairs
			}
		}
	}
	return append(pairs, v[start:])
}

// firstValue returns the first of a comma-separated list, trimmed.
func firstValue(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.TrimSpace(v)
}

// validHost reports whether h is a host[:port] fit for a URL: a name or an
// IP literal, an optional numeric port, nothing else.
func validHost(h string) bool {
	if h == "" || len(h) > 261 || strings.ContainsAny(h, "/?#@\\%") {
		return false
	}
	u, err := url.Parse("http://" + h)
	if err != nil || u.Host != h || u.Hostname() == "" {
		return false
	}
	for _, c := range []byte(u.Hostname()) {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// directHost is the host of links for a client connected directly: r.Host
// when it names the connection's local address, else that address.
func directHost(r *http.Request) string {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		if validHost(r.Host) {
			return r.Host // no connection (a handler called in-process)
		}
		return "localhost"
	}
	lap, err := netip.ParseAddrPort(local.String())
	if err != nil {
		return local.String()
	}
	ip := lap.Addr().Unmap().WithZone("")
	if validHost(r.Host) && hostNames(r.Host, ip) {
		return r.Host
	}
	return netip.AddrPortFrom(ip, lap.Port()).String()
}

// hostNames reports whether the host part of hostport names the local
// address ip: ip itself, or localhost when ip is a loopback address.
func hostNames(hostport string, ip netip.Addr) bool {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap() == ip
	}
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	return ip.IsLoopback() && (h == "localhost" || strings.HasSuffix(h, ".localhost"))
}
