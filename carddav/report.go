package carddav

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/delta"
)

// reportBody reads the REPORTs served: sync-collection (RFC 6578),
// addressbook-multiget (RFC 6352 §8.7) and addressbook-query (§8.6).
type reportBody struct {
	XMLName xml.Name
	Token   *string `xml:"DAV: sync-token"`
	Limit   *struct {
		N string `xml:"DAV: nresults"`
	} `xml:"DAV: limit"`
	// CLimit is the C:limit of an addressbook-query: C:nresults (RFC
	// 6352 §10.6), or DAV:nresults as some clients send.
	CLimit *struct {
		N  string `xml:"urn:ietf:params:xml:ns:carddav nresults"`
		ND string `xml:"DAV: nresults"`
	} `xml:"urn:ietf:params:xml:ns:carddav limit"`
	Prop   propList     `xml:"DAV: prop"`
	Hrefs  []string     `xml:"DAV: href"`
	Filter *queryFilter `xml:"urn:ietf:params:xml:ns:carddav filter"`
}

func (h *Handler) report(w http.ResponseWriter, r *http.Request, c *call) error {
	var body reportBody
	ok, err := readXML(r, &body)
	if err != nil {
		return err
	}
	if !ok {
		return contactgraph.Errorf(contactgraph.EInvalid, "A REPORT needs a body.")
	}
	if c.t.kind == tDir {
		switch body.XMLName {
		case dav("sync-collection"):
			return h.syncDirectory(w, r, c, body)
		case card("addressbook-multiget"):
			return h.multigetOrg(w, r, c, body)
		}
		return &davError{status: http.StatusForbidden, elem: "<D:supported-report/>",
			err: contactgraph.Errorf(contactgraph.EUnsupported, "REPORT %s is not supported.", body.XMLName.Local)}
	}
	if c.t.kind != tBook {
		return contactgraph.Errorf(contactgraph.EInvalid, "REPORTs are served on address books.")
	}
	if _, err := h.cfg.Store.Folder(r.Context(), c.mb, c.t.folder); err != nil {
		return err
	}
	switch body.XMLName {
	case dav("sync-collection"):
		return h.syncCollection(w, r, c, body)
	case card("addressbook-multiget"):
		return h.multiget(w, r, c, body)
	case card("addressbook-query"):
		return h.query(w, r, c, body)
	}
	return &davError{status: http.StatusForbidden, elem: "<D:supported-report/>",
		err: contactgraph.Errorf(contactgraph.EUnsupported, "REPORT %s is not supported.", body.XMLName.Local)}
}

// Sync-tokens are URIs (RFC 6578 §3.2): a deltaLink token (a position) or a
// nextLink token (the continuation of a truncated report).
const (
	syncDelta = "urn:x-contactgraph:sync:d:"
	syncSkip  = "urn:x-contactgraph:sync:s:"
)

func deltaSyncToken(tok string) string { return syncDelta + tok }

func invalidSyncToken(err error) error {
	return &davError{status: http.StatusForbidden, elem: "<D:valid-sync-token/>", err: err}
}

// setSyncToken puts the delta token of the request's sync-token (none when
// it is empty) into req; a sync-token that is not one of ours is
// DAV:valid-sync-token.
func setSyncToken(req *delta.Request, body reportBody) error {
	if body.Token == nil || strings.TrimSpace(*body.Token) == "" {
		return nil
	}
	tok := strings.TrimSpace(*body.Token)
	switch {
	case strings.HasPrefix(tok, syncDelta):
		req.Token = tok[len(syncDelta):]
	case strings.HasPrefix(tok, syncSkip):
		req.Token, req.TokenIsSkip = tok[len(syncSkip):], true
	default:
		return invalidSyncToken(contactgraph.Errorf(contactgraph.EBadToken, "The sync-token is not one of ours."))
	}
	return nil
}

// syncCollection answers the changes since the request's sync-token (all
// cards when it is empty): changed cards with the asked properties,
// removed ones as 404 responses, and a new sync-token. With a DAV:limit it
// returns at most that many and a 507 response for the collection when
// more remain; the sync-token then continues the same round.
func (h *Handler) syncCollection(w http.ResponseWriter, r *http.Request, c *call, body reportBody) error {
	req := h.syncRequest(c, c.t.folder)
	if err := setSyncToken(&req, body); err != nil {
		return err
	}
	limit, err := parseLimit(body)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ms := newMultistatus()
	count, next, truncated := 0, "", false
	for {
		if limit > 0 {
			req.PageSize = min(h.cfg.PageSize, limit-count)
		}
		page, err := h.engine.Contacts(ctx, req)
		if err != nil {
			switch contactgraph.ErrorCode(err) {
			case contactgraph.EBadToken, contactgraph.ESyncStateExpired, contactgraph.EResyncRequired:
				return invalidSyncToken(err)
			}
			return err
		}
		if err := h.writeChanges(ctx, ms, c, page.Items, body.Prop); err != nil {
			return err
		}
		count += len(page.Items)
		if page.SkipToken == "" {
			// The folder's own position at or below the round's end: the
			// same token a PROPFIND gives while nothing changes.
			t, err := h.engine.Codec.Decode(page.DeltaTok)
			if err != nil {
				return err
			}
			tok, _, err := h.engine.ContactsPosition(ctx, h.syncRequest(c, c.t.folder), t.Since)
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
		ms.status(c.bookHref(c.t.folder), http.StatusInsufficientStorage)
	}
	ms.raw("<D:sync-token>" + text(next) + "</D:sync-token>")
	ms.write(w)
	return nil
}

// writeChanges adds the responses of one delta page.
func (h *Handler) writeChanges(ctx context.Context, ms *multistatus, c *call, items []json.RawMessage, want propList) error {
	type item struct {
		ID        string          `json:"id"`
		ChangeKey string          `json:"changeKey"`
		Removed   json.RawMessage `json:"@removed"`
	}
	parsed := make([]item, len(items))
	ids := make([]string, len(items))
	for i, raw := range items {
		if err := json.Unmarshal(raw, &parsed[i]); err != nil {
			return err
		}
		ids[i] = parsed[i].ID
	}
	// Removed cards too: their names outlive them (CardStore.CardNames).
	parts, err := h.partsOf(ctx, c.mb, c.t.folder, ids, wantsData(want))
	if err != nil {
		return err
	}
	if len(want) == 0 {
		want = propList{{Name: dav("getetag")}}
	}
	for i, it := range parsed {
		if it.Removed != nil {
			ms.status(c.cardHref(c.t.folder, parts[it.ID].name), http.StatusNotFound)
			continue
		}
		ct := &contactgraph.Contact{ID: it.ID, FolderID: c.t.folder, ChangeKey: it.ChangeKey, Doc: items[i]}
		res := cardResource(c, ct, parts[it.ID], want)
		ms.response(res.href, res.pick(want))
	}
	return nil
}

// multiget answers the named cards of the address book; a name that is
// not a card of it gets a 404 response.
func (h *Handler) multiget(w http.ResponseWriter, r *http.Request, c *call, body reportBody) error {
	ms := newMultistatus()
	want := body.Prop
	if len(want) == 0 {
		want = propList{{Name: dav("getetag")}, {Name: card("address-data")}}
	}
	for _, href := range body.Hrefs {
		href = strings.TrimSpace(href)
		p := href
		if u, err := url.Parse(href); err == nil {
			p = u.Path
		}
		t, err := parsePath(p)
		if err == nil && t.kind == tCard {
			t.folder, err = c.resolveBook(t.folder)
		}
		if err != nil || t.kind != tCard || t.user != c.p.UserID || t.folder != c.t.folder {
			ms.status(href, http.StatusNotFound)
			continue
		}
		ct, parts, err := h.resolve(r.Context(), c.mb, t.folder, t.name, wantsData(want))
		if contactgraph.ErrorCode(err) == contactgraph.ENotFound {
			ms.status(href, http.StatusNotFound)
			continue
		}
		if err != nil {
			return err
		}
		res := cardResource(c, ct, parts, want)
		ms.response(res.href, res.pick(want))
	}
	ms.write(w)
	return nil
}

// parseLimit reads a report's DAV:limit: 0 when there is none.
func parseLimit(body reportBody) (int, error) {
	if body.Limit == nil {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(body.Limit.N))
	if err != nil || n < 1 {
		return 0, contactgraph.Errorf(contactgraph.EInvalid, "DAV:nresults must be a positive integer.")
	}
	return n, nil
}

// hrefPath is the path of an href, absolute or not.
func hrefPath(href string) string {
	href = strings.TrimSpace(href)
	if u, err := url.Parse(href); err == nil {
		return u.Path
	}
	return href
}
