package odata

import (
	"strings"

	"github.com/contactgraph/contactgraph"
)

// ParseOrderBy parses $orderby text, "name [asc|desc], …", into sort keys
// checked against schema: each a Sortable property, named once, at most
// MaxSort keys. It returns an *Error.
func ParseOrderBy(src string, schema *contactgraph.Schema) ([]contactgraph.SortKey, error) {
	if len(src) > MaxLength {
		return nil, syntaxErr(-1, "The $orderby expression is longer than %d bytes.", MaxLength)
	}
	if err := checkText(src); err != nil {
		return nil, err
	}
	var keys []contactgraph.SortKey
	seen := map[string]bool{}
	pos := 0
	for item := range strings.SplitSeq(src, ",") {
		at := pos
		pos += len(item) + 1
		words := strings.FieldsFunc(item, func(r rune) bool { return r == ' ' || r == '\t' })
		if len(words) == 0 || len(words) > 2 {
			return nil, syntaxErr(at, "Syntax error at position %d in '%s': expected a property name, then asc or desc.", at, src)
		}
		name := words[0]
		k := contactgraph.SortKey{}
		if len(words) == 2 {
			switch strings.ToLower(words[1]) {
			case "asc":
			case "desc":
				k.Desc = true
			default:
				return nil, syntaxErr(at, "Syntax error at position %d in '%s': expected asc or desc after '%s'.", at, src, name)
			}
		}
		if strings.Contains(name, "/") {
			return nil, unsupported(at, "", "Sorting by the property path '%s' is not supported.", name)
		}
		prop, ok := schema.LookupFold(name)
		if !ok {
			return nil, syntaxErr(at, "Could not find a property named '%s' on type '%s'.", name, schema.Type)
		}
		if !prop.Sortable {
			return nil, unsupported(at, prop.Name, "Sorting by the property '%s' is not supported.", prop.Name)
		}
		if seen[prop.Name] {
			return nil, syntaxErr(at, "Duplicate property named '%s' is not supported in $orderby.", prop.Name)
		}
		seen[prop.Name] = true
		k.Prop = prop.Name
		keys = append(keys, k)
		if len(keys) > MaxSort {
			return nil, unsupported(at, "", "$orderby may have at most %d keys.", MaxSort)
		}
	}
	return keys, nil
}
