package graphapi

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// Header names and the JSON content type of every answer.
const (
	hdrRequestID       = "request-id"
	hdrClientRequestID = "client-request-id"
	contentTypeJSON    = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
)

// maxClientRequestID bounds the client-request-id that is echoed.
const maxClientRequestID = 256

// newRequestID returns a random (version 4) UUID.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:16])
	return string(out[:])
}

// setRequestIDs sets request-id (new) and client-request-id (the client's
// when it sent a usable one, else the request-id) on the answer.
func setRequestIDs(w http.ResponseWriter, r *http.Request) {
	rid := newRequestID()
	crid := strings.TrimSpace(r.Header.Get(hdrClientRequestID))
	if crid == "" || len(crid) > maxClientRequestID {
		crid = rid
	}
	h := w.Header()
	h.Set(hdrRequestID, rid)
	h.Set(hdrClientRequestID, crid)
}

// writeJSON writes body, a complete JSON document, with Graph's content
// type and the given status.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentTypeJSON)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "private")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// writeNoContent answers 204.
func (s *Server) writeNoContent(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "private")
	w.WriteHeader(http.StatusNoContent)
}

// appendJSONString appends s as a JSON string, without the HTML escaping
// of encoding/json's Marshal: "&" in a link stays "&", as Graph writes it,
// not "\u0026".
func appendJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode's newline
}

// odataKey renders an OData key literal: 'id' with quotes doubled.
func odataKey(id string) string {
	return "'" + strings.ReplaceAll(id, "'", "''") + "'"
}

// writeEntity appends an entity: the annotations (name, value pairs, each
// value already JSON) followed by the members of doc, a JSON object. With
// sel not nil only the members named in sel are written, in sel's order.
func writeEntity(b *bytes.Buffer, annotations [][2]string, doc json.RawMessage, sel []string) error {
	b.WriteByte('{')
	n := 0
	for _, a := range annotations {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		appendJSONString(b, a[0])
		b.WriteByte(':')
		b.WriteString(a[1])
	}
	doc = bytes.TrimSpace(doc)
	if len(doc) < 2 || doc[0] != '{' || doc[len(doc)-1] != '}' {
		return errors.New("entity document is not a JSON object")
	}
	if sel == nil {
		inner := bytes.TrimSpace(doc[1 : len(doc)-1])
		if len(inner) > 0 {
			if n > 0 {
				b.WriteByte(',')
			}
			b.Write(inner)
		}
		b.WriteByte('}')
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return err
	}
	for _, name := range sel {
		v, ok := m[name]
		if !ok {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		appendJSONString(b, name)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return nil
}

// jsonValue returns the JSON encoding of a string as a string, without
// HTML escaping (see appendJSONString).
func jsonValue(s string) string {
	var b bytes.Buffer
	appendJSONString(&b, s)
	return b.String()
}
