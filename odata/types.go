package odata

import (
	"strings"

	"github.com/contactgraph/contactgraph"
)

// typed converts the literal of lit to the type of the path it is
// compared with (how names the operation, for the error).
func typed(lit, path operand, how string) (contactgraph.Value, error) {
	t := lit.lit
	if isKeyword(t, "null") {
		return contactgraph.Value{Kind: contactgraph.VNull}, nil
	}
	switch path.kind {
	case contactgraph.KString:
		switch t.kind {
		case tString:
			return contactgraph.StringValue(t.text), nil
		case tGUID:
			return contactgraph.StringValue(t.text), nil
		}
	case contactgraph.KDateTime:
		if t.kind == tDateTime || t.kind == tDate {
			return contactgraph.Value{Kind: contactgraph.VDateTime, Time: t.time}, nil
		}
	case contactgraph.KBool:
		if isKeyword(t, "true") || isKeyword(t, "false") {
			return contactgraph.Value{Kind: contactgraph.VBool, Bool: isKeyword(t, "true")}, nil
		}
	}
	return contactgraph.Value{}, syntaxErr(lit.pos, "A binary operator with incompatible types was detected. Found operand types '%s' and '%s' for operator kind '%s'.",
		edmKind(path.kind), edmLiteral(t), how)
}

func opKind(op contactgraph.Op) string {
	return map[contactgraph.Op]string{contactgraph.Eq: "Equal", contactgraph.Ne: "NotEqual", contactgraph.Gt: "GreaterThan",
		contactgraph.Ge: "GreaterThanOrEqual", contactgraph.Lt: "LessThan", contactgraph.Le: "LessThanOrEqual"}[op]
}

func edmKind(k contactgraph.Kind) string {
	switch k {
	case contactgraph.KString:
		return "Edm.String"
	case contactgraph.KDateTime:
		return "Edm.DateTimeOffset"
	case contactgraph.KBool:
		return "Edm.Boolean"
	}
	return "Edm.ComplexType"
}

func edmLiteral(t token) string {
	switch t.kind {
	case tString:
		return "Edm.String"
	case tGUID:
		return "Edm.Guid"
	case tDateTime:
		return "Edm.DateTimeOffset"
	case tDate:
		return "Edm.Date"
	case tNumber:
		if strings.Contains(t.text, ".") {
			return "Edm.Decimal"
		}
		return "Edm.Int32"
	}
	if isKeyword(t, "true") || isKeyword(t, "false") {
		return "Edm.Boolean"
	}
	return "Edm.Untyped"
}
