package graphapi

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/contactgraph/contactgraph"
)

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadBody(t *testing.T) {
	t.Parallel()
	const limit = 1024
	s := &Server{cfg: Config{MaxBodyBytes: limit}}
	json := []byte(`{"givenName":"Ada"}`)
	big := bytes.Repeat([]byte("a"), limit+1)
	bomb := gzipBytes(t, bytes.Repeat([]byte(" "), 10*limit))
	zipped := gzipBytes(t, json)
	tests := []struct {
		name     string
		body     []byte
		encoding string
		chunked  bool // no Content-Length
		want     []byte
		code     contactgraph.Code
	}{
		{"plain", json, "", false, json, ""},
		{"identity", json, "identity", false, json, ""},
		{"gzip", zipped, "gzip", false, json, ""},
		{"GZIP case", zipped, "GZip", false, json, ""},
		{"gzip chunked", zipped, "gzip", true, json, ""},
		{"empty", nil, "", false, []byte{}, ""},
		{"exactly the limit", big[:limit], "", true, big[:limit], ""},
		{"exactly the limit, declared", big[:limit], "", false, big[:limit], ""},
		{"over the limit, declared", big, "", false, nil, contactgraph.ETooLarge},
		{"over the limit, chunked", big, "", true, nil, contactgraph.ETooLarge},
		{"gzip bomb", bomb, "gzip", false, nil, contactgraph.ETooLarge},
		{"corrupt gzip", []byte("not gzip at all"), "gzip", false, nil, contactgraph.EInvalid},
		{"truncated gzip", zipped[:len(zipped)-6], "gzip", false, nil, contactgraph.EInvalid},
		{"invalid UTF-8", []byte("{\"givenName\":\"\xff\"}"), "", false, nil, contactgraph.EInvalid},
		{"invalid UTF-8 in gzip", gzipBytes(t, []byte("\xc3\x28")), "gzip", false, nil, contactgraph.EInvalid},
		{"br", json, "br", false, nil, eUnsupportedEncoding},
		{"double gzip", zipped, "gzip, gzip", false, nil, eUnsupportedEncoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rd io.Reader = bytes.NewReader(tt.body)
			if tt.chunked {
				rd = io.MultiReader(rd) // hides the length
			}
			r := httptest.NewRequest("POST", "/v1.0/me/contacts", rd)
			if tt.chunked {
				r.ContentLength = -1
			}
			if tt.encoding != "" {
				r.Header.Set("Content-Encoding", tt.encoding)
			}
			got, err := s.readBody(r)
			if code := contactgraph.ErrorCode(err); code != tt.code {
				t.Fatalf("error %v, want code %q", err, tt.code)
			}
			if tt.code == "" && !bytes.Equal(got, tt.want) {
				t.Fatalf("body %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzReadBody(f *testing.F) {
	f.Add([]byte(`{"a":1}`), false)
	f.Add(gzipBytes(f, []byte(`{"a":1}`)), true)
	f.Fuzz(func(t *testing.T, body []byte, gz bool) {
		s := &Server{cfg: Config{MaxBodyBytes: 4096}}
		r := httptest.NewRequest("POST", "/v1.0/me/contacts", bytes.NewReader(body))
		if gz {
			r.Header.Set("Content-Encoding", "gzip")
		}
		got, err := s.readBody(r)
		switch code := contactgraph.ErrorCode(err); code {
		case "":
			if len(got) > 4096 {
				t.Fatalf("body of %d bytes passed", len(got))
			}
			if _, perr := contactgraph.ParseContactInput(got); contactgraph.ErrorCode(perr) == contactgraph.EInternal {
				t.Fatalf("parse: %v", perr)
			}
		case contactgraph.EInvalid, contactgraph.ETooLarge:
		default:
			t.Fatalf("code %s: %v", code, err)
		}
	})
}
