package delta

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/contactgraph/contactgraph"
)

// LatestToken is the $deltatoken value that asks for a deltaLink at the
// current position without any data ("sync from now").
const LatestToken = "latest"

// OrgContacts answers one call of an org contact delta round over the
// tenant req.Tenant, restricted to the ids of the first request's $filter.
//
// Items carry the selected properties (the default set without $select)
// that were ever set, changed or not. With req.Minimal they carry only
// the properties changed since the round's start position (a cleared one
// as null), plus id. A soft-deleted contact is removed with reason
// "changed", a purged or permanently deleted one with "deleted".
func (e *Engine) OrgContacts(ctx context.Context, req Request) (Page, error) {
	if req.Token == LatestToken {
		sp, err := e.Store.OrgContactChanges(ctx, req.Tenant, req.Filter, contactgraph.ChangeQuery{Limit: 0})
		if err != nil {
			return Page{}, mapExpired(err)
		}
		t := Token{Collection: OrgContacts, Binding: Bind(OrgContacts, req.Tenant, "", "", req.Caller), Since: sp.Until, After: sp.Until,
			Issued: e.now(), Select: req.Select, Filter: req.Filter}
		return Page{DeltaTok: e.Codec.Encode(t)}, nil
	}
	t, err := e.start(req, "", e.DirectoryRetention)
	if err != nil {
		return Page{}, err
	}
	sp, err := e.Store.OrgContactChanges(ctx, req.Tenant, t.Filter, e.query(t, req.PageSize))
	if err != nil {
		return Page{}, mapExpired(err)
	}
	sel := t.Select
	if sel == nil {
		sel = contactgraph.OrgContactDeltaDefault
	}
	items := make([]json.RawMessage, 0, len(sp.Changes))
	for _, ch := range sp.Changes {
		if ch.Removed != "" {
			var b bytes.Buffer
			b.WriteString(`{"id":`)
			writeString(&b, ch.ID)
			b.WriteString(`,"@removed":{"reason":"` + ch.Removed + `"}}`)
			items = append(items, b.Bytes())
			continue
		}
		since := int64(-1)
		if req.Minimal {
			since = t.Since
		}
		items = append(items, RenderOrgDelta(ch.Contact, sel, since))
	}
	return e.page(t, sp.Until, sp.More, max(sp.Last, t.After), items), nil
}

// RenderOrgDelta renders an org contact as a delta item: id and the
// selected properties that were ever set; when since >= 0, only those
// changed after revision since.
func RenderOrgDelta(o *contactgraph.OrgContact, sel []string, since int64) json.RawMessage {
	var b bytes.Buffer
	b.WriteString(`{"id":`)
	writeString(&b, o.ID)
	for _, name := range sel {
		v, ok := o.Props[name]
		if !ok || name == "id" || (since >= 0 && o.PropRevs[name] <= since) {
			continue
		}
		b.WriteByte(',')
		writeString(&b, name)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes()
}
