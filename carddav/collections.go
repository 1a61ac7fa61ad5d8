package carddav

import (
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/contactgraph/contactgraph"
)

// setRemove reads the DAV:set and DAV:remove of a PROPPATCH
// (DAV:propertyupdate) or an extended MKCOL (DAV:mkcol, RFC 5689), each
// property with its value as inner XML, in request order.
type setRemove struct {
	XMLName xml.Name
	Ops     []propOp
}

// propOp is one property of a set or remove.
type propOp struct {
	remove bool
	name   xml.Name
	value  string // character data of the property
	inner  []xml.Name
}

func (s *setRemove) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	s.XMLName = start.Name
	var op *struct{ remove bool } // inside DAV:set or DAV:remove
	depth := 0                    // 1 inside set/remove, 2 inside its prop, 3 inside a property
	var cur *propOp
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1 && (t.Name == dav("set") || t.Name == dav("remove")):
				op = &struct{ remove bool }{remove: t.Name == dav("remove")}
			case depth == 3 && op != nil:
				s.Ops = append(s.Ops, propOp{remove: op.remove, name: t.Name})
				cur = &s.Ops[len(s.Ops)-1]
			case depth == 4 && cur != nil:
				cur.inner = append(cur.inner, t.Name)
			}
		case xml.CharData:
			if depth == 3 && cur != nil {
				cur.value += string(t)
			}
		case xml.EndElement:
			if depth == 0 {
				return nil
			}
			if depth == 3 {
				cur = nil
			}
			if depth == 1 {
				op = nil
			}
			depth--
		}
	}
}

// propResult is the outcome of one property of a PROPPATCH or MKCOL.
type propResult struct {
	name   xml.Name
	status int
	elem   string // precondition element of a 403, such as <D:cannot-modify-protected-property/>
}

// writePropstats adds a response with one propstat per property result.
func (m *multistatus) propstats(href string, results []propResult) {
	m.b.WriteString("<D:response><D:href>")
	xml.EscapeText(&m.b, []byte(href))
	m.b.WriteString("</D:href>")
	for _, r := range results {
		m.b.WriteString("<D:propstat><D:prop>")
		writeElem(&m.b, r.name, "")
		m.b.WriteString("</D:prop><D:status>HTTP/1.1 " + itoa(int64(r.status)) + " " + http.StatusText(r.status) + "</D:status>")
		if r.elem != "" {
			m.b.WriteString("<D:error>" + r.elem + "</D:error>")
		}
		m.b.WriteString("</D:propstat>")
	}
	m.b.WriteString("</D:response>")
}

// settable checks the properties of a PROPPATCH or MKCOL: only DAV:displayname
// can be set (and, for MKCOL, DAV:resourcetype naming an address book); every
// other one is 403 DAV:cannot-modify-protected-property (the server keeps no
// dead properties). It returns the new display name (nil when not set),
// the per-property results and whether all of them can be applied; when
// one cannot, the others are 424 Failed Dependency (the request is atomic).
func settable(ops []propOp, mkcol bool) (*string, []propResult, bool) {
	var name *string
	results := make([]propResult, len(ops))
	ok := true
	for i, op := range ops {
		results[i] = propResult{name: op.name, status: http.StatusOK}
		switch {
		case op.name == dav("displayname") && !op.remove && strings.TrimSpace(op.value) != "":
			v := strings.TrimSpace(op.value)
			name = &v
		case op.name == dav("displayname"):
			results[i].status, results[i].elem = http.StatusForbidden, "<D:cannot-modify-protected-property/>"
		case mkcol && op.name == dav("resourcetype") && !op.remove:
			if !isAddressbookType(op.inner) {
				results[i].status, results[i].elem = http.StatusForbidden, "<D:valid-resourcetype/>"
			}
		default:
			results[i].status, results[i].elem = http.StatusForbidden, "<D:cannot-modify-protected-property/>"
		}
		if results[i].status != http.StatusOK {
			ok = false
		}
	}
	if !ok {
		for i := range results {
			if results[i].status == http.StatusOK {
				results[i].status = http.StatusFailedDependency
			}
		}
	}
	return name, results, ok
}

// isAddressbookType reports whether a DAV:resourcetype value names an
// address book collection: collection and C:addressbook, nothing else.
func isAddressbookType(inner []xml.Name) bool {
	book := false
	for _, n := range inner {
		switch n {
		case dav("collection"):
		case card("addressbook"):
			book = true
		default:
			return false
		}
	}
	return book
}

// proppatch sets the displayname of an address book: it renames the
// folder. Every other property is 403 (protected; no dead properties are
// kept), and then nothing is changed.
func (h *Handler) proppatch(w http.ResponseWriter, r *http.Request, c *call) error {
	if c.t.kind != tBook {
		return &davError{status: http.StatusForbidden, elem: "<D:cannot-modify-protected-property/>",
			err: contactgraph.Errorf(contactgraph.EForbidden, "Only an address book's displayname can be changed.")}
	}
	ctx := r.Context()
	f, err := h.cfg.Store.Folder(ctx, c.mb, c.t.folder)
	if err != nil {
		return err
	}
	var body setRemove
	ok, err := readXML(r, &body)
	if err != nil {
		return err
	}
	if !ok || body.XMLName != dav("propertyupdate") {
		return contactgraph.Errorf(contactgraph.EInvalid, "A PROPPATCH needs a DAV:propertyupdate body.")
	}
	name, results, ok := settable(body.Ops, false)
	if ok && name != nil {
		if f.IsRoot() {
			for i := range results {
				results[i].status, results[i].elem = http.StatusForbidden, "<D:cannot-modify-protected-property/>"
			}
		} else if _, err := h.cfg.Store.UpdateFolder(ctx, c.mb, f.ID, contactgraph.FolderInput{DisplayName: name}); err != nil {
			if contactgraph.ErrorCode(err) != contactgraph.EFolderExists {
				return err
			}
			for i := range results {
				results[i].status = http.StatusFailedDependency
				if results[i].name == dav("displayname") {
					results[i].status = http.StatusConflict
				}
			}
		}
	}
	ms := newMultistatus()
	ms.propstats(c.bookHref(f.ID), results)
	ms.write(w)
	return nil
}

// mkcol creates an address book: a folder under the default one, named by
// the DAV:displayname of an extended MKCOL body (RFC 5689), else by the
// last segment of the URL. The book lives at the URL of the request: that
// segment is kept as the folder's name (CardStore.CreateNamedFolder), the
// answer is 201 with the URL in Location, and the home set lists the book
// there.
func (h *Handler) mkcol(w http.ResponseWriter, r *http.Request, c *call) error {
	segs := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, Prefix), "/"), "/")
	ctx := r.Context()
	if len(segs) != 3 || segs[0] != c.p.UserID || segs[1] != "contacts" {
		// Inside an address book (which holds no collections, RFC 6352
		// §5.2) or elsewhere: 403; under a parent that does not exist: 409
		// (RFC 4918 §9.3.1).
		if len(segs) > 3 && segs[0] == c.p.UserID && segs[1] == "contacts" {
			id, err := c.resolveBook(segs[2])
			if err == nil {
				_, err = h.cfg.Store.Folder(ctx, c.mb, id)
			}
			if len(segs) > 4 || (segs[2] != directoryName && contactgraph.ErrorCode(err) == contactgraph.ENotFound) {
				return contactgraph.Errorf(contactgraph.EConflict, "The parent collection does not exist.")
			}
		}
		return &davError{status: http.StatusForbidden, elem: "<D:valid-resourcetype/>",
			err: contactgraph.Errorf(contactgraph.EForbidden, "Address books are made in the home set, /dav/U/contacts/NAME/, and hold no collections.")}
	}
	if segs[2] == directoryName {
		return methodNotAllowed()
	}
	if id, err := c.resolveBook(segs[2]); err == nil {
		if _, err := h.cfg.Store.Folder(ctx, c.mb, id); err == nil {
			return methodNotAllowed()
		}
	}
	seg := segs[2]
	if !validName(seg) {
		return contactgraph.Errorf(contactgraph.EInvalid, "The address book's URL is not valid.")
	}
	name := seg
	var body setRemove
	ok, err := readXML(r, &body)
	if contactgraph.ErrorCode(err) == contactgraph.EInvalid {
		// A body that is not XML is not an extended MKCOL (RFC 4918 §9.3).
		return contactgraph.Errorf(contactgraph.EUnsupportedMedia, "An MKCOL body is an extended MKCOL's DAV:mkcol.")
	}
	if err != nil {
		return err
	}
	if ok {
		if body.XMLName != dav("mkcol") {
			return contactgraph.Errorf(contactgraph.EUnsupportedMedia, "An extended MKCOL body is DAV:mkcol.")
		}
		dn, results, ok := settable(body.Ops, true)
		typed := false
		for _, op := range body.Ops {
			typed = typed || op.name == dav("resourcetype")
		}
		if !ok || !typed {
			if !typed {
				results = append(results, propResult{name: dav("resourcetype"), status: http.StatusForbidden, elem: "<D:valid-resourcetype/>"})
			}
			w.Header().Set("Content-Type", "application/xml; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			ms := newMultistatus()
			ms.propstats(r.URL.Path, results)
			b := strings.Replace(ms.b.String(), "<D:multistatus ", "<D:mkcol-response ", 1)
			_, _ = w.Write([]byte(b + "</D:mkcol-response>"))
			return nil
		}
		if dn != nil {
			name = *dn
		}
	}
	f, err := h.cfg.Store.CreateNamedFolder(ctx, c.mb, "", seg, contactgraph.FolderInput{DisplayName: &name})
	if contactgraph.ErrorCode(err) == contactgraph.EConflict {
		return methodNotAllowed() // a concurrent MKCOL of the same URL won
	}
	if err != nil {
		return err
	}
	c.names[f.ID] = seg
	w.Header().Set("Location", c.bookHref(f.ID))
	w.WriteHeader(http.StatusCreated)
	return nil
}

func methodNotAllowed() error {
	return &davError{status: http.StatusMethodNotAllowed, elem: "<D:resource-must-be-null/>",
		err: contactgraph.Errorf(contactgraph.EConflict, "The address book exists.")}
}

// deleteBook deletes an address book: its folder, with its contacts and
// child folders. The default folder cannot be deleted (403).
func (h *Handler) deleteBook(w http.ResponseWriter, r *http.Request, c *call) error {
	ctx := r.Context()
	f, err := h.cfg.Store.Folder(ctx, c.mb, c.t.folder)
	if err != nil {
		return err
	}
	if f.IsRoot() {
		return &davError{status: http.StatusForbidden, elem: "<D:need-privileges/>",
			err: contactgraph.Errorf(contactgraph.EForbidden, "The default address book cannot be deleted.")}
	}
	if err := h.cfg.Store.DeleteFolder(ctx, c.mb, f.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
