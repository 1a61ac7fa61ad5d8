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
	return contactgraph.About(contactgraph.ENotFound, id)
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

// listOrg serves both lists. /contacts takes $filter, $orderby, $search
// and $count under Entra's rules for advanced queries (advancedQuery);
// deleted items are listed by id.
func (s *Server) listOrg(w http.ResponseWriter, r *http.Request, c *call, deleted bool) {
	lq, err := parseList(c.q, r.Header, orgListSpec)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var list []*contactgraph.OrgContact
	count, next := -1, ""
	if deleted {
		if lq.count {
			s.writeError(w, r, contactgraph.Errorf(contactgraph.EUnsupported, "$count is not supported on deleted items."))
			return
		}
		if list, err = s.cfg.Store.DeletedOrgContacts(r.Context(), c.p.TenantID, lq.page()); err != nil {
			s.writeError(w, r, err)
			return
		}
		if len(list) > lq.top {
			list = list[:lq.top]
			next = s.nextLink(r, lq, list[len(list)-1].ID, nil)
		}
	} else {
		if err := advancedQuery(r, lq); err != nil {
			s.writeError(w, r, err)
			return
		}
		page, err := s.cfg.Store.QueryOrgContacts(r.Context(), c.p.TenantID, lq.store())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		list, count = page.Items, page.Count
		if page.Next != nil {
			next = s.nextLink(r, lq, page.Next.ID, page.Next)
		}
	}
	preferenceApplied(w, lq)
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
	s.serveDelta(w, r, c, delta.Request{Collection: delta.OrgContacts, Tenant: c.p.TenantID}, orgDeltaSpec)
}

// countOrg counts the tenant's org contacts. Graph counts directory objects
// only for requests with ConsistencyLevel: eventual.
func (s *Server) countOrg(r *http.Request) (int, error) {
	if !eventual(r) {
		return 0, errCountNeedsEventual
	}
	p, _ := contactgraph.FromContext(r.Context())
	return s.cfg.Store.CountOrgContacts(r.Context(), p.TenantID)
}

var errCountNeedsEventual = contactgraph.Errorf(contactgraph.EUnsupported, "$count on directory objects requires the header ConsistencyLevel: eventual.")

// eventual reports whether r asks for eventual consistency, which the
// directory's advanced queries need.
func eventual(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual")
}

// advancedQuery applies Entra's rules to a /contacts list: $count needs
// the header ConsistencyLevel: eventual, and so does $search; $orderby and
// the operators ne, not and eq null need both the header and $count=true
// (the advanced query parameters). The operators that work by default are
// eq, in, startswith, ge, le and any() over proxyAddresses.
func advancedQuery(r *http.Request, lq listQuery) error {
	ev := eventual(r)
	if lq.count && !ev {
		return errCountNeedsEventual
	}
	if lq.searchRaw != "" && !ev {
		return contactgraph.Errorf(contactgraph.EUnsupported, "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'")
	}
	if ev && lq.count {
		return nil
	}
	const hint = "is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information"
	if len(lq.orderBy) > 0 {
		return contactgraph.Errorf(contactgraph.EUnsupported, "Sorting with $orderby %s", hint)
	}
	what := ""
	contactgraph.Walk(lq.filter, func(e contactgraph.Expr) bool {
		switch n := e.(type) {
		case contactgraph.Not:
			what = "Operator 'not'"
		case contactgraph.Compare:
			switch {
			case n.Op == contactgraph.Ne:
				what = "Operator 'ne'"
			case n.Value.Kind == contactgraph.VNull:
				what = "Filtering on null values"
			}
		}
		return what == ""
	})
	if what != "" {
		return contactgraph.Errorf(contactgraph.EUnsupported, "%s %s", what, hint)
	}
	return nil
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
