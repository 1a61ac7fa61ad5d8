package graphapi

import (
	"bytes"
	"net/url"
	"strings"

	"github.com/contactgraph/contactgraph"
)

// Navigation properties of a contact that $expand takes.
const (
	navExtensions = "extensions"
	navSingle     = "singleValueExtendedProperties"
	navMulti      = "multiValueExtendedProperties"
)

// expansion is a parsed $expand of a contact read.
type expansion struct {
	q contactgraph.PartsQuery
	// single and multi: the extended property collections named, which
	// the answer carries (empty when nothing matched) even when no id of
	// the right kind was asked for.
	single, multi bool
}

// parseExpand parses $expand on contacts: a comma list of extensions,
// singleValueExtendedProperties and multiValueExtendedProperties, each
// with an optional ($filter=id eq '…' [or id eq '…' …]). Extended
// properties need the $filter (Graph cannot list them all); extensions
// without one come all. nil when $expand is not given. EInvalid for a
// name that is not one of the three or a malformed expression,
// EUnsupported for other options or operators.
func parseExpand(q url.Values) (*expansion, error) {
	if !q.Has(optExpand) {
		return nil, nil
	}
	x := &expansion{}
	items, err := splitTop(q.Get(optExpand), ',')
	if err != nil {
		return nil, err
	}
	for _, item := range items {
		item = strings.TrimSpace(item)
		name, opts := item, ""
		if open := strings.IndexByte(item, '('); open >= 0 {
			if !strings.HasSuffix(item, ")") {
				return nil, expandSyntax(item)
			}
			name, opts = strings.TrimSpace(item[:open]), item[open+1:len(item)-1]
		}
		ids, filtered, err := expandFilter(name, opts)
		if err != nil {
			return nil, err
		}
		switch {
		case strings.EqualFold(name, navExtensions):
			if err := x.addExtensions(ids, filtered); err != nil {
				return nil, err
			}
		case strings.EqualFold(name, navSingle), strings.EqualFold(name, navMulti):
			multi := strings.EqualFold(name, navMulti)
			if !filtered {
				return nil, contactgraph.Errorf(contactgraph.EUnsupported, "Expanding '%s' needs $filter=id eq '{id}': the extended properties of an item cannot be listed.", name)
			}
			if err := x.addProperties(ids, multi); err != nil {
				return nil, err
			}
		default:
			return nil, contactgraph.Errorf(contactgraph.EInvalid, "Parsing OData Select and Expand failed: Could not find a property named '%s' on type 'microsoft.graph.contact'.", contactgraph.Truncate(name, 128))
		}
	}
	return x, nil
}

// addExtensions adds extensions, all of them or the ones ids names.
func (x *expansion) addExtensions(ids []string, filtered bool) error {
	if !filtered {
		x.q.Extensions, x.q.ExtensionNames = true, nil
		return nil
	}
	if x.q.Extensions && x.q.ExtensionNames == nil {
		return nil // all of them, asked for before
	}
	x.q.Extensions = true
	if x.q.ExtensionNames == nil {
		x.q.ExtensionNames = []string{}
	}
	for _, id := range ids {
		name, err := contactgraph.ExtensionName(id)
		if err != nil {
			return err
		}
		x.q.ExtensionNames = append(x.q.ExtensionNames, name)
	}
	return nil
}

// addProperties adds extended properties by id; ids of the other kind
// (an array type in singleValueExtendedProperties, say) match nothing.
func (x *expansion) addProperties(ids []string, multi bool) error {
	if multi {
		x.multi = true
	} else {
		x.single = true
	}
	for _, id := range ids {
		key, err := contactgraph.ExtendedPropertyKey(id)
		if err != nil {
			return err
		}
		isArray := strings.HasSuffix(strings.SplitN(key, " ", 2)[0], "Array")
		switch {
		case multi && isArray:
			x.q.Multi = append(x.q.Multi, key)
		case !multi && !isArray:
			x.q.Single = append(x.q.Single, key)
		}
	}
	return nil
}

func expandSyntax(item string) error {
	return contactgraph.Errorf(contactgraph.EInvalid, "The $expand item '%s' is not well formed.", contactgraph.Truncate(item, 128))
}

// expandFilter parses the options of one $expand item: empty, or
// $filter=<id eq '…' joined by or>. It returns the ids and whether a
// $filter was given.
func expandFilter(name, opts string) ([]string, bool, error) {
	opts = strings.TrimSpace(opts)
	if opts == "" {
		return nil, false, nil
	}
	key, expr, ok := strings.Cut(opts, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(key), "$filter") || strings.ContainsRune(expr, ';') && !insideQuotes(expr, ';') {
		return nil, false, contactgraph.Errorf(contactgraph.EUnsupported, "Only $filter=id eq '{id}' is supported inside $expand=%s(…).", contactgraph.Truncate(name, 64))
	}
	toks, err := filterTokens(expr)
	if err != nil {
		return nil, false, err
	}
	p := &idFilter{name: name, toks: toks}
	ids, err := p.or()
	if err != nil {
		return nil, false, err
	}
	if p.pos != len(p.toks) {
		return nil, false, unsupportedFilter(name)
	}
	return ids, true, nil
}

func unsupportedFilter(name string) error {
	return contactgraph.Errorf(contactgraph.EUnsupported, "Only id eq '{id}', joined by or, is supported in the $filter of $expand=%s(…).", contactgraph.Truncate(name, 64))
}

// insideQuotes reports whether every c in s is inside a quoted literal.
func insideQuotes(s string, c byte) bool {
	in := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			in = !in
		case s[i] == c && !in:
			return false
		}
	}
	return true
}

// splitTop splits s at each sep outside parentheses and quoted literals.
func splitTop(s string, sep byte) ([]string, error) {
	var out []string
	depth, in, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			in = !in
		case in:
		case c == '(':
			depth++
		case c == ')':
			if depth--; depth < 0 {
				return nil, expandSyntax(s)
			}
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if depth != 0 || in {
		return nil, expandSyntax(s)
	}
	return append(out, s[start:]), nil
}

// filterToken is a token of an expand $filter: "(", ")", a word, or a
// string literal (lit true, without its quotes, doubled quotes undone).
type filterToken struct {
	text string
	lit  bool
}

func filterTokens(s string) ([]filterToken, error) {
	var out []filterToken
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			out = append(out, filterToken{text: string(c)})
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, contactgraph.Errorf(contactgraph.EInvalid, "A string literal in $expand is not closed.")
			}
			out = append(out, filterToken{text: b.String(), lit: true})
			i = j + 1
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '(' && s[j] != ')' && s[j] != '\'' {
				j++
			}
			out = append(out, filterToken{text: s[i:j]})
			i = j
		}
	}
	return out, nil
}

// idFilter parses  expr := term ("or" term)*,  term := "(" expr ")" | "id" "eq" literal.
type idFilter struct {
	name string // the $expand item, for messages
	toks []filterToken
	pos  int
}

func (p *idFilter) word(w string) bool {
	if p.pos < len(p.toks) && !p.toks[p.pos].lit && strings.EqualFold(p.toks[p.pos].text, w) {
		p.pos++
		return true
	}
	return false
}

func (p *idFilter) or() ([]string, error) {
	var ids []string
	for {
		more, err := p.term()
		if err != nil {
			return nil, err
		}
		ids = append(ids, more...)
		if !p.word("or") {
			return ids, nil
		}
	}
}

func (p *idFilter) term() ([]string, error) {
	if p.word("(") {
		ids, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.word(")") {
			return nil, unsupportedFilter(p.name)
		}
		return ids, nil
	}
	if !p.word("id") || !p.word("eq") || p.pos >= len(p.toks) || !p.toks[p.pos].lit {
		return nil, unsupportedFilter(p.name)
	}
	p.pos++
	return []string{p.toks[p.pos-1].text}, nil
}

// appendParts adds to a rendered entity (b ends with its closing brace)
// the navigation properties x names, from parts (nil when the contact has
// none of them): each an array, empty when nothing matched.
func appendParts(b *bytes.Buffer, x *expansion, parts *contactgraph.ContactParts) {
	if x == nil {
		return
	}
	if parts == nil {
		parts = &contactgraph.ContactParts{}
	}
	b.Truncate(b.Len() - 1) // the entity's '}'
	if x.q.Extensions {
		b.WriteString(`,"extensions":[`)
		for i := range parts.Extensions {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(parts.Extensions[i].Doc())
		}
		b.WriteByte(']')
	}
	for _, nav := range []struct {
		name  string
		asked bool
		props []contactgraph.ExtendedProperty
	}{{navSingle, x.single, parts.Single}, {navMulti, x.multi, parts.Multi}} {
		if !nav.asked {
			continue
		}
		b.WriteString(`,"` + nav.name + `":[`)
		for i, p := range nav.props {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"id":`)
			appendJSONString(b, p.ID)
			b.WriteString(`,"value":`)
			if p.Multi {
				b.WriteByte('[')
				for j, v := range p.Values {
					if j > 0 {
						b.WriteByte(',')
					}
					appendJSONString(b, v)
				}
				b.WriteByte(']')
			} else {
				appendJSONString(b, p.Value)
			}
			b.WriteByte('}')
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
}
