package graphapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/contactgraph/contactgraph"
)

// contextURL returns an @odata.context value: the base URL's $metadata
// followed by fragment.
func (s *Server) contextURL(r *http.Request, fragment string) string {
	return s.baseURL(r) + "/$metadata#" + fragment
}

// mailboxContext returns the context fragment of a mailbox path:
// users('<id>') followed by the folder path of c (contactFolders('<id>')
// for the last folder) and then tail.
func mailboxContext(c *call, tail string) string {
	f := "users(" + odataKey(c.mb.UserID) + ")"
	if n := len(c.t.folders); n > 0 {
		f += "/contactFolders(" + odataKey(c.t.folders[n-1]) + ")"
	}
	return f + "/" + tail
}

// renderContact appends a contact: its @odata.etag and its document, or
// the selected members of it.
func renderContact(b *bytes.Buffer, ctxURL string, ct *contactgraph.Contact, sel []string) error {
	ann := make([][2]string, 0, 2)
	if ctxURL != "" {
		ann = append(ann, [2]string{"@odata.context", jsonValue(ctxURL)})
	}
	ann = append(ann, [2]string{"@odata.etag", jsonValue(ct.ETag())})
	return writeEntity(b, ann, ct.Doc, sel)
}

// renderFolder appends a folder.
func renderFolder(b *bytes.Buffer, ctxURL string, f *contactgraph.Folder, sel []string) error {
	var ann [][2]string
	if ctxURL != "" {
		ann = append(ann, [2]string{"@odata.context", jsonValue(ctxURL)})
	}
	return writeEntity(b, ann, f.Doc(), sel)
}

// writeList writes a collection page: @odata.context, value (n items, each
// appended by item) and @odata.nextLink when next is not empty.
func (s *Server) writeList(w http.ResponseWriter, r *http.Request, ctxURL string, n int, item func(b *bytes.Buffer, i int) error, next string) {
	s.writeCountedList(w, r, ctxURL, -1, n, item, next)
}

// writeCountedList is writeList with @odata.count when count >= 0.
func (s *Server) writeCountedList(w http.ResponseWriter, r *http.Request, ctxURL string, count, n int, item func(b *bytes.Buffer, i int) error, next string) {
	var b bytes.Buffer
	b.WriteString(`{"@odata.context":`)
	appendJSONString(&b, ctxURL)
	if count >= 0 {
		b.WriteString(`,"@odata.count":`)
		b.WriteString(strconv.Itoa(count))
	}
	b.WriteString(`,"value":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := item(&b, i); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	b.WriteByte(']')
	if next != "" {
		b.WriteString(`,"@odata.nextLink":`)
		appendJSONString(&b, next)
	}
	b.WriteByte('}')
	s.writeJSON(w, r, http.StatusOK, b.Bytes())
}

// writeCreated answers 201 with body and a Location header.
func (s *Server) writeCreated(w http.ResponseWriter, r *http.Request, location string, body []byte) {
	w.Header().Set("Location", location)
	s.writeJSON(w, r, http.StatusCreated, body)
}

// userDoc renders a user in Graph's default shape (userSchema's order):
// the properties the server keeps, the others null, businessPhones [].
func userDoc(u contactgraph.User) json.RawMessage {
	str := func(v string) string {
		if v == "" {
			return "null"
		}
		return jsonValue(v)
	}
	var b bytes.Buffer
	b.WriteString(`{"businessPhones":[],"displayName":`)
	b.WriteString(str(u.DisplayName))
	b.WriteString(`,"givenName":null,"jobTitle":null,"mail":`)
	b.WriteString(str(u.Mail))
	b.WriteString(`,"mobilePhone":null,"officeLocation":null,"preferredLanguage":null,"surname":null,"userPrincipalName":`)
	b.WriteString(str(u.UPN))
	b.WriteString(`,"id":`)
	b.WriteString(str(u.ID))
	b.WriteByte('}')
	return b.Bytes()
}

// writeCount answers a /$count request: the number as plain text.
func (s *Server) writeCount(w http.ResponseWriter, n int) {
	body := strconv.Itoa(n)
	w.Header().Set("Content-Type", "text/plain;charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(body))
}
