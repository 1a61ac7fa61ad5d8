package vcard

import "github.com/contactgraph/contactgraph"

// Parts is what a contact's card holds beside the contact's document: its
// UID, the content lines with no Graph field and the photo.
type Parts struct {
	UID   string
	Extra []string
	Photo *contactgraph.Photo // nil for none, or when not read
}

var partKeys = func() (k struct{ uid, extra string }) {
	k.uid, _ = contactgraph.ExtendedPropertyKey(UIDProperty)
	k.extra, _ = contactgraph.ExtendedPropertyKey(ExtraProperty)
	return k
}()

// PartsQuery asks a store's ContactParts for what Parts holds, the photo
// (with its bytes) only when withPhoto.
func PartsQuery(withPhoto bool) contactgraph.PartsQuery {
	return contactgraph.PartsQuery{Single: []string{partKeys.uid}, Multi: []string{partKeys.extra}, Photo: withPhoto}
}

// PartsOf returns the card parts of contact id from what PartsQuery found
// on it (nil for nothing): UID = id when the card has no UID of its own.
func PartsOf(id string, found *contactgraph.ContactParts) Parts {
	p := Parts{UID: id}
	if found == nil {
		return p
	}
	p.Photo = found.Photo
	for _, ep := range found.Single {
		if ep.Key == partKeys.uid {
			p.UID = ep.Value
		}
	}
	for _, ep := range found.Multi {
		if ep.Key == partKeys.extra {
			p.Extra = ep.Values
		}
	}
	return p
}
