package httpguard

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestFramer(t *testing.T) {
	t.Parallel()
	get := func(target string) head { return head{line: lineHash("GET " + target + " HTTP/1.1")} }
	post := func(proto string, ambiguous bool) head {
		return head{line: lineHash("POST /p " + proto), ambiguous: ambiguous}
	}
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
			[]head{post("HTTP/1.1", false), get("/b")}, false},
		{"chunked with extensions and a trailer",
			"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nGET /\r\n1a\r\nGET /fake HTTP/1.1\r\n\r\nabcd\r\n0\r\nX-T: 1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
			[]head{post("HTTP/1.1", false), get("/b")}, false},
		{"both lengths", "POST /p HTTP/1.1\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n",
			[]head{post("HTTP/1.1", true)}, true},
		{"both lengths, other case and order", "POST /p HTTP/1.1\r\ntransfer-encoding: chunked\r\ncontent-length: 0\r\n\r\n",
			[]head{post("HTTP/1.1", true)}, true},
		{"both lengths, Transfer-Encoding folded", "POST /p HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding:\r\n chunked\r\n\r\n",
			[]head{post("HTTP/1.1", true)}, true},
		{"both lengths in HTTP/1.0", "POST /p HTTP/1.0\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc",
			[]head{post("HTTP/1.0", true)}, true},
		{"Transfer-Encoding is ignored in HTTP/1.0", "POST /p HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
			[]head{post("HTTP/1.0", false), get("/b")}, false},
		{"empty lines after a body", "POST /p HTTP/1.1\r\nContent-Length: 1\r\n\r\nx\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
			[]head{post("HTTP/1.1", false), get("/b")}, false},
		{"an unknown transfer coding", "POST /p HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", []head{post("HTTP/1.1", false)}, true},
		{"a bad chunk size", "POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", []head{post("HTTP/1.1", false)}, true},
		{"a bad request line", "GARBAGE\r\n\r\nGET /b HTTP/1.1\r\n\r\n", nil, true},
		{"a bad Content-Length", "POST /p HTTP/1.1\r\nContent-Length: +1\r\n\r\n", []head{post("HTTP/1.1", false)}, true},
		{"both lengths, a long Transfer-Encoding", "POST /p HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding:" + strings.Repeat(" ", 5000) + "chunked\r\n\r\n",
			[]head{post("HTTP/1.1", true)}, true},
		{"a long field and a long target", "GET /" + strings.Repeat("t", 5000) + " HTTP/1.1\r\nX-Long: " + strings.Repeat("v", 9000) + "\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
			[]head{get("/" + strings.Repeat("t", 5000)), get("/b")}, false},
		{"a long Content-Length value", "POST /p HTTP/1.1\r\nContent-Length:" + strings.Repeat(" ", 5000) + "1\r\n\r\nx", []head{post("HTTP/1.1", false)}, true},
		{"a CR inside the request line", "GET /a\rb HTTP/1.1\r\n\r\n", []head{get("/a\rb")}, false},
		{"differing Content-Lengths", "POST /p HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", []head{post("HTTP/1.1", false)}, true},
	} {
		for _, step := range []int{0, 1, 2, 7} {
			f := newFramer(1 << 20)
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
	if f.claim("GET", "/a", "HTTP/1.1") || !f.claim("POST", "/p", "HTTP/1.1") || f.claim("GET", "/never", "HTTP/1.1") {
		t.Fatal("claims")
	}
}

// FuzzFramer: the framer never panics, and what it records does not
// depend on how the stream is split into reads.
func FuzzFramer(f *testing.F) {
	for _, s := range []string{
		"GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /p HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x\r\nhello\r\n0\r\nT: 1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
		"POST /p HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST /p HTTP/1.0\r\nContent-Length: 2\r\n\r\nabGET / HTTP/1.1\n\n",
	} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, stream string, step uint8) {
		whole := newFramer(1 << 12)
		whole.feed([]byte(stream))
		split := newFramer(1 << 12)
		n := int(step%16) + 1
		for i := 0; i < len(stream); i += n {
			split.feed([]byte(stream[i:min(i+n, len(stream))]))
		}
		if !reflect.DeepEqual(whole.heads, split.heads) || whole.stopped != split.stopped {
			t.Fatalf("at once: %+v %v; %d bytes at a time: %+v %v", whole.heads, whole.stopped, n, split.heads, split.stopped)
		}
	})
}
