package graphapi

import (
	"compress/gzip"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/contactgraph/contactgraph"
)

// readBody reads a request body of at most s.cfg.MaxBodyBytes bytes, both as
// sent and after gzip decompression (Content-Encoding: gzip, which the Go
// SDK uses for every POST and PATCH). It returns ETooLarge over the limit,
// EInvalid for a corrupt gzip stream or a body that is not valid UTF-8, and
// eUnsupportedEncoding for any other Content-Encoding.
func (s *Server) readBody(r *http.Request) ([]byte, error) {
	body, err := s.readRawBody(r, s.cfg.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(body) {
		return nil, contactgraph.Errorf(contactgraph.EInvalid, "The request body is not valid UTF-8.")
	}
	return body, nil
}

// readRawBody is readBody for binary bodies (a photo) with a limit of
// their own: the bytes as sent, or as decompressed, without the UTF-8
// check.
func (s *Server) readRawBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	var gz bool
	for _, enc := range r.Header.Values("Content-Encoding") {
		for e := range strings.SplitSeq(enc, ",") {
			switch strings.ToLower(strings.TrimSpace(e)) {
			case "", "identity":
			case "gzip", "x-gzip":
				if gz {
					return nil, contactgraph.Errorf(eUnsupportedEncoding, "The request body is gzip-compressed more than once.")
				}
				gz = true
			default:
				return nil, contactgraph.Errorf(eUnsupportedEncoding, "The Content-Encoding '%s' is not supported; use gzip or none.", strings.TrimSpace(e))
			}
		}
	}
	if r.Body == nil {
		return nil, nil
	}
	raw := &limitedReader{r: r.Body, n: limit}
	var src io.Reader = raw
	if gz {
		zr, err := gzip.NewReader(raw)
		if err != nil {
			return nil, readError(err, raw, limit, gz)
		}
		defer zr.Close()
		src = zr
	}
	out := &limitedReader{r: src, n: limit}
	body, err := io.ReadAll(out)
	if err != nil {
		if out.over {
			return nil, tooLarge(limit)
		}
		return nil, readError(err, raw, limit, gz)
	}
	return body, nil
}

// readError classifies an error of reading the body: over the limit, or
// a body that cannot be read (a corrupt gzip stream, a broken upload).
func readError(err error, raw *limitedReader, limit int64, gz bool) error {
	if raw.over {
		return tooLarge(limit)
	}
	if gz {
		return &contactgraph.Error{Code: contactgraph.EInvalid, Message: "The request body is not a valid gzip stream.", Err: err}
	}
	return &contactgraph.Error{Code: contactgraph.EInvalid, Message: "The request body could not be read.", Err: err}
}

func tooLarge(limit int64) error {
	return contactgraph.Errorf(contactgraph.ETooLarge, "The request body is larger than the limit of %d bytes.", limit)
}

// errBodyTooLarge is returned by limitedReader past its limit.
var errBodyTooLarge = errors.New("request body too large")

// limitedReader reads at most n bytes from r and fails, setting over, when
// the source holds more.
type limitedReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		l.over = true
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		l.over = true
		return n, errBodyTooLarge
	}
	return n, err
}
