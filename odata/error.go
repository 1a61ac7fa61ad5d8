package odata

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/contactgraph/contactgraph"
)

// Limits of one query option.
const (
	MaxLength = 8192 // bytes of $filter, $orderby or $search text
	MaxNodes  = 256  // conditions and operators in one $filter
	MaxDepth  = 32   // nesting of parentheses, not and lambdas
	MaxIn     = 100  // values in one "in" list
	MaxSort   = 8    // keys of one $orderby
)

// Error is a query option that cannot be used.
//
// Syntax errors are text that does not parse or does not type-check (an
// unknown property, a literal of the wrong type); the others are
// well-formed expressions using what the resource does not support (a
// property that cannot be filtered on, an operator or function it does not
// take). Unwrap gives the *contactgraph.Error a caller gets by default:
// code EInvalid for syntax errors, EInvalidFilter otherwise, with Msg.
type Error struct {
	Syntax bool
	Pos    int    // byte offset of the offending token; -1 when none
	Prop   string // the property concerned, as the schema spells it; "" when none
	Msg    string // a client-safe description
}

func (e *Error) Error() string { return "odata: " + e.Msg }

// Unwrap returns the domain error of e.
func (e *Error) Unwrap() error {
	code := contactgraph.EInvalidFilter
	if e.Syntax {
		code = contactgraph.EInvalid
	}
	return &contactgraph.Error{Code: code, Message: e.Msg}
}

// checkText refuses text no stored value can hold: invalid UTF-8 and NUL.
func checkText(src string) error {
	if !utf8.ValidString(src) {
		return syntaxErr(-1, "The expression is not valid UTF-8.")
	}
	if i := strings.IndexByte(src, 0); i >= 0 {
		return syntaxErr(i, "The expression holds a NUL character at position %d.", i)
	}
	return nil
}

func syntaxErr(pos int, format string, args ...any) *Error {
	return &Error{Syntax: true, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func unsupported(pos int, prop, format string, args ...any) *Error {
	return &Error{Pos: pos, Prop: prop, Msg: fmt.Sprintf(format, args...)}
}
