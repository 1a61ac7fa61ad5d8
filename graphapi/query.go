package graphapi

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/contactgraph/contactgraph"
)

// OData system query options this server knows, by their normalised name.
const (
	optSelect    = "$select"
	optTop       = "$top"
	optSkipToken = "$skiptoken"
	optDeltaTok  = "$deltatoken"
	optFilter    = "$filter"
	optOrderBy   = "$orderby"
	optCount     = "$count"
	optExpand    = "$expand"
	optSearch    = "$search"
	optSkip      = "$skip"
)

var knownOptions = map[string]bool{
	optSelect: true, optTop: true, optSkipToken: true, optDeltaTok: true, optFilter: true,
	optOrderBy: true, optCount: true, optExpand: true, optSearch: true, optSkip: true,
}

// queryOptions parses the query string of r. Names and values are
// percent-decoded ("%24select" is "$select"); OData option names (those
// starting with "$") are matched without regard to case and returned in
// lower case. Other parameters are kept as sent. It returns an EInvalid
// error for a query that does not decode, an unknown "$" option, or an
// OData option given more than once.
func queryOptions(r *http.Request) (url.Values, error) {
	q := url.Values{}
	for part := range strings.SplitSeq(r.URL.RawQuery, "&") {
		if part == "" {
			continue
		}
		rawName, rawValue, _ := strings.Cut(part, "=")
		name, err1 := url.QueryUnescape(rawName)
		value, err2 := url.QueryUnescape(rawValue)
		if err1 != nil || err2 != nil || !utf8.ValidString(name) || !utf8.ValidString(value) {
			return nil, contactgraph.Errorf(contactgraph.EInvalid, "The query string of the request is malformed.")
		}
		if strings.HasPrefix(name, "$") {
			name = strings.ToLower(name)
			if !knownOptions[name] {
				return nil, contactgraph.Errorf(contactgraph.EInvalid, "The query parameter '%s' is not supported.", name)
			}
			if q.Has(name) {
				return nil, contactgraph.Errorf(contactgraph.EInvalid, "Query option '%s' was specified more than once, but it must be specified at most once.", name)
			}
		}
		q.Add(name, value)
	}
	return q, nil
}

// Page sizes of list routes.
const (
	defaultTop = 10
	maxTop     = 1000
)

// listQuery is the parsed query of a list route.
type listQuery struct {
	top       int
	after     string   // keyset position from $skiptoken; "" for the first page
	sel       []string // validated $select; nil when not given
	selRaw    string   // $select as sent, carried into nextLinks
	expandRaw string   // $expand as sent (routes that take it), carried too
	count     bool     // $count=true: the answer carries @odata.count
}

// parseTop parses $top: a positive integer, capped at maxTop.
func parseTop(q url.Values) (int, error) {
	if !q.Has(optTop) {
		return defaultTop, nil
	}
	v := q.Get(optTop)
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0, contactgraph.Errorf(contactgraph.EInvalid, "Invalid value '%s' for $top query option found. The $top query option requires a positive integer value.", v)
	}
	return min(n, maxTop), nil
}

// parseSelect validates $select against schema. nil when not given.
func parseSelect(q url.Values, schema *contactgraph.Schema) ([]string, error) {
	if !q.Has(optSelect) {
		return nil, nil
	}
	return schema.Select(strings.Split(q.Get(optSelect), ","))
}

// parseList parses the query of a list route: $top, $skiptoken and
// $select; validID checks the id a $skiptoken decodes to.
func parseList(q url.Values, schema *contactgraph.Schema, validID func(string) bool) (listQuery, error) {
	var lq listQuery
	var err error
	if lq.top, err = parseTop(q); err != nil {
		return lq, err
	}
	if lq.sel, err = parseSelect(q, schema); err != nil {
		return lq, err
	}
	lq.selRaw = q.Get(optSelect)
	lq.expandRaw = q.Get(optExpand)
	if q.Has(optCount) {
		switch strings.ToLower(q.Get(optCount)) {
		case "true":
			lq.count = true
		case "false":
		default:
			return lq, contactgraph.Errorf(contactgraph.EInvalid, "Invalid value '%s' for $count query option found. Valid values are 'true' and 'false'.", q.Get(optCount))
		}
	}
	if q.Has(optSkipToken) {
		if lq.after, err = decodeSkipToken(q.Get(optSkipToken), validID); err != nil {
			return lq, err
		}
	}
	return lq, nil
}

// encodeSkipToken returns the opaque, URL-safe $skiptoken of a keyset
// position: the base64url encoding of the last id returned.
func encodeSkipToken(lastID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(lastID))
}

// decodeSkipToken reverses encodeSkipToken. A token that does not decode
// to an id accepted by validID is EBadToken.
func decodeSkipToken(tok string, validID func(string) bool) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) == 0 || !validID(string(b)) {
		return "", contactgraph.Errorf(contactgraph.EBadToken, "Badly formed token.")
	}
	return string(b), nil
}

// nextLink returns the @odata.nextLink of a list page: the request's path
// on the base URL with $select, $expand, $count and $top carried and the
// new $skiptoken.
func (s *Server) nextLink(r *http.Request, lq listQuery, lastID string) string {
	var b strings.Builder
	b.WriteString(s.linkBase(r))
	b.WriteByte('?')
	if lq.selRaw != "" {
		b.WriteString("$select=")
		b.WriteString(escapeQueryValue(lq.selRaw))
		b.WriteByte('&')
	}
	if lq.expandRaw != "" {
		b.WriteString("$expand=")
		b.WriteString(escapeQueryValue(lq.expandRaw))
		b.WriteByte('&')
	}
	if lq.count {
		b.WriteString("$count=true&")
	}
	b.WriteString("$top=")
	b.WriteString(strconv.Itoa(lq.top))
	b.WriteString("&$skiptoken=")
	b.WriteString(encodeSkipToken(lastID))
	return b.String()
}

// linkBase returns the absolute URL of the request's resource without its
// query: the base URL followed by the escaped request path after /v1.0
// (matched in any letter case). Links to further pages append their query.
func (s *Server) linkBase(r *http.Request) string {
	p := r.URL.EscapedPath()
	if len(p) >= len("/v1.0") && strings.EqualFold(p[:len("/v1.0")], "/v1.0") {
		p = p[len("/v1.0"):]
	}
	return s.baseURL(r) + p
}

const upperhex = "0123456789ABCDEF"

// escapeQueryValue percent-encodes a query value, keeping the characters
// OData values commonly hold (letters, digits, "-._~,").
func escapeQueryValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~,", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperhex[c>>4])
		b.WriteByte(upperhex[c&15])
	}
	return b.String()
}
