package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/contactgraph/contactgraph/graphapi"
	"github.com/contactgraph/contactgraph/httpguard"
)

// netConfig is how serve meets its clients: which proxies it trusts, how
// many connections a client may hold, how large a request head may be.
type netConfig struct {
	TrustProxy        string // comma-separated addresses or CIDR prefixes
	MaxConnsPerClient int
	MaxHeaderBytes    int
	trusted           []netip.Prefix // TrustProxy, parsed
}

// DefaultMaxConnsPerClient is --max-conns-per-client's default.
const defaultMaxConnsPerClient = 256

func (m *Main) netFlags(fs *flag.FlagSet, c *netConfig) {
	fs.StringVar(&c.TrustProxy, "trust-proxy", m.env("TRUST_PROXY", ""), "comma-separated addresses or CIDR prefixes of the reverse proxies in front of the server: their Forwarded and X-Forwarded-Proto/-Host headers set the links' scheme and host, and their connections have no per-client limit (env CONTACTGRAPH_TRUST_PROXY)")
	fs.IntVar(&c.MaxConnsPerClient, "max-conns-per-client", envInt(m, "MAX_CONNS_PER_CLIENT", defaultMaxConnsPerClient), "open connections one client address may hold; more are closed when accepted; 0 for no limit (env CONTACTGRAPH_MAX_CONNS_PER_CLIENT)")
	fs.IntVar(&c.MaxHeaderBytes, "max-header-bytes", envInt(m, "MAX_HEADER_BYTES", graphapi.DefaultMaxHeaderBytes), "largest request line and header fields in bytes; larger is 431 (env CONTACTGRAPH_MAX_HEADER_BYTES)")
}

// check validates the configuration and parses TrustProxy.
func (c *netConfig) check() error {
	c.trusted = nil
	for _, f := range strings.Split(c.TrustProxy, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return fmt.Errorf("serve: --trust-proxy: %q is not an address or CIDR prefix", f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		c.trusted = append(c.trusted, p.Masked())
	}
	switch {
	case c.MaxConnsPerClient < 0:
		return fmt.Errorf("serve: --max-conns-per-client must not be negative")
	case c.MaxHeaderBytes < 1024:
		return fmt.Errorf("serve: --max-header-bytes must be at least 1024")
	}
	return nil
}

// serverHeaderBytes is http.Server's MaxHeaderBytes: well above
// MaxHeaderBytes, so that heads between the two get graphapi's 431 with a
// Graph error body rather than net/http's text/plain one.
func (c *netConfig) serverHeaderBytes() int { return max(1<<20, 2*c.MaxHeaderBytes) }

// listener wraps ln in the guards (see httpguard); with tlsConfig set it
// serves TLS. The http.Server needs ConnContext httpguard.ConnContext and
// its handler wrapped in httpguard.Handler.
func (c *netConfig) listener(ln net.Listener, tlsConfig *tls.Config) net.Listener {
	return httpguard.NewListener(ln, httpguard.Config{
		MaxConnsPerClient: c.MaxConnsPerClient,
		Exempt:            c.trusted,
		MaxHeadBytes:      c.serverHeaderBytes() + 64<<10, // past net/http's own limit and its slack
		TLS:               tlsConfig,
	})
}
