package client

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/contactgraph/contactgraph"
)

// decodePage decodes a delta page in one json.Unmarshal: each item of
// value is kept as the bytes the server sent (sub-slices of body, which
// the caller no longer writes to), and its id and @removed are read by a
// scan of its top-level members (headOf) rather than a second decoding.
func decodePage(body []byte) (Page, error) {
	var raw struct {
		Value     []pageItem `json:"value"`
		NextLink  string     `json:"@odata.nextLink"`
		DeltaLink string     `json:"@odata.deltaLink"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		var bad badItem
		if errors.As(err, &bad) {
			return Page{}, fmt.Errorf("graph: a delta item without an id: %s", []byte(bad))
		}
		return Page{}, fmt.Errorf("graph: a delta page is not JSON: %w", err)
	}
	if (raw.NextLink == "") == (raw.DeltaLink == "") {
		return Page{}, errors.New("graph: a delta page must carry exactly one of @odata.nextLink and @odata.deltaLink")
	}
	p := Page{NextLink: raw.NextLink, DeltaLink: raw.DeltaLink, Items: make([]Item, len(raw.Value))}
	for i, it := range raw.Value {
		p.Items[i] = Item(it)
	}
	return p, nil
}

// pageItem is an Item as decoded from a page's value array.
type pageItem Item

// badItem is the error of an item without a string id, or with an
// @removed that is not an object: the item itself.
type badItem []byte

func (b badItem) Error() string { return "a delta item without an id" }

// UnmarshalJSON implements json.Unmarshaler. encoding/json has checked
// that v is valid JSON before calling it.
func (it *pageItem) UnmarshalJSON(v []byte) error {
	id, removed, ok := headOf(v)
	if !ok {
		return badItem(v)
	}
	*it = pageItem{ID: id, Raw: v}
	if removed != nil {
		var r struct {
			Reason string `json:"reason"`
		}
		if json.Unmarshal(removed, &r) != nil {
			return badItem(v)
		}
		it.Removed = r.Reason
		if it.Removed == "" {
			it.Removed = contactgraph.RemovedDeleted
		}
	}
	return nil
}

// headOf returns the id member of the JSON object v, which must be a
// non-empty string, and its @removed member (nil when missing or null).
// v must be valid JSON. The last of repeated members counts, and names
// match exactly, after unescaping (not case-folded as encoding/json
// matches struct fields).
func headOf(v []byte) (id string, removed []byte, ok bool) {
	i := skipSpace(v, 0)
	if i == len(v) || v[i] != '{' {
		return "", nil, false
	}
	var idValue []byte
	for i++; ; {
		i = skipSpace(v, i)
		switch v[i] {
		case '}':
			if len(idValue) == 0 || idValue[0] != '"' || json.Unmarshal(idValue, &id) != nil || id == "" {
				return "", nil, false
			}
			return id, removed, true
		case ',':
			i = skipSpace(v, i+1)
		}
		end := stringEnd(v, i)
		name := v[i:end]
		i = skipSpace(v, end) // at ':'
		i = skipSpace(v, i+1) // at the value
		vend := valueEnd(v, i)
		switch memberName(name) {
		case "id":
			idValue = v[i:vend]
		case "@removed":
			removed = v[i:vend]
			if string(removed) == "null" {
				removed = nil
			}
		}
		i = vend
	}
}

// memberName returns the text of the quoted name q, unescaping only when
// it holds an escape.
func memberName(q []byte) string {
	for _, c := range q {
		if c == '\\' {
			var s string
			json.Unmarshal(q, &s) // valid JSON: cannot fail
			return s
		}
	}
	return string(q[1 : len(q)-1])
}

func skipSpace(v []byte, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that starts at v[i].
func stringEnd(v []byte, i int) int {
	for i++; ; i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

// valueEnd returns the index just past the value that starts at v[i].
func valueEnd(v []byte, i int) int {
	switch v[i] {
	case '"':
		return stringEnd(v, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch v[i] {
			case '"':
				i = stringEnd(v, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	for i < len(v) && v[i] != ',' && v[i] != '}' && v[i] != ']' && v[i] != ' ' && v[i] != '\t' && v[i] != '\n' && v[i] != '\r' {
		i++
	}
	return i
}
