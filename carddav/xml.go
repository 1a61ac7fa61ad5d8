package carddav

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"strconv"

	"github.com/contactgraph/contactgraph"
)

// Namespaces.
const (
	nsDAV  = "DAV:"
	nsCard = "urn:ietf:params:xml:ns:carddav"
	nsCS   = "http://calendarserver.org/ns/"
)

// prefixes of the namespaces the answers declare on their root.
var prefixes = map[string]string{nsDAV: "D", nsCard: "C", nsCS: "CS"}

const maxXMLBody = 1 << 20

// reqProp is one property a request names, with its attributes (the
// version of a C:address-data).
type reqProp struct {
	Name xml.Name
	Attr []xml.Attr
}

// propList reads the children of a DAV:prop element.
type propList []reqProp

func (p *propList) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			*p = append(*p, reqProp{Name: t.Name, Attr: t.Attr})
			if err := d.Skip(); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

// readXML decodes the request body into v; an empty body leaves v as it
// is and reports false. EInvalid for malformed XML, ETooLarge past 1 MiB.
func readXML(r *http.Request, v any) (bool, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxXMLBody+1))
	if err != nil {
		return false, contactgraph.Errorf(contactgraph.EInvalid, "The request body could not be read.")
	}
	if len(body) > maxXMLBody {
		return false, contactgraph.Errorf(contactgraph.ETooLarge, "The XML body is larger than %d bytes.", maxXMLBody)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return false, nil
	}
	if err := xml.Unmarshal(body, v); err != nil {
		return false, contactgraph.Errorf(contactgraph.EInvalid, "The XML body is not valid: %s.", contactgraph.Truncate(err.Error(), 200))
	}
	return true, nil
}

// propValue is the answer for one property: its inner XML (already
// escaped), or absent (found false: a 404 propstat).
type propValue struct {
	name  xml.Name
	inner string
	found bool
}

// multistatus builds a 207 body.
type multistatus struct {
	b bytes.Buffer
}

func newMultistatus() *multistatus {
	m := &multistatus{}
	m.b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/">`)
	return m
}

// response adds a response with propstats for found and missing properties.
func (m *multistatus) response(href string, props []propValue) {
	m.b.WriteString("<D:response><D:href>")
	xml.EscapeText(&m.b, []byte(href))
	m.b.WriteString("</D:href>")
	for _, want := range []bool{true, false} {
		n := 0
		for _, p := range props {
			if p.found != want {
				continue
			}
			if n == 0 {
				m.b.WriteString("<D:propstat><D:prop>")
			}
			n++
			writeElem(&m.b, p.name, p.inner)
		}
		if n > 0 {
			st := "HTTP/1.1 200 OK"
			if !want {
				st = "HTTP/1.1 404 Not Found"
			}
			m.b.WriteString("</D:prop><D:status>" + st + "</D:status></D:propstat>")
		}
	}
	m.b.WriteString("</D:response>")
}

// status adds a response that is only a status (a removed member).
func (m *multistatus) status(href string, code int) {
	m.b.WriteString("<D:response><D:href>")
	xml.EscapeText(&m.b, []byte(href))
	m.b.WriteString("</D:href><D:status>HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "</D:status></D:response>")
}

// raw appends XML as it is.
func (m *multistatus) raw(s string) { m.b.WriteString(s) }

func (m *multistatus) write(w http.ResponseWriter) {
	m.b.WriteString("</D:multistatus>")
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	_, _ = w.Write(m.b.Bytes())
}

// writeElem writes <name>inner</name> with a known prefix, or with its own
// namespace declaration.
func writeElem(b *bytes.Buffer, n xml.Name, inner string) {
	tag := n.Local
	decl := ""
	if pre, ok := prefixes[n.Space]; ok {
		tag = pre + ":" + n.Local
	} else if n.Space != "" {
		var ns bytes.Buffer
		xml.EscapeText(&ns, []byte(n.Space))
		tag, decl = "X:"+n.Local, ` xmlns:X="`+ns.String()+`"`
	}
	if inner == "" {
		b.WriteString("<" + tag + decl + "/>")
		return
	}
	b.WriteString("<" + tag + decl + ">" + inner + "</" + tag + ">")
}

// text escapes s as XML character data.
func text(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func hrefElem(h string) string { return "<D:href>" + text(h) + "</D:href>" }
