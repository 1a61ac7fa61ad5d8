package httpguard

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
)

// framer follows the HTTP/1 request stream of one connection as the
// server reads it and records, for each request head, its request line
// (a hash of it) and whether it carried both Content-Length and
// Transfer-Encoding. It reads the bodies' framing the way net/http does
// (chunked wins over Content-Length from HTTP/1.1 on, Transfer-Encoding is
// ignored before), so that it finds the next head where the server does.
//
// It reads line by line and keeps at most keepLine bytes of a line: a
// connection costs it a few KiB whatever its heads hold. A field is known
// by its name, so a Content-Length or Transfer-Encoding field is seen
// however long it is; a value it did not keep whole, when needed for the
// framing, makes it stop.
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
	left    int64  // body or chunk bytes (with the chunk's CRLF) still to skip
	heads   []head // heads read and not yet claimed
	stopped bool

	// The line being read.
	line    []byte // its first keepLine bytes
	lineLen int    // its length so far, line ending included

	// The head being read.
	headLen   int    // its length so far
	inRequest bool   // reading its request line
	reqHash   uint64 // FNV-1a of the request line so far, line ending excluded
	pendingCR bool   // a CR not yet hashed: part of the line unless LF follows
	tail      []byte // the request line's last bytes, for its version
	cur       fields
}

// fields is what a head's fields say about its framing.
type fields struct {
	major, minor int
	cls, tes     []string // values of Content-Length and Transfer-Encoding fields
	lost         bool     // one of those values was not kept whole
	last         int      // the field a continuation line belongs to: 0 other, 1 CL, 2 TE
}

// head is what the framer records of a request head.
type head struct {
	line      uint64 // lineHash of the request line
	ambiguous bool   // both Content-Length and Transfer-Encoding
}

// States of a framer.
const (
	stHead      = iota // reading a head
	stBody             // skipping left bytes of a Content-Length body
	stChunkSize        // reading a chunk-size line
	stChunkData        // skipping left bytes of chunk data and its CRLF
	stTrailer          // reading trailer lines up to an empty one
)

// keepLine is how much of a line the framer keeps (net/http refuses
// chunk-size lines over 4 KiB); maxQueued bounds the heads read ahead of
// the handler (pipelining).
const (
	keepLine  = 4<<10 + 2
	maxQueued = 256
)

// FNV-1a, 64 bits.
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

// lineHash is the hash the framer records for a request line (without its
// line ending).
func lineHash(line string) uint64 {
	h := fnvOffset
	for i := 0; i < len(line); i++ {
		h = (h ^ uint64(line[i])) * fnvPrime
	}
	return h
}

func newFramer(maxHead int) *framer {
	return &framer{maxHead: maxHead, inRequest: true, reqHash: fnvOffset}
}

// feed follows p, the next bytes the server read.
func (f *framer) feed(p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(p) > 0 && !f.stopped {
		switch f.state {
		case stHead:
			if f.inRequest && f.lineLen == 0 {
				// net/http skips the empty lines some clients send after a body.
				for len(p) > 0 && (p[0] == '\r' || p[0] == '\n') {
					p = p[1:]
				}
				if len(p) == 0 {
					return
				}
			}
			var done bool
			p, done = f.take(p)
			if f.headLen > f.maxHead {
				f.stopped = true // net/http answers 431 and closes
				return
			}
			if !done {
				return
			}
			f.headLine()
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
			var done bool
			if p, done = f.take(p); !done {
				if f.lineLen > keepLine {
					f.stopped = true
				}
				return
			}
			size, valid := chunkSize(f.line)
			switch {
			case !valid || f.lineLen > len(f.line):
				f.stopped = true
			case size == 0:
				f.state = stTrailer
			default:
				f.state, f.left = stChunkData, size+2
			}
			f.endLine()
		case stTrailer:
			var done bool
			if p, done = f.take(p); !done {
				return
			}
			if len(bytes.TrimRight(f.line, "\r\n")) == 0 {
				f.state = stHead
			}
			f.endLine()
		}
	}
}

// take moves the bytes of p up to the end of the current line (LF) into
// it, and returns the rest of p and whether the line is complete.
func (f *framer) take(p []byte) ([]byte, bool) {
	i := bytes.IndexByte(p, '\n')
	part := p
	if i >= 0 {
		part = p[:i+1]
	}
	if room := keepLine - len(f.line); room > 0 {
		f.line = append(f.line, part[:min(room, len(part))]...)
	}
	f.lineLen += len(part)
	if f.state == stHead {
		f.headLen += len(part)
		if f.inRequest {
			f.hashRequest(part)
		}
	}
	if i < 0 {
		return nil, false
	}
	return p[i+1:], true
}

// hashRequest adds part of the request line to its hash and tail, leaving
// out the line ending (CRLF or LF).
func (f *framer) hashRequest(part []byte) {
	f.tail = append(f.tail, part...)
	if len(f.tail) > 32 {
		f.tail = append(f.tail[:0], f.tail[len(f.tail)-32:]...)
	}
	for _, c := range part {
		if f.pendingCR {
			f.pendingCR = false
			if c == '\n' {
				return
			}
			f.reqHash = (f.reqHash ^ '\r') * fnvPrime
		}
		switch c {
		case '\r':
			f.pendingCR = true
			continue
		case '\n':
			return
		}
		f.reqHash = (f.reqHash ^ uint64(c)) * fnvPrime
	}
}

// endLine forgets the line just read.
func (f *framer) endLine() {
	f.line, f.lineLen = f.line[:0], 0
}

// headLine handles a complete line of a head.
func (f *framer) headLine() {
	defer f.endLine()
	kept := strings.TrimRight(string(f.line), "\r\n")
	whole := f.lineLen <= len(f.line)
	if f.inRequest {
		f.inRequest = false
		tail := strings.TrimRight(string(f.tail), "\r\n")
		sp := strings.LastIndexByte(tail, ' ')
		major, minor, ok := parseProto(tail[sp+1:])
		if sp < 0 || !ok || strings.IndexByte(kept, ' ') <= 0 {
			f.stopped = true
			return
		}
		f.cur = fields{major: major, minor: minor}
		return
	}
	c := &f.cur
	switch {
	case kept == "":
		f.endHead()
		return
	case kept[0] == ' ' || kept[0] == '\t': // obsolete line folding: part of the last field
		v := " " + strings.TrimSpace(kept)
		switch c.last {
		case 1:
			c.cls[len(c.cls)-1] += v
		case 2:
			c.tes[len(c.tes)-1] += v
		}
		c.lost = c.lost || (!whole && c.last != 0)
		return
	}
	name, value, _ := strings.Cut(kept, ":")
	value = strings.TrimSpace(value)
	switch c.last = 0; {
	case strings.EqualFold(name, "Content-Length"):
		c.cls, c.last = append(c.cls, value), 1
	case strings.EqualFold(name, "Transfer-Encoding"):
		c.tes, c.last = append(c.tes, value), 2
	}
	c.lost = c.lost || (!whole && c.last != 0)
}

// endHead records the head just read and sets the state for its body.
func (f *framer) endHead() {
	c := f.cur
	h := head{line: f.reqHash, ambiguous: len(c.cls) > 0 && len(c.tes) > 0}
	f.inRequest, f.reqHash, f.pendingCR, f.tail, f.headLen, f.cur = true, fnvOffset, false, f.tail[:0], 0, fields{}
	if len(f.heads) >= maxQueued {
		f.stopped = true
		return
	}
	f.heads = append(f.heads, h)
	switch {
	case h.ambiguous:
		f.stopped = true // answered 400, connection closed
	case c.lost && (len(c.cls) > 0 || len(c.tes) > 0):
		f.stopped = true // the framing of its body is not known
	case len(c.tes) > 0 && (c.major > 1 || c.minor >= 1):
		if len(c.tes) != 1 || !strings.EqualFold(c.tes[0], "chunked") {
			f.stopped = true // net/http answers 501 and closes
			return
		}
		f.state = stChunkSize
	case len(c.cls) > 0:
		n, err := strconv.ParseInt(c.cls[0], 10, 64)
		for _, v := range c.cls[1:] {
			if v != c.cls[0] {
				err = strconv.ErrSyntax
			}
		}
		if err != nil || n < 0 || strings.HasPrefix(c.cls[0], "+") {
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

// claim takes the recorded heads up to the one of the request line
// "method target proto" and reports whether that one was ambiguous. A
// request the framer did not record (it stopped, or the server made the
// request up) is not.
func (f *framer) claim(method, target, proto string) bool {
	want := lineHash(method + " " + target + " " + proto)
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.heads) > 0 {
		h := f.heads[0]
		f.heads = f.heads[1:]
		if h.line == want {
			return h.ambiguous
		}
	}
	return false
}
