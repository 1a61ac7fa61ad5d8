package httpguard

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Config configures a Listener.
type Config struct {
	// MaxConnsPerClient bounds the open connections of one client address;
	// a connection over it is closed as soon as it is accepted. 0 is no
	// limit.
	MaxConnsPerClient int
	// Exempt are addresses the limit does not apply to: the reverse
	// proxies in front of the server, whose connections carry many
	// clients.
	Exempt []netip.Prefix
	// MaxHeadBytes is the longest request head the framing check follows;
	// a longer one stops it for the connection (the server refuses such a
	// head itself when this is above http.Server.MaxHeaderBytes). Default
	// 1 MiB.
	MaxHeadBytes int
	// TLS, when set, makes the listener serve TLS: it runs the handshake
	// itself (within HandshakeTimeout, default 10 s), hands HTTP/2
	// connections to net/http as *tls.Conn, and HTTP/1 ones with the
	// framing check on the decrypted stream. Handler gives their requests
	// back their TLS state.
	TLS              *tls.Config
	HandshakeTimeout time.Duration
}

// DefaultMaxHeadBytes is Config.MaxHeadBytes when it is not set.
const DefaultMaxHeadBytes = 1 << 20

// DefaultHandshakeTimeout is Config.HandshakeTimeout when it is not set.
const DefaultHandshakeTimeout = 10 * time.Second

// Listener is a net.Listener with the guards of Config. Use it with
// http.Server's ConnContext set to ConnContext and its handler wrapped in
// Handler. It is safe for concurrent use.
type Listener struct {
	inner net.Listener
	cfg   Config
	conns chan net.Conn
	errc  chan error
	done  chan struct{}
	close sync.Once

	mu     sync.Mutex     // guards perIP
	perIP  map[string]int // open connections by client address
	active sync.WaitGroup // handshakes in flight
}

// NewListener wraps ln and starts accepting from it.
func NewListener(ln net.Listener, cfg Config) *Listener {
	if cfg.MaxHeadBytes <= 0 {
		cfg.MaxHeadBytes = DefaultMaxHeadBytes
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	l := &Listener{inner: ln, cfg: cfg, conns: make(chan net.Conn), errc: make(chan error, 1), done: make(chan struct{}), perIP: map[string]int{}}
	go l.run()
	return l
}

// run accepts connections, refuses those over their client's limit and
// passes the others on, after the TLS handshake when TLS is set.
func (l *Listener) run() {
	var delay time.Duration
	for {
		c, err := l.inner.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// A temporary failure (too many open files): back off as net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				select {
				case <-time.After(delay):
					continue
				case <-l.done:
					return
				}
			}
			select {
			case l.errc <- err:
			case <-l.done:
			}
			return
		}
		delay = 0
		counted, ok := l.admit(c)
		if !ok {
			c.Close()
			continue
		}
		if l.cfg.TLS == nil {
			l.deliver(&conn{Conn: counted, f: newFramer(l.cfg.MaxHeadBytes)})
			continue
		}
		l.active.Add(1)
		go func() {
			defer l.active.Done()
			l.handshake(counted)
		}()
	}
}

// handshake runs the TLS handshake of c and delivers the connection.
func (l *Listener) handshake(c net.Conn) {
	tc := tls.Server(c, l.cfg.TLS)
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.HandshakeTimeout)
	defer cancel()
	go func() {
		select {
		case <-ctx.Done():
		case <-l.done:
			tc.Close()
		}
	}()
	if err := tc.HandshakeContext(ctx); err != nil {
		tc.Close()
		return
	}
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		l.deliver(tc) // HTTP/2 has no Transfer-Encoding; net/http needs *tls.Conn for it
		return
	}
	state := tc.ConnectionState()
	l.deliver(&conn{Conn: tc, f: newFramer(l.cfg.MaxHeadBytes), tls: &state})
}

// deliver hands c to Accept, or closes it when the listener closed.
func (l *Listener) deliver(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

// admit counts c against its client's limit; it reports false when the
// client is at its limit.
func (l *Listener) admit(c net.Conn) (net.Conn, bool) {
	limit := l.cfg.MaxConnsPerClient
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if limit <= 0 || err != nil {
		return c, true
	}
	ip := ap.Addr().Unmap()
	for _, p := range l.cfg.Exempt {
		if p.Contains(ip) {
			return c, true
		}
	}
	key := ip.String()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perIP[key] >= limit {
		return nil, false
	}
	l.perIP[key]++
	return &countedConn{Conn: c, release: func() { l.release(key) }}, true
}

func (l *Listener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perIP[key]--; l.perIP[key] <= 0 {
		delete(l.perIP, key)
	}
}

// Accept implements net.Listener.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errc:
		l.errc <- err // later calls fail the same way
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener: it stops accepting and ends handshakes in
// flight; connections already accepted stay open.
func (l *Listener) Close() error {
	err := net.ErrClosed
	l.close.Do(func() {
		close(l.done)
		err = l.inner.Close()
		l.active.Wait()
	})
	return err
}

// Addr implements net.Listener.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// countedConn gives its client's slot back when closed.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// conn is an HTTP/1 connection whose reads feed its framer.
type conn struct {
	net.Conn
	f   *framer
	tls *tls.ConnectionState // the TLS state when the listener ran TLS
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.f.feed(p[:n])
	}
	return n, err
}

type connKey struct{}

// ConnContext is http.Server's ConnContext for a Listener's connections:
// it makes their framing record and TLS state reachable from requests.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if gc, ok := c.(*conn); ok {
		return context.WithValue(ctx, connKey{}, gc)
	}
	return ctx
}

// Ambiguous reports whether the head of r, an HTTP/1 request on a
// Listener's connection, carried both Content-Length and
// Transfer-Encoding, which net/http reads as chunked without saying so.
// Behind a proxy that reads the other length, the rest of the body would
// be taken for a request of its own (request smuggling, RFC 9112 §11.2).
// The answer should be a 400 that closes the connection. Call it once per
// request, for every request of the connection: the requests are matched
// to the heads in order.
func Ambiguous(r *http.Request) bool {
	c, ok := r.Context().Value(connKey{}).(*conn)
	if !ok || r.ProtoMajor != 1 {
		return false
	}
	return c.f.claim(r.Method, r.RequestURI, r.Proto)
}

// Handler wraps h for a Listener that runs TLS: requests of its HTTP/1
// connections, which net/http sees as plain ones, get their TLS state
// back in r.TLS.
func Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(connKey{}).(*conn); ok && c.tls != nil && r.TLS == nil {
			r2 := *r
			r2.TLS = c.tls
			r = &r2
		}
		h.ServeHTTP(w, r)
	})
}
