package httpguard

import (
	"fmt"
	"reflect"
	"testing"
)

func TestFramer(t *testing.T) {
	t.Parallel()
	get := func(target string) head { return head{method: "GET", target: target} }
	for _, c := range []struct {
		name    string
		stream  string
		heads   []head
		stopped bool
	}{
		{"one GET", "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", []head{get("/a")}, false},
		{"pipelined", "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n", []head{get("/a"), get("/b")}, false},
		{"bare LF", "GET /a HTTP/1.1\nHost: x\n\nGET /b HTTP/1.1\n\n", []head{get("/a"), get("/b")}, false},
		{"a head inside a Content-Length body is body",
			"POST /p HTTP/1.1\r\nContent-Length: 24\r\n\r\nGET /fake HTTP/1.1\r\n\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
			[]head{{method: "POST", target: "/p"}, get("/b")}, false},
		{"chunked with extensions and a trailer",
			"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nGET /\r\n1a\r\nGET /fake HTTP/1.1\r\n\r\nabcd\r\n0\r\nX-T: 1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
			[]head{{method: "POST", target: "/p"}, get("/b")}, false},
		{"both lengths", "POST /p HTTP/1.1\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n",
			[]head{{method: "POST", target: "/p", ambiguous: true}}, true},
		{"both lengths, other case and order", "POST /p HTTP/1.1\r\ntransfer-encoding: chunked\r\ncontent-length: 0\r\n\r\n",
			[]head{{method: "POST", target: "/p", ambiguous: true}}, true},
		{"both lengths, Transfer-Encoding folded", "POST /p HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding:\r\n chunked\r\n\r\n",
			[]head{{method: "POST", target: "/p", ambiguous: true}}, true},
		{"both lengths in HTTP/1.0", "POST /p HTTP/1.0\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
			[]head{{method: "POST", target: "/p", ambiguous: true}}, true},
		{"Transfer-Encoding is ignored in HTTP/1.0", "POST /p HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
			[]head{{method: "POST", target: "/p"}, get("/b")}, false},
		{"empty lines after a body", "POST /p HTTP/1.1\r\nContent-Length: 1\r\n\r\nx\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
			[]head{{method: "POST", target: "/p"}, get("/b")}, false},
		{"an unknown transfer coding", "POST /p HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", []head{{method: "POST", target: "/p"}}, true},
		{"a bad chunk size", "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", []head{{method: "POST", target: "/p"}}, true},
		{"a bad request line", "GARBAGE\r\n\r\nGET /b HTTP/1.1\r\n\r\n", nil, true},
		{"a bad Content-Length", "POST /p HTTP/1.1\r\nContent-Length: +1\r\n\r\n", []head{{method: "POST", target: "/p"}}, true},
		{"differing Content-Lengths", "POST /p HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", []head{{method: "POST", target: "/p"}}, true},
	} {
		for _, step := range []int{0, 1, 2, 7} {
			f := newFramer(1 << 10)
			if step == 0 {
				f.feed([]byte(c.stream))
			} else {
				for i := 0; i < len(c.stream); i += step {
					f.feed([]byte(c.stream[i:min(i+step, len(c.stream))]))
				}
			}
			if !reflect.DeepEqual(f.heads, c.heads) || f.stopped != c.stopped {
				t.Errorf("%s (fed %s): heads %+v stopped %v, want %+v stopped %v", c.name, feeding(step), f.heads, f.stopped, c.heads, c.stopped)
			}
		}
	}
}

func feeding(step int) string {
	if step == 0 {
		return "at once"
	}
	return fmt.Sprintf("%d bytes at a time", step)
}

func TestFramerLimits(t *testing.T) {
	t.Parallel()
	f := newFramer(100)
	f.feed([]byte("GET /a HTTP/1.1\r\nX: "))
	for range 10 {
		f.feed([]byte("0123456789"))
	}
	if !f.stopped || len(f.heads) != 0 {
		t.Fatalf("a head over the limit: stopped %v heads %v", f.stopped, f.heads)
	}
	// Requests are claimed in order; a request never recorded is not ambiguous.
	f = newFramer(1 << 10)
	f.feed([]byte("GET /a HTTP/1.1\r\n\r\nOPTIONS * HTTP/1.1\r\n\r\nPOST /p HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"))
	if f.claim("GET", "/a") || !f.claim("POST", "/p") || f.claim("GET", "/never") {
		t.Fatal("claims")
	}
}
