// Package vcard reads and writes vCards (RFC 2426 version 3.0 and RFC 6350
// version 4.0) and maps them to and from the Graph contact document. It
// sits just above the domain: carddav uses it, and so may import and export
// commands. It knows nothing of HTTP.
package vcard

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/contactgraph/contactgraph"
)

// Limits of a vCard this package accepts.
const (
	// MaxBytes bounds one card's text: 256 KiB and room for a photo of
	// contactgraph.MaxPhotoBytes inline (base64, folded).
	MaxBytes      = 256<<10 + contactgraph.MaxPhotoBytes*3/2
	maxProperties = 1000
)

// Param is one parameter of a property: its upper-case name and values,
// unquoted.
type Param struct {
	Name   string
	Values []string
}

// Property is one content line: an optional group, the upper-case name,
// the parameters in the order they came and the value as written (still
// escaped: its structure depends on the property).
type Property struct {
	Group  string
	Name   string
	Params []Param
	Value  string
	raw    string // the line as parsed, given back unchanged by Line
}

// Param returns the values of the parameter name (upper case), joined
// from every occurrence.
func (p *Property) Param(name string) []string {
	var out []string
	for _, pa := range p.Params {
		if pa.Name == name {
			out = append(out, pa.Values...)
		}
	}
	return out
}

// HasType reports whether the property's TYPE parameter holds t, without
// regard to case. vCard 3.0 also allows bare types (TEL;WORK:…), which
// Parse files under TYPE.
func (p *Property) HasType(t string) bool {
	for _, v := range p.Param("TYPE") {
		for _, s := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(s), t) {
				return true
			}
		}
	}
	return false
}

// Card is a parsed vCard: its properties between BEGIN and END, in order.
type Card struct {
	Props []Property
}

// Get returns the first property named name (upper case), or nil.
func (c *Card) Get(name string) *Property {
	for i := range c.Props {
		if c.Props[i].Name == name {
			return &c.Props[i]
		}
	}
	return nil
}

// Version returns the card's VERSION value, "" when it has none.
func (c *Card) Version() string {
	if p := c.Get("VERSION"); p != nil {
		return strings.TrimSpace(p.Value)
	}
	return ""
}

func invalid(format string, args ...any) error {
	return contactgraph.Errorf(contactgraph.EInvalid, "The vCard is not valid: "+format, args...)
}

// Parse reads exactly one vCard. It unfolds lines (CRLF or LF followed by
// a space or tab), accepts vCard 3.0 and 4.0 and refuses anything else:
// errors are EInvalid (not UTF-8, no BEGIN:VCARD/END:VCARD pair, a second
// card, a line without a colon, an unknown version) or ETooLarge (over
// MaxBytes or 1,000 properties).
func Parse(b []byte) (*Card, error) {
	if len(b) > MaxBytes {
		return nil, contactgraph.Errorf(contactgraph.ETooLarge, "A vCard is at most %d bytes.", MaxBytes)
	}
	if !utf8.Valid(b) {
		return nil, invalid("it is not UTF-8.")
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	var lines []string
	var cur strings.Builder // the line being unfolded: a photo has thousands of parts
	for raw := range strings.SplitSeq(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n") {
		if raw == "" {
			continue
		}
		if (raw[0] == ' ' || raw[0] == '\t') && cur.Len() > 0 {
			cur.WriteString(raw[1:])
			continue
		}
		if cur.Len() > 0 {
			lines = append(lines, cur.String())
			cur = strings.Builder{}
		}
		cur.WriteString(raw)
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	var c Card
	state := 0 // 0 before BEGIN, 1 inside, 2 after END
	for _, l := range lines {
		p, err := parseLine(l)
		if err != nil {
			return nil, err
		}
		switch {
		case p.Name == "BEGIN" && strings.EqualFold(p.Value, "VCARD"):
			if state != 0 {
				return nil, invalid("it holds more than one card, or a nested one.")
			}
			state = 1
		case p.Name == "END" && strings.EqualFold(p.Value, "VCARD"):
			if state != 1 {
				return nil, invalid("END:VCARD without BEGIN:VCARD.")
			}
			state = 2
		case state != 1:
			return nil, invalid("a property outside BEGIN:VCARD and END:VCARD.")
		default:
			if len(c.Props) >= maxProperties {
				return nil, contactgraph.Errorf(contactgraph.ETooLarge, "A vCard holds at most %d properties.", maxProperties)
			}
			c.Props = append(c.Props, p)
		}
	}
	if state != 2 {
		return nil, invalid("it does not begin with BEGIN:VCARD and end with END:VCARD.")
	}
	switch c.Version() {
	case "3.0", "4.0":
	case "":
		return nil, invalid("VERSION is missing.")
	default:
		return nil, invalid("VERSION %s is not supported: send 3.0 or 4.0.", contactgraph.Truncate(c.Version(), 16))
	}
	return &c, nil
}

// parseLine splits one unfolded content line.
func parseLine(l string) (Property, error) {
	var p Property
	// The name and parameters end at the first colon outside quotes.
	colon, quoted := -1, false
	for i := 0; i < len(l) && colon < 0; i++ {
		switch l[i] {
		case '"':
			quoted = !quoted
		case ':':
			if !quoted {
				colon = i
			}
		}
	}
	if colon <= 0 {
		return p, invalid("the line %q has no property name or no colon.", contactgraph.Truncate(l, 64))
	}
	head := l[:colon]
	p.Value, p.raw = l[colon+1:], l
	parts := splitQuoted(head, ';')
	name := parts[0]
	if g, n, ok := strings.Cut(name, "."); ok {
		p.Group, name = g, n
	}
	if !validName(name) || (p.Group != "" && !validName(p.Group)) {
		return p, invalid("the property name %q is not valid.", contactgraph.Truncate(parts[0], 64))
	}
	p.Name = strings.ToUpper(name)
	for _, raw := range parts[1:] {
		k, v, ok := strings.Cut(raw, "=")
		if !ok { // a vCard 2.1/3.0 bare type such as TEL;WORK
			k, v = "TYPE", raw
		}
		if !validName(k) {
			return p, invalid("the parameter %q is not valid.", contactgraph.Truncate(raw, 64))
		}
		var vals []string
		for _, s := range splitQuoted(v, ',') {
			vals = append(vals, strings.Trim(s, `"`))
		}
		p.Params = append(p.Params, Param{Name: strings.ToUpper(k), Values: vals})
	}
	return p, nil
}

// splitQuoted splits s at sep outside double quotes.
func splitQuoted(s string, sep byte) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case sep:
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// Line renders a property as one unfolded content line: as it was parsed,
// for a parsed one.
func (p *Property) Line() string {
	if p.raw != "" {
		return p.raw
	}
	var b strings.Builder
	if p.Group != "" {
		b.WriteString(p.Group)
		b.WriteByte('.')
	}
	b.WriteString(p.Name)
	for _, pa := range p.Params {
		b.WriteByte(';')
		b.WriteString(pa.Name)
		b.WriteByte('=')
		for i, v := range pa.Values {
			if i > 0 {
				b.WriteByte(',')
			}
			if strings.ContainsAny(v, ":;,") {
				b.WriteString(`"` + strings.ReplaceAll(v, `"`, "") + `"`)
			} else {
				b.WriteString(v)
			}
		}
	}
	b.WriteByte(':')
	b.WriteString(p.Value)
	return b.String()
}

// writeFolded writes a content line folded at 75 octets, never inside a
// UTF-8 sequence, and ends it with CRLF.
func writeFolded(b *bytes.Buffer, line string) {
	n := 0
	for len(line) > 0 {
		limit := 75
		if n > 0 {
			limit = 74
			b.WriteString(" ")
		}
		cut := min(limit, len(line))
		for cut < len(line) && cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		b.WriteString(line[:cut])
		b.WriteString("\r\n")
		line = line[cut:]
		n++
	}
}

// Escape escapes a text value: backslash, newline, comma and semicolon.
func Escape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "\r\n", `\n`, "\n", `\n`, ",", `\,`, ";", `\;`)
	return r.Replace(s)
}

// Unescape undoes Escape.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Split splits an escaped structured value at unescaped sep (';' for
// components, ',' for list items) and unescapes each part.
func Split(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, Unescape(s[start:i]))
			start = i + 1
		}
	}
	return append(out, Unescape(s[start:]))
}

// Chunk is the text of one card of a multi-card file, with where it starts.
type Chunk struct {
	Text []byte
	N    int // 1 for the first card of the file
	Line int // the line of its BEGIN:VCARD, from 1
}

// ChunkError is a line of a multi-card file outside any card, or a card
// that does not end.
type ChunkError struct {
	Line int
	Msg  string
}

func (e *ChunkError) Error() string { return "line " + strconv.Itoa(e.Line) + ": " + e.Msg }

// SplitCards splits a file of many vCards (a .vcf export) into the text of
// each, BEGIN:VCARD to END:VCARD, without parsing them (Parse or Input each
// chunk). Blank lines between cards are skipped; anything else outside a
// card, or a card without its END:VCARD, is a *ChunkError.
func SplitCards(b []byte) ([]Chunk, error) {
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	var out []Chunk
	var cur *Chunk
	depth := 0 // nested BEGIN:VCARD (vCard 2.1 AGENT) stays inside its card
	for i := 0; len(b) > 0; {
		line := b
		if j := bytes.IndexByte(b, '\n'); j >= 0 {
			line, b = b[:j+1], b[j+1:]
		} else {
			b = nil
		}
		i++
		word := strings.ToUpper(strings.TrimSpace(string(line)))
		switch {
		case cur == nil && word == "":
			continue
		case cur == nil && word != "BEGIN:VCARD":
			return nil, &ChunkError{Line: i, Msg: "text outside a BEGIN:VCARD … END:VCARD card"}
		case cur == nil:
			out = append(out, Chunk{N: len(out) + 1, Line: i})
			cur = &out[len(out)-1]
			depth = 1
		case word == "BEGIN:VCARD":
			depth++
		case word == "END:VCARD":
			depth--
		}
		cur.Text = append(cur.Text, line...)
		if depth == 0 {
			cur = nil
		}
	}
	if cur != nil {
		return nil, &ChunkError{Line: cur.Line, Msg: "card " + strconv.Itoa(cur.N) + " has no END:VCARD"}
	}
	return out, nil
}
