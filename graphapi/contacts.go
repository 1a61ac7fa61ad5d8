package graphapi

import (
	"bytes"
	"net/http"
	"net/url"

	"github.com/contactgraph/contactgraph"
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
	page, err := s.cfg.Store.QueryContacts(r.Context(), c.mb, c.folderID(), lq.store())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	next := ""
	if page.Next != nil {
		next = s.nextLink(r, lq, page.Next.ID, page.Next)
	}
	preferenceApplied(w, lq)
	s.writeCountedList(w, r, s.contextURL(r, mailboxContext(c, "contacts")), page.Count, len(page.Items), func(b *bytes.Buffer, i int) error {
		return renderContact(b, "", page.Items[i], lq.sel)
	}, next)
}

// contactInScope reads the contact of an item route. Under a folder path
// the contact must live in that folder, else ENotFound.
func (s *Server) contactInScope(r *http.Request, c *call) (*contactgraph.Contact, error) {
	ct, err := s.cfg.Store.Contact(r.Context(), c.mb, c.t.item)
	if err != nil {
		return nil, err
	}
	if len(c.t.folders) > 0 && ct.FolderID != c.folderID() {
		return nil, contactgraph.Errorf(contactgraph.ENotFound, "The specified contact was not found in the store.")
	}
	return ct, nil
}

// getContact serves GET of a contact item.
func (s *Server) getContact(w http.ResponseWriter, r *http.Request, c *call) {
	sel, err := parseSelect(c.q, contactgraph.ContactSchema)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ct, err := s.contactInScope(r, c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeContact(w, r, c, http.StatusOK, ct, sel)
}

// writeContact answers one contact with its entity context.
func (s *Server) writeContact(w http.ResponseWriter, r *http.Request, c *call, status int, ct *contactgraph.Contact, sel []string) {
	var b bytes.Buffer
	ctxURL := s.contextURL(r, "users("+odataKey(c.mb.UserID)+")/contacts/$entity")
	if err := renderContact(&b, ctxURL, ct, sel); err != nil {
		s.writeError(w, r, err)
		return
	}
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
	s.writeContact(w, r, c, http.StatusCreated, ct, nil)
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
	s.writeContact(w, r, c, http.StatusOK, ct, nil)
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
	s.serveContactDelta(w, r, c.mb, c.folderID())
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
