package carddav

import (
	"context"
	"errors"
	"strings"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/vcard"
)

// cardParts is what a card holds beside the contact's document: its name
// and its vCard parts.
type cardParts struct {
	name string
	vcard.Parts
}

// defaultName is the name of a card no client named: "<id>.vcf".
func defaultName(id string) string { return id + ".vcf" }

// partsOf reads the card parts of contacts of folder by id: the name a
// client gave the card (contactgraph.CardStore), its UID and the vCard
// lines with no Graph field. An id without them maps to its defaults
// (UID = id, name = id.vcf). The photos, with their bytes, are read only
// when withPhoto: for the card data (GET, address-data).
func (h *Handler) partsOf(ctx context.Context, mb contactgraph.Mailbox, folder string, ids []string, withPhoto bool) (map[string]cardParts, error) {
	out := make(map[string]cardParts, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	names, err := h.cfg.Store.CardNames(ctx, mb, folder, ids)
	if err != nil {
		return nil, err
	}
	found, err := h.cfg.Store.ContactParts(ctx, mb, ids, vcard.PartsQuery(withPhoto))
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		cp := cardParts{name: defaultName(id), Parts: vcard.PartsOf(id, found[id])}
		if n, ok := names[id]; ok {
			cp.name = n
		}
		out[id] = cp
	}
	return out, nil
}

// resolve finds the contact a card name names in folder: the contact a
// client named so, else the contact "<id>.vcf" names when no client named
// it otherwise, with its parts (the photo only when withPhoto). ENotFound.
func (h *Handler) resolve(ctx context.Context, mb contactgraph.Mailbox, folder, name string, withPhoto bool) (*contactgraph.Contact, cardParts, error) {
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
	parts, err := h.partsOf(ctx, mb, folder, []string{c.ID}, withPhoto)
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
	return vcard.Encode(doc, p.Parts, version)
}

// wantsData reports whether a property list asks for the card data.
func wantsData(want propList) bool {
	for _, w := range want {
		if w.Name == card("address-data") {
			return true
		}
	}
	return false
}
