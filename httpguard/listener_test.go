package httpguard

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// testServer is an http.Server on a Listener whose handler records the
// requests it sees and answers 400 with Connection: close to ambiguous
// ones, as graphapi does.
type testServer struct {
	addr string
	mu   sync.Mutex
	seen []string // "METHOD target proto tls"
}

func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{addr: ln.Addr().String()}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ambiguous := Ambiguous(r)
		s.mu.Lock()
		s.seen = append(s.seen, fmt.Sprintf("%s %s %s tls=%v", r.Method, r.RequestURI, r.Proto, r.TLS != nil))
		s.mu.Unlock()
		if ambiguous {
			w.Header().Set("Connection", "close")
			http.Error(w, "ambiguous", http.StatusBadRequest)
			return
		}
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	})
	srv := &http.Server{Handler: Handler(h), ConnContext: ConnContext, TLSConfig: cfg.TLS, ReadHeaderTimeout: 10 * time.Second}
	gl := NewListener(ln, cfg)
	go srv.Serve(gl)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *testServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

// exchange writes stream on a new connection and reads the answers until
// the server closes it or stops answering.
func exchange(t *testing.T, c net.Conn, stream string) []int {
	t.Helper()
	defer c.Close()
	if _, err := io.WriteString(c, stream); err != nil {
		t.Fatal(err)
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite() // the server closes once it has answered everything
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	br := bufio.NewReader(c)
	var statuses []int
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return statuses
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
		if resp.Close {
			return statuses
		}
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAmbiguousLengths: a head with both Content-Length and
// Transfer-Encoding gets 400 and a closed connection, so that what the
// body hides (here a second request) is never served; net/http alone
// serves both.
func TestAmbiguousLengths(t *testing.T) {
	t.Parallel()
	const smuggle = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"

	// Without the Listener, net/http reads the chunked body and serves
	// the request hidden behind it.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	var plain []string
	var mu sync.Mutex
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		plain = append(plain, r.RequestURI)
		mu.Unlock()
	})}
	go srv.Serve(ln)
	defer srv.Close()
	exchange(t, dial(t, ln.Addr().String()), smuggle)
	mu.Lock()
	if !slices.Equal(plain, []string{"/upload", "/smuggled"}) {
		t.Errorf("plain net/http served %v", plain)
	}
	mu.Unlock()

	s := startServer(t, Config{})
	if got := exchange(t, dial(t, s.addr), smuggle); !slices.Equal(got, []int{400}) {
		t.Errorf("answers %v, want one 400", got)
	}
	if got := s.requests(); !slices.Equal(got, []string{"POST /upload HTTP/1.1 tls=false"}) {
		t.Errorf("served %v", got)
	}
}

// TestFramerAgreesWithNetHTTP: on streams net/http serves in full, the
// framer finds the same requests as net/http does.
func TestFramerAgreesWithNetHTTP(t *testing.T) {
	t.Parallel()
	for _, stream := range []string{
		"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 24\r\n\r\nGET /fake HTTP/1.1\r\n\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nGET /\r\n1a\r\nGET /fake HTTP/1.1\r\n\r\nabcd\r\n0\r\nX-T: 1\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /p HTTP/1.0\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
	} {
		s := startServer(t, Config{})
		exchange(t, dial(t, s.addr), stream)
		f := newFramer(1 << 20)
		f.feed([]byte(stream))
		var framed []uint64
		for _, h := range f.heads {
			framed = append(framed, h.line)
		}
		var served []uint64
		for _, r := range s.requests() {
			served = append(served, lineHash(strings.Join(strings.Fields(r)[:3], " ")))
		}
		if !slices.Equal(framed, served) || f.stopped {
			t.Errorf("stream %q: framer %v (stopped %v), net/http %v", stream, framed, f.stopped, served)
		}
	}
}

// TestMaxConnsPerClient: a client address holds at most the limit of open
// connections; one more is closed at once; closing one makes room;
// exempt addresses have no limit.
func TestMaxConnsPerClient(t *testing.T) {
	t.Parallel()
	s := startServer(t, Config{MaxConnsPerClient: 2})
	get := "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	open := func() (net.Conn, *bufio.Reader) {
		c := dial(t, s.addr)
		io.WriteString(c, get)
		return c, bufio.NewReader(c)
	}
	answered := func(br *bufio.Reader, c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	c1, b1 := open()
	c2, b2 := open()
	if !answered(b1, c1) || !answered(b2, c2) {
		t.Fatal("the first two connections were not served")
	}
	c3, b3 := open()
	if answered(b3, c3) {
		t.Fatal("a third connection was served")
	}
	c3.Close()
	c1.Close()
	// The server sees the close and gives the slot back.
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, br := open()
		ok := answered(br, c)
		c.Close()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no connection served after one was closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c2.Close()

	ex := startServer(t, Config{MaxConnsPerClient: 1, Exempt: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	var conns []net.Conn
	for range 3 {
		c := dial(t, ex.addr)
		conns = append(conns, c)
		io.WriteString(c, get)
		if !answered(bufio.NewReader(c), c) {
			t.Fatal("an exempt address was limited")
		}
	}
	for _, c := range conns {
		c.Close()
	}
}

// TestTLS: the Listener runs TLS; HTTP/2 goes to net/http, HTTP/1 gets the
// framing check and its TLS state back.
func TestTLS(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	s := startServer(t, Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}})
	h2 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	h1 := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}
	for _, c := range []*http.Client{h2, h1} {
		resp, err := c.Get("https://" + s.addr + "/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if got := s.requests(); !slices.Equal(got, []string{"GET /x HTTP/2.0 tls=true", "GET /x HTTP/1.1 tls=true"}) {
		t.Errorf("served %v", got)
	}
	c, err := tls.Dial("tcp", s.addr, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := exchange(t, c, "POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"); !slices.Equal(got, []int{400}) {
		t.Errorf("over TLS: answers %v, want one 400", got)
	}
	// A client that never finishes its handshake does not stop others.
	stalled := dial(t, s.addr)
	defer stalled.Close()
	resp, err := h1.Get("https://" + s.addr + "/after")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// selfSigned returns a certificate for 127.0.0.1 and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
