package odata

import (
	"errors"
	"strings"

	"github.com/contactgraph/contactgraph"
)

// ParseFilter parses $filter text into an expression tree, checking every
// node against schema. The grammar, loosest binding first:
//
//	or      = and { "or" and }
//	and     = unary { "and" unary }
//	unary   = "not" unary | primary
//	primary = "(" or ")" | "startswith" "(" path "," literal ")"
//	        | path "/any" "(" var ":" or ")"
//	        | operand cmp operand | path "in" "(" literal { "," literal } ")"
//	cmp     = "eq" | "ne" | "gt" | "ge" | "lt" | "le"
//
// where an operand is a property path (a property, or inside a lambda its
// variable, or the variable's field) or a literal: 'text' (two quotes for
// one), true, false, null, a date-time with a zone (2024-01-02T03:04:05Z), a
// date (2024-01-02, its midnight UTC), a GUID (compared with a string
// property as its lower-case text) or a number. A comparison takes one
// property and one literal of its type, in either order. It returns an
// *Error (see the package documentation).
func ParseFilter(src string, schema *contactgraph.Schema) (contactgraph.Expr, error) {
	if len(src) > MaxLength {
		return nil, syntaxErr(-1, "The $filter expression is longer than %d bytes.", MaxLength)
	}
	if strings.Trim(src, " \t") == "" {
		return nil, syntaxErr(0, "The $filter expression must not be empty.")
	}
	if err := checkText(src); err != nil {
		return nil, err
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks, schema: schema}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.unexpected(t)
	}
	return e, nil
}

type parser struct {
	src    string
	toks   []token
	i      int
	schema *contactgraph.Schema
	scope  *lambda // the lambda being parsed; nil outside one
	depth  int
	nodes  int
}

// lambda is the variable of an any() and the collection it ranges over.
type lambda struct {
	name string
	prop contactgraph.Property
}

func (p *parser) peek() token { return p.toks[p.i] }

// peekAt returns the token k places ahead (tEOF past the end).
func (p *parser) peekAt(k int) token {
	if p.i+k >= len(p.toks) {
		return p.toks[len(p.toks)-1]
	}
	return p.toks[p.i+k]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func isKeyword(t token, w string) bool { return t.kind == tIdent && strings.EqualFold(t.text, w) }

func (p *parser) expect(k tokKind) (token, error) {
	t := p.next()
	if t.kind != k {
		return t, syntaxErr(t.pos, "Syntax error: %s expected at position %d in '%s'.", k, t.pos, p.src)
	}
	return t, nil
}

func (p *parser) unexpected(t token) error {
	if t.kind == tEOF {
		return syntaxErr(t.pos, "Syntax error: the expression ends early at position %d in '%s'.", t.pos, p.src)
	}
	return syntaxErr(t.pos, "Syntax error at position %d in '%s'.", t.pos, p.src)
}

// count adds n nodes to the tree's size.
func (p *parser) count(pos, n int) error {
	p.nodes += n
	if p.nodes > MaxNodes {
		return syntaxErr(pos, "The $filter expression is too complex: it has more than %d nodes.", MaxNodes)
	}
	return nil
}

// enter and leave bound the nesting.
func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > MaxDepth {
		return syntaxErr(pos, "The $filter expression is nested more than %d levels deep.", MaxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) or() (contactgraph.Expr, error) {
	x, err := p.and()
	if err != nil {
		return nil, err
	}
	for isKeyword(p.peek(), "or") {
		t := p.next()
		if err := p.count(t.pos, 1); err != nil {
			return nil, err
		}
		y, err := p.and()
		if err != nil {
			return nil, err
		}
		x = contactgraph.Or{X: x, Y: y}
	}
	return x, nil
}

func (p *parser) and() (contactgraph.Expr, error) {
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	for isKeyword(p.peek(), "and") {
		t := p.next()
		if err := p.count(t.pos, 1); err != nil {
			return nil, err
		}
		y, err := p.unary()
		if err != nil {
			return nil, err
		}
		x = contactgraph.And{X: x, Y: y}
	}
	return x, nil
}

func (p *parser) unary() (contactgraph.Expr, error) {
	t := p.peek()
	if !isKeyword(t, "not") {
		return p.primary()
	}
	p.next()
	if err := p.count(t.pos, 1); err != nil {
		return nil, err
	}
	if err := p.enter(t.pos); err != nil {
		return nil, err
	}
	defer p.leave()
	x, err := p.unary()
	if err != nil {
		return nil, err
	}
	return contactgraph.Not{X: x}, nil
}

// OData functions this server knows of but does not support on lists.
var knownFunctions = map[string]bool{
	"contains": true, "endswith": true, "substringof": true, "indexof": true, "length": true, "substring": true,
	"tolower": true, "toupper": true, "trim": true, "concat": true, "year": true, "month": true, "day": true,
	"hour": true, "minute": true, "second": true, "date": true, "time": true, "now": true, "round": true,
	"floor": true, "ceiling": true, "cast": true, "isof": true, "matchespattern": true, "has": true,
}

func (p *parser) primary() (contactgraph.Expr, error) {
	t := p.peek()
	switch {
	case t.kind == tLParen:
		p.next()
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer p.leave()
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen); err != nil {
			return nil, err
		}
		return x, nil
	case t.kind == tIdent && p.peekAt(1).kind == tLParen:
		return p.call()
	}
	return p.comparison()
}

// call parses a function call used as a condition.
func (p *parser) call() (contactgraph.Expr, error) {
	name := p.next()
	fn := strings.ToLower(name.text)
	if fn != "startswith" {
		if knownFunctions[fn] {
			return nil, unsupported(name.pos, "", "The function '%s' is not supported.", name.text)
		}
		return nil, syntaxErr(name.pos, "An unknown function with name '%s' was found.", name.text)
	}
	if err := p.count(name.pos, 1); err != nil {
		return nil, err
	}
	p.next() // (
	arg, err := p.operand()
	if err != nil {
		return nil, err
	}
	if arg.lambda != nil || !arg.isPath {
		return nil, unsupported(arg.pos, "", "The first argument of startswith must be a property.")
	}
	if _, err := p.expect(tComma); err != nil {
		return nil, err
	}
	lit, err := p.operand()
	if err != nil {
		return nil, err
	}
	if lit.isPath || lit.lambda != nil {
		return nil, unsupported(lit.pos, arg.prop, "The second argument of startswith must be a string literal.")
	}
	if _, err := p.expect(tRParen); err != nil {
		return nil, err
	}
	if arg.kind != contactgraph.KString {
		return nil, syntaxErr(arg.pos, "No function signature for the function with name 'startswith' matches the specified arguments: '%s' is of type '%s'.", arg.path, edmKind(arg.kind))
	}
	v, err := typed(lit, arg, "startswith")
	if err != nil {
		return nil, err
	}
	if v.Kind != contactgraph.VString {
		return nil, syntaxErr(lit.pos, "No function signature for the function with name 'startswith' matches the specified arguments.")
	}
	if !arg.ops.Has(contactgraph.FilterStartsWith) {
		return nil, unsupported(name.pos, arg.prop, "The function 'startswith' is not supported on '%s'.", arg.path)
	}
	return contactgraph.StartsWith{Path: arg.path, Prefix: v.Str}, nil
}

// operand is one side of a comparison: a resolved property path or a literal.
type operand struct {
	pos    int
	isPath bool
	path   contactgraph.Path
	prop   string // the property's schema name (the collection's, in a lambda)
	kind   contactgraph.Kind
	ops    contactgraph.FilterOps
	lit    token
	lambda contactgraph.Expr // set when the path was a whole any(...) condition
}

var comparisons = map[string]contactgraph.Op{"eq": contactgraph.Eq, "ne": contactgraph.Ne, "gt": contactgraph.Gt,
	"ge": contactgraph.Ge, "lt": contactgraph.Lt, "le": contactgraph.Le}

// mirror is the operator of a comparison with its sides swapped.
var mirror = map[contactgraph.Op]contactgraph.Op{contactgraph.Eq: contactgraph.Eq, contactgraph.Ne: contactgraph.Ne,
	contactgraph.Gt: contactgraph.Lt, contactgraph.Ge: contactgraph.Le, contactgraph.Lt: contactgraph.Gt, contactgraph.Le: contactgraph.Ge}

func (p *parser) comparison() (contactgraph.Expr, error) {
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	if left.lambda != nil {
		return left.lambda, nil
	}
	t := p.peek()
	if isKeyword(t, "in") {
		return p.in(left)
	}
	opTok := t
	op, ok := contactgraph.Op(0), false
	if t.kind == tIdent {
		op, ok = comparisons[strings.ToLower(t.text)]
	}
	if !ok {
		if t.kind == tIdent && strings.EqualFold(t.text, "has") {
			return nil, unsupported(t.pos, left.prop, "The operator 'has' is not supported.")
		}
		if t.kind == tIdent && (strings.EqualFold(t.text, "add") || strings.EqualFold(t.text, "sub") || strings.EqualFold(t.text, "mul") ||
			strings.EqualFold(t.text, "div") || strings.EqualFold(t.text, "mod")) {
			return nil, unsupported(t.pos, left.prop, "Arithmetic operators are not supported.")
		}
		return nil, syntaxErr(left.pos, "The $filter expression must be made of Boolean conditions; '%s' at position %d is not one.", p.src[left.pos:t.pos], left.pos)
	}
	p.next()
	if err := p.count(opTok.pos, 1); err != nil {
		return nil, err
	}
	right, err := p.operand()
	if err != nil {
		return nil, err
	}
	if right.lambda != nil {
		return nil, unsupported(right.pos, right.prop, "A lambda cannot be compared.")
	}
	switch {
	case left.isPath && right.isPath:
		return nil, unsupported(right.pos, left.prop, "A property can only be compared with a literal.")
	case !left.isPath && !right.isPath:
		return nil, unsupported(left.pos, "", "A comparison must test a property.")
	case !left.isPath:
		left, right, op = right, left, mirror[op]
	}
	v, err := typed(right, left, opKind(op))
	if err != nil {
		return nil, err
	}
	need := contactgraph.OpFilter(op)
	if v.Kind == contactgraph.VNull {
		if op != contactgraph.Eq && op != contactgraph.Ne {
			return nil, unsupported(opTok.pos, left.prop, "Only eq and ne compare with null.")
		}
		need = contactgraph.FilterNull
	}
	if !left.ops.Has(need) {
		return nil, unsupported(opTok.pos, left.prop, "The operator '%s' is not supported on '%s'.", opTok.text, left.path)
	}
	return contactgraph.Compare{Path: left.path, Op: op, Value: v}, nil
}

// in parses "path in (v1, v2, …)" after path.
func (p *parser) in(left operand) (contactgraph.Expr, error) {
	inTok := p.next()
	if !left.isPath {
		return nil, unsupported(left.pos, "", "The left side of 'in' must be a property.")
	}
	if _, err := p.expect(tLParen); err != nil {
		return nil, err
	}
	var vals []contactgraph.Value
	for {
		o, err := p.operand()
		if err != nil {
			return nil, err
		}
		if o.isPath || o.lambda != nil {
			return nil, unsupported(o.pos, left.prop, "The list of 'in' must hold literals.")
		}
		v, err := typed(o, left, "In")
		if err != nil {
			return nil, err
		}
		if v.Kind == contactgraph.VNull {
			return nil, unsupported(o.pos, left.prop, "The list of 'in' cannot hold null.")
		}
		vals = append(vals, v)
		if len(vals) > MaxIn {
			return nil, unsupported(o.pos, left.prop, "The list of 'in' holds more than %d values.", MaxIn)
		}
		if err := p.count(o.pos, 1); err != nil {
			return nil, err
		}
		t := p.next()
		if t.kind == tRParen {
			break
		}
		if t.kind != tComma {
			return nil, p.unexpected(t)
		}
	}
	if !left.ops.Has(contactgraph.FilterIn) {
		return nil, unsupported(inTok.pos, left.prop, "The operator 'in' is not supported on '%s'.", left.path)
	}
	return contactgraph.In{Path: left.path, Values: vals}, nil
}

// operand reads a literal, or a property path resolved against the schema
// (a path ending in /any(...) is parsed whole, into operand.lambda).
func (p *parser) operand() (operand, error) {
	t := p.next()
	switch t.kind {
	case tString, tGUID, tDateTime, tDate, tNumber:
		return operand{pos: t.pos, lit: t}, nil
	case tIdent:
	default:
		return operand{}, p.unexpected(t)
	}
	if isKeyword(t, "true") || isKeyword(t, "false") || isKeyword(t, "null") {
		return operand{pos: t.pos, lit: t}, nil
	}
	segs := []token{t}
	for p.peek().kind == tSlash {
		p.next()
		s, err := p.expect(tIdent)
		if err != nil {
			return operand{}, err
		}
		if (isKeyword(s, "any") || isKeyword(s, "all")) && p.peek().kind == tLParen {
			return p.lambda(segs, s)
		}
		segs = append(segs, s)
	}
	return p.resolve(segs)
}

// resolve finds what a path names: a property with its filter operators,
// or in a lambda the member (or a field of it).
func (p *parser) resolve(segs []token) (operand, error) {
	first := segs[0]
	o := operand{pos: first.pos, isPath: true}
	if p.scope != nil && first.text == p.scope.name {
		field := ""
		if len(segs) > 2 {
			return o, unsupported(segs[2].pos, p.scope.prop.Name, "Nested property paths are not supported in a lambda.")
		}
		if len(segs) == 2 {
			field = segs[1].text
		}
		m, ok := p.scope.prop.Member(field)
		if !ok && field != "" {
			for _, x := range p.scope.prop.Members { // Graph matches names without regard to case
				if strings.EqualFold(x.Field, field) {
					m, ok = x, true
				}
			}
		}
		if !ok {
			if field != "" && !hasField(p.scope.prop, field) {
				return o, syntaxErr(segs[1].pos, "Could not find a property named '%s' on the members of '%s'.", field, p.scope.prop.Name)
			}
			return o, unsupported(first.pos, p.scope.prop.Name, "The lambda over '%s' cannot test '%s'.", p.scope.prop.Name, joinSegs(segs))
		}
		o.path = contactgraph.Path{Var: p.scope.name, Prop: m.Field}
		o.prop, o.kind, o.ops = p.scope.prop.Name, m.Kind, m.Ops
		return o, nil
	}
	prop, ok := p.schema.LookupFilterFold(first.text)
	if !ok {
		return o, syntaxErr(first.pos, "Could not find a property named '%s' on type '%s'.", first.text, p.schema.Type)
	}
	o.prop = prop.Name
	if p.scope != nil {
		return o, unsupported(first.pos, prop.Name, "A lambda may test only its own variable, not '%s'.", prop.Name)
	}
	if len(segs) > 1 {
		return o, unsupported(segs[1].pos, prop.Name, "The property path '%s' is not supported.", joinSegs(segs))
	}
	if prop.Members != nil {
		return o, unsupported(first.pos, prop.Name, "The collection '%s' can only be filtered with any().", prop.Name)
	}
	if prop.Filter == 0 {
		return o, unsupported(first.pos, prop.Name, "The property '%s' cannot be used in $filter.", prop.Name)
	}
	o.path, o.kind, o.ops = contactgraph.Path{Prop: prop.Name}, prop.Kind, prop.Filter
	return o, nil
}

// hasField reports whether the complex members of p have a field named f,
// so that a field the lambda cannot test is told apart from one that does
// not exist.
func hasField(p contactgraph.Property, f string) bool {
	for _, name := range contactgraph.MemberFields(p.Kind) {
		if strings.EqualFold(name, f) {
			return true
		}
	}
	return false
}

func joinSegs(segs []token) string {
	parts := make([]string, len(segs))
	for i, s := range segs {
		parts[i] = s.text
	}
	return strings.Join(parts, "/")
}

// lambda parses "any(v: cond)" after the collection path segs.
func (p *parser) lambda(segs []token, fn token) (operand, error) {
	first := segs[0]
	o := operand{pos: first.pos}
	if p.scope != nil {
		return o, unsupported(fn.pos, p.scope.prop.Name, "Lambdas cannot be nested.")
	}
	prop, ok := p.schema.LookupFilterFold(first.text)
	if !ok {
		return o, syntaxErr(first.pos, "Could not find a property named '%s' on type '%s'.", first.text, p.schema.Type)
	}
	o.prop = prop.Name
	if len(segs) > 1 {
		return o, unsupported(segs[1].pos, prop.Name, "The property path '%s' is not supported.", joinSegs(segs))
	}
	if prop.Members == nil {
		return o, unsupported(fn.pos, prop.Name, "The operator '%s' is not supported on '%s'.", fn.text, prop.Name)
	}
	if !isKeyword(fn, "any") {
		return o, unsupported(fn.pos, prop.Name, "The operator '%s' is not supported on '%s'.", fn.text, prop.Name)
	}
	if err := p.count(fn.pos, 1); err != nil {
		return o, err
	}
	if err := p.enter(fn.pos); err != nil {
		return o, err
	}
	defer p.leave()
	p.next() // (
	if p.peek().kind == tRParen {
		return o, unsupported(fn.pos, prop.Name, "any() without a condition is not supported.")
	}
	v, err := p.expect(tIdent)
	if err != nil {
		return o, err
	}
	if _, err := p.expect(tColon); err != nil {
		return o, err
	}
	p.scope = &lambda{name: v.text, prop: prop}
	cond, err := p.or()
	p.scope = nil
	if err != nil {
		return o, err
	}
	if _, err := p.expect(tRParen); err != nil {
		return o, err
	}
	a := contactgraph.Any{Prop: prop.Name, Var: v.text, Cond: cond}
	if prop.Keyed {
		if _, err := contactgraph.ParseExtendedFilter(a); err != nil {
			msg := err.Error()
			var de *contactgraph.Error
			if errors.As(err, &de) {
				msg = de.Message
			}
			if contactgraph.ErrorCode(err) == contactgraph.EInvalidFilter {
				return o, unsupported(fn.pos, prop.Name, "%s", msg)
			}
			return o, syntaxErr(fn.pos, "%s", msg)
		}
	}
	o.lambda = a
	return o, nil
}
