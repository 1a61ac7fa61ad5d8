package graphapi

import (
	"bytes"
	"net/http"
	"net/url"

	"github.com/contactgraph/contactgraph"
)

// extensionName returns the name the {extensionId} of c's path names
// (checked by checkIDs).
func extensionName(c *call) string {
	name, _ := contactgraph.ExtensionName(c.t.ext)
	return name
}

// writeExtension answers one open extension with its entity context.
func (s *Server) writeExtension(w http.ResponseWriter, r *http.Request, c *call, status int, e *contactgraph.Extension) {
	var b bytes.Buffer
	if err := writeEntity(&b, [][2]string{{"@odata.context", jsonValue(s.contextURL(r, contactPartContext(c, "extensions/$entity")))}}, e.Doc(), nil); err != nil {
		s.writeError(w, r, err)
		return
	}
	if status == http.StatusCreated {
		s.writeCreated(w, r, s.baseURL(r)+"/users/"+url.PathEscape(c.mb.UserID)+"/contacts/"+c.t.item+"/extensions/"+url.PathEscape(e.ID()), b.Bytes())
		return
	}
	s.writeJSON(w, r, status, b.Bytes())
}

// listContactExtensions serves GET {contact}/extensions: every open
// extension of the contact, by name, in one page.
func (s *Server) listContactExtensions(w http.ResponseWriter, r *http.Request, c *call) {
	if err := s.inScope(r, c); err != nil {
		s.writeError(w, r, err)
		return
	}
	es, err := s.cfg.Store.ContactExtensions(r.Context(), c.mb, c.t.item)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeList(w, r, s.contextURL(r, contactPartContext(c, "extensions")), len(es), func(b *bytes.Buffer, i int) error {
		b.Write(es[i].Doc())
		return nil
	}, "")
}

// createContactExtension serves POST {contact}/extensions: 201 with the
// new openTypeExtension. 409 when the contact has one of that name.
func (s *Server) createContactExtension(w http.ResponseWriter, r *http.Request, c *call) {
	e, err := s.extensionInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.inScope(r, c); err != nil {
		s.writeError(w, r, err)
		return
	}
	created, err := s.cfg.Store.CreateContactExtension(r.Context(), c.mb, c.t.item, e, r.Header.Get("If-Match"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeExtension(w, r, c, http.StatusCreated, created)
}

// extensionInput reads and validates an open extension body.
func (s *Server) extensionInput(r *http.Request) (contactgraph.Extension, error) {
	body, err := s.readBody(r)
	if err != nil {
		return contactgraph.Extension{}, err
	}
	return contactgraph.ParseExtension(body)
}

// getContactExtension serves GET {contact}/extensions/{extensionId}; the
// id may be the name or the full id.
func (s *Server) getContactExtension(w http.ResponseWriter, r *http.Request, c *call) {
	if err := s.inScope(r, c); err != nil {
		s.writeError(w, r, err)
		return
	}
	e, err := s.cfg.Store.ContactExtension(r.Context(), c.mb, c.t.item, extensionName(c))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeExtension(w, r, c, http.StatusOK, e)
}

// updateContactExtension serves PATCH {contact}/extensions/{extensionId}:
// the body's custom data replaces the extension's (properties left out are
// removed, as in Graph). 200 with the extension.
func (s *Server) updateContactExtension(w http.ResponseWriter, r *http.Request, c *call) {
	e, err := s.extensionInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.inScope(r, c); err != nil {
		s.writeError(w, r, err)
		return
	}
	up, err := s.cfg.Store.UpdateContactExtension(r.Context(), c.mb, c.t.item, extensionName(c), e, r.Header.Get("If-Match"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeExtension(w, r, c, http.StatusOK, up)
}

// deleteContactExtension serves DELETE {contact}/extensions/{extensionId}: 204.
func (s *Server) deleteContactExtension(w http.ResponseWriter, r *http.Request, c *call) {
	if err := s.inScope(r, c); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Store.DeleteContactExtension(r.Context(), c.mb, c.t.item, extensionName(c), r.Header.Get("If-Match")); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeNoContent(w)
}
