package carddav

import (
	"context"
	"errors"
	"strings"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/vcard"
)

var keys = func() (k struct{ uid, extra string }) {
	k.uid, _ = contactgraph.ExtendedPropertyKey(vcard.UIDProperty)
	k.extra, _ = contactgraph.ExtendedPropertyKey(vcard.ExtraProperty)
	return k
}()

// cardParts is what a card holds beside the contact's document.
type cardParts struct {
	uid, name string
	extra     []string
}

// defaultName is the name of a card no client named: "<id>.vcf".
func defaultName(id string) string { return id + ".vcf" }

// partsOf reads the card parts of contacts of folder by id: the name a
// client gave the card (contactgraph.CardStore), its UID and the vCard
// lines with no Graph field. An id without them maps to its defaults
// (UID = id, name = id.vcf).
func (h *Handler) partsOf(ctx context.Context, mb contactgraph.Mailbox, folder string, ids []string) (map[string]cardParts, error) {
	out := make(map[string]cardParts, len(ids))
	for _, id := range ids {
		out[id] = cardParts{uid: id, name: defaultName(id)}
	}
	if len(ids) == 0 {
		return out, nil
	}
	names, err := h.cfg.Store.CardNames(ctx, mb, folder, ids)
	if err != nil {
		return nil, err
	}
	found, err := h.cfg.Store.ContactParts(ctx, mb, ids, contactgraph.PartsQuery{Single: []string{keys.uid}, Multi: []string{keys.extra}})
	if err != nil {
		return nil, err
	}
	for id, cp := range out {
		if n, ok := names[id]; ok {
			cp.name = n
		}
		if p := found[id]; p != nil {
			for _, ep := range p.Single {
				if ep.Key == keys.uid {
					cp.uid = ep.Value
				}
			}
			for _, ep := range p.Multi {
				if ep.Key == keys.extra {
					cp.extra = ep.Values
				}
			}
		}
		out[id] = cp
	}
	return out, nil
}

// resolve finds the contact a card name names in folder: the contact a
// client named so, else the contact "<id>.vcf" names when no client named
// it otherwise. ENotFound.
func (h *Handler) resolve(ctx context.Context, mb contactgraph.Mailbox, folder, name string) (*contactgraph.Contact, cardParts, error) {
	nf := contactgraph.Errorf(contactgraph.ENotFound, "The card was not found.")
	c, err := h.cfg.Store.NamedContact(ctx, mb, folder, name)
	if err != nil && !errors.Is(err, contactgraph.ErrNotFound) {
		return nil, cardParts{}, err
	}
	if c == nil {
		id, ok := strings.CutSuffix(name, ".vcf")
		if !ok || !contactgraph.ValidID(id) {
			return nil, cardParts{}, nf
		}
		got, err := h.cfg.Store.Contact(ctx, mb, id)
		if errors.Is(err, contactgraph.ErrNotFound) {
			return nil, cardParts{}, nf
		}
		if err != nil {
			return nil, cardParts{}, err
		}
		if got.FolderID != folder {
			return nil, cardParts{}, nf
		}
		c = got
	}
	parts, err := h.partsOf(ctx, mb, folder, []string{c.ID})
	if err != nil {
		return nil, cardParts{}, err
	}
	if parts[c.ID].name != name {
		return nil, cardParts{}, nf // "<id>.vcf" of a card a client named otherwise
	}
	return c, parts[c.ID], nil
}

// etag is a card's strong entity tag: the contact's changeKey, quoted.
func etag(changeKey string) string { return `"` + changeKey + `"` }

// render returns the card text of a contact document.
func render(doc []byte, p cardParts, version string) []byte {
	return vcard.Encode(doc, p.uid, p.extra, version)
}
