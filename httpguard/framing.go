package httpguard

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
)

// framer follows the HTTP/1 request stream of one connection as the
// server reads it and records, for each request head, its method, target
// and whether it carried both Content-Length and Transfer-Encoding. It
// reads the bodies' framing the way net/http does (chunked wins over
// Content-Length from HTTP/1.1 on, Transfer-Encoding is ignored before),
// so that it finds the next head where the server does.
//
// Anything it cannot follow (a malformed head or chunk, which the server
// answers with an error and a closed connection, or a head over maxHead)
// makes it stop: it then records nothing more, and the requests it did
// not record are not refused. After an ambiguous head it stops too: the
// server closes the connection after answering it.
type framer struct {
	mu      sync.Mutex // guards everything below; Read and the handler run in different goroutines
	maxHead int
	state   int
	buf     []byte // the head, or the chunk-size or trailer line, read so far
	left    int64  // body or chunk bytes (with the chunk's CRLF) still to skip
	heads   []head // heads read and not yet claimed
	stopped bool
}

// head is what the framer records of a request head.
type head struct {
	method, target string
	ambiguous      bool // both Content-Length and Transfer-Encoding
}

// States of a framer.
const (
	stHead      = iota // reading a head
	stBody             // skipping left bytes of a Content-Length body
	stChunkSize        // reading a chunk-size line
	stChunkData        // skipping left bytes of chunk data and its CRLF
	stTrailer          // reading trailer lines up to an empty one
)

// maxLine bounds a chunk-size or trailer line; maxQueued the heads read
// ahead of the handler (pipelining).
const (
	maxLine   = 64 << 10
	maxQueued = 256
)

func newFramer(maxHead int) *framer { return &framer{maxHead: maxHead} }

// feed follows p, the next bytes the server read.
func (f *framer) feed(p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(p) > 0 && !f.stopped {
		switch f.state {
		case stHead:
			if len(f.buf) == 0 {
				// net/http skips the empty lines some clients send after a body.
				for len(p) > 0 && (p[0] == '\r' || p[0] == '\n') {
					p = p[1:]
				}
				if len(p) == 0 {
					return
				}
			}
			end, ok := f.line(&p, f.maxHead, headEnd)
			if !ok {
				return
			}
			f.endHead(end)
		case stBody, stChunkData:
			n := min(int64(len(p)), f.left)
			p, f.left = p[n:], f.left-n
			if f.left > 0 {
				return
			}
			if f.state == stBody {
				f.state = stHead
			} else {
				f.state = stChunkSize
			}
		case stChunkSize:
			line, ok := f.line(&p, maxLine, lineEnd)
			if !ok {
				return
			}
			size, valid := chunkSize(line)
			switch {
			case !valid:
				f.stopped = true
			case size == 0:
				f.state = stTrailer
			default:
				f.state, f.left = stChunkData, size+2
			}
		case stTrailer:
			line, ok := f.line(&p, maxLine, lineEnd)
			if !ok {
				return
			}
			if len(bytes.TrimRight(line, "\r\n")) == 0 {
				f.state = stHead
			}
		}
	}
}

// line moves bytes of p into f.buf until end finds the end of what is
// read; it returns the whole of it (and empties f.buf), or false when p
// ran out first. Over limit bytes, the framer stops.
func (f *framer) line(p *[]byte, limit int, end func([]byte, int) int) ([]byte, bool) {
	from := max(len(f.buf)-3, 0)
	f.buf = append(f.buf, *p...)
	n := end(f.buf, from)
	if n < 0 {
		*p = nil
		if len(f.buf) > limit {
			f.stopped = true
		}
		return nil, false
	}
	extra := len(f.buf) - n
	*p = (*p)[len(*p)-extra:]
	out := f.buf[:n:n]
	f.buf = nil
	if n > limit {
		f.stopped = true
		return nil, false
	}
	return out, true
}

// headEnd returns the length of a head ending in an empty line (CRLF or
// LF, as net/http accepts both) in b, searching from from; -1 if none.
func headEnd(b []byte, from int) int {
	for i := from; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i+1 < len(b) && b[i+1] == '\n' {
			return i + 2
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return i + 3
		}
	}
	return -1
}

// lineEnd returns the length of the first line of b; -1 if none.
func lineEnd(b []byte, from int) int {
	if i := bytes.IndexByte(b[from:], '\n'); i >= 0 {
		return from + i + 1
	}
	return -1
}

// endHead records a complete head and sets the state for its body.
func (f *framer) endHead(raw []byte) {
	lines := strings.Split(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n")
	method, rest, ok1 := strings.Cut(lines[0], " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	major, minor, ok3 := parseProto(proto)
	if !ok1 || !ok2 || !ok3 || method == "" || target == "" {
		f.stopped = true
		return
	}
	var cls, tes []string
	last := ""
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' { // obsolete line folding: part of the last field
			switch last {
			case "cl":
				cls[len(cls)-1] += " " + strings.TrimSpace(l)
			case "te":
				tes[len(tes)-1] += " " + strings.TrimSpace(l)
			}
			continue
		}
		name, value, _ := strings.Cut(l, ":")
		value = strings.TrimSpace(value)
		switch last = ""; {
		case strings.EqualFold(name, "Content-Length"):
			cls, last = append(cls, value), "cl"
		case strings.EqualFold(name, "Transfer-Encoding"):
			tes, last = append(tes, value), "te"
		}
	}
	h := head{method: method, target: target, ambiguous: len(cls) > 0 && len(tes) > 0}
	if len(f.heads) >= maxQueued {
		f.stopped = true
		return
	}
	f.heads = append(f.heads, h)
	switch {
	case h.ambiguous:
		f.stopped = true // answered 400, connection closed
	case len(tes) > 0 && (major > 1 || minor >= 1):
		if len(tes) != 1 || !strings.EqualFold(tes[0], "chunked") {
			f.stopped = true // net/http answers 501 and closes
			return
		}
		f.state = stChunkSize
	case len(cls) > 0:
		n, err := strconv.ParseInt(cls[0], 10, 64)
		for _, v := range cls[1:] {
			if v != cls[0] {
				err = strconv.ErrSyntax
			}
		}
		if err != nil || n < 0 || strings.HasPrefix(cls[0], "+") {
			f.stopped = true // net/http answers 400 and closes
			return
		}
		if n > 0 {
			f.state, f.left = stBody, n
		}
	}
}

// parseProto parses "HTTP/x.y".
func parseProto(p string) (major, minor int, ok bool) {
	v, found := strings.CutPrefix(p, "HTTP/")
	if !found || len(v) != 3 || v[1] != '.' || v[0] < '0' || v[0] > '9' || v[2] < '0' || v[2] > '9' {
		return 0, 0, false
	}
	return int(v[0] - '0'), int(v[2] - '0'), true
}

// chunkSize parses a chunk-size line: hex digits, then optional
// extensions after ';'.
func chunkSize(line []byte) (int64, bool) {
	s := strings.TrimRight(string(line), "\r\n")
	s, _, _ = strings.Cut(s, ";")
	s = strings.TrimRight(s, " \t")
	if s == "" || len(s) > 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 16, 63)
	return int64(n), err == nil
}

// claim takes the recorded heads up to the one of the request with method
// and target and reports whether that one was ambiguous. A request the
// framer did not record (it stopped, or the server made the request up)
// is not.
func (f *framer) claim(method, target string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.heads) > 0 {
		h := f.heads[0]
		f.heads = f.heads[1:]
		if h.method == method && h.target == target {
			return h.ambiguous
		}
	}
	return false
}
