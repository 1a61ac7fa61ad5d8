package contactgraph

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// What $filter may do with the string and date-time properties of Outlook
// items: compare, startswith (strings), eq null and ne null. Collections
// take lambdas only where Graph documents them: emailAddresses/any(a:a/address
// eq '…'), categories/any(c:c eq '…') and, through a filter-only
// collection, singleValueExtendedProperties/any(ep: ep/id eq '…' and
// ep/value eq '…'). personalNotes (a body) is not filterable.
const (
	outlookString = FilterCompare | FilterStartsWith | FilterNull
	outlookDate   = FilterCompare | FilterNull
)

// ContactSchema is the property set of microsoft.graph.contact, in the order
// the server renders it.
var ContactSchema = NewSchema("microsoft.graph.contact", []Property{
	{Name: "id", Kind: KString, ReadOnly: true, Filter: FilterEq | FilterNe, Sortable: true, CaseSensitive: true},
	{Name: "createdDateTime", Kind: KDateTime, ReadOnly: true, Filter: outlookDate, Sortable: true},
	{Name: "lastModifiedDateTime", Kind: KDateTime, ReadOnly: true, Filter: outlookDate, Sortable: true},
	{Name: "changeKey", Kind: KString, ReadOnly: true, Filter: FilterEq | FilterNe, CaseSensitive: true},
	{Name: "categories", Kind: KStringList, Members: []Member{{Kind: KString, Ops: FilterEq}}},
	{Name: "parentFolderId", Kind: KString, Filter: FilterEq | FilterNe, CaseSensitive: true},
	{Name: "birthday", Kind: KDateTime, Filter: outlookDate, Sortable: true},
	{Name: "fileAs", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "displayName", Kind: KString, MaxLen: 256, Filter: outlookString, Sortable: true},
	{Name: "givenName", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "initials", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "middleName", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "nickName", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "surname", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "title", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "yomiGivenName", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "yomiSurname", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "yomiCompanyName", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "generation", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "imAddresses", Kind: KStringList},
	{Name: "jobTitle", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "companyName", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "department", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "officeLocation", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "profession", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "businessHomePage", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "assistantName", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "manager", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "homePhones", Kind: KStringList},
	{Name: "mobilePhone", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "businessPhones", Kind: KStringList},
	{Name: "spouseName", Kind: KString, Filter: outlookString, Sortable: true},
	{Name: "personalNotes", Kind: KString, MaxLen: 65536},
	{Name: "children", Kind: KStringList},
	{Name: "emailAddresses", Kind: KEmailList, Members: []Member{{Field: "address", Kind: KString, Ops: FilterEq}}},
	{Name: "primaryEmailAddress", Kind: KEmailAddress},
	{Name: "secondaryEmailAddress", Kind: KEmailAddress},
	{Name: "tertiaryEmailAddress", Kind: KEmailAddress},
	{Name: "homeAddress", Kind: KPhysicalAddress},
	{Name: "businessAddress", Kind: KPhysicalAddress},
	{Name: "otherAddress", Kind: KPhysicalAddress},
}).WithFilterOnly(
	// The extended property collections are parts of a contact, not
	// document properties (ParseContactInput and $expand handle them):
	// $filter finds a single-value property by id and value, as Graph
	// documents; a lambda over multi-value properties is refused.
	Property{Name: memberSingle, Kind: KStringList, Keyed: true, Members: []Member{
		{Field: "id", Kind: KString, Ops: FilterEq},
		{Field: "value", Kind: KString, Ops: FilterEq},
	}},
	Property{Name: memberMulti, Kind: KStringList},
)

// Contact is an Outlook contact in a folder of a user's mailbox.
//
// Doc is the contact's full Graph representation (every schema property,
// unset ones at their default), rendered at write time so that reads can
// send it without decoding it again. It never holds OData annotations.
type Contact struct {
	ID        string
	FolderID  string
	ChangeKey string
	Created   time.Time
	Modified  time.Time
	Rev       int64 // revision of the last change
	AutoName  bool  // displayName is derived from the name parts
	Doc       json.RawMessage
}

// ETag returns the contact's weak entity tag, W/"<changeKey>".
func (c *Contact) ETag() string { return `W/"` + c.ChangeKey + `"` }

// ContactInput is a validated request body for a contact create or update:
// the canonical JSON of each property the client sent, and what the body
// holds beside the contact's document.
type ContactInput struct {
	Props map[string]json.RawMessage
	// Extensions are the open extensions of the body's "extensions", to be
	// created with the contact: each has a name, and no two the same one
	// (without regard to case).
	Extensions []Extension
	// Extended are the items of singleValueExtendedProperties and
	// multiValueExtendedProperties, each property at most once: set, or
	// removed when Remove.
	Extended []ExtendedProperty
	// Photo, when not nil, sets or replaces the contact's photo in the same
	// transaction (a photo ParsePhoto returned, with its bytes);
	// RemovePhoto removes the photo the contact has, if any. Graph bodies
	// set neither (photos have their own requests); a vCard with or
	// without a PHOTO does.
	Photo       *Photo
	RemovePhoto bool
}

// Members of a contact body that are not properties of its document.
const (
	memberExtensions = "extensions"
	memberSingle     = "singleValueExtendedProperties"
	memberMulti      = "multiValueExtendedProperties"
)

// ParseContactInput validates a JSON object body against ContactSchema.
// OData annotations ("@odata.type" and the like) and read-only properties are
// ignored; an unknown property or a value of the wrong type is an EInvalid
// error that names it. "extensions" (open extensions, see ParseExtension)
// and the two extended property collections are parsed into Extensions and
// Extended.
func ParseContactInput(body []byte) (ContactInput, error) {
	members, err := objectMembers(body)
	if err != nil {
		return ContactInput{}, err
	}
	var in ContactInput
	if raw, ok := members[memberExtensions]; ok {
		delete(members, memberExtensions)
		if in.Extensions, err = parseExtensionList(raw); err != nil {
			return ContactInput{}, err
		}
	}
	seen := map[string]bool{}
	for _, m := range []struct {
		name  string
		multi bool
	}{{memberSingle, false}, {memberMulti, true}} {
		raw, ok := members[m.name]
		if !ok {
			continue
		}
		delete(members, m.name)
		props, err := parseExtendedProperties(m.name, raw, m.multi)
		if err != nil {
			return ContactInput{}, err
		}
		for _, p := range props {
			if seen[p.Key] {
				return ContactInput{}, Errorf(EInvalid, "The extended property '%s' is given more than once.", Truncate(p.ID, 256))
			}
			seen[p.Key] = true
		}
		in.Extended = append(in.Extended, props...)
	}
	if len(in.Extended) > MaxExtendedProperties {
		return ContactInput{}, Errorf(EInvalid, "A contact holds at most %d extended properties.", MaxExtendedProperties)
	}
	if in.Props, err = parseMembers(ContactSchema, members); err != nil {
		return ContactInput{}, err
	}
	return in, nil
}

// parseExtensionList validates a contact body's "extensions": an array of
// open extensions, each named, no name twice.
func parseExtensionList(raw json.RawMessage) ([]Extension, error) {
	var items []json.RawMessage
	if strictArray(bytes.TrimSpace(raw), &items) != nil {
		return nil, Errorf(EInvalid, "The property 'extensions' must be an array of open extensions.")
	}
	if len(items) > MaxExtensions {
		return nil, Errorf(EInvalid, "A contact holds at most %d open extensions.", MaxExtensions)
	}
	out := make([]Extension, 0, len(items))
	names := map[string]bool{}
	for _, it := range items {
		e, err := ParseExtension(it)
		if err != nil {
			return nil, err
		}
		if e.Name == "" {
			return nil, Errorf(EInvalid, "The property 'extensionName' is required.")
		}
		if names[strings.ToLower(e.Name)] {
			return nil, Errorf(EInvalid, "The open extension '%s' is given more than once.", e.Name)
		}
		names[strings.ToLower(e.Name)] = true
		out = append(out, e)
	}
	return out, nil
}

// ParseObject validates a JSON object body against s and returns the
// canonical JSON of each writable property it sets.
func ParseObject(s *Schema, body []byte) (map[string]json.RawMessage, error) {
	members, err := objectMembers(body)
	if err != nil {
		return nil, err
	}
	return parseMembers(s, members)
}

// objectMembers checks that body is one JSON object without repeated
// member names (CheckJSONObject) and returns its members.
func objectMembers(body []byte) (map[string]json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, Errorf(EInvalid, "The request body must be a JSON object.")
	}
	return checkedMembers(body, true)
}

// parseMembers validates the members of a body against s.
func parseMembers(s *Schema, members map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(members))
	for name, raw := range members {
		if strings.Contains(name, "@") {
			continue // instance annotations such as @odata.type
		}
		p, ok := s.Lookup(name)
		if !ok {
			return nil, Errorf(EInvalid, "The property '%s' does not exist on type '%s'. Make sure to only use property names that are defined by the type.", Truncate(name, 128), s.Type)
		}
		if p.ReadOnly {
			continue
		}
		v, err := s.Canonical(p, raw)
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
	return out, nil
}

func jsonErrorText(err error) string {
	msg := err.Error()
	return strings.TrimPrefix(msg, "json: ")
}

// Name parts from which displayName is derived.
var nameParts = []string{"givenName", "middleName", "surname"}

// ApplyContact builds the new state of a contact from its old state (nil on
// create) and a validated input. It sets the server-owned fields (id on
// create, changeKey, timestamps, parentFolderId) and derives displayName
// from the name parts unless the client has set it. folderID is the folder
// the contact lives in after the write.
func ApplyContact(old *Contact, in ContactInput, folderID string, now time.Time) *Contact {
	props := map[string]json.RawMessage{}
	c := &Contact{FolderID: folderID, Modified: now.UTC(), ChangeKey: NewChangeKey(), AutoName: true}
	if old != nil {
		_ = json.Unmarshal(old.Doc, &props)
		c.ID, c.Created, c.AutoName = old.ID, old.Created, old.AutoName
	} else {
		c.ID, c.Created = NewID(), now.UTC()
	}
	for k, v := range in.Props {
		props[k] = v
	}
	if v, ok := in.Props["displayName"]; ok {
		var s string
		_ = json.Unmarshal(v, &s)
		c.AutoName = strings.TrimSpace(s) == ""
	}
	if c.AutoName {
		props["displayName"] = marshal(deriveDisplayName(props))
	}
	props["id"] = marshal(c.ID)
	props["createdDateTime"] = marshal(FormatDateTime(c.Created))
	props["lastModifiedDateTime"] = marshal(FormatDateTime(c.Modified))
	props["changeKey"] = marshal(c.ChangeKey)
	props["parentFolderId"] = marshal(folderID)
	c.Doc = renderDoc(ContactSchema, props)
	return c
}

func deriveDisplayName(props map[string]json.RawMessage) string {
	var parts []string
	for _, n := range nameParts {
		var s string
		if raw, ok := props[n]; ok && json.Unmarshal(raw, &s) == nil && strings.TrimSpace(s) != "" {
			parts = append(parts, strings.TrimSpace(s))
		}
	}
	return strings.Join(parts, " ")
}

// renderDoc writes every schema property in schema order, taking unset ones
// at their default.
func renderDoc(s *Schema, props map[string]json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	b.Grow(1024)
	b.WriteByte('{')
	for i, p := range s.Props {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(p.Name)
		b.WriteString(`":`)
		if v, ok := props[p.Name]; ok {
			b.Write(v)
		} else {
			b.Write(p.Kind.DefaultValue())
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

// NewID returns a new opaque, URL-safe object id: 24 random bytes in
// unpadded base64url, 32 characters.
func NewID() string {
	var b [24]byte
	randRead(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ValidID reports whether s has the shape of an id made by NewID. Handlers
// answer a malformed id with 400 before touching the store.
func ValidID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// NewChangeKey returns a new changeKey: 12 random bytes in base64url.
func NewChangeKey() string {
	var b [12]byte
	randRead(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// randRead fills b from the system's secure random source, which does not
// fail on the platforms Go supports (crypto/rand.Read panics rather than
// return an error since Go 1.24).
func randRead(b []byte) { _, _ = rand.Read(b) }
