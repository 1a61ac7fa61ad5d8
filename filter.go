package contactgraph

import (
	"strconv"
	"strings"
	"time"
)

// An Expr is a node of a $filter expression tree: a condition that holds or
// not for one object of a list. The HTTP layer parses OData text into a tree
// (package odata), checking it against the property schemas; the stores
// compile the tree to their query language. The nodes are Compare, In,
// StartsWith, HasWord, And, Or, Not and Any.
//
// Conditions are two-valued: a test on a property that is null (or unset)
// is false, except "ne" against a non-null value and "eq null", which are
// true; Not negates exactly.
//
// String comparisons ignore the case of the ASCII letters A–Z (FoldCase) for
// every property whose schema entry is not CaseSensitive; other characters
// compare by code point. Date-times compare as instants.
type Expr interface{ isExpr() }

// Path names what a condition tests: a property of the object (Var empty),
// or inside an Any, the lambda's member itself (Var set, Prop empty) or a
// field of the member (both set). Names are spelled as in the schema.
type Path struct {
	Var  string
	Prop string
}

// Op is a comparison operator.
type Op int

// Comparison operators.
const (
	Eq Op = iota + 1
	Ne
	Gt
	Ge
	Lt
	Le
)

var opNames = [...]string{Eq: "eq", Ne: "ne", Gt: "gt", Ge: "ge", Lt: "lt", Le: "le"}

// String returns the OData spelling of o ("eq", "ne", ...).
func (o Op) String() string {
	if o < Eq || o > Le {
		return "op(" + strconv.Itoa(int(o)) + ")"
	}
	return opNames[o]
}

// ValueKind is the type of a literal.
type ValueKind int

// Literal types.
const (
	VNull     ValueKind = iota // null
	VString                    // Edm.String
	VBool                      // Edm.Boolean
	VDateTime                  // Edm.DateTimeOffset (and Edm.Date, as its midnight UTC)
)

// Value is a literal of a filter expression, already checked against the
// type of the property it is compared with.
type Value struct {
	Kind ValueKind
	Str  string    // VString: the text, unescaped
	Bool bool      // VBool
	Time time.Time // VDateTime, in UTC
}

// StringValue returns a string literal.
func StringValue(s string) Value { return Value{Kind: VString, Str: s} }

// Compare tests a property against a literal: Path Op Value. Value is
// VNull only with Eq and Ne.
type Compare struct {
	Path  Path
	Op    Op
	Value Value
}

// In holds when the property equals one of Values: Path in (v1, v2, ...).
type In struct {
	Path   Path
	Values []Value
}

// StartsWith holds when the string property starts with Prefix.
type StartsWith struct {
	Path   Path
	Prefix string
}

// HasWord holds when a word of the string property starts with Prefix:
// the value itself, or the text after a space, does. It is what directory
// $search ("displayName:…") matches.
type HasWord struct {
	Path   Path
	Prefix string
}

// And holds when both X and Y hold.
type And struct{ X, Y Expr }

// Or holds when X or Y holds.
type Or struct{ X, Y Expr }

// Not holds when X does not.
type Not struct{ X Expr }

// Any holds when some member of the collection property Prop satisfies
// Cond, in which the member is named Var:
// emailAddresses/any(a:a/address eq 'x') is
// Any{Prop: "emailAddresses", Var: "a", Cond: Compare{Path{"a", "address"}, Eq, 'x'}}.
// Cond tests only the member (every Path in it has Var set).
type Any struct {
	Prop string
	Var  string
	Cond Expr
}

func (Compare) isExpr()    {}
func (In) isExpr()         {}
func (StartsWith) isExpr() {}
func (HasWord) isExpr()    {}
func (And) isExpr()        {}
func (Or) isExpr()         {}
func (Not) isExpr()        {}
func (Any) isExpr()        {}

// Walk calls fn for e and, while fn returns true, for each node below it,
// depth first.
func Walk(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch n := e.(type) {
	case And:
		Walk(n.X, fn)
		Walk(n.Y, fn)
	case Or:
		Walk(n.X, fn)
		Walk(n.Y, fn)
	case Not:
		Walk(n.X, fn)
	case Any:
		Walk(n.Cond, fn)
	}
}

// FormatFilter renders e as OData $filter text with every binary node in
// parentheses, so that the tree's shape shows: parsing the result gives e
// back. A nil e is "".
func FormatFilter(e Expr) string {
	var b strings.Builder
	formatExpr(&b, e)
	return b.String()
}

func formatExpr(b *strings.Builder, e Expr) {
	switch n := e.(type) {
	case nil:
	case Compare:
		b.WriteString(n.Path.String())
		b.WriteByte(' ')
		b.WriteString(n.Op.String())
		b.WriteByte(' ')
		b.WriteString(n.Value.String())
	case In:
		b.WriteString(n.Path.String())
		b.WriteString(" in (")
		for i, v := range n.Values {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(v.String())
		}
		b.WriteByte(')')
	case StartsWith:
		b.WriteString("startswith(" + n.Path.String() + "," + StringValue(n.Prefix).String() + ")")
	case HasWord:
		b.WriteString("hasword(" + n.Path.String() + "," + StringValue(n.Prefix).String() + ")")
	case And:
		formatBinary(b, n.X, "and", n.Y)
	case Or:
		formatBinary(b, n.X, "or", n.Y)
	case Not:
		b.WriteString("not (")
		formatExpr(b, n.X)
		b.WriteByte(')')
	case Any:
		b.WriteString(n.Prop + "/any(" + n.Var + ":")
		formatExpr(b, n.Cond)
		b.WriteByte(')')
	}
}

func formatBinary(b *strings.Builder, x Expr, op string, y Expr) {
	b.WriteByte('(')
	formatExpr(b, x)
	b.WriteString(") " + op + " (")
	formatExpr(b, y)
	b.WriteByte(')')
}

// String renders a path as OData: "displayName", "a/address", "c".
func (p Path) String() string {
	switch {
	case p.Var == "":
		return p.Prop
	case p.Prop == "":
		return p.Var
	}
	return p.Var + "/" + p.Prop
}

// String renders a literal as OData: 'text' (quotes doubled), true, null,
// 2024-01-02T03:04:05Z.
func (v Value) String() string {
	switch v.Kind {
	case VString:
		return "'" + strings.ReplaceAll(v.Str, "'", "''") + "'"
	case VBool:
		return strconv.FormatBool(v.Bool)
	case VDateTime:
		return v.Time.UTC().Format(time.RFC3339Nano)
	}
	return "null"
}

// FoldCase maps the ASCII letters A–Z of s to lower case and keeps every
// other byte: the case folding of filter comparisons, the same in Go,
// SQLite's lower() and PostgreSQL's lower() under the "C" collation.
func FoldCase(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + ('a' - 'A')
				}
			}
			return string(b)
		}
	}
	return s
}

// SortKey is one key of $orderby: a sortable property, ascending unless
// Desc. Nulls sort before every value (first ascending, last descending).
type SortKey struct {
	Prop string
	Desc bool
}

// ListQuery asks a store for one page of a filtered, ordered list.
//
// The items are those Filter holds for (all when nil), in the order of
// OrderBy (by id when empty), ties broken by id ascending. Skip items are
// passed over before the page when After is nil. After, taken from the Next
// of an earlier page of the same query, continues after that page's last
// item: a keyset position, so that an item created or deleted meanwhile
// shifts nothing, and an item whose sort keys change while a client pages
// may be seen twice or not at all (as in Graph). Limit, at least 1, bounds
// the page. With Count the page carries the number of items Filter holds
// for, read in the same transaction.
type ListQuery struct {
	Filter  Expr
	OrderBy []SortKey
	Skip    int
	After   *Cursor
	Limit   int
	Count   bool
}

// Cursor is a keyset position in an ordered list: the sort key values of the
// last item returned (one per SortKey, as the store compares them: VString
// or VNull) and its id. Clients carry it opaquely.
type Cursor struct {
	Keys []Value
	ID   string
}

// ListPage is one page of a list. Next is the position to continue after
// when more items follow, else nil. Count is the total number of matching
// items when the query asked for it, else -1.
type ListPage[T any] struct {
	Items []T
	Next  *Cursor
	Count int
}
