package graphapi

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/odata"
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

// Page sizes of list routes. Outlook pages 10 items by default and caps
// $top at 1000; the directory pages 100 and refuses a $top over 999, as
// Entra does ("Invalid page size specified").
const (
	defaultTop    = 10
	maxTop        = 1000
	dirDefaultTop = 100
	dirMaxTop     = 999
)

// listSpec is what a list route's query is parsed against.
type listSpec struct {
	schema   *contactgraph.Schema
	validID  func(string) bool // checks the id a $skiptoken decodes to
	family   family            // page sizes and error wording
	resource string            // the entity set's type in directory errors, such as "OrgContact"
}

var (
	contactListSpec = listSpec{schema: contactgraph.ContactSchema, validID: contactgraph.ValidID, family: outlook}
	folderListSpec  = listSpec{schema: contactgraph.FolderSchema, validID: contactgraph.ValidID, family: outlook}
	orgListSpec     = listSpec{schema: contactgraph.OrgContactSchema, validID: validOrgID, family: directory, resource: "OrgContact"}
	userListSpec    = listSpec{schema: userSchema, validID: validUserKey, family: directory, resource: "User"}
)

// listQuery is the parsed query of a list route.
type listQuery struct {
	top     int                  // page size
	pref    int                  // Prefer: odata.maxpagesize as honoured; 0 when not sent
	after   string               // id keyset position of an unordered list; "" for the first page
	cursor  *contactgraph.Cursor // keyset position of an ordered list; nil for the first page
	skip    int                  // $skip, on the first page
	sel     []string             // validated $select; nil when not given
	selRaw  string               // $select as sent, carried into nextLinks
	count   bool                 // $count=true: the answer carries @odata.count
	filter  contactgraph.Expr    // $filter and $search, and-ed; nil when neither
	orderBy []contactgraph.SortKey

	filterRaw, orderRaw, searchRaw string // as sent, carried into nextLinks
	expandRaw                      string // $expand as sent (routes that take it), carried too
}

// store returns the ListQuery of a page.
func (lq listQuery) store() contactgraph.ListQuery {
	after := lq.cursor
	if after == nil && lq.after != "" {
		after = &contactgraph.Cursor{ID: lq.after}
	}
	return contactgraph.ListQuery{Filter: lq.filter, OrderBy: lq.orderBy, Skip: lq.skip, After: after, Limit: lq.top, Count: lq.count}
}

// page returns the Page of an unordered, unfiltered list.
func (lq listQuery) page() contactgraph.Page {
	return contactgraph.Page{After: lq.after, Limit: lq.top + 1}
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

// pageSize returns the page size of a list: $top when given (at most
// Prefer: odata.maxpagesize when both are), else the preference, else the
// family's default; Outlook caps it at 1000, the directory refuses a $top
// over 999. pref is the preference as honoured, 0 when none was sent.
func pageSize(q url.Values, h http.Header, f family) (size, pref int, err error) {
	def, limit := defaultTop, maxTop
	if f == directory {
		def, limit = dirDefaultTop, dirMaxTop
	}
	size = def
	if p := parsePrefer(h).MaxPageSize; p > 0 {
		pref = min(p, limit)
		size = pref
	}
	if !q.Has(optTop) {
		return size, pref, nil
	}
	top, err := parseTop(q)
	if err != nil {
		return 0, 0, err
	}
	if f == directory {
		if n, _ := strconv.Atoi(strings.TrimSpace(q.Get(optTop))); n > dirMaxTop {
			return 0, 0, contactgraph.Errorf(contactgraph.EUnsupported, "Invalid page size specified: '%d'. Must be between 1 and %d inclusive.", n, dirMaxTop)
		}
	}
	if pref > 0 {
		return min(top, pref), pref, nil
	}
	return top, 0, nil
}

// parseSelect validates $select against schema. nil when not given.
func parseSelect(q url.Values, schema *contactgraph.Schema) ([]string, error) {
	if !q.Has(optSelect) {
		return nil, nil
	}
	return schema.Select(strings.Split(q.Get(optSelect), ","))
}

// parseList parses the query of a list route: $top (with the Prefer
// header's odata.maxpagesize), $select, $count, $filter, $orderby, $search,
// $skip and $skiptoken. The route table has already refused the options
// the route does not take.
func parseList(q url.Values, h http.Header, spec listSpec) (listQuery, error) {
	var lq listQuery
	var err error
	if lq.top, lq.pref, err = pageSize(q, h, spec.family); err != nil {
		return lq, err
	}
	if lq.sel, err = parseSelect(q, spec.schema); err != nil {
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
	if q.Has(optFilter) {
		lq.filterRaw = q.Get(optFilter)
		if lq.filter, err = odata.ParseFilter(lq.filterRaw, spec.schema); err != nil {
			return lq, queryError(err, optFilter, spec)
		}
	}
	if q.Has(optSearch) {
		lq.searchRaw = q.Get(optSearch)
		search, err := odata.ParseSearch(lq.searchRaw, spec.schema)
		if err != nil {
			return lq, queryError(err, optSearch, spec)
		}
		if lq.filter == nil {
			lq.filter = search
		} else {
			lq.filter = contactgraph.And{X: lq.filter, Y: search}
		}
	}
	if q.Has(optOrderBy) {
		lq.orderRaw = q.Get(optOrderBy)
		if lq.orderBy, err = odata.ParseOrderBy(lq.orderRaw, spec.schema); err != nil {
			return lq, queryError(err, optOrderBy, spec)
		}
	}
	if q.Has(optSkip) {
		v := q.Get(optSkip)
		if lq.skip, err = strconv.Atoi(strings.TrimSpace(v)); err != nil || lq.skip < 0 {
			return lq, contactgraph.Errorf(contactgraph.EInvalid, "Invalid value '%s' for $skip query option found. The $skip query option requires a non-negative integer value.", v)
		}
	}
	if q.Has(optSkipToken) {
		lq.skip = 0 // $skip applies to the first page only
		tok := q.Get(optSkipToken)
		if len(lq.orderBy) == 0 {
			lq.after, err = decodeSkipToken(tok, spec.validID)
		} else {
			lq.cursor, err = decodeCursor(tok, spec.validID, len(lq.orderBy), lq.queryHash())
		}
		if err != nil {
			return lq, err
		}
	}
	return lq, nil
}

// queryError words an odata error for the route. Text that does not parse
// or type-check is eQuerySyntax. An unsupported $filter node is
// EInvalidFilter: on Outlook routes with Graph's fixed message, on the
// directory's naming the property as Entra does. An unsupported $orderby
// or $search is EUnsupported.
func queryError(err error, opt string, spec listSpec) error {
	var oe *odata.Error
	if !errors.As(err, &oe) {
		return err
	}
	switch {
	case oe.Syntax:
		return contactgraph.Errorf(eQuerySyntax, "Invalid %s clause: %s", strings.TrimPrefix(opt, "$"), oe.Msg)
	case opt != optFilter:
		return contactgraph.Errorf(contactgraph.EUnsupported, "%s", oe.Msg)
	case spec.family == outlook:
		return contactgraph.Errorf(contactgraph.EInvalidFilter, "The query filter contains one or more invalid nodes.")
	case oe.Prop != "":
		return contactgraph.Errorf(contactgraph.EInvalidFilter, "Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", oe.Prop, spec.resource)
	}
	return contactgraph.Errorf(contactgraph.EInvalidFilter, "Unsupported query filter clause: %s", oe.Msg)
}

// queryHash identifies the filter, order and search of an ordered list, so
// that a $skiptoken is refused by a query it was not made for.
func (lq listQuery) queryHash() uint32 {
	h := fnv.New32a()
	for _, s := range []string{lq.filterRaw, lq.orderRaw, lq.searchRaw} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum32()
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

// cursorTag starts the $skiptoken of an ordered list; no id starts with it.
const cursorTag = 0x01

// encodeCursor returns the $skiptoken of a position in an ordered list:
// base64url of the tag, the query's hash (4 bytes), the number of keys,
// each key (0 for null, or 1 and the length-prefixed text), then the id.
// The position is a keyset, not an offset: later pages cost no more than
// the first, and items created or deleted meanwhile shift nothing.
func encodeCursor(c *contactgraph.Cursor, hash uint32) string {
	b := []byte{cursorTag}
	b = binary.BigEndian.AppendUint32(b, hash)
	b = binary.AppendUvarint(b, uint64(len(c.Keys)))
	for _, k := range c.Keys {
		if k.Kind == contactgraph.VNull {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(len(k.Str)))
		b = append(b, k.Str...)
	}
	b = append(b, c.ID...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reverses encodeCursor for a query of keys sort keys and
// hash hash. Anything else, or an id validID refuses, is EBadToken.
func decodeCursor(tok string, validID func(string) bool, keys int, hash uint32) (*contactgraph.Cursor, error) {
	bad := contactgraph.Errorf(contactgraph.EBadToken, "Badly formed token.")
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) < 6 || b[0] != cursorTag || binary.BigEndian.Uint32(b[1:5]) != hash {
		return nil, bad
	}
	b = b[5:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n != uint64(keys) {
		return nil, bad
	}
	b = b[k:]
	c := &contactgraph.Cursor{Keys: make([]contactgraph.Value, keys)}
	for i := range c.Keys {
		if len(b) == 0 {
			return nil, bad
		}
		null := b[0] == 0
		if b[0] > 1 {
			return nil, bad
		}
		b = b[1:]
		if null {
			continue
		}
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)-k) {
			return nil, bad
		}
		s := string(b[k : k+int(l)])
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return nil, bad
		}
		c.Keys[i] = contactgraph.StringValue(s)
		b = b[k+int(l):]
	}
	if !validID(string(b)) {
		return nil, bad
	}
	c.ID = string(b)
	return c, nil
}

// nextLink returns the @odata.nextLink of a list page: the request's path
// on the base URL with the query options carried ($filter, $orderby,
// $search, $select, $expand, $count, $top) and the $skiptoken of the position after
// the page: the last id (lastID) of an unordered list, or the cursor of an
// ordered one.
func (s *Server) nextLink(r *http.Request, lq listQuery, lastID string, cur *contactgraph.Cursor) string {
	var b strings.Builder
	b.WriteString(s.linkBase(r))
	b.WriteByte('?')
	for _, o := range [][2]string{{optFilter, lq.filterRaw}, {optOrderBy, lq.orderRaw}, {optSearch, lq.searchRaw}, {optSelect, lq.selRaw}} {
		if o[1] != "" {
			b.WriteString(o[0] + "=")
			b.WriteString(escapeQueryValue(o[1]))
			b.WriteByte('&')
		}
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
	if len(lq.orderBy) > 0 && cur != nil {
		b.WriteString(encodeCursor(cur, lq.queryHash()))
	} else {
		b.WriteString(encodeSkipToken(lastID))
	}
	return b.String()
}

// preferenceApplied sets Preference-Applied for an honoured odata.maxpagesize.
func preferenceApplied(w http.ResponseWriter, lq listQuery) {
	if lq.pref > 0 {
		w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(lq.pref))
	}
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
