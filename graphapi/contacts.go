package graphapi

import (
	"bytes"
	"net/http"
	"net/url"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/delta"
)

// listContacts serves GET {mailbox}/contacts and …/contactFolders/{id}/contacts:
// one page of the folder's contacts that $filter holds for, in $orderby's
// order (by id without it), with $count counting the matches.
func (s *Server) listContacts(w http.ResponseWriter, r *http.Request, c *call) {
	lq, err := parseList(c.q, r.Header, contactListSpec)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	x, err := parseExpand(c.q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.cfg.Store.QueryContacts(r.Context(), c.mb, c.folderID(), lq.store())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	next := ""
	if page.Next != nil {
		next = s.nextLink(r, lq, page.Next.ID, page.Next)
	}
	parts, err := s.contactParts(r, c, x, page.Items)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	preferenceApplied(w, lq)
	s.writeCountedList(w, r, s.contextURL(r, mailboxContext(c, "contacts")), page.Count, len(page.Items), func(b *bytes.Buffer, i int) error {
		if err := renderContact(b, "", page.Items[i], lq.sel); err != nil {
			return err
		}
		appendParts(b, x, parts[page.Items[i].ID])
		return nil
	}, next)
}

// contactParts reads what an $expand asks for on contacts, in one store
// call; nil when nothing is asked.
func (s *Server) contactParts(r *http.Request, c *call, x *expansion, cs []*contactgraph.Contact) (map[string]*contactgraph.ContactParts, error) {
	if x == nil || x.q.Empty() || len(cs) == 0 {
		return nil, nil
	}
	ids := make([]string, len(cs))
	for i, ct := range cs {
		ids[i] = ct.ID
	}
	return s.cfg.Store.ContactParts(r.Context(), c.mb, ids, x.q)
}

// contactInScope reads the contact of an item route. Under a folder path
// the contact must live in that folder, else ENotFound.
func (s *Server) contactInScope(r *http.Request, c *call) (*contactgraph.Contact, error) {
	ct, err := s.cfg.Store.Contact(r.Context(), c.mb, c.t.item)
	if err != nil {
		return nil, err
	}
	if len(c.t.folders) > 0 && ct.FolderID != c.folderID() {
		return nil, contactgraph.ErrNotFound
	}
	return ct, nil
}

// getContact serves GET of a contact item, with $select and with $expand
// of its extensions and extended properties.
func (s *Server) getContact(w http.ResponseWriter, r *http.Request, c *call) {
	sel, err := parseSelect(c.q, contactgraph.ContactSchema)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	x, err := parseExpand(c.q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ct, err := s.contactInScope(r, c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	parts, err := s.contactParts(r, c, x, []*contactgraph.Contact{ct})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeContact(w, r, c, http.StatusOK, ct, sel, x, parts[ct.ID])
}

// writeContact answers one contact with its entity context, expanded as x
// says with parts (x nil: not expanded).
func (s *Server) writeContact(w http.ResponseWriter, r *http.Request, c *call, status int, ct *contactgraph.Contact, sel []string,
	x *expansion, parts *contactgraph.ContactParts) {
	var b bytes.Buffer
	ctxURL := s.contextURL(r, "users("+odataKey(c.mb.UserID)+")/contacts/$entity")
	if err := renderContact(&b, ctxURL, ct, sel); err != nil {
		s.writeError(w, r, err)
		return
	}
	appendParts(&b, x, parts)
	if status == http.StatusCreated {
		s.writeCreated(w, r, s.baseURL(r)+"/users/"+url.PathEscape(c.mb.UserID)+"/contacts/"+ct.ID, b.Bytes())
		return
	}
	s.writeJSON(w, r, status, b.Bytes())
}

// createContact serves POST {mailbox}/contacts and …/contactFolders/{id}/contacts.
func (s *Server) createContact(w http.ResponseWriter, r *http.Request, c *call) {
	in, err := s.contactInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ct, err := s.cfg.Store.CreateContact(r.Context(), c.mb, c.folderID(), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Graph answers a contact created with open extensions expanded with
	// them; extended properties are not returned.
	if len(in.Extensions) > 0 {
		s.writeContact(w, r, c, http.StatusCreated, ct, nil, &expansion{q: contactgraph.PartsQuery{Extensions: true}},
			&contactgraph.ContactParts{Extensions: in.Extensions})
		return
	}
	s.writeContact(w, r, c, http.StatusCreated, ct, nil, nil, nil)
}

// contactInput reads and validates a contact body.
func (s *Server) contactInput(r *http.Request) (contactgraph.ContactInput, error) {
	body, err := s.readBody(r)
	if err != nil {
		return contactgraph.ContactInput{}, err
	}
	return contactgraph.ParseContactInput(body)
}

// updateContact serves PATCH of a contact item. If-Match, when sent, must
// match the contact's etag or changeKey (412 otherwise).
func (s *Server) updateContact(w http.ResponseWriter, r *http.Request, c *call) {
	in, err := s.contactInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(c.t.folders) > 0 {
		if _, err := s.contactInScope(r, c); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	ct, err := s.cfg.Store.UpdateContact(r.Context(), c.mb, c.t.item, in, r.Header.Get("If-Match"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeContact(w, r, c, http.StatusOK, ct, nil, nil, nil)
}

// deleteContact serves DELETE of a contact item, with If-Match as PATCH.
func (s *Server) deleteContact(w http.ResponseWriter, r *http.Request, c *call) {
	if len(c.t.folders) > 0 {
		if _, err := s.contactInScope(r, c); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if err := s.cfg.Store.DeleteContact(r.Context(), c.mb, c.t.item, r.Header.Get("If-Match")); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeNoContent(w)
}

// contactDelta dispatches a contact delta route to the delta handler with
// the folder of the path (the default folder for {mailbox}/contacts/delta).
func (s *Server) contactDelta(w http.ResponseWriter, r *http.Request, c *call) {
	s.serveDelta(w, r, c, delta.Request{Collection: delta.Contacts, Mailbox: c.mb, Scope: c.folderID()}, contactDeltaSpec)
}

// countContacts serves GET {mailbox}/contacts/$count: the number, as text.
func (s *Server) countContacts(w http.ResponseWriter, r *http.Request, c *call) {
	n, err := s.cfg.Store.CountContacts(r.Context(), c.mb, c.folderID())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeCount(w, n)
}

// permanentDeleteContact serves POST …/contacts/{id}/permanentDelete. The
// server keeps no recoverable items, so a permanent delete is a delete:
// 204, a tombstone in delta.
func (s *Server) permanentDeleteContact(w http.ResponseWriter, r *http.Request, c *call) {
	s.deleteContact(w, r, c)
}
