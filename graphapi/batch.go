package graphapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/contactgraph/contactgraph"
)

// JSON batching: POST /v1.0/$batch with {"requests":[{id, method, url,
// headers, body, dependsOn}]}, answered 200 {"responses":[{id, status,
// headers, body}]} as Microsoft Graph does.
//
// Contract:
//   - A malformed batch is one 400 BadRequest and runs nothing: a body
//     that is not a JSON object, no requests or more than maxBatchRequests,
//     a request without id, method or url, ids that are equal ignoring
//     case ("Request Id X has to be unique in a batch."), an absolute url
//     on another host, a nested $batch, a body that is neither a JSON
//     object nor a base64 string, a body without a Content-Type header, a
//     dependsOn naming an unknown id, forming a cycle or naming a later
//     request, and a dependsOn shape Graph refuses (checkDependencies).
//     A batch over Config.MaxBodyBytes is 413.
//   - Otherwise the answer is 200, even when every inner request failed.
//     Each inner request runs on its own, through serveAuthenticated: the
//     emulator's faults, the route table, permissions and the one error
//     table apply exactly as to a request of its own, with the batch's
//     principal (the token is verified once, for the batch). Its headers
//     apply to it alone; an Authorization header in it is ignored.
//   - There is no atomicity: what succeeded stays done when another
//     request fails. A request whose dependency failed (status >= 400,
//     424 included) is not run and answers 424 FailedDependency.
//   - Responses come in the order of the requests (Graph allows any order;
//     the SDKs match them by id). Each carries its own request-id; its
//     client-request-id is the one of its headers, else the batch's.
//     A JSON body is embedded as JSON, any other body as a base64 string,
//     an empty one is left out. Header values are strings.
//   - Parallelism: a batch without dependsOn runs at most
//     batchParallelism requests at once, whatever their mailboxes, as
//     Outlook runs batches; a batch with dependsOn runs one request at a
//     time in the order of the array (every dependency comes earlier).

// Limits of a batch.
const (
	maxBatchRequests = 20
	batchParallelism = 4
)

// batchMethods are the methods an inner request may have.
var batchMethods = []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete}

// droppedBatchHeaders are request headers an inner request does not pass
// on: the batch's token stands for every request, and the body's framing
// is the server's.
var droppedBatchHeaders = []string{"Authorization", "Host", "Content-Length", "Transfer-Encoding", "Connection"}

// batchItem is one validated request of a batch.
type batchItem struct {
	id     string // as sent
	method string // upper case
	path   string // escaped, starting with /v1.0 or another version segment
	query  string // raw query, without "?"
	header http.Header
	body   []byte // nil when the request has none
	deps   []int  // indexes of the requests it depends on, each lower than its own
}

// batchResponse is one entry of the answer's "responses".
type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// serveBatch serves POST /$batch (see the contract above).
func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request, c *call) {
	items, err := s.parseBatch(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	crid := w.Header().Get(hdrClientRequestID)
	out := make([]batchResponse, len(items))
	if hasDependencies(items) {
		for i := range items {
			out[i] = s.runBatchItem(r, c.p, items, out, i, crid)
		}
	} else {
		sem := make(chan struct{}, batchParallelism)
		var wg sync.WaitGroup
		for i := range items {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				out[i] = s.runBatchItem(r, c.p, items, nil, i, crid)
			}()
		}
		wg.Wait()
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		Responses []batchResponse `json:"responses"`
	}{out}); err != nil {
		s.writeError(w, r, fmt.Errorf("encode batch responses: %w", err))
		return
	}
	s.writeJSON(w, r, http.StatusOK, bytes.TrimRight(b.Bytes(), "\n"))
}

// hasDependencies reports whether a request of the batch has dependsOn.
func hasDependencies(items []batchItem) bool {
	for _, it := range items {
		if len(it.deps) > 0 {
			return true
		}
	}
	return false
}

// runBatchItem answers items[i]: 424 when one of its dependencies has
// failed in done (the answers so far, by index), else the answer of the
// request served as the principal p.
func (s *Server) runBatchItem(outer *http.Request, p contactgraph.Principal, items []batchItem, done []batchResponse, i int, crid string) (resp batchResponse) {
	it := &items[i]
	req := it.request(outer, crid)
	rec := &batchRecorder{header: http.Header{}}
	setRequestIDs(rec, req)
	req, observed := s.observeInner(outer, req, rec)
	defer observed()
	for _, d := range it.deps {
		if done[d].Status >= 400 {
			s.writeError(rec, req, contactgraph.Errorf(eFailedDependency, "Request '%s' was not run: it depends on request '%s', which failed with status %d.",
				it.id, items[d].id, done[d].Status))
			return rec.response(it.id)
		}
	}
	defer func() {
		// An inner panic must not end the process, and nothing of it has
		// reached the client: answer it as a 500 of its own.
		if v := recover(); v != nil {
			rec.reset()
			s.writeError(rec, req, fmt.Errorf("panic in batch request: %v", v))
			resp = rec.response(it.id)
		}
	}()
	segs, err := splitPath(it.path)
	if err != nil {
		s.writeError(rec, req, err)
	} else {
		var inner innerServer = s
		inner.serveAuthenticated(rec, req, p, it.path, segs)
	}
	return rec.response(it.id)
}

// innerServer is *Server as the batch handler reaches it. The call goes
// through an interface because the route table holds serveBatch, and a
// direct call to serveAuthenticated, which reads the table, would be an
// initialization cycle of the table with itself.
type innerServer interface {
	serveAuthenticated(w http.ResponseWriter, r *http.Request, p contactgraph.Principal, path string, segs []string)
}

// request builds the inner HTTP request of it: its method, path, query,
// headers and body, on the connection of the outer request (host, TLS,
// remote address and forwarding headers, which links are built from).
func (it *batchItem) request(outer *http.Request, crid string) *http.Request {
	u, err := url.Parse(it.path)
	if err != nil {
		u = &url.URL{Path: it.path} // a control character; splitPath or the route refuses it
	}
	u.RawQuery = it.query
	r := &http.Request{
		Method:     it.method,
		URL:        u,
		Proto:      outer.Proto,
		ProtoMajor: outer.ProtoMajor,
		ProtoMinor: outer.ProtoMinor,
		Header:     it.header.Clone(),
		Host:       outer.Host,
		RemoteAddr: outer.RemoteAddr,
		TLS:        outer.TLS,
		RequestURI: u.RequestURI(),
		Body:       http.NoBody,
	}
	if it.body != nil {
		r.Body = readCloser{bytes.NewReader(it.body)}
		r.ContentLength = int64(len(it.body))
	}
	for _, k := range forwardingHeaders {
		r.Header.Del(k)
		if v := outer.Header.Values(k); len(v) > 0 {
			r.Header[k] = v
		}
	}
	if r.Header.Get(hdrClientRequestID) == "" {
		r.Header.Set(hdrClientRequestID, crid)
	}
	return r.WithContext(outer.Context())
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// batchRecorder is the http.ResponseWriter of an inner request: it keeps
// the answer in memory. Headers are taken when the status is written, as
// net/http does.
type batchRecorder struct {
	header http.Header
	sent   http.Header
	status int
	body   bytes.Buffer
}

func (w *batchRecorder) Header() http.Header { return w.header }

func (w *batchRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status, w.sent = code, w.header.Clone()
	}
}

func (w *batchRecorder) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// reset drops what was written, keeping the request ids.
func (w *batchRecorder) reset() {
	h := http.Header{}
	for _, k := range []string{hdrRequestID, hdrClientRequestID} {
		if v := w.header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	*w = batchRecorder{header: h}
}

// response returns the recorded answer as a batch response with the
// given id: headers as strings (several values joined with ", ", no
// Content-Length), a JSON body as JSON, any other as base64.
func (w *batchRecorder) response(id string) batchResponse {
	w.WriteHeader(http.StatusOK) // a handler that wrote nothing answered 200
	out := batchResponse{ID: id, Status: w.status, Headers: map[string]string{}}
	for k, v := range w.sent {
		if k != "Content-Length" {
			out.Headers[k] = strings.Join(v, ", ")
		}
	}
	body := w.body.Bytes()
	switch {
	case len(body) == 0:
	case isJSONType(w.sent.Get("Content-Type")) && json.Valid(body):
		out.Body = json.RawMessage(body)
	default:
		out.Body = json.RawMessage(strconv.Quote(base64.StdEncoding.EncodeToString(body)))
	}
	return out
}

// isJSONType reports whether a Content-Type is application/json or a
// +json type.
func isJSONType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}
