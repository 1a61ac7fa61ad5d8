package contactgraph

import (
	"bytes"
	"encoding/json"
	"time"
)

// directoryString is what $filter may do with the string properties of
// directory objects (Entra documents eq, ne, not, ge, le, in, startsWith and
// eq null; there is no gt or lt). Which of them need advanced query
// parameters is the HTTP layer's concern.
const directoryString = FilterEq | FilterNe | FilterGe | FilterLe | FilterIn | FilterStartsWith | FilterNull

// OrgContactSchema is the property set of microsoft.graph.orgContact, a
// directory object of a tenant. Only displayName is sortable and
// searchable, as in Entra.
var OrgContactSchema = NewSchema("microsoft.graph.orgContact", []Property{
	{Name: "id", Kind: KString, ReadOnly: true, Filter: FilterEq | FilterNe | FilterIn},
	{Name: "deletedDateTime", Kind: KDateTime, ReadOnly: true},
	{Name: "addresses", Kind: KOfficeAddresses},
	{Name: "companyName", Kind: KString, MaxLen: 256, Filter: directoryString},
	{Name: "department", Kind: KString, MaxLen: 256, Filter: directoryString},
	{Name: "displayName", Kind: KString, MaxLen: 256, Filter: directoryString, Sortable: true, Searchable: true},
	{Name: "givenName", Kind: KString, MaxLen: 256, Filter: directoryString},
	{Name: "jobTitle", Kind: KString, MaxLen: 256, Filter: directoryString},
	{Name: "mail", Kind: KString, MaxLen: 256, Filter: directoryString},
	{Name: "mailNickname", Kind: KString, MaxLen: 256, Filter: directoryString},
	{Name: "onPremisesLastSyncDateTime", Kind: KDateTime, Filter: FilterEq | FilterNe | FilterGe | FilterLe | FilterIn},
	{Name: "onPremisesProvisioningErrors", Kind: KProvisioningErrors},
	{Name: "onPremisesSyncEnabled", Kind: KBool, Filter: FilterEq | FilterNe | FilterIn | FilterNull},
	{Name: "phones", Kind: KPhoneList},
	{Name: "proxyAddresses", Kind: KStringList, Members: []Member{{Kind: KString, Ops: FilterEq | FilterGe | FilterLe | FilterStartsWith}}},
	{Name: "serviceProvisioningErrors", Kind: KServiceErrors},
	{Name: "surname", Kind: KString, MaxLen: 256, Filter: directoryString},
})

// OrgContactDeltaDefault is the property set /contacts/delta tracks and
// returns when the first request has no $select: the seed's example set.
var OrgContactDeltaDefault = []string{"id", "companyName", "department", "displayName", "givenName", "jobTitle", "mail", "mailNickname", "surname"}

// OrgContact is an organizational contact of a tenant.
//
// Props holds the properties that were ever set, with their current value
// (a cleared property stays, as null or []); a property never set is
// absent. PropRevs holds, per property, the revision of its last change, so
// that a delta round with Prefer: return=minimal can return exactly the
// properties changed since a position.
type OrgContact struct {
	ID       string
	Props    map[string]json.RawMessage
	PropRevs map[string]int64
	Rev      int64
	Created  time.Time
	Deleted  time.Time // when it was soft-deleted; zero while live
}

// OrgContactInput is a validated org contact create or update body.
type OrgContactInput struct {
	Props map[string]json.RawMessage
}

// ParseOrgContactInput validates a JSON body against OrgContactSchema.
func ParseOrgContactInput(body []byte) (OrgContactInput, error) {
	props, err := ParseObject(OrgContactSchema, body)
	if err != nil {
		return OrgContactInput{}, err
	}
	if raw, ok := props["mail"]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil && s != "" {
			if err := checkEmail(Property{Name: "mail"}, map[string]any{"address": s}); err != nil {
				return OrgContactInput{}, err
			}
		}
	}
	return OrgContactInput{Props: props}, nil
}

// ApplyOrgContact builds the new state of an org contact from its old state
// (nil on create) and a validated input, written at revision rev. A
// property's revision moves only when its value changes.
func ApplyOrgContact(old *OrgContact, in OrgContactInput, rev int64, now time.Time) *OrgContact {
	o := &OrgContact{Props: map[string]json.RawMessage{}, PropRevs: map[string]int64{}, Rev: rev}
	if old != nil {
		o.ID, o.Created = old.ID, old.Created
		for k, v := range old.Props {
			o.Props[k] = v
		}
		for k, v := range old.PropRevs {
			o.PropRevs[k] = v
		}
	} else {
		o.ID, o.Created = NewGUID(), now.UTC()
	}
	for k, v := range in.Props {
		if cur, ok := o.Props[k]; ok && bytes.Equal(cur, v) {
			continue
		}
		o.Props[k] = v
		o.PropRevs[k] = rev
	}
	return o
}

// Touch marks every set property as changed at rev: a restored org contact
// reappears as a whole object, also for clients asking return=minimal.
func (o *OrgContact) Touch(rev int64) {
	o.Rev = rev
	for k := range o.Props {
		o.PropRevs[k] = rev
	}
}

// Doc renders the org contact's full representation: every schema
// property, unset ones at their default.
func (o *OrgContact) Doc() json.RawMessage {
	props := make(map[string]json.RawMessage, len(o.Props)+2)
	for k, v := range o.Props {
		props[k] = v
	}
	props["id"] = marshal(o.ID)
	if !o.Deleted.IsZero() {
		props["deletedDateTime"] = marshal(FormatDateTime(o.Deleted))
	}
	return renderDoc(OrgContactSchema, props)
}

// NewGUID returns a random (version 4) GUID, the id form of directory objects.
func NewGUID() string {
	var b [16]byte
	randRead(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return formatGUID(b[:])
}
