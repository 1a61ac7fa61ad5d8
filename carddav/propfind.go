package carddav

import (
	"context"
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/delta"
)

type propfindBody struct {
	XMLName  xml.Name  `xml:"DAV: propfind"`
	Prop     *propList `xml:"DAV: prop"`
	AllProp  *struct{} `xml:"DAV: allprop"`
	PropName *struct{} `xml:"DAV: propname"`
}

func dav(local string) xml.Name  { return xml.Name{Space: nsDAV, Local: local} }
func card(local string) xml.Name { return xml.Name{Space: nsCard, Local: local} }

// resource is one answer of a PROPFIND: its href and the properties it
// has, in order.
type resource struct {
	href  string
	props []propValue
}

func (r *resource) set(n xml.Name, inner string) {
	r.props = append(r.props, propValue{name: n, inner: inner, found: true})
}

// pick returns the properties the request asks for: all of them for
// allprop or an empty body, else each named one, found or not.
func (r *resource) pick(want propList) []propValue {
	if want == nil {
		return r.props
	}
	out := make([]propValue, 0, len(want))
	for _, w := range want {
		v := propValue{name: w.Name}
		for _, p := range r.props {
			if p.name == w.Name {
				v = p
				break
			}
		}
		out = append(out, v)
	}
	return out
}

// propfind answers PROPFIND with Depth 0 or 1 (infinity is taken as 1).
func (h *Handler) propfind(w http.ResponseWriter, r *http.Request, c *call) error {
	var body propfindBody
	if _, err := readXML(r, &body); err != nil {
		return err
	}
	var want propList
	if body.Prop != nil && body.AllProp == nil {
		want = *body.Prop
		if want == nil {
			want = propList{}
		}
	}
	children := r.Header.Get("Depth") != "0"
	ctx := r.Context()
	u := c.p.UserID
	var list []resource
	switch c.t.kind {
	case tRoot:
		list = append(list, h.principalLike(c, Prefix, false))
		if children {
			list = append(list, h.principalLike(c, principalHref(u), true))
		}
	case tPrincipal:
		list = append(list, h.principalLike(c, principalHref(u), true))
		if children {
			list = append(list, h.homeResource(c))
		}
	case tHome:
		list = append(list, h.homeResource(c))
		if children {
			folders, err := h.folders(ctx, c.mb)
			if err != nil {
				return err
			}
			for _, f := range folders {
				res, err := h.bookResource(ctx, c, f)
				if err != nil {
					return err
				}
				list = append(list, res)
			}
			res, err := h.dirResource(ctx, c)
			if err != nil {
				return err
			}
			list = append(list, res)
		}
	case tDir:
		res, err := h.dirResource(ctx, c)
		if err != nil {
			return err
		}
		list = append(list, res)
		if children {
			cards, err := h.orgCards(ctx, c, want)
			if err != nil {
				return err
			}
			list = append(list, cards...)
		}
	case tDirCard:
		o, err := h.orgCard(ctx, c, c.t.name)
		if err != nil {
			return err
		}
		list = append(list, orgCardResource(c, o, want))
	case tBook:
		f, err := h.cfg.Store.Folder(ctx, c.mb, c.t.folder)
		if err != nil {
			return err
		}
		res, err := h.bookResource(ctx, c, f)
		if err != nil {
			return err
		}
		list = append(list, res)
		if children {
			cards, err := h.cardResources(ctx, c, f.ID, want)
			if err != nil {
				return err
			}
			list = append(list, cards...)
		}
	case tCard:
		ct, parts, err := h.resolve(ctx, c.mb, c.t.folder, c.t.name, wantsData(want))
		if err != nil {
			return err
		}
		list = append(list, cardResource(c, ct, parts, want))
	}
	ms := newMultistatus()
	for _, res := range list {
		ms.response(res.href, res.pick(want))
	}
	ms.write(w)
	return nil
}

// principalLike describes the service root or the principal: both say
// who the user is and where the address books live.
func (h *Handler) principalLike(c *call, href string, principal bool) resource {
	u := c.p.UserID
	res := resource{href: href}
	if principal {
		res.set(dav("resourcetype"), "<D:collection/><D:principal/>")
		res.set(dav("displayname"), text(c.p.UPN))
		res.set(dav("principal-URL"), hrefElem(principalHref(u)))
	} else {
		res.set(dav("resourcetype"), "<D:collection/>")
	}
	res.set(dav("current-user-principal"), hrefElem(principalHref(u)))
	res.set(card("addressbook-home-set"), hrefElem(homeHref(u)))
	return res
}

func (h *Handler) homeResource(c *call) resource {
	u := c.p.UserID
	res := resource{href: homeHref(u)}
	res.set(dav("resourcetype"), "<D:collection/>")
	res.set(dav("displayname"), "Address books")
	res.set(dav("current-user-principal"), hrefElem(principalHref(u)))
	return res
}

// folders lists every contact folder of the mailbox: the default one
// first, then the others breadth first.
func (h *Handler) folders(ctx context.Context, mb contactgraph.Mailbox) ([]*contactgraph.Folder, error) {
	root, err := h.cfg.Store.Folder(ctx, mb, mb.RootID)
	if err != nil {
		return nil, err
	}
	out := []*contactgraph.Folder{root}
	queue := []string{""}
	for len(queue) > 0 && len(out) < 1000 {
		parent := queue[0]
		queue = queue[1:]
		after := ""
		for {
			page, err := h.cfg.Store.ListFolders(ctx, mb, parent, contactgraph.Page{After: after, Limit: 200})
			if err != nil {
				return nil, err
			}
			for _, f := range page {
				out = append(out, f)
				queue = append(queue, f.ID)
			}
			if len(page) < 200 {
				break
			}
			after = page[len(page)-1].ID
		}
	}
	return out, nil
}

// syncRequest is the delta request of a folder's contacts for the caller.
func (h *Handler) syncRequest(c *call, folder string) delta.Request {
	return delta.Request{Collection: delta.Contacts, Mailbox: c.mb, Scope: folder, Caller: delta.CallerOf(c.p), PageSize: h.cfg.PageSize}
}

func (h *Handler) bookResource(ctx context.Context, c *call, f *contactgraph.Folder) (resource, error) {
	tok, pos, err := h.engine.ContactsPosition(ctx, h.syncRequest(c, f.ID), 0)
	if err != nil {
		return resource{}, err
	}
	res := resource{href: c.bookHref(f.ID)}
	res.set(dav("resourcetype"), "<D:collection/><C:addressbook/>")
	res.set(dav("displayname"), text(f.DisplayName))
	res.set(xml.Name{Space: nsCS, Local: "getctag"}, text(ctag(pos.Rev)))
	res.set(dav("sync-token"), text(deltaSyncToken(tok)))
	res.set(dav("current-user-principal"), hrefElem(principalHref(c.p.UserID)))
	res.set(dav("current-user-privilege-set"), "<D:privilege><D:read/></D:privilege><D:privilege><D:write/></D:privilege>"+
		"<D:privilege><D:write-content/></D:privilege><D:privilege><D:bind/></D:privilege><D:privilege><D:unbind/></D:privilege>")
	res.set(dav("supported-report-set"), "<D:supported-report><D:report><D:sync-collection/></D:report></D:supported-report>"+
		"<D:supported-report><D:report><C:addressbook-multiget/></D:report></D:supported-report>"+
		"<D:supported-report><D:report><C:addressbook-query/></D:report></D:supported-report>")
	res.set(card("supported-address-data"), `<C:address-data-type content-type="text/vcard" version="3.0"/><C:address-data-type content-type="text/vcard" version="4.0"/>`)
	res.set(card("max-resource-size"), "262144")
	return res, nil
}

// ctag is the collection tag of an address book: the folder's position
// (contactgraph.CardStore.ContactsPosition), which moves with every change
// of the folder's contacts and with nothing else.
func ctag(pos int64) string { return "rev-" + itoa(pos) }

// cardResources lists the cards of a folder.
func (h *Handler) cardResources(ctx context.Context, c *call, folder string, want propList) ([]resource, error) {
	var out []resource
	after := ""
	for {
		page, err := h.cfg.Store.ListContacts(ctx, c.mb, folder, contactgraph.Page{After: after, Limit: 200})
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(page))
		for i, ct := range page {
			ids[i] = ct.ID
		}
		parts, err := h.partsOf(ctx, c.mb, folder, ids, wantsData(want))
		if err != nil {
			return nil, err
		}
		for _, ct := range page {
			out = append(out, cardResource(c, ct, parts[ct.ID], want))
		}
		if len(page) < 200 {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

// cardResource describes one card; address-data only when asked for.
func cardResource(c *call, ct *contactgraph.Contact, p cardParts, want propList) resource {
	res := resource{href: c.cardHref(ct.FolderID, p.name)}
	res.set(dav("getetag"), text(etag(ct.ChangeKey)))
	res.set(dav("getcontenttype"), "text/vcard; charset=utf-8")
	res.set(dav("resourcetype"), "")
	for _, w := range want {
		if w.Name == card("address-data") {
			res.set(card("address-data"), text(string(render(ct.Doc, p, addressDataVersion(w)))))
		}
	}
	return res
}

// addressDataVersion is the vCard version a C:address-data element asks for.
func addressDataVersion(p reqProp) string {
	for _, a := range p.Attr {
		if a.Name.Local == "version" && strings.TrimSpace(a.Value) == "4.0" {
			return "4.0"
		}
	}
	return "3.0"
}
