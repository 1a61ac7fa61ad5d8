package carddav

import (
	"context"
	"errors"
	"strings"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/vcard"
)

// HrefProperty is the extended property that keeps the name a CardDAV
// client gave a card it created; cards made over Graph have none and are
// named "<id>.vcf".
const HrefProperty = "String {00020329-0000-0000-c000-000000000046} Name contactgraph.carddav.href"

var keys = func() (k struct{ uid, href, extra string }) {
	k.uid, _ = contactgraph.ExtendedPropertyKey(vcard.UIDProperty)
	k.href, _ = contactgraph.ExtendedPropertyKey(HrefProperty)
	k.extra, _ = contactgraph.ExtendedPropertyKey(vcard.ExtraProperty)
	return k
}()

// cardParts is what a card holds beside the contact's document.
type cardParts struct {
	uid, name string
	extra     []string
}

// partsOf reads the card parts of contacts by id; an id without parts
// maps to its defaults (UID = id, name = id.vcf).
func (h *Handler) partsOf(ctx context.Context, mb contactgraph.Mailbox, ids []string) (map[string]cardParts, error) {
	out := make(map[string]cardParts, len(ids))
	for _, id := range ids {
		out[id] = cardParts{uid: id, name: id + ".vcf"}
	}
	if len(ids) == 0 {
		return out, nil
	}
	found, err := h.cfg.Store.ContactParts(ctx, mb, ids, contactgraph.PartsQuery{Single: []string{keys.uid, keys.href}, Multi: []string{keys.extra}})
	if err != nil {
		return nil, err
	}
	for id, p := range found {
		cp := out[id]
		for _, ep := range p.Single {
			switch ep.Key {
			case keys.uid:
				cp.uid = ep.Value
			case keys.href:
				cp.name = ep.Value
			}
		}
		for _, ep := range p.Multi {
			if ep.Key == keys.extra {
				cp.extra = ep.Values
			}
		}
		out[id] = cp
	}
	return out, nil
}

// resolve finds the contact a card name names in folder. ENotFound.
func (h *Handler) resolve(ctx context.Context, mb contactgraph.Mailbox, folder, name string) (*contactgraph.Contact, cardParts, error) {
	nf := contactgraph.Errorf(contactgraph.ENotFound, "The card was not found.")
	var c *contactgraph.Contact
	if id, ok := strings.CutSuffix(name, ".vcf"); ok && contactgraph.ValidID(id) {
		got, err := h.cfg.Store.Contact(ctx, mb, id)
		if err != nil && !errors.Is(err, contactgraph.ErrNotFound) {
			return nil, cardParts{}, err
		}
		if err == nil && got.FolderID == folder {
			c = got
		}
	}
	if c == nil {
		list, err := h.cfg.Store.ContactsByExtendedProperty(ctx, mb, folder, HrefProperty, name, contactgraph.Page{Limit: 10})
		if err != nil {
			return nil, cardParts{}, err
		}
		for _, got := range list {
			parts, err := h.partsOf(ctx, mb, []string{got.ID})
			if err != nil {
				return nil, cardParts{}, err
			}
			if parts[got.ID].name == name {
				return got, parts[got.ID], nil
			}
		}
		return nil, cardParts{}, nf
	}
	parts, err := h.partsOf(ctx, mb, []string{c.ID})
	if err != nil {
		return nil, cardParts{}, err
	}
	return c, parts[c.ID], nil
}

// etag is a card's strong entity tag: the contact's changeKey, quoted.
func etag(changeKey string) string { return `"` + changeKey + `"` }

// render returns the card text of a contact document.
func render(doc []byte, p cardParts, version string) []byte {
	return vcard.Encode(doc, p.uid, p.extra, version)
}
