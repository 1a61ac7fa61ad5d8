package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestNetFlags(t *testing.T) {
	env := map[string]string{"CONTACTGRAPH_TRUST_PROXY": "10.0.0.0/8, 192.168.1.7,::1", "CONTACTGRAPH_MAX_CONNS_PER_CLIENT": "9"}
	m := &Main{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, Getenv: func(k string) string { return env[k] }}
	cfg, err := m.serveFlags([]string{"--max-header-bytes", "32768"})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"), netip.MustParsePrefix("::1/128")}
	if fmt.Sprint(cfg.Net.trusted) != fmt.Sprint(want) || cfg.Net.MaxConnsPerClient != 9 || cfg.Net.MaxHeaderBytes != 32768 || cfg.Net.serverHeaderBytes() != 1<<20 {
		t.Fatalf("net config %+v", cfg.Net)
	}
	for _, bad := range [][]string{{"--trust-proxy", "proxy.example.com"}, {"--max-conns-per-client", "-1"}, {"--max-header-bytes", "100"}} {
		if _, err := m.serveFlags(bad); err == nil {
			t.Errorf("serve %v must be refused", bad)
		}
	}
	m.Getenv = func(string) string { return "" }
	if cfg, err := m.serveFlags(nil); err != nil || cfg.Net.trusted != nil || cfg.Net.MaxConnsPerClient != 256 || cfg.Net.MaxHeaderBytes != 65536 {
		t.Fatalf("defaults %+v %v", cfg.Net, err)
	}
}

// rawExchange sends raw on a connection to addr (over TLS when config is
// set) and returns the first answer, and whether the server then closed
// the connection without another answer.
func rawExchange(t *testing.T, addr string, config *tls.Config, raw string) (*http.Response, []byte, bool) {
	t.Helper()
	var c net.Conn
	var err error
	if config != nil {
		c, err = tls.Dial("tcp", addr, config)
	} else {
		c, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, raw)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, err = http.ReadResponse(br, nil)
	return resp, body, err != nil
}

func graphCode(t *testing.T, resp *http.Response, body []byte) string {
	t.Helper()
	var e struct{ Error struct{ Code string } }
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || json.Unmarshal(body, &e) != nil {
		t.Fatalf("%d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	return e.Error.Code
}

// TestServeFraming: the real server refuses a head with both lengths (400
// and close), plain and over TLS, answers an oversized head with Graph's
// 431 and leaves only the heads past net/http's own limit to net/http's
// text/plain 431.
func TestServeFraming(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		var args []string
		if tlsOn {
			args = []string{"--tls"}
		}
		s := startServe(t, args...)
		tok := mintToken(t, s.db, "--user", "ada@contoso.com")
		addr := strings.TrimSuffix(strings.SplitN(s.base, "://", 2)[1], "/v1.0")
		var config *tls.Config
		if tlsOn {
			config = &tls.Config{RootCAs: serverPool(t, s.db), NextProtos: []string{"http/1.1"}}
		}
		hidden := "GET /v1.0/me/contacts HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: Bearer " + tok + "\r\n\r\n"
		resp, body, closed := rawExchange(t, addr, config, "POST /v1.0/me/contacts HTTP/1.1\r\nHost: "+addr+"\r\nAuthorization: Bearer "+tok+
			"\r\nContent-Type: application/json\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+hidden)
		if resp.StatusCode != 400 || graphCode(t, resp, body) != "BadRequest" || !closed {
			t.Errorf("tls %v: both lengths: %d %s, closed %v", tlsOn, resp.StatusCode, body, closed)
		}
		big := "GET /v1.0/me/contacts HTTP/1.1\r\nHost: " + addr + "\r\nAuthorization: Bearer " + tok + "\r\nX-Pad: " + strings.Repeat("a", 100<<10) + "\r\n\r\n"
		resp, body, closed = rawExchange(t, addr, config, big)
		if resp.StatusCode != 431 || graphCode(t, resp, body) != "RequestHeaderFieldsTooLarge" || !closed {
			t.Errorf("tls %v: 100 KiB of headers: %d %s, closed %v", tlsOn, resp.StatusCode, body, closed)
		}
		huge := "GET /v1.0/me/contacts HTTP/1.1\r\nHost: " + addr + "\r\nX-Pad: " + strings.Repeat("a", 2<<20) + "\r\n\r\n"
		resp, _, _ = rawExchange(t, addr, config, huge)
		if resp.StatusCode != 431 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("tls %v: 2 MiB of headers: %d %s (net/http's own answer expected)", tlsOn, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if tlsOn {
			// HTTP/2 still works over the listener's TLS.
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: config.RootCAs}, ForceAttemptHTTP2: true}}
			req, _ := http.NewRequest("GET", s.base+"/me/contacts", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
				t.Errorf("over HTTP/2: %d %s", resp.StatusCode, resp.Proto)
			}
		}
	}
}

// serverPool trusts the certificate serve --tls made.
func serverPool(t *testing.T, db string) *x509.CertPool {
	t.Helper()
	var out syncBuffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	if err := m.Run(context.Background(), []string{"cert", "--db", db}); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(out.String())) {
		t.Fatal("no certificate")
	}
	return pool
}

// TestServeConnsPerClient: one client address holds at most
// --max-conns-per-client connections.
func TestServeConnsPerClient(t *testing.T) {
	s := startServe(t, "--max-conns-per-client", "2")
	addr := strings.TrimSuffix(strings.TrimPrefix(s.base, "http://"), "/v1.0")
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	// The third is closed at once; the two still work.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("third connection: read %d, %v", n, err)
	}
	c.Close()
	for _, c := range conns {
		fmt.Fprintf(c, "GET /v1.0/me/contacts HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 401 {
			t.Errorf("held connection: %v %v", resp, err)
		}
	}
}

// TestServeTrustProxy: with --trust-proxy, the proxy's X-Forwarded-* set
// the links; without it, they do not.
func TestServeTrustProxy(t *testing.T) {
	for _, trust := range []bool{false, true} {
		var args []string
		if trust {
			args = []string{"--trust-proxy", "127.0.0.1"}
		}
		s := startServe(t, args...)
		tok := mintToken(t, s.db, "--user", "ada@contoso.com")
		req, _ := http.NewRequest("GET", s.base+"/me/contacts", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "graph.example.com")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page map[string]any
		json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		want := s.base + "/$metadata#"
		if trust {
			want = "https://graph.example.com/v1.0/$metadata#"
		}
		if c, _ := page["@odata.context"].(string); !strings.HasPrefix(c, want) {
			t.Errorf("trust %v: @odata.context %q, want %s…", trust, c, want)
		}
	}
}
