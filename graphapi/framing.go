package graphapi

import (
	"net/http"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/httpguard"
)

// Requests refused for their framing, before anything else, with Graph's
// error body and a closed connection:
//
//   - a head with both Content-Length and Transfer-Encoding (seen by an
//     httpguard.Listener; net/http alone would serve it as chunked): 400;
//   - a head over Config.MaxHeaderBytes: 431. net/http refuses heads over
//     http.Server.MaxHeaderBytes itself, in text/plain, before any handler;
//     the server sets that limit well above this one.
//
// What net/http answers before a handler runs stays text/plain: a bad
// request line or header field (400), a head over http.Server's limit
// (431), an unknown or repeated Transfer-Encoding (501), a bad chunk
// (the connection is closed).

// DefaultMaxHeaderBytes is Config.MaxHeaderBytes when it is not set.
const DefaultMaxHeaderBytes = 64 << 10

// refuseFraming answers the requests refused for their framing and
// reports whether r was one. It must see every request of a connection
// (httpguard.Ambiguous matches requests to heads in order).
func (s *Server) refuseFraming(w http.ResponseWriter, r *http.Request) bool {
	var err error
	switch {
	case httpguard.Ambiguous(r):
		err = contactgraph.Errorf(eBadRequest, "The request has both Content-Length and Transfer-Encoding; send one of them.")
	case headSize(r) > s.cfg.MaxHeaderBytes:
		err = contactgraph.Errorf(eHeadersTooLarge, "The request line and headers are larger than %d bytes.", s.cfg.MaxHeaderBytes)
	default:
		return false
	}
	w.Header().Set("Connection", "close")
	s.writeError(w, r, err)
	return true
}

// headSize is the size of r's request line and header fields as HTTP/1.1
// sends them.
func headSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	n += len("Host: ") + len(r.Host) + 2
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	for _, v := range r.TransferEncoding {
		n += len("Transfer-Encoding: ") + len(v) + 2
	}
	return n + 2
}
