package graphapi

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/contactgraph/contactgraph"
)

// inScope checks, for a path under a folder, that the contact of c lives
// in that folder (ENotFound otherwise); paths without folders need no read.
func (s *Server) inScope(r *http.Request, c *call) error {
	if len(c.t.folders) == 0 {
		return nil
	}
	_, err := s.contactInScope(r, c)
	return err
}

// contactPartContext returns the context fragment of a contact's part:
// users('<id>')/contacts('<id>')/<tail>.
func contactPartContext(c *call, tail string) string {
	return "users(" + odataKey(c.mb.UserID) + ")/contacts(" + odataKey(c.t.item) + ")/" + tail
}

// getContactPhoto serves GET {contact}/photo: the photo's metadata
// (profilePhoto: @odata.mediaContentType, @odata.mediaEtag, id, width,
// height). 404 ErrorItemNotFound when the contact has no photo.
func (s *Server) getContactPhoto(w http.ResponseWriter, r *http.Request, c *call) {
	if err := s.inScope(r, c); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.cfg.Store.ContactPhoto(r.Context(), c.mb, c.t.item, false)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var b bytes.Buffer
	b.WriteString(`{"@odata.context":`)
	appendJSONString(&b, s.contextURL(r, contactPartContext(c, "photo/$entity")))
	b.WriteString(`,"@odata.mediaContentType":`)
	appendJSONString(&b, p.ContentType)
	b.WriteString(`,"@odata.mediaEtag":`)
	appendJSONString(&b, p.MediaETag)
	b.WriteString(`,"id":`)
	appendJSONString(&b, p.ID())
	b.WriteString(`,"width":` + strconv.Itoa(p.Width) + `,"height":` + strconv.Itoa(p.Height) + `}`)
	s.writeJSON(w, r, http.StatusOK, b.Bytes())
}

// getContactPhotoValue serves GET {contact}/photo/$value: the bytes, with
// the photo's media type and its media etag as ETag.
func (s *Server) getContactPhotoValue(w http.ResponseWriter, r *http.Request, c *call) {
	if err := s.inScope(r, c); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.cfg.Store.ContactPhoto(r.Context(), c.mb, c.t.item, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", p.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(p.Data)))
	h.Set("Cache-Control", "private")
	h.Set("ETag", p.MediaETag)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(p.Data)
}

// putContactPhoto serves PUT and PATCH of {contact}/photo/$value: the body
// (at most contactgraph.MaxPhotoBytes, whatever Config.MaxBodyBytes says)
// becomes the contact's photo, a change of the contact. Content-Type
// image/jpeg or image/png, or application/octet-stream as the SDKs send
// (the bytes say which); any other is 415. Answers 200 without a body, as
// Graph does. If-Match may be the contact's etag or the photo's media etag.
func (s *Server) putContactPhoto(w http.ResponseWriter, r *http.Request, c *call) {
	if err := s.inScope(r, c); err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := s.readRawBody(r, contactgraph.MaxPhotoBytes)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.cfg.Store.SetContactPhoto(r.Context(), c.mb, c.t.item, r.Header.Get("Content-Type"), body, r.Header.Get("If-Match")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "private")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// deleteContactPhoto serves DELETE {contact}/photo/$value, an extension:
// Graph deletes only user and group photos, but an emulator needs a way
// to remove a contact's (a change of the contact). 204; 404 when it has
// none.
func (s *Server) deleteContactPhoto(w http.ResponseWriter, r *http.Request, c *call) {
	if err := s.inScope(r, c); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.cfg.Store.DeleteContactPhoto(r.Context(), c.mb, c.t.item, r.Header.Get("If-Match")); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeNoContent(w)
}
