package carddav

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/delta"
	"github.com/contactgraph/contactgraph/vcard"
)

// The directory address book holds the tenant's org contacts, read-only,
// at /dav/U/contacts/directory/ (a child of the home set, so DAVx5, iOS and
// Thunderbird list it with the folders). Its cards are "<id>.vcf", their
// ETag the org contact's revision; sync-collection runs over the org
// contact delta. A write there is 403 with DAV:need-privileges.
const directoryName = "directory"

func dirHref(u string) string                   { return homeHref(u) + directoryName + "/" }
func dirCardHref(u, id string) string           { return dirHref(u) + id + ".vcf" }
func orgETag(o *contactgraph.OrgContact) string { return `"o-` + itoa(o.Rev) + `"` }

func readOnly() error {
	return &davError{status: http.StatusForbidden, elem: "<D:need-privileges/>",
		err: contactgraph.Errorf(contactgraph.EForbidden, "The directory address book is read-only.")}
}

func (h *Handler) orgRequest(c *call) delta.Request {
	return delta.Request{Collection: delta.OrgContacts, Tenant: c.p.TenantID, Caller: delta.CallerOf(c.p), PageSize: h.cfg.PageSize}
}

// orgPosition returns the directory's sync-token at the current position,
// stable while the tenant's revision does not move.
func (h *Handler) orgPosition(ctx context.Context, c *call) (string, int64, error) {
	req := h.orgRequest(c)
	req.Token = delta.LatestToken
	page, err := h.engine.OrgContacts(ctx, req)
	if err != nil {
		return "", 0, err
	}
	return h.stable(page.DeltaTok)
}

// stable re-encodes a deltaLink token without its nonce and issue time.
func (h *Handler) stable(tok string) (string, int64, error) {
	t, err := h.engine.Codec.Decode(tok)
	if err != nil {
		return "", 0, err
	}
	t.Issued = time.UnixMilli(0).UTC() // expiry by the store's floors, as for folders
	return h.engine.Codec.EncodeStable(t), t.Since, nil
}

func (h *Handler) dirResource(ctx context.Context, c *call) (resource, error) {
	tok, pos, err := h.orgPosition(ctx, c)
	if err != nil {
		return resource{}, err
	}
	res := resource{href: dirHref(c.p.UserID)}
	res.set(dav("resourcetype"), "<D:collection/><C:addressbook/>")
	res.set(dav("displayname"), "Directory")
	res.set(xml.Name{Space: nsCS, Local: "getctag"}, text("org-"+itoa(pos)))
	res.set(dav("sync-token"), text(deltaSyncToken(tok)))
	res.set(dav("current-user-principal"), hrefElem(principalHref(c.p.UserID)))
	res.set(dav("current-user-privilege-set"), "<D:privilege><D:read/></D:privilege>")
	res.set(dav("supported-report-set"), "<D:supported-report><D:report><D:sync-collection/></D:report></D:supported-report>"+
		"<D:supported-report><D:report><C:addressbook-multiget/></D:report></D:supported-report>")
	res.set(card("supported-address-data"), `<C:address-data-type content-type="text/vcard" version="3.0"/><C:address-data-type content-type="text/vcard" version="4.0"/>`)
	return res, nil
}

func orgCardResource(c *call, o *contactgraph.OrgContact, want propList) resource {
	res := resource{href: dirCardHref(c.p.UserID, o.ID)}
	res.set(dav("getetag"), text(orgETag(o)))
	res.set(dav("getcontenttype"), "text/vcard; charset=utf-8")
	res.set(dav("resourcetype"), "")
	for _, w := range want {
		if w.Name == card("address-data") {
			res.set(card("address-data"), text(string(vcard.EncodeOrgContact(o, addressDataVersion(w)))))
		}
	}
	return res
}

// orgCard finds the org contact a directory card name names. ENotFound.
func (h *Handler) orgCard(ctx context.Context, c *call, name string) (*contactgraph.OrgContact, error) {
	id, ok := strings.CutSuffix(name, ".vcf")
	if !ok || id == "" {
		return nil, contactgraph.Errorf(contactgraph.ENotFound, "The card was not found.")
	}
	return h.cfg.Store.OrgContact(ctx, c.p.TenantID, id)
}

func (h *Handler) orgCards(ctx context.Context, c *call, want propList) ([]resource, error) {
	var out []resource
	after := ""
	for {
		page, err := h.cfg.Store.ListOrgContacts(ctx, c.p.TenantID, contactgraph.Page{After: after, Limit: 200})
		if err != nil {
			return nil, err
		}
		for _, o := range page {
			out = append(out, orgCardResource(c, o, want))
		}
		if len(page) < 200 {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

// getOrg answers GET and HEAD of a directory card.
func (h *Handler) getOrg(w http.ResponseWriter, r *http.Request, c *call) error {
	o, err := h.orgCard(r.Context(), c, c.t.name)
	if err != nil {
		return err
	}
	v := wantVersion(r.Header.Get("Accept"))
	body := vcard.EncodeOrgContact(o, v)
	w.Header().Set("Content-Type", "text/vcard; charset=utf-8; version="+v)
	w.Header().Set("ETag", orgETag(o))
	if r.Method == http.MethodHead {
		return nil
	}
	_, _ = w.Write(body)
	return nil
}

// syncDirectory answers sync-collection on the directory over the org
// contact delta: changed cards, removed ones (deleted or soft-deleted) as
// 404, and a new token; DAV:limit as for folders.
func (h *Handler) syncDirectory(w http.ResponseWriter, r *http.Request, c *call, body reportBody) error {
	req := h.orgRequest(c)
	if err := setSyncToken(&req, body); err != nil {
		return err
	}
	limit, err := parseLimit(body)
	if err != nil {
		return err
	}
	want := body.Prop
	if len(want) == 0 {
		want = propList{{Name: dav("getetag")}}
	}
	ctx := r.Context()
	ms := newMultistatus()
	count, next, truncated := 0, "", false
	for {
		if limit > 0 {
			req.PageSize = min(h.cfg.PageSize, limit-count)
		}
		page, err := h.engine.OrgContacts(ctx, req)
		if err != nil {
			switch contactgraph.ErrorCode(err) {
			case contactgraph.EBadToken, contactgraph.ESyncStateExpired, contactgraph.EResyncRequired:
				return invalidSyncToken(err)
			}
			return err
		}
		for _, raw := range page.Items {
			var it struct {
				ID      string          `json:"id"`
				Removed json.RawMessage `json:"@removed"`
			}
			if err := json.Unmarshal(raw, &it); err != nil {
				return err
			}
			o, err := h.cfg.Store.OrgContact(ctx, c.p.TenantID, it.ID)
			if it.Removed != nil || contactgraph.ErrorCode(err) == contactgraph.ENotFound {
				ms.status(dirCardHref(c.p.UserID, it.ID), http.StatusNotFound)
				continue
			}
			if err != nil {
				return err
			}
			res := orgCardResource(c, o, want)
			ms.response(res.href, res.pick(want))
		}
		count += len(page.Items)
		if page.SkipToken == "" {
			tok, _, err := h.stable(page.DeltaTok)
			if err != nil {
				return err
			}
			next = syncDelta + tok
			break
		}
		if limit > 0 && count >= limit {
			next, truncated = syncSkip+page.SkipToken, true
			break
		}
		req.Token, req.TokenIsSkip = page.SkipToken, true
	}
	if truncated {
		ms.status(dirHref(c.p.UserID), http.StatusInsufficientStorage)
	}
	ms.raw("<D:sync-token>" + text(next) + "</D:sync-token>")
	ms.write(w)
	return nil
}

// multigetOrg answers addressbook-multiget on the directory.
func (h *Handler) multigetOrg(w http.ResponseWriter, r *http.Request, c *call, body reportBody) error {
	ms := newMultistatus()
	want := body.Prop
	if len(want) == 0 {
		want = propList{{Name: dav("getetag")}, {Name: card("address-data")}}
	}
	for _, href := range body.Hrefs {
		t, err := parsePath(hrefPath(href))
		if err != nil || t.kind != tDirCard || t.user != c.p.UserID {
			ms.status(href, http.StatusNotFound)
			continue
		}
		o, err := h.orgCard(r.Context(), c, t.name)
		if contactgraph.ErrorCode(err) == contactgraph.ENotFound {
			ms.status(href, http.StatusNotFound)
			continue
		}
		if err != nil {
			return err
		}
		res := orgCardResource(c, o, want)
		ms.response(res.href, res.pick(want))
	}
	ms.write(w)
	return nil
}
