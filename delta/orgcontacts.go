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
	return round(ctx, e, req, "", e.DirectoryRetention,
		func(t Token, q contactgraph.ChangeQuery) (contactgraph.ChangePage[contactgraph.OrgContactChange], error) {
			return e.Store.OrgContactChanges(ctx, req.Tenant, t.Filter, q)
		},
		func(t Token, ch contactgraph.OrgContactChange) json.RawMessage {
			if ch.Removed != "" {
				var b bytes.Buffer
				b.WriteString(`{"id":`)
				writeString(&b, ch.ID)
				b.WriteString(`,"@removed":{"reason":"` + ch.Removed + `"}}`)
				return b.Bytes()
			}
			sel := t.Select
			if sel == nil {
				sel = contactgraph.OrgContactDeltaDefault
			}
			return RenderOrgDelta(ch.Contact, sel, req.Minimal, t.Since)
		})
}

// RenderOrgDelta renders an org contact as a delta item: id and the
// selected properties that were ever set; when minimal, only those changed
// after revision since.
func RenderOrgDelta(o *contactgraph.OrgContact, sel []string, minimal bool, since int64) json.RawMessage {
	var b bytes.Buffer
	b.WriteString(`{"id":`)
	writeString(&b, o.ID)
	for _, name := range sel {
		v, ok := o.Props[name]
		if !ok || name == "id" || (minimal && o.PropRevs[name] <= since) {
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
