package graphapi

import (
	"bytes"
	"net/http"
	"net/url"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/delta"
)

// listFolders serves GET {mailbox}/contactFolders (the children of the
// default folder, which itself is not listed) and …/childFolders.
func (s *Server) listFolders(w http.ResponseWriter, r *http.Request, c *call) {
	lq, err := parseList(c.q, r.Header, folderListSpec)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	fs, err := s.cfg.Store.ListFolders(r.Context(), c.mb, c.folderID(), lq.page())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	count := -1
	if lq.count {
		if count, err = s.cfg.Store.CountFolders(r.Context(), c.mb, c.folderID()); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	next := ""
	if len(fs) > lq.top {
		fs = fs[:lq.top]
		next = s.nextLink(r, lq, fs[len(fs)-1].ID, nil)
	}
	preferenceApplied(w, lq)
	tail := "contactFolders"
	if len(c.t.folders) > 0 {
		tail = "childFolders"
	}
	s.writeCountedList(w, r, s.contextURL(r, mailboxContext(c, tail)), count, len(fs), func(b *bytes.Buffer, i int) error {
		return renderFolder(b, "", fs[i], lq.sel)
	}, next)
}

// lastFolderID returns the id of the folder a folder item route addresses.
func (c *call) lastFolderID() string { return c.t.folders[len(c.t.folders)-1] }

// getFolder serves GET of a folder item; the default folder included.
func (s *Server) getFolder(w http.ResponseWriter, r *http.Request, c *call) {
	sel, err := parseSelect(c.q, contactgraph.FolderSchema)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f := c.folder
	if f == nil {
		if f, err = s.cfg.Store.Folder(r.Context(), c.mb, c.lastFolderID()); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	s.writeFolder(w, r, c, http.StatusOK, f, sel)
}

// writeFolder answers one folder with its entity context.
func (s *Server) writeFolder(w http.ResponseWriter, r *http.Request, c *call, status int, f *contactgraph.Folder, sel []string) {
	var b bytes.Buffer
	ctxURL := s.contextURL(r, "users("+odataKey(c.mb.UserID)+")/contactFolders/$entity")
	if err := renderFolder(&b, ctxURL, f, sel); err != nil {
		s.writeError(w, r, err)
		return
	}
	if status == http.StatusCreated {
		s.writeCreated(w, r, s.baseURL(r)+"/users/"+url.PathEscape(c.mb.UserID)+"/contactFolders/"+f.ID, b.Bytes())
		return
	}
	s.writeJSON(w, r, status, b.Bytes())
}

// folderInput reads and validates a folder body; a parentFolderId must
// have the shape of an id.
func (s *Server) folderInput(r *http.Request) (contactgraph.FolderInput, error) {
	body, err := s.readBody(r)
	if err != nil {
		return contactgraph.FolderInput{}, err
	}
	in, err := contactgraph.ParseFolderInput(body)
	if err != nil {
		return in, err
	}
	if in.ParentID != nil && !contactgraph.ValidID(*in.ParentID) {
		return in, contactgraph.Errorf(contactgraph.EMalformedID, "Id is malformed.")
	}
	return in, nil
}

// createFolder serves POST {mailbox}/contactFolders (under the default
// folder, or under the body's parentFolderId) and …/childFolders (under
// the path's folder; a different parentFolderId in the body is EInvalid).
func (s *Server) createFolder(w http.ResponseWriter, r *http.Request, c *call) {
	in, err := s.folderInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	parent := c.mb.RootID
	switch {
	case len(c.t.folders) > 0:
		parent = c.lastFolderID()
		if in.ParentID != nil && *in.ParentID != parent {
			s.writeError(w, r, contactgraph.Errorf(contactgraph.EInvalid, "The property 'parentFolderId' must name the folder the child folder is created in."))
			return
		}
	case in.ParentID != nil:
		parent = *in.ParentID
	}
	f, err := s.cfg.Store.CreateFolder(r.Context(), c.mb, parent, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeFolder(w, r, c, http.StatusCreated, f, nil)
}

// updateFolder serves PATCH of a folder item: rename (displayName) and
// move (parentFolderId). The default folder cannot change.
func (s *Server) updateFolder(w http.ResponseWriter, r *http.Request, c *call) {
	in, err := s.folderInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id := c.lastFolderID()
	if id == c.mb.RootID {
		s.writeError(w, r, &contactgraph.Error{Code: eChangeDistinguished})
		return
	}
	f, err := s.cfg.Store.UpdateFolder(r.Context(), c.mb, id, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeFolder(w, r, c, http.StatusOK, f, nil)
}

// deleteFolder serves DELETE of a folder item, with its contacts and child
// folders. The default folder cannot be deleted.
func (s *Server) deleteFolder(w http.ResponseWriter, r *http.Request, c *call) {
	id := c.lastFolderID()
	if id == c.mb.RootID {
		s.writeError(w, r, &contactgraph.Error{Code: eDeleteDistinguished})
		return
	}
	if err := s.cfg.Store.DeleteFolder(r.Context(), c.mb, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeNoContent(w)
}

// folderDelta dispatches a folder delta route: every folder of the mailbox
// for {mailbox}/contactFolders/delta, the children of the path's folder
// for …/childFolders/delta.
func (s *Server) folderDelta(w http.ResponseWriter, r *http.Request, c *call) {
	s.serveDelta(w, r, c, delta.Request{Collection: delta.Folders, Mailbox: c.mb, Scope: c.deltaParent()}, folderDeltaSpec)
}

// deltaParent returns the parent of a folder delta route's collection: ""
// (every folder of the mailbox, flat) or the path's last folder.
func (c *call) deltaParent() string {
	if len(c.t.folders) == 0 {
		return ""
	}
	return c.lastFolderID()
}

// countFolders serves GET {mailbox}/contactFolders/$count and …/childFolders/$count.
func (s *Server) countFolders(w http.ResponseWriter, r *http.Request, c *call) {
	n, err := s.cfg.Store.CountFolders(r.Context(), c.mb, c.folderID())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeCount(w, n)
}

// permanentDeleteFolder serves POST …/contactFolders/{id}/permanentDelete:
// a delete, as for contacts.
func (s *Server) permanentDeleteFolder(w http.ResponseWriter, r *http.Request, c *call) {
	s.deleteFolder(w, r, c)
}
