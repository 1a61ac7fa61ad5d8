package odata

import (
	"strings"

	"github.com/contactgraph/contactgraph"
)

// ParseSearch parses directory $search text into a condition: one or more
// quoted clauses "property:term" joined by AND and OR (AND binding
// tighter; the keywords in any case), for example
// "displayName:dana" OR "displayName:lee". Each property must be
// Searchable in schema; a clause holds when a word of the property starts
// with its term (contactgraph.HasWord), case ignored. Inside the quotes \"
// stands for a quote and \\ for a backslash. It returns an *Error.
func ParseSearch(src string, schema *contactgraph.Schema) (contactgraph.Expr, error) {
	if len(src) > MaxLength {
		return nil, syntaxErr(-1, "The $search expression is longer than %d bytes.", MaxLength)
	}
	if err := checkText(src); err != nil {
		return nil, err
	}
	s := &searchParser{src: src, schema: schema}
	e, err := s.or()
	if err != nil {
		return nil, err
	}
	s.blanks()
	if s.i != len(src) {
		return nil, syntaxErr(s.i, "Syntax error at position %d in the $search expression '%s'.", s.i, src)
	}
	return e, nil
}

type searchParser struct {
	src    string
	i      int
	schema *contactgraph.Schema
	n      int
}

func (s *searchParser) blanks() {
	for s.i < len(s.src) && (s.src[s.i] == ' ' || s.src[s.i] == '\t') {
		s.i++
	}
}

// keyword consumes w (any case) when it stands next, followed by a blank
// or a quote.
func (s *searchParser) keyword(w string) bool {
	s.blanks()
	rest := s.src[s.i:]
	if len(rest) <= len(w) || !strings.EqualFold(rest[:len(w)], w) || (rest[len(w)] != ' ' && rest[len(w)] != '\t' && rest[len(w)] != '"') {
		return false
	}
	s.i += len(w)
	return true
}

func (s *searchParser) or() (contactgraph.Expr, error) {
	x, err := s.and()
	for err == nil && s.keyword("OR") {
		var y contactgraph.Expr
		if y, err = s.and(); err == nil {
			x = contactgraph.Or{X: x, Y: y}
		}
	}
	return x, err
}

func (s *searchParser) and() (contactgraph.Expr, error) {
	x, err := s.clause()
	for err == nil && s.keyword("AND") {
		var y contactgraph.Expr
		if y, err = s.clause(); err == nil {
			x = contactgraph.And{X: x, Y: y}
		}
	}
	return x, err
}

func (s *searchParser) clause() (contactgraph.Expr, error) {
	s.blanks()
	at := s.i
	if s.i == len(s.src) || s.src[s.i] != '"' {
		return nil, syntaxErr(at, "Syntax error at position %d in the $search expression '%s': a clause is \"property:term\", in double quotes.", at, s.src)
	}
	var b strings.Builder
	s.i++
	for {
		if s.i == len(s.src) {
			return nil, syntaxErr(at, "The $search expression '%s' has an unterminated clause at position %d.", s.src, at)
		}
		c := s.src[s.i]
		s.i++
		if c == '"' {
			break
		}
		if c == '\\' && s.i < len(s.src) && (s.src[s.i] == '"' || s.src[s.i] == '\\') {
			c = s.src[s.i]
			s.i++
		}
		b.WriteByte(c)
	}
	s.n++
	if s.n > MaxNodes/2 {
		return nil, syntaxErr(at, "The $search expression has more than %d clauses.", MaxNodes/2)
	}
	name, term, ok := strings.Cut(b.String(), ":")
	term = strings.TrimSpace(term)
	if !ok || term == "" {
		return nil, syntaxErr(at, "Syntax error in the $search clause at position %d: a clause is \"property:term\".", at)
	}
	prop, found := s.schema.LookupFold(strings.TrimSpace(name))
	if !found || !prop.Searchable {
		return nil, unsupported(at, strings.TrimSpace(name), "The property '%s' does not support $search.", strings.TrimSpace(name))
	}
	return contactgraph.HasWord{Path: contactgraph.Path{Prop: prop.Name}, Prefix: term}, nil
}
