package client

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/internal/jsonscan"
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
	var idValue []byte
	if !jsonscan.Object(v, func(name string, value []byte) bool {
		switch name {
		case "id":
			idValue = value
		case "@removed":
			removed = value
			if string(removed) == "null" {
				removed = nil
			}
		}
		return true
	}) {
		return "", nil, false
	}
	if len(idValue) == 0 || idValue[0] != '"' || json.Unmarshal(idValue, &id) != nil || id == "" {
		return "", nil, false
	}
	return id, removed, true
}
