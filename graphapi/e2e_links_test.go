package graphapi

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
)

// contextBase returns the base of a GET's @odata.context, sent with the
// given Host ("" for the URL's) and headers.
func contextBase(t *testing.T, e *env, token, host string, hdr ...string) string {
	t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+"/v1.0/me/contactFolders", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if host != "" {
		req.Host = host
	}
	addHeaders(req, hdr)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return baseOf(t, resp)
}

func baseOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d: %v %v", resp.StatusCode, m, err)
	}
	c, _ := m["@odata.context"].(string)
	base, _, ok := strings.Cut(c, "/$metadata#")
	if !ok {
		t.Fatalf("@odata.context %q", c)
	}
	return base
}

// TestLinksOfDirectClients: a client that connects directly cannot choose
// the links' scheme or host with forwarding headers, a made-up Host or an
// absolute request URI; a Host naming the address it connected to, or
// localhost on loopback, is kept.
func TestLinksOfDirectClients(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	addr := strings.TrimPrefix(e.srv.URL, "http://") // 127.0.0.1:port
	_, port, _ := net.SplitHostPort(addr)
	own := "http://" + addr + "/v1.0"
	for _, c := range []struct {
		name, host string
		hdr        []string
		want       string
	}{
		{"as dialled", "", nil, own},
		{"localhost", "localhost:" + port, nil, "http://localhost:" + port + "/v1.0"},
		{"a name under .localhost", "graph.localhost:" + port, nil, "http://graph.localhost:" + port + "/v1.0"},
		{"the address without a port", "127.0.0.1", nil, "http://127.0.0.1/v1.0"},
		{"a made-up host", "evil.example", nil, own},
		{"another address", "10.1.2.3:" + port, nil, own},
		{"X-Forwarded-*", "", []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.example"}, own},
		{"Forwarded", "", []string{"Forwarded", "proto=https;host=evil.example"}, own},
	} {
		if got := contextBase(t, e, ada.token, c.host, c.hdr...); got != c.want {
			t.Errorf("%s: links on %s, want %s", c.name, got, c.want)
		}
	}

	// An absolute request URI: net/http takes its host for Host.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET http://evil.example/v1.0/me/contactFolders HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n", addr, ada.token)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if got := baseOf(t, resp); got != own {
		t.Errorf("absolute request URI: links on %s, want %s", got, own)
	}
}

// TestLinksBehindTrustedProxy: a trusted proxy's Forwarded or
// X-Forwarded-* headers set the links' scheme and host; unusable values
// are ignored; inner requests of a $batch use the batch's.
func TestLinksBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	own := e.srv.URL + "/v1.0"
	for _, c := range []struct {
		name, host string
		hdr        []string
		want       string
	}{
		{"X-Forwarded-*", "", []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "graph.example.com"}, "https://graph.example.com/v1.0"},
		{"lists: the first value", "", []string{"X-Forwarded-Proto", "https, http", "X-Forwarded-Host", "graph.example.com:8443, inner:80"}, "https://graph.example.com:8443/v1.0"},
		{"Forwarded first element", "", []string{"Forwarded", `for=192.0.2.60;proto=https;host="graph.example.com:8443", for=10.0.0.1;host=inner`}, "https://graph.example.com:8443/v1.0"},
		{"Forwarded wins", "", []string{"Forwarded", "host=graph.example.com", "X-Forwarded-Host", "other.example.com"}, "http://graph.example.com/v1.0"},
		{"the proxy's Host", "graph.example.com", nil, "http://graph.example.com/v1.0"},
		{"only the proto", "", []string{"X-Forwarded-Proto", "HTTPS"}, "https" + strings.TrimPrefix(own, "http")},
		{"a bad proto", "", []string{"X-Forwarded-Proto", "javascript"}, own},
		{"a bad host", "", []string{"X-Forwarded-Host", "evil.example/path"}, own},
		{"userinfo", "", []string{"X-Forwarded-Host", "user@evil.example"}, own},
		{"a quoted IPv6 host", "", []string{"Forwarded", `host="[2001:db8::1]:8443";proto=https`}, "https://[2001:db8::1]:8443/v1.0"},
	} {
		if got := contextBase(t, e, ada.token, c.host, c.hdr...); got != c.want {
			t.Errorf("%s: links on %s, want %s", c.name, got, c.want)
		}
	}

	answers, _ := e.batch(t, ada.token, []map[string]any{
		{"id": "1", "method": "GET", "url": "/me/contactFolders", "headers": map[string]string{"X-Forwarded-Host": "evil.example", "Forwarded": "host=evil.example"}},
		{"id": "2", "method": "GET", "url": "https://graph.example.com/v1.0/me/contactFolders"},
	}, "X-Forwarded-Proto", "https", "X-Forwarded-Host", "graph.example.com")
	for _, a := range answers {
		m := ok(t, a.result(), 200)
		if c := str(t, m, "@odata.context"); !strings.HasPrefix(c, "https://graph.example.com/v1.0/$metadata#") {
			t.Errorf("batch request %s: @odata.context %s", a.ID, c)
		}
	}

	// Another address is no proxy of ours: its headers count for nothing.
	other := newEnv(t, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	bob := other.newUser("contoso", "bob@contoso.com", contactgraph.PermContactsReadWrite)
	if got := contextBase(t, other, bob.token, "", "X-Forwarded-Host", "graph.example.com"); got != other.srv.URL+"/v1.0" {
		t.Errorf("untrusted proxy: links on %s", got)
	}
}
