package delta

import (
	"strings"

	"github.com/contactgraph/contactgraph"
)

// MaxFilterIDs is how many ids an org contact delta $filter may name.
const MaxFilterIDs = 50

// ParseIDFilter parses the only $filter org contact delta supports: one or
// more `id eq '<guid>'` joined by `or`, at most MaxFilterIDs of them.
// Anything else is an EUnsupported error. Duplicate ids count once.
func ParseIDFilter(s string) ([]string, error) {
	unsupported := func() error {
		return contactgraph.Errorf(contactgraph.EUnsupported,
			"Unsupported query: only $filter=id eq '{id}' joined by 'or' is supported with delta on org contacts.")
	}
	var ids []string
	seen := map[string]bool{}
	rest := strings.TrimSpace(s)
	if rest == "" {
		return nil, unsupported()
	}
	for {
		var id string
		var ok bool
		if id, rest, ok = parseIDEq(rest); !ok {
			return nil, unsupported()
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
		if len(ids) > MaxFilterIDs {
			return nil, contactgraph.Errorf(contactgraph.EUnsupported,
				"Unsupported query: a delta $filter may name at most %d ids.", MaxFilterIDs)
		}
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			return ids, nil
		}
		after, found := cutWord(rest, "or")
		if !found {
			return nil, unsupported()
		}
		rest = strings.TrimLeft(after, " ")
	}
}

// parseIDEq reads `id eq '<guid>'` (case-insensitive keywords) from the
// front of s.
func parseIDEq(s string) (id, rest string, ok bool) {
	s, ok = cutWord(strings.TrimLeft(s, " "), "id")
	if !ok {
		return "", "", false
	}
	s, ok = cutWord(strings.TrimLeft(s, " "), "eq")
	if !ok {
		return "", "", false
	}
	s = strings.TrimLeft(s, " ")
	if !strings.HasPrefix(s, "'") {
		return "", "", false
	}
	end := strings.IndexByte(s[1:], '\'')
	if end < 0 {
		return "", "", false
	}
	id = s[1 : 1+end]
	if !contactgraph.IsGUID(id) {
		return "", "", false
	}
	return strings.ToLower(id), s[2+end:], true
}

// cutWord removes the keyword w from the front of s when it stands alone.
func cutWord(s, w string) (string, bool) {
	if len(s) < len(w) || !strings.EqualFold(s[:len(w)], w) {
		return s, false
	}
	rest := s[len(w):]
	if rest != "" && rest[0] != ' ' && rest[0] != '\'' {
		return s, false
	}
	return rest, true
}
