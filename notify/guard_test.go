package notify

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestGuardCheck(t *testing.T) {
	strict := &Guard{}
	allowed := &Guard{Allow: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("127.0.0.1/32")}}
	open := &Guard{AllowPrivate: true}
	for _, tc := range []struct {
		ip                    string
		strict, allowed, open bool
	}{
		{"93.184.215.14", true, true, true},
		{"2606:4700::1111", true, true, true},
		{"127.0.0.1", false, true, true},
		{"127.0.0.2", false, false, true},
		{"::1", false, false, true},
		{"::ffff:127.0.0.1", false, true, true}, // mapped: judged as IPv4
		{"10.1.2.3", false, true, true},
		{"10.2.0.1", false, false, true},
		{"172.16.0.1", false, false, true},
		{"192.168.1.1", false, false, true},
		{"100.64.0.1", false, false, true},
		{"fd00::1", false, false, true},
		{"169.254.169.254", false, false, false}, // cloud metadata: never
		{"fe80::1", false, false, false},
		{"0.0.0.0", false, false, false},
		{"::", false, false, false},
		{"224.0.0.1", false, false, false},
		{"255.255.255.255", false, false, false},
	} {
		ip := netip.MustParseAddr(tc.ip)
		for _, g := range []struct {
			name  string
			guard *Guard
			want  bool
		}{{"strict", strict, tc.strict}, {"allowed", allowed, tc.allowed}, {"open", open, tc.open}} {
			err := g.guard.Check(ip)
			if (err == nil) != g.want {
				t.Errorf("%s guard, %s: err %v, want allowed=%v", g.name, tc.ip, err, g.want)
			}
			var refused *ErrAddressNotAllowed
			if err != nil && !errors.As(err, &refused) {
				t.Errorf("%s: error %T", tc.ip, err)
			}
		}
	}
}

// TestGuardClientDials checks the address actually dialled: a name that
// resolves to loopback is refused like the literal.
func TestGuardClientDials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for _, url := range []string{srv.URL, "http://localhost:" + port + "/"} {
		_, err := (&Guard{}).Client(time.Second).Get(url)
		var refused *ErrAddressNotAllowed
		if !errors.As(err, &refused) {
			t.Errorf("strict guard GET %s: %v, want ErrAddressNotAllowed", url, err)
		}
		resp, err := (&Guard{AllowPrivate: true}).Client(time.Second).Get(url)
		if err != nil {
			t.Errorf("open guard GET %s: %v", url, err)
			continue
		}
		resp.Body.Close()
	}
}
