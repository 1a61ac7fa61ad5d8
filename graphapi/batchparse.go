package graphapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/contactgraph/contactgraph"
)

// badBatch is the error of a malformed batch: 400 BadRequest, nothing run.
func badBatch(format string, args ...any) error {
	return contactgraph.Errorf(eBadRequest, format, args...)
}

// rawBatchItem is one entry of "requests" as sent; its members are
// checked one by one for messages that name the request.
type rawBatchItem struct {
	ID        json.RawMessage `json:"id"`
	Method    json.RawMessage `json:"method"`
	URL       json.RawMessage `json:"url"`
	Headers   json.RawMessage `json:"headers"`
	Body      json.RawMessage `json:"body"`
	DependsOn json.RawMessage `json:"dependsOn"`
}

// parseBatch reads and validates the body of a $batch request. Errors are
// ETooLarge and eUnsupportedEncoding from readBody, and eBadRequest for
// every malformed batch (see batch.go); members it does not know are
// ignored.
func (s *Server) parseBatch(r *http.Request) ([]batchItem, error) {
	body, err := s.readBody(r)
	if err == nil {
		err = contactgraph.CheckJSONObject(body)
	}
	if contactgraph.ErrorCode(err) == contactgraph.EInvalid {
		return nil, badBatch("%s", contactgraph.ErrorMessage(err))
	}
	if err != nil {
		return nil, err
	}
	var top struct {
		Requests json.RawMessage `json:"requests"`
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || isNull(top.Requests) {
		return nil, badBatch("The batch request has no 'requests' array.")
	}
	if err := json.Unmarshal(top.Requests, &raws); err != nil {
		return nil, badBatch("The member 'requests' of a batch request must be an array of requests.")
	}
	switch {
	case len(raws) == 0:
		return nil, badBatch("The batch request holds no requests; a batch holds 1 to %d.", maxBatchRequests)
	case len(raws) > maxBatchRequests:
		return nil, badBatch("Number of requests inside batch exceeds the limit. A batch holds at most %d requests; this one holds %d.", maxBatchRequests, len(raws))
	}
	items := make([]batchItem, len(raws))
	ris := make([]rawBatchItem, len(raws))
	index := map[string]int{} // by lower-case id
	for i, raw := range raws {
		if raw = bytes.TrimSpace(raw); len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &ris[i]) != nil {
			return nil, badBatch("Request #%d of the batch is not a JSON object.", i+1)
		}
		id, _ := jsonString(ris[i].ID)
		key := strings.ToLower(id)
		if _, dup := index[key]; dup && id != "" {
			return nil, badBatch("Request Id %s has to be unique in a batch.", id)
		}
		it, err := s.parseBatchItem(r, ris[i], i)
		if err != nil {
			return nil, err
		}
		index[key] = i
		items[i] = it
	}
	for i := range items {
		if err := resolveDependsOn(items, i, ris[i].DependsOn, index); err != nil {
			return nil, err
		}
	}
	if err := checkDependencies(items); err != nil {
		return nil, err
	}
	return items, nil
}

// parseBatchItem validates one request (the i-th, from 0) but its
// dependsOn.
func (s *Server) parseBatchItem(r *http.Request, ri rawBatchItem, i int) (batchItem, error) {
	var it batchItem
	var ok bool
	if it.id, ok = jsonString(ri.ID); !ok || it.id == "" {
		return it, badBatch("Request #%d of the batch has no id: every request needs a non-empty string id.", i+1)
	}
	method, ok := jsonString(ri.Method)
	if !ok || method == "" {
		return it, badBatch("Request '%s' has no method.", it.id)
	}
	if it.method = strings.ToUpper(method); !slices.Contains(batchMethods, it.method) {
		return it, badBatch("Request '%s' has the method '%s'; a request of a batch is GET, POST, PATCH, PUT or DELETE.", it.id, method)
	}
	rawURL, ok := jsonString(ri.URL)
	if !ok || rawURL == "" {
		return it, badBatch("Request '%s' has no url.", it.id)
	}
	var err error
	if it.path, it.query, err = s.batchTarget(r, it.id, rawURL); err != nil {
		return it, err
	}
	if it.header, err = batchHeaders(it.id, ri.Headers); err != nil {
		return it, err
	}
	if it.body, err = batchBody(it.id, ri.Body); err != nil {
		return it, err
	}
	if it.body != nil && it.header.Get("Content-Type") == "" {
		return it, badBatch("Request '%s' has a body but no Content-Type header.", it.id)
	}
	return it, nil
}

// batchTarget resolves the url of a request to an escaped path and a raw
// query. A relative url is relative to /v1.0, with or without a leading
// slash ("/me/contacts", "me/contacts?$top=1"); one that starts with a
// version segment ("/v1.0/me", as the JavaScript SDK sends it, or
// "/beta/me") keeps it, so that a wrong version is the inner request's
// 400. An absolute url must be on the host of the batch (or of
// Config.PublicURL) and under its /v1.0. A url naming $batch itself is
// refused: batches do not nest.
func (s *Server) batchTarget(r *http.Request, id, raw string) (path, query string, err error) {
	ref, _, _ := strings.Cut(raw, "#")
	ref, query, _ = strings.Cut(ref, "?")
	if hasPrefixFold(ref, "http://") || hasPrefixFold(ref, "https://") || strings.HasPrefix(ref, "//") {
		path, err = s.absoluteBatchPath(r, id, ref)
		if err != nil {
			return "", "", err
		}
	} else {
		rel := strings.TrimPrefix(ref, "/")
		first, _, _ := strings.Cut(rel, "/")
		if v, err := url.PathUnescape(first); err == nil && (strings.EqualFold(v, "v1.0") || strings.EqualFold(v, "beta")) {
			path = "/" + rel
		} else {
			path = "/v1.0/" + rel
		}
	}
	if segs, err := splitPath(path); err == nil {
		if t, err := parseTarget(segs); err == nil && t.kind == kBatch {
			return "", "", badBatch("Request '%s' is a $batch request: batches cannot be nested.", id)
		}
	}
	return path, query, nil
}

// absoluteBatchPath returns the path under /v1.0 of an absolute url
// (scheme://host/... or //host/...) when its host is the batch's or that
// of the links' base (baseURL) and its path is under that base.
func (s *Server) absoluteBatchPath(r *http.Request, id, ref string) (string, error) {
	_, rest, _ := strings.Cut(ref, "//")
	host, p, _ := strings.Cut(rest, "/")
	p = "/" + p
	type base struct{ host, path string }
	bases := []base{{r.Host, "/v1.0"}}
	if u, err := url.Parse(s.baseURL(r)); err == nil { // the links' base
		bases = append(bases, base{u.Host, u.EscapedPath()})
	}
	onHost := false
	for _, b := range bases {
		if !strings.EqualFold(host, b.host) {
			continue
		}
		onHost = true
		if hasPrefixFold(p, b.path) && (len(p) == len(b.path) || p[len(b.path)] == '/') {
			return "/v1.0" + p[len(b.path):], nil
		}
	}
	if onHost {
		return "", badBatch("The url of request '%s' is not under /v1.0 of this server.", id)
	}
	return "", badBatch("The url of request '%s' is on another host (%s): a batch holds requests to this server only; use a url relative to /v1.0, such as /me/contacts.",
		id, contactgraph.Truncate(host, 128))
}

// batchHeaders reads the headers of a request: a JSON object of strings,
// or nothing. Names are case-insensitive; droppedBatchHeaders are left out.
func batchHeaders(id string, raw json.RawMessage) (http.Header, error) {
	h := http.Header{}
	if isNull(raw) {
		return h, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, badBatch("The headers of request '%s' must be a JSON object of strings.", id)
	}
	for name, v := range m {
		value, ok := jsonString(v)
		if !ok {
			return nil, badBatch("The header '%s' of request '%s' must be a string.", contactgraph.Truncate(name, 128), id)
		}
		h.Add(name, value)
	}
	for _, name := range droppedBatchHeaders {
		h.Del(name)
	}
	return h, nil
}

// batchBody reads the body of a request: a JSON object, passed on as
// JSON; a string, base64 of binary content (standard or URL alphabet,
// padded or not); or nothing (absent or null), which is nil.
func batchBody(id string, raw json.RawMessage) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case isNull(raw):
		return nil, nil
	case raw[0] == '{':
		return raw, nil
	case raw[0] == '"':
		s, _ := jsonString(raw)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(s); err == nil {
				return b, nil
			}
		}
		return nil, badBatch("The body of request '%s' is a string that is not base64: send JSON content as a JSON object, binary content as base64.", id)
	}
	return nil, badBatch("The body of request '%s' must be a JSON object, or a base64 string for binary content.", id)
}

// resolveDependsOn sets items[i].deps from its dependsOn: nothing, or an
// array of ids of the batch (compared ignoring case), each given once.
func resolveDependsOn(items []batchItem, i int, raw json.RawMessage, index map[string]int) error {
	it := &items[i]
	if isNull(raw) {
		return nil
	}
	var ids []string
	if err := json.Unmarshal(raw, &ids); err != nil {
		return badBatch("The dependsOn of request '%s' must be an array of request ids.", it.id)
	}
	for _, id := range ids {
		d, ok := index[strings.ToLower(id)]
		if !ok {
			return badBatch("Request '%s' depends on '%s', which is not a request of this batch.", it.id, contactgraph.Truncate(id, 128))
		}
		if slices.Contains(it.deps, d) {
			return badBatch("Request '%s' names '%s' twice in dependsOn.", it.id, items[d].id)
		}
		it.deps = append(it.deps, d)
	}
	return nil
}

// checkDependencies refuses what Graph refuses of dependsOn: a cycle, a
// dependency on a later request, and any shape but three (Graph's known
// limitation of JSON batching, which the SDKs check as well):
//   - parallel: no request has dependsOn;
//   - serial: the first has none, every other depends on the one before
//     it (and may name earlier ones too, as the Go SDK's DependsOnItem
//     does along a chain);
//   - same: every request but one depends on that one request alone.
func checkDependencies(items []batchItem) error {
	if cycle := findCycle(items); cycle != nil {
		ids := make([]string, len(cycle))
		for k, i := range cycle {
			ids[k] = "'" + items[i].id + "'"
		}
		return badBatch("The dependsOn of the batch form a cycle: %s.", strings.Join(ids, " → "))
	}
	for i, it := range items {
		for _, d := range it.deps {
			if d > i {
				return badBatch("Request '%s' depends on '%s', which comes after it: a request can depend only on a request before it.", it.id, items[d].id)
			}
		}
	}
	if !hasDependencies(items) || isSerial(items) || isSame(items) {
		return nil
	}
	return badBatch("Batch should be either fully sequential or fully parallel. Either no request has dependsOn, or each depends on the one before it, or all depend on the same request.")
}

// isSerial reports whether the batch is a chain: the first request has
// no dependency, every other one depends on the one before it.
func isSerial(items []batchItem) bool {
	for i, it := range items {
		if (i == 0) != (len(it.deps) == 0) || (i > 0 && !slices.Contains(it.deps, i-1)) {
			return false
		}
	}
	return true
}

// isSame reports whether every request but one, the head, depends on the
// head alone, which depends on nothing.
func isSame(items []batchItem) bool {
	head := -1
	for _, it := range items {
		if len(it.deps) > 0 {
			head = it.deps[0]
			break
		}
	}
	for i, it := range items {
		if i == head {
			if len(it.deps) > 0 {
				return false
			}
		} else if len(it.deps) != 1 || it.deps[0] != head {
			return false
		}
	}
	return true
}

// findCycle returns the indexes along a cycle of dependsOn, starting and
// ending with the same request, or nil.
func findCycle(items []batchItem) []int {
	const (
		unseen = iota
		open
		closed
	)
	state := make([]int, len(items))
	var stack []int
	var visit func(i int) []int
	visit = func(i int) []int {
		state[i] = open
		stack = append(stack, i)
		for _, d := range items[i].deps {
			switch state[d] {
			case open:
				at := slices.Index(stack, d)
				return append(slices.Clone(stack[at:]), d)
			case unseen:
				if c := visit(d); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = closed
		return nil
	}
	for i := range items {
		if state[i] == unseen {
			if c := visit(i); c != nil {
				return c
			}
		}
	}
	return nil
}

// jsonString returns the value of a JSON string; ok is false for anything
// else.
func jsonString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// isNull reports whether a member is absent or null.
func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}
