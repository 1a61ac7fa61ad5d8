package carddav

import (
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/vcard"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// wantVersion is the vCard version an Accept header asks for: 4.0 when it
// names text/vcard with version=4.0, else 3.0.
func wantVersion(accept string) string {
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && mt == "text/vcard" && params["version"] == "4.0" {
			return "4.0"
		}
	}
	return "3.0"
}

// get answers GET and HEAD of a card.
func (h *Handler) get(w http.ResponseWriter, r *http.Request, c *call) error {
	if c.t.kind == tDirCard {
		return h.getOrg(w, r, c)
	}
	if c.t.kind != tCard {
		return contactgraph.Errorf(contactgraph.EInvalid, "GET is served on cards; use PROPFIND on collections.")
	}
	ct, parts, err := h.resolve(r.Context(), c.mb, c.t.folder, c.t.name, true) // HEAD too: its Content-Length is GET's
	if err != nil {
		return err
	}
	v := wantVersion(r.Header.Get("Accept"))
	body := render(ct.Doc, parts, v)
	w.Header().Set("Content-Type", "text/vcard; charset=utf-8; version="+v)
	w.Header().Set("ETag", etag(ct.ChangeKey))
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return nil
	}
	_, _ = w.Write(body)
	return nil
}

// matchETag reports whether an If-Match or If-None-Match header value
// names the entity tag of changeKey (or is "*").
func matchETag(header, changeKey string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag(changeKey) {
			return true
		}
	}
	return false
}

func precondition() error {
	return contactgraph.Errorf(contactgraph.EPrecondition, "The card's ETag does not match the precondition.")
}

// put creates or replaces a card. A new card takes the name of its URL
// (contactgraph.CardStore: of two concurrent creates of one name, the
// second replaces the first's card, or is a 412 under If-None-Match) and
// its UID; a replaced one keeps its contact id,
// every contact property that has no vCard field, and its name. If-Match
// and If-None-Match are checked (412), the If-Match one in the store's
// write itself, so a change in between is a 412 too.
func (h *Handler) put(w http.ResponseWriter, r *http.Request, c *call) error {
	if c.t.kind != tCard {
		return contactgraph.Errorf(contactgraph.EInvalid, "PUT is served on cards.")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && mt != "text/vcard" && mt != "text/x-vcard" && mt != "text/directory" {
		return contactgraph.Errorf(contactgraph.EUnsupportedMedia, "A card is text/vcard.")
	}
	text, err := io.ReadAll(io.LimitReader(r.Body, vcard.MaxBytes+1))
	if err != nil {
		return contactgraph.Errorf(contactgraph.EInvalid, "The request body could not be read.")
	}
	for attempt := 0; ; attempt++ {
		err := h.putOnce(w, r, c, text)
		if contactgraph.ErrorCode(err) != contactgraph.EConflict || attempt > 0 {
			return err
		}
		// Another request created a card of this name after our look-up
		// (CreateNamedContact refused a second contact of the name): this
		// PUT replaces that card, with its preconditions checked again.
	}
}

// putOnce is one attempt of put. EConflict when a concurrent PUT named a
// new card first.
func (h *Handler) putOnce(w http.ResponseWriter, r *http.Request, c *call, text []byte) error {
	ctx := r.Context()
	old, _, err := h.resolve(ctx, c.mb, c.t.folder, c.t.name, false)
	if err != nil && contactgraph.ErrorCode(err) != contactgraph.ENotFound {
		return err
	}
	ifMatch, ifNone := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	switch {
	case old == nil && ifMatch != "":
		return precondition()
	case old != nil && ifNone != "" && matchETag(ifNone, old.ChangeKey):
		return precondition()
	case old != nil && ifMatch != "" && !matchETag(ifMatch, old.ChangeKey):
		return precondition()
	}
	selfID := ""
	if old != nil {
		selfID = old.ID
	}
	in, _, err := vcard.Input(text, selfID)
	if err != nil {
		return err
	}
	if old == nil {
		ct, err := h.cfg.Store.CreateNamedContact(ctx, c.mb, c.t.folder, c.t.name, in)
		if err != nil {
			return err
		}
		w.Header().Set("ETag", etag(ct.ChangeKey))
		w.WriteHeader(http.StatusCreated)
		return nil
	}
	match := ""
	if ifMatch != "" && strings.TrimSpace(ifMatch) != "*" {
		match = old.ChangeKey
	}
	ct, err := h.cfg.Store.UpdateContact(ctx, c.mb, old.ID, in, match)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(ct.ChangeKey))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// delete removes a card, with If-Match checked in the store's delete.
func (h *Handler) delete(w http.ResponseWriter, r *http.Request, c *call) error {
	if c.t.kind == tBook {
		return h.deleteBook(w, r, c)
	}
	if c.t.kind != tCard {
		return contactgraph.Errorf(contactgraph.EForbidden, "Only cards can be deleted over CardDAV.")
	}
	ct, _, err := h.resolve(r.Context(), c.mb, c.t.folder, c.t.name, false)
	if err != nil {
		return err
	}
	ifMatch := r.Header.Get("If-Match")
	match := ""
	if ifMatch != "" {
		if !matchETag(ifMatch, ct.ChangeKey) {
			return precondition()
		}
		if strings.TrimSpace(ifMatch) != "*" {
			match = ct.ChangeKey
		}
	}
	if err := h.cfg.Store.DeleteContact(r.Context(), c.mb, ct.ID, match); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
