package graphapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/notify"
)

// Resource data of rich notifications (includeResourceData): the JSON of
// the changed object that a notification carries encrypted. notify.Sender
// calls ResourceData when it sends; the data is the object's state then.

// dateTimeType is the @odata.type annotation of an Edm.DateTimeOffset
// value in resource data, as Graph writes it
// ("receivedDateTime@odata.type":"#DateTimeOffset").
const dateTimeType = "#DateTimeOffset"

// ResourceData returns the JSON object of the object a change notification
// names, as a rich notification carries it (encrypted) in Graph:
//
//   - "@odata.type" and "@odata.id" as in the notification's resourceData
//     (notify.ResourceOf), then "@odata.etag" for a contact;
//   - then the properties of the subscription's Select, in its order ("id"
//     first), or every property of the type when Select is empty. A
//     date-time property with a value is preceded by its annotation,
//     "name@odata.type":"#DateTimeOffset"; other kinds (strings, booleans,
//     lists, objects) carry none.
//
// The object is read now, within the subscription's scope: its tenant,
// mailbox and watched collection. A contact must still be in the watched
// folder; a folder under the watched parent (when the subscription names
// one); an org contact live in the tenant.
//
// A lifecycle notification, a deletion, and an object that is gone or has
// left the watched collection have no resource data: the error is then
// ENotFound (errors.Is(err, contactgraph.ErrNotFound)), which notify.Sender
// sends as a rich notification without encryptedContent. A subscription of
// an unknown collection is EInvalid; any other error is the store's.
func (s *Server) ResourceData(ctx context.Context, n contactgraph.Notification) ([]byte, error) {
	sub, w := n.Subscription, n.Subscription.Watched
	if n.Lifecycle != "" || n.Change == contactgraph.ChangeDeleted || n.ObjectID == "" {
		return nil, noResourceData()
	}
	if w.Collection != "orgContacts" && w.Mailbox.TenantID != sub.TenantID {
		return nil, noResourceData() // a subscription never watches another tenant's mailbox
	}
	typ, id := notify.ResourceOf(w, n.ObjectID)
	ann := [][2]string{{"@odata.type", jsonValue(typ)}, {"@odata.id", jsonValue(id)}}
	var schema *contactgraph.Schema
	var doc json.RawMessage
	switch w.Collection {
	case "contacts":
		ct, err := s.cfg.Store.Contact(ctx, w.Mailbox, n.ObjectID)
		if err != nil {
			return nil, err
		}
		if ct.FolderID != w.FolderID {
			return nil, noResourceData()
		}
		schema, doc = contactgraph.ContactSchema, ct.Doc
		ann = append(ann, [2]string{"@odata.etag", jsonValue(ct.ETag())})
	case "folders":
		f, err := s.cfg.Store.Folder(ctx, w.Mailbox, n.ObjectID)
		if err != nil {
			return nil, err
		}
		if f.IsRoot() || (w.FolderID != "" && f.ParentID != w.FolderID) {
			return nil, noResourceData()
		}
		schema, doc = contactgraph.FolderSchema, f.Doc()
	case "orgContacts":
		o, err := s.cfg.Store.OrgContact(ctx, sub.TenantID, n.ObjectID)
		if err != nil {
			return nil, err
		}
		schema, doc = contactgraph.OrgContactSchema, o.Doc()
	default:
		return nil, contactgraph.Errorf(contactgraph.EInvalid, "The subscription watches an unknown collection '%s'.", w.Collection)
	}
	var b bytes.Buffer
	if err := writeResourceData(&b, ann, schema, doc, sub.Select); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func noResourceData() error {
	return contactgraph.Errorf(contactgraph.ENotFound, "The object of the notification has no resource data.")
}

// writeResourceData appends an entity as resource data: the annotations
// (values already JSON), then the members of doc named in sel (every
// schema property when sel is empty), each date-time value preceded by its
// @odata.type annotation. Names doc lacks are skipped.
func writeResourceData(b *bytes.Buffer, ann [][2]string, schema *contactgraph.Schema, doc json.RawMessage, sel []string) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return errors.New("resource data: entity document is not a JSON object")
	}
	if len(sel) == 0 {
		for _, p := range schema.Props {
			sel = append(sel, p.Name)
		}
	}
	b.WriteByte('{')
	n := 0
	member := func(name string, value []byte) {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		appendJSONString(b, name)
		b.WriteByte(':')
		b.Write(value)
	}
	for _, a := range ann {
		member(a[0], []byte(a[1]))
	}
	for _, name := range sel {
		v, ok := m[name]
		if !ok {
			continue
		}
		if p, _ := schema.Lookup(name); p.Kind == contactgraph.KDateTime && !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			member(name+"@odata.type", []byte(jsonValue(dateTimeType)))
		}
		member(name, v)
	}
	b.WriteByte('}')
	return nil
}

// schemaOf returns the schema of the objects of a watched collection; nil
// for an unknown collection.
func schemaOf(collection string) *contactgraph.Schema {
	switch collection {
	case "contacts":
		return contactgraph.ContactSchema
	case "folders":
		return contactgraph.FolderSchema
	case "orgContacts":
		return contactgraph.OrgContactSchema
	}
	return nil
}

// resourceSelect returns the $select of a subscription's resource (the
// part after "?", percent-decoded, the option name in any letter case),
// validated against the schema of the collection it watches: the value of
// Subscription.Select. It is nil when the resource has no $select. A
// malformed query, a $select given twice or an unknown property is
// EInvalid; other options are left to the caller.
func resourceSelect(resource, collection string) ([]string, error) {
	schema := schemaOf(collection)
	if schema == nil {
		return nil, contactgraph.Errorf(contactgraph.EInvalid, "The subscription watches an unknown collection '%s'.", collection)
	}
	_, query, ok := strings.Cut(resource, "?")
	if !ok {
		return nil, nil
	}
	var sel []string
	found := false
	for part := range strings.SplitSeq(query, "&") {
		rawName, rawValue, _ := strings.Cut(part, "=")
		name, err1 := url.QueryUnescape(rawName)
		value, err2 := url.QueryUnescape(rawValue)
		if err1 != nil || err2 != nil {
			return nil, contactgraph.Errorf(contactgraph.EInvalid, "The query of the resource is malformed.")
		}
		if !strings.EqualFold(name, optSelect) {
			continue
		}
		if found {
			return nil, contactgraph.Errorf(contactgraph.EInvalid, "Query option '$select' was specified more than once, but it must be specified at most once.")
		}
		found = true
		var err error
		if sel, err = schema.Select(strings.Split(value, ",")); err != nil {
			return nil, err
		}
	}
	return sel, nil
}
