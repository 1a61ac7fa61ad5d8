package delta

import (
	"strings"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/odata"
)

// MaxFilterIDs is how many ids an org contact delta $filter may name.
const MaxFilterIDs = 50

// ParseIDFilter parses the only $filter org contact delta supports: one or
// more `id eq '<guid>'` joined by `or` (parentheses allowed, keywords in
// any case), at most MaxFilterIDs of them. The text is parsed by the odata
// package like any list's $filter; a tree of another shape is an
// EUnsupported error. Ids come back in lower case, each once.
func ParseIDFilter(s string) ([]string, error) {
	unsupported := contactgraph.Errorf(contactgraph.EUnsupported,
		"Unsupported query: only $filter=id eq '{id}' joined by 'or' is supported with delta on org contacts.")
	e, err := odata.ParseFilter(s, contactgraph.OrgContactSchema)
	if err != nil {
		return nil, unsupported
	}
	var ids []string
	seen := map[string]bool{}
	var walk func(e contactgraph.Expr) bool
	walk = func(e contactgraph.Expr) bool {
		switch n := e.(type) {
		case contactgraph.Or:
			return walk(n.X) && walk(n.Y)
		case contactgraph.Compare:
			if n.Path != (contactgraph.Path{Prop: "id"}) || n.Op != contactgraph.Eq || n.Value.Kind != contactgraph.VString || !contactgraph.IsGUID(n.Value.Str) {
				return false
			}
			id := strings.ToLower(n.Value.Str)
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
			return true
		}
		return false
	}
	if !walk(e) {
		return nil, unsupported
	}
	if len(ids) > MaxFilterIDs {
		return nil, contactgraph.Errorf(contactgraph.EUnsupported,
			"Unsupported query: a delta $filter may name at most %d ids.", MaxFilterIDs)
	}
	return ids, nil
}
