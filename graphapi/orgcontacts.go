package graphapi

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/delta"
)

// Org contacts are directory objects of the tenant. Graph serves them read
// only (they come from directory synchronization); contactgraph adds the
// write routes (POST, PATCH, DELETE into deleted items, restore, permanent
// delete) so that delta has something to report. They are documented as
// an extension.

// Permission sets of the org contact routes.
var (
	permOrgRead = []string{contactgraph.PermOrgContactRead, contactgraph.PermOrgContactReadWrite,
		contactgraph.PermDirectoryRead, contactgraph.PermDirectoryReadWrite}
	permOrgWrite = []string{contactgraph.PermOrgContactReadWrite, contactgraph.PermDirectoryReadWrite}
)

// validOrgID reports whether s can be an org contact id: a GUID.
func validOrgID(s string) bool { return contactgraph.IsGUID(s) }

func orgNotFound(id string) error {
	return contactgraph.Errorf(contactgraph.ENotFound, "Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)
}

// renderOrg appends an org contact: its full document (every property,
// unset ones at their default), or the selected members.
func renderOrg(b *bytes.Buffer, ann [][2]string, o *contactgraph.OrgContact, sel []string) error {
	return writeEntity(b, ann, o.Doc(), sel)
}

// listOrgContacts serves GET /contacts, with $count=true when the client
// sends ConsistencyLevel: eventual, as Graph requires for directory objects.
func (s *Server) listOrgContacts(w http.ResponseWriter, r *http.Request, c *call) {
	s.listOrg(w, r, c, false)
}

// listDeletedOrgContacts serves GET /directory/deletedItems/microsoft.graph.orgContact.
func (s *Server) listDeletedOrgContacts(w http.ResponseWriter, r *http.Request, c *call) {
	s.listOrg(w, r, c, true)
}

func (s *Server) listOrg(w http.ResponseWriter, r *http.Request, c *call, deleted bool) {
	lq, err := parseList(c.q, contactgraph.OrgContactSchema, validOrgID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	count := -1
	if lq.count {
		if deleted {
			s.writeError(w, r, contactgraph.Errorf(contactgraph.EUnsupported, "$count is not supported on deleted items."))
			return
		}
		if count, err = s.countOrg(r); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	page := contactgraph.Page{After: lq.after, Limit: lq.top + 1}
	var list []*contactgraph.OrgContact
	if deleted {
		list, err = s.cfg.Store.DeletedOrgContacts(r.Context(), c.p.TenantID, page)
	} else {
		list, err = s.cfg.Store.ListOrgContacts(r.Context(), c.p.TenantID, page)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	next := ""
	if len(list) > lq.top {
		list = list[:lq.top]
		next = s.nextLink(r, lq, list[len(list)-1].ID)
	}
	ctx := s.contextURL(r, "contacts")
	var typeAnn [][2]string
	if deleted {
		ctx = s.contextURL(r, "directoryObjects/microsoft.graph.orgContact")
		typeAnn = [][2]string{{"@odata.type", jsonValue("#microsoft.graph.orgContact")}}
	}
	s.writeCountedList(w, r, ctx, count, len(list), func(b *bytes.Buffer, i int) error {
		return renderOrg(b, typeAnn, list[i], lq.sel)
	}, next)
}

// writeOrg answers one org contact with its entity context.
func (s *Server) writeOrg(w http.ResponseWriter, r *http.Request, status int, o *contactgraph.OrgContact, sel []string, deleted bool) {
	ctx := "contacts/$entity"
	ann := [][2]string{}
	if deleted {
		ctx = "directoryObjects/microsoft.graph.orgContact/$entity"
	}
	ann = append(ann, [2]string{"@odata.context", jsonValue(s.contextURL(r, ctx))})
	if deleted {
		ann = append(ann, [2]string{"@odata.type", jsonValue("#microsoft.graph.orgContact")})
	}
	var b bytes.Buffer
	if err := renderOrg(&b, ann, o, sel); err != nil {
		s.writeError(w, r, err)
		return
	}
	if status == http.StatusCreated {
		s.writeCreated(w, r, s.baseURL(r)+"/contacts/"+url.PathEscape(o.ID), b.Bytes())
		return
	}
	s.writeJSON(w, r, status, b.Bytes())
}

// getOrgContact serves GET /contacts/{id}.
func (s *Server) getOrgContact(w http.ResponseWriter, r *http.Request, c *call) {
	sel, err := parseSelect(c.q, contactgraph.OrgContactSchema)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := s.cfg.Store.OrgContact(r.Context(), c.p.TenantID, c.t.item)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeOrg(w, r, http.StatusOK, o, sel, false)
}

func (s *Server) orgInput(r *http.Request) (contactgraph.OrgContactInput, error) {
	body, err := s.readBody(r)
	if err != nil {
		return contactgraph.OrgContactInput{}, err
	}
	return contactgraph.ParseOrgContactInput(body)
}

// createOrgContact serves POST /contacts (an extension: Graph has none).
func (s *Server) createOrgContact(w http.ResponseWriter, r *http.Request, c *call) {
	in, err := s.orgInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := s.cfg.Store.CreateOrgContact(r.Context(), c.p.TenantID, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeOrg(w, r, http.StatusCreated, o, nil, false)
}

// updateOrgContact serves PATCH /contacts/{id} (an extension).
func (s *Server) updateOrgContact(w http.ResponseWriter, r *http.Request, c *call) {
	in, err := s.orgInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := s.cfg.Store.UpdateOrgContact(r.Context(), c.p.TenantID, c.t.item, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeOrg(w, r, http.StatusOK, o, nil, false)
}

// deleteOrgContact serves DELETE /contacts/{id}: a soft delete into the
// directory's deleted items (an extension).
func (s *Server) deleteOrgContact(w http.ResponseWriter, r *http.Request, c *call) {
	if err := s.cfg.Store.DeleteOrgContact(r.Context(), c.p.TenantID, c.t.item); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeNoContent(w)
}

// getDeletedItem serves GET /directory/deletedItems/{id}.
func (s *Server) getDeletedItem(w http.ResponseWriter, r *http.Request, c *call) {
	sel, err := parseSelect(c.q, contactgraph.OrgContactSchema)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := s.cfg.Store.DeletedOrgContact(r.Context(), c.p.TenantID, c.t.item)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeOrg(w, r, http.StatusOK, o, sel, true)
}

// restoreDeletedItem serves POST /directory/deletedItems/{id}/restore.
func (s *Server) restoreDeletedItem(w http.ResponseWriter, r *http.Request, c *call) {
	o, err := s.cfg.Store.RestoreOrgContact(r.Context(), c.p.TenantID, c.t.item)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeOrg(w, r, http.StatusOK, o, nil, false)
}

// purgeDeletedItem serves DELETE /directory/deletedItems/{id}: a permanent delete.
func (s *Server) purgeDeletedItem(w http.ResponseWriter, r *http.Request, c *call) {
	if err := s.cfg.Store.PurgeOrgContact(r.Context(), c.p.TenantID, c.t.item); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeNoContent(w)
}

// orgContactDelta serves GET /contacts/delta.
func (s *Server) orgContactDelta(w http.ResponseWriter, r *http.Request, c *call) {
	s.serveDelta(w, r, delta.Request{Collection: delta.OrgContacts, Tenant: c.p.TenantID}, orgDeltaSpec)
}

// countOrg counts the tenant's org contacts. Graph counts directory objects
// only for requests with ConsistencyLevel: eventual.
func (s *Server) countOrg(r *http.Request) (int, error) {
	if !strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") {
		return 0, contactgraph.Errorf(contactgraph.EUnsupported, "$count on directory objects requires the header ConsistencyLevel: eventual.")
	}
	p, _ := contactgraph.FromContext(r.Context())
	return s.cfg.Store.CountOrgContacts(r.Context(), p.TenantID)
}

// countOrgContacts serves GET /contacts/$count.
func (s *Server) countOrgContacts(w http.ResponseWriter, r *http.Request, c *call) {
	n, err := s.countOrg(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeCount(w, n)
}
