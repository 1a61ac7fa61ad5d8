package carddav

import (
	"context"
	"net/http"
	"strings"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/vcard"
)

// queryFilter is the C:filter of an addressbook-query (RFC 6352 §10.5).
type queryFilter struct {
	Test  string       `xml:"test,attr"`
	Props []propFilter `xml:"urn:ietf:params:xml:ns:carddav prop-filter"`
}

// propFilter is one C:prop-filter: a vCard property name with either
// is-not-defined or text-matches (param-filter is refused).
type propFilter struct {
	Name         string      `xml:"name,attr"`
	Test         string      `xml:"test,attr"`
	IsNotDefined *struct{}   `xml:"urn:ietf:params:xml:ns:carddav is-not-defined"`
	TextMatches  []textMatch `xml:"urn:ietf:params:xml:ns:carddav text-match"`
	ParamFilters []struct{}  `xml:"urn:ietf:params:xml:ns:carddav param-filter"`
}

// textMatch is one C:text-match.
type textMatch struct {
	Collation string `xml:"collation,attr"`
	MatchType string `xml:"match-type,attr"`
	Negate    string `xml:"negate-condition,attr"`
	Text      string `xml:",chardata"`
}

func unsupportedFilter(format string, args ...any) error {
	return &davError{status: http.StatusForbidden, elem: "<C:supported-filter/>",
		err: contactgraph.Errorf(contactgraph.EUnsupported, format, args...)}
}

// check refuses what the filter evaluator does not do: 403
// C:supported-filter for a param-filter or an unknown test or match-type,
// C:supported-collation for a collation other than i;unicode-casemap,
// i;ascii-casemap and i;octet.
func (f *queryFilter) check() error {
	if !anyAll(f.Test) {
		return unsupportedFilter("The filter test %q is neither anyof nor allof.", f.Test)
	}
	for _, pf := range f.Props {
		if strings.TrimSpace(pf.Name) == "" {
			return unsupportedFilter("A prop-filter needs a name.")
		}
		if !anyAll(pf.Test) {
			return unsupportedFilter("The prop-filter test %q is neither anyof nor allof.", pf.Test)
		}
		if len(pf.ParamFilters) > 0 {
			return unsupportedFilter("param-filter is not supported.")
		}
		for _, tm := range pf.TextMatches {
			switch tm.Collation {
			case "", "i;unicode-casemap", "i;ascii-casemap", "i;octet":
			default:
				return &davError{status: http.StatusForbidden, elem: "<C:supported-collation/>",
					err: contactgraph.Errorf(contactgraph.EUnsupported, "The collation %q is not supported.", tm.Collation)}
			}
			switch tm.MatchType {
			case "", "equals", "contains", "starts-with", "ends-with":
			default:
				return unsupportedFilter("The match-type %q is not supported.", tm.MatchType)
			}
		}
	}
	return nil
}

func anyAll(test string) bool { return test == "" || test == "anyof" || test == "allof" }

// matches reports whether a card passes the filter; a filter without
// prop-filters matches every card.
func (f *queryFilter) matches(c *vcard.Card) bool {
	if len(f.Props) == 0 {
		return true
	}
	return combine(f.Test, len(f.Props), func(i int) bool { return f.Props[i].matches(c) })
}

// combine is anyof (the default) or allof over n tests.
func combine(test string, n int, ok func(int) bool) bool {
	all := test == "allof"
	for i := 0; i < n; i++ {
		if ok(i) != all {
			return !all
		}
	}
	return all
}

// matches evaluates one prop-filter: is-not-defined holds when the card
// has no such property; otherwise some instance of the property must pass
// the text-matches (any instance at all when there are none).
func (pf *propFilter) matches(c *vcard.Card) bool {
	name := strings.ToUpper(strings.TrimSpace(pf.Name))
	var values []string
	for _, p := range c.Props {
		if p.Name == name {
			values = append(values, vcard.Unescape(p.Value))
		}
	}
	if pf.IsNotDefined != nil {
		return len(values) == 0
	}
	for _, v := range values {
		if len(pf.TextMatches) == 0 || combine(pf.Test, len(pf.TextMatches), func(i int) bool { return pf.TextMatches[i].matches(v) }) {
			return true
		}
	}
	return false
}

// matches evaluates a text-match on one value.
func (tm *textMatch) matches(value string) bool {
	fold := casemap
	switch tm.Collation {
	case "i;octet":
		fold = func(s string) string { return s }
	case "i;ascii-casemap":
		fold = asciiLower
	}
	v, t := fold(value), fold(tm.Text)
	var ok bool
	switch tm.MatchType {
	case "equals":
		ok = v == t
	case "starts-with":
		ok = strings.HasPrefix(v, t)
	case "ends-with":
		ok = strings.HasSuffix(v, t)
	default:
		ok = strings.Contains(v, t)
	}
	if tm.Negate == "yes" {
		return !ok
	}
	return ok
}

// casemap approximates i;unicode-casemap (RFC 5051) with Unicode case
// mapping (upper, then lower), without its decomposition step.
func casemap(s string) string { return strings.ToLower(strings.ToUpper(s)) }

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// query answers addressbook-query (RFC 6352 §8.6): the cards of the
// address book that pass the filter, with the asked properties. It
// evaluates the filter over each card of the folder as the vCard mapping
// renders it, in id order; with a limit (C:limit or DAV:limit) it returns
// at most that many and a 507 response for the collection when more
// match.
func (h *Handler) query(w http.ResponseWriter, r *http.Request, c *call, body reportBody) error {
	if body.Filter == nil {
		return &davError{status: http.StatusForbidden, elem: "<C:valid-filter/>",
			err: contactgraph.Errorf(contactgraph.EInvalid, "An addressbook-query needs a C:filter.")}
	}
	if err := body.Filter.check(); err != nil {
		return err
	}
	if l := body.CLimit; l != nil {
		body.Limit = &struct {
			N string `xml:"DAV: nresults"`
		}{N: l.N + l.ND}
	}
	limit, err := parseLimit(body)
	if err != nil {
		return err
	}
	want := body.Prop
	if len(want) == 0 {
		want = propList{{Name: dav("getetag")}}
	}
	ms := newMultistatus()
	n, truncated := 0, false
	err = h.eachCard(r.Context(), c, wantsData(want), func(ct *contactgraph.Contact, p cardParts) bool {
		parsed, err := vcard.Parse(render(ct.Doc, p, "4.0"))
		if err != nil || !body.Filter.matches(parsed) {
			return true
		}
		if limit > 0 && n == limit {
			truncated = true
			return false
		}
		res := cardResource(c, ct, p, want)
		ms.response(res.href, res.pick(want))
		n++
		return true
	})
	if err != nil {
		return err
	}
	if truncated {
		ms.status(c.bookHref(c.t.folder), http.StatusInsufficientStorage)
	}
	ms.write(w)
	return nil
}

// eachCard calls fn for each card of the address book in id order until
// fn returns false, with the photos when withPhoto.
func (h *Handler) eachCard(ctx context.Context, c *call, withPhoto bool, fn func(*contactgraph.Contact, cardParts) bool) error {
	after := ""
	for {
		page, err := h.cfg.Store.ListContacts(ctx, c.mb, c.t.folder, contactgraph.Page{After: after, Limit: 200})
		if err != nil {
			return err
		}
		ids := make([]string, len(page))
		for i, ct := range page {
			ids[i] = ct.ID
		}
		parts, err := h.partsOf(ctx, c.mb, c.t.folder, ids, withPhoto)
		if err != nil {
			return err
		}
		for _, ct := range page {
			if !fn(ct, parts[ct.ID]) {
				return nil
			}
		}
		if len(page) < 200 {
			return nil
		}
		after = page[len(page)-1].ID
	}
}
