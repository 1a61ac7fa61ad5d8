package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Guard decides which addresses the server may send requests to: the
// validation requests of new subscriptions and every notification. It
// checks the address a connection is actually made to, after name
// resolution, so a name that resolves to a forbidden address (DNS
// rebinding included) is refused as well.
//
// Link-local addresses (169.254.0.0/16, where cloud metadata services
// listen, and fe80::/10), unspecified, multicast and broadcast addresses
// are always refused. Loopback, private (RFC 1918, fc00::/7) and shared
// (100.64.0.0/10) addresses are refused unless AllowPrivate is set or a
// prefix of Allow holds them. Public addresses are allowed.
type Guard struct {
	AllowPrivate bool
	Allow        []netip.Prefix
	// RootCAs, when set, replaces the system roots for https receivers
	// (a private certificate authority, or a test's).
	RootCAs *x509.CertPool
}

// ErrAddressNotAllowed is the error of a connection the Guard refused.
type ErrAddressNotAllowed struct{ Addr netip.Addr }

func (e *ErrAddressNotAllowed) Error() string {
	return fmt.Sprintf("notify: address %s is not allowed for notifications", e.Addr)
}

var sharedRange = netip.MustParsePrefix("100.64.0.0/10")

// Check returns nil when ip may be sent to, else *ErrAddressNotAllowed.
func (g *Guard) Check(ip netip.Addr) error {
	ip = ip.Unmap()
	refuse := &ErrAddressNotAllowed{Addr: ip}
	switch {
	case !ip.IsValid(), ip.IsUnspecified(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(),
		ip.IsInterfaceLocalMulticast(), ip.IsMulticast(), ip == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return refuse
	case ip.IsLoopback(), ip.IsPrivate(), sharedRange.Contains(ip):
		if g.AllowPrivate {
			return nil
		}
		for _, p := range g.Allow {
			if p.Contains(ip) {
				return nil
			}
		}
		return refuse
	}
	return nil
}

// control is a net.Dialer Control func: it runs after resolution, on the
// address about to be connected.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("notify: cannot check address %q: %w", address, err)
	}
	return g.Check(ap.Addr())
}

// Client returns an HTTP client whose connections the Guard checks, with
// the given overall timeout per request. It does not follow redirects (a
// receiver must answer itself) and uses no proxy from the environment.
func (g *Guard) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: g.control}
	t := &http.Transport{
		DialContext:           d.DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: g.RootCAs},
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: t,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// DialContext is ctx-aware dialing through the Guard, for callers that
// build their own transport.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second, Control: g.control}
	return d.DialContext(ctx, network, addr)
}
