package contactgraph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is the JSON type of a property. Types are strict: the official Go SDK
// rejects a whole page when one property has the wrong JSON type, so the
// server never stores or returns a value of another type.
type Kind int

// Property kinds.
const (
	KString             Kind = iota // string or null
	KStringList                     // array of strings
	KDateTime                       // RFC 3339 string, stored and returned in UTC, or null
	KBool                           // true, false or null
	KPhysicalAddress                // physicalAddress object; unset is {}
	KEmailAddress                   // emailAddress object or null
	KEmailList                      // array of emailAddress
	KOfficeAddresses                // array of physicalOfficeAddress
	KPhoneList                      // array of phone
	KProvisioningErrors             // array of onPremisesProvisioningError
	KServiceErrors                  // array of serviceProvisioningError
)

// Property describes one property of a resource type, and what the query
// options of lists may do with it: the schema is the only source of which
// properties and operators $filter and $orderby accept.
type Property struct {
	Name     string
	Kind     Kind
	ReadOnly bool // set by the server; ignored in request bodies
	MaxLen   int  // for strings; 0 means the default limit

	// Filter holds the $filter operators the property supports itself (a
	// string, date-time or Boolean property); zero when it cannot be
	// filtered on directly.
	Filter FilterOps
	// Members says what a lambda over a collection property may test,
	// as in emailAddresses/any(a:a/address eq '…'); nil when none.
	Members []Member
	// Sortable: the property may be a key of $orderby.
	Sortable bool
	// Searchable: directory $search may name the property ("name:term").
	Searchable bool
	// CaseSensitive: string comparisons of the property respect case
	// (ids); others ignore the case of ASCII letters (see FoldCase).
	CaseSensitive bool
	// Keyed: a lambda over the collection must find one member by its key
	// and compare its value, "v/id eq '…' and v/value eq '…'" (either
	// order, nothing else): singleValueExtendedProperties. The parser
	// checks the shape with ParseExtendedFilter.
	Keyed bool
}

// FilterOps is a set of $filter operators.
type FilterOps uint16

// Filter operators.
const (
	FilterEq         FilterOps = 1 << iota // eq
	FilterNe                               // ne
	FilterGt                               // gt
	FilterGe                               // ge
	FilterLt                               // lt
	FilterLe                               // le
	FilterIn                               // in (…)
	FilterStartsWith                       // startswith(p, '…')
	FilterNull                             // eq null, ne null

	// FilterCompare is every comparison operator.
	FilterCompare = FilterEq | FilterNe | FilterGt | FilterGe | FilterLt | FilterLe
)

// Has reports whether every operator of x is in o.
func (o FilterOps) Has(x FilterOps) bool { return o&x == x }

// OpFilter returns the FilterOps bit of a comparison operator.
func OpFilter(op Op) FilterOps {
	switch op {
	case Eq:
		return FilterEq
	case Ne:
		return FilterNe
	case Gt:
		return FilterGt
	case Ge:
		return FilterGe
	case Lt:
		return FilterLt
	case Le:
		return FilterLe
	}
	return 0
}

// Member is what a lambda over a collection property may test of each
// member: the member itself (Field empty; a collection of strings) or one
// field of it (a collection of complex values), of kind Kind (KString,
// KDateTime or KBool), with the operators Ops.
type Member struct {
	Field         string
	Kind          Kind
	Ops           FilterOps
	CaseSensitive bool
}

// Member returns what a lambda over p may test as field ("" for the member
// itself).
func (p Property) Member(field string) (Member, bool) {
	for _, m := range p.Members {
		if m.Field == field {
			return m, true
		}
	}
	return Member{}, false
}

// Schema is the ordered property set of a resource type.
type Schema struct {
	Type  string // OData type name, such as "microsoft.graph.contact"
	Props []Property
	index map[string]int
	// filterOnly are collections $filter lambdas may range over that are
	// not properties of the documents: never rendered, selected, sorted
	// or accepted in a body through the schema (see WithFilterOnly).
	filterOnly []Property
}

// NewSchema builds a schema; property lookup ignores case only when exact lookup fails.
func NewSchema(typ string, props []Property) *Schema {
	s := &Schema{Type: typ, Props: props, index: make(map[string]int, len(props))}
	for i, p := range props {
		s.index[p.Name] = i
	}
	return s
}

// Lookup returns the property named name.
func (s *Schema) Lookup(name string) (Property, bool) {
	i, ok := s.index[name]
	if !ok {
		return Property{}, false
	}
	return s.Props[i], true
}

// WithFilterOnly adds to s collections that only $filter names (in a
// lambda): Lookup, LookupFold, Select and rendering never see them;
// LookupFilter and LookupFilterFold do. It returns s.
func (s *Schema) WithFilterOnly(props ...Property) *Schema {
	s.filterOnly = append(s.filterOnly, props...)
	return s
}

// LookupFilter returns the property named name among the properties and
// the filter-only collections: what a $filter tree may name.
func (s *Schema) LookupFilter(name string) (Property, bool) {
	if p, ok := s.Lookup(name); ok {
		return p, true
	}
	for _, q := range s.filterOnly {
		if q.Name == name {
			return q, true
		}
	}
	return Property{}, false
}

// LookupFilterFold is LookupFilter matching exactly or else without
// regard to case, as $filter text names properties.
func (s *Schema) LookupFilterFold(name string) (Property, bool) {
	if p, ok := s.LookupFilter(name); ok {
		return p, true
	}
	if p, ok := s.LookupFold(name); ok {
		return p, true
	}
	for _, q := range s.filterOnly {
		if strings.EqualFold(q.Name, name) {
			return q, true
		}
	}
	return Property{}, false
}

// LookupFold returns the property named name, matched exactly or else
// without regard to case, as Graph matches names in query options.
func (s *Schema) LookupFold(name string) (Property, bool) {
	if p, ok := s.Lookup(name); ok {
		return p, true
	}
	for _, q := range s.Props {
		if strings.EqualFold(q.Name, name) {
			return q, true
		}
	}
	return Property{}, false
}

// Select validates a $select list against the schema and returns the
// property names in schema order, with "id" always included. An unknown name
// is an EInvalid error that names it, in Graph's words.
func (s *Schema) Select(names []string) ([]string, error) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		// Graph matches property names case-insensitively in $select.
		p, ok := s.LookupFold(n)
		if !ok {
			return nil, Errorf(EInvalid, "Parsing OData Select and Expand failed: Could not find a property named '%s' on type '%s'.", Truncate(n, 128), s.Type)
		}
		want[p.Name] = true
	}
	out := []string{"id"}
	for _, p := range s.Props {
		if p.Name != "id" && want[p.Name] {
			out = append(out, p.Name)
		}
	}
	return out, nil
}

const defaultMaxLen = 4096

// DefaultValue is the JSON a property takes when it is not set.
func (k Kind) DefaultValue() json.RawMessage {
	switch k {
	case KStringList, KEmailList, KOfficeAddresses, KPhoneList, KProvisioningErrors, KServiceErrors:
		return json.RawMessage(`[]`)
	case KPhysicalAddress:
		return json.RawMessage(`{}`)
	default:
		return json.RawMessage(`null`)
	}
}

// bodyError is the error for a request body that does not fit the schema.
func bodyError(format string, args ...any) error {
	return Errorf(EInvalid, format, args...)
}

// Canonical validates raw as a value of property p and returns its canonical
// JSON encoding. It returns an EInvalid error naming the property when the
// JSON type or content is wrong.
func (s *Schema) Canonical(p Property, raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	isNull := bytes.Equal(raw, []byte("null"))
	switch p.Kind {
	case KString:
		if isNull {
			return raw, nil
		}
		var v string
		if err := strictString(raw, &v); err != nil {
			return nil, typeError(s, p, "Edm.String")
		}
		if err := checkString(p, v); err != nil {
			return nil, err
		}
		return marshal(v), nil
	case KBool:
		if isNull || bytes.Equal(raw, []byte("true")) || bytes.Equal(raw, []byte("false")) {
			return raw, nil
		}
		return nil, typeError(s, p, "Edm.Boolean")
	case KDateTime:
		if isNull {
			return raw, nil
		}
		var v string
		if err := strictString(raw, &v); err != nil {
			return nil, typeError(s, p, "Edm.DateTimeOffset")
		}
		t, err := ParseDateTime(v)
		if err != nil {
			return nil, bodyError("Cannot convert the literal '%s' to the expected type 'Edm.DateTimeOffset' of property '%s'.", v, p.Name)
		}
		return marshal(FormatDateTime(t)), nil
	case KStringList:
		if isNull {
			return p.Kind.DefaultValue(), nil
		}
		var items []json.RawMessage
		if err := strictArray(raw, &items); err != nil {
			return nil, typeError(s, p, "Collection(Edm.String)")
		}
		if len(items) > maxListLen {
			return nil, bodyError("The property '%s' holds more than %d values.", p.Name, maxListLen)
		}
		out := make([]string, 0, len(items))
		for _, it := range items {
			var v string
			if err := strictString(it, &v); err != nil {
				return nil, typeError(s, p, "Collection(Edm.String)")
			}
			if err := checkString(p, v); err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return marshal(out), nil
	case KPhysicalAddress:
		if isNull {
			return p.Kind.DefaultValue(), nil
		}
		return canonicalObject(p, raw, "microsoft.graph.physicalAddress", physicalAddressFields, nil)
	case KEmailAddress:
		if isNull {
			return raw, nil
		}
		return canonicalObject(p, raw, "microsoft.graph.emailAddress", emailAddressFields, checkEmail)
	case KEmailList:
		return canonicalList(s, p, raw, isNull, func(it json.RawMessage) (json.RawMessage, error) {
			return canonicalObject(p, it, "microsoft.graph.emailAddress", emailAddressFields, checkEmail)
		})
	case KOfficeAddresses:
		return canonicalList(s, p, raw, isNull, func(it json.RawMessage) (json.RawMessage, error) {
			return canonicalObject(p, it, "microsoft.graph.physicalOfficeAddress", officeAddressFields, nil)
		})
	case KPhoneList:
		return canonicalList(s, p, raw, isNull, func(it json.RawMessage) (json.RawMessage, error) {
			return canonicalObject(p, it, "microsoft.graph.phone", phoneFields, checkPhone)
		})
	case KProvisioningErrors:
		return canonicalList(s, p, raw, isNull, func(it json.RawMessage) (json.RawMessage, error) {
			return canonicalObject(p, it, "microsoft.graph.onPremisesProvisioningError", provisioningErrorFields, nil)
		})
	case KServiceErrors:
		return canonicalList(s, p, raw, isNull, func(it json.RawMessage) (json.RawMessage, error) {
			return canonicalObject(p, it, "microsoft.graph.serviceProvisioningXmlError", serviceErrorFields, nil)
		})
	}
	return nil, fmt.Errorf("schema: unknown kind %d", p.Kind)
}

const maxListLen = 250

func typeError(s *Schema, p Property, want string) error {
	return bodyError("Cannot convert a value to the expected type '%s' of property '%s' on type '%s'.", want, p.Name, s.Type)
}

func checkString(p Property, v string) error {
	limit := p.MaxLen
	if limit == 0 {
		limit = defaultMaxLen
	}
	if utf8.RuneCountInString(v) > limit {
		return bodyError("The value of property '%s' is longer than %d characters.", p.Name, limit)
	}
	if !utf8.ValidString(v) {
		return bodyError("The value of property '%s' is not valid UTF-8.", p.Name)
	}
	if strings.IndexByte(v, 0) >= 0 {
		// PostgreSQL's json operators cannot turn \u0000 into text: a
		// stored NUL would break every $filter over its list.
		return bodyError("The value of property '%s' contains a NUL character.", p.Name)
	}
	return nil
}

func canonicalList(s *Schema, p Property, raw json.RawMessage, isNull bool, item func(json.RawMessage) (json.RawMessage, error)) (json.RawMessage, error) {
	if isNull {
		return p.Kind.DefaultValue(), nil
	}
	var items []json.RawMessage
	if err := strictArray(raw, &items); err != nil {
		return nil, typeError(s, p, "Collection")
	}
	if len(items) > maxListLen {
		return nil, bodyError("The property '%s' holds more than %d values.", p.Name, maxListLen)
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, it := range items {
		v, err := item(it)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(v)
	}
	b.WriteByte(']')
	return b.Bytes(), nil
}

// MemberFields returns the field names of the members of a collection of
// complex values of kind k, in declaration order; nil for other kinds.
func MemberFields(k Kind) []string {
	var fs []field
	switch k {
	case KEmailList:
		fs = emailAddressFields
	case KOfficeAddresses:
		fs = officeAddressFields
	case KPhoneList:
		fs = phoneFields
	case KProvisioningErrors:
		fs = provisioningErrorFields
	case KServiceErrors:
		fs = serviceErrorFields
	}
	names := make([]string, 0, len(fs))
	for _, f := range fs {
		names = append(names, f.Name)
	}
	return names
}

// field is one member of a complex type.
type field struct {
	Name string
	Kind Kind // KString, KBool or KDateTime
}

var (
	physicalAddressFields   = []field{{"city", KString}, {"countryOrRegion", KString}, {"postalCode", KString}, {"state", KString}, {"street", KString}}
	officeAddressFields     = []field{{"city", KString}, {"countryOrRegion", KString}, {"officeLocation", KString}, {"postalCode", KString}, {"state", KString}, {"street", KString}}
	emailAddressFields      = []field{{"address", KString}, {"name", KString}}
	phoneFields             = []field{{"language", KString}, {"number", KString}, {"region", KString}, {"type", KString}}
	provisioningErrorFields = []field{{"category", KString}, {"occurredDateTime", KDateTime}, {"propertyCausingError", KString}, {"value", KString}}
	serviceErrorFields      = []field{{"createdDateTime", KDateTime}, {"errorDetail", KString}, {"isResolved", KBool}, {"serviceInstance", KString}}
)

// canonicalObject validates a complex value: an object whose members are all
// known fields of the right type. "@odata.type" members are ignored. The
// canonical form lists the set fields in declaration order.
func canonicalObject(p Property, raw json.RawMessage, typ string, fields []field, check func(Property, map[string]any) error) (json.RawMessage, error) {
	var members map[string]json.RawMessage
	if err := strictObject(raw, &members); err != nil {
		return nil, bodyError("Cannot convert a value to the expected type '%s' of property '%s'.", typ, p.Name)
	}
	values := make(map[string]any, len(members))
	for name, v := range members {
		if strings.HasPrefix(name, "@odata.") {
			continue
		}
		var f *field
		for i := range fields {
			if fields[i].Name == name {
				f = &fields[i]
			}
		}
		if f == nil {
			return nil, bodyError("The property '%s' does not exist on type '%s'. Make sure to only use property names that are defined by the type.", Truncate(name, 128), typ)
		}
		v = bytes.TrimSpace(v)
		if bytes.Equal(v, []byte("null")) {
			continue
		}
		switch f.Kind {
		case KBool:
			var b bool
			if err := json.Unmarshal(v, &b); err != nil {
				return nil, bodyError("Cannot convert a value to the expected type 'Edm.Boolean' of property '%s' on type '%s'.", name, typ)
			}
			values[name] = b
		case KDateTime:
			var s string
			if err := strictString(v, &s); err != nil {
				return nil, bodyError("Cannot convert a value to the expected type 'Edm.DateTimeOffset' of property '%s' on type '%s'.", name, typ)
			}
			t, err := ParseDateTime(s)
			if err != nil {
				return nil, bodyError("Cannot convert the literal '%s' to the expected type 'Edm.DateTimeOffset' of property '%s'.", s, name)
			}
			values[name] = FormatDateTime(t)
		default:
			var s string
			if err := strictString(v, &s); err != nil {
				return nil, bodyError("Cannot convert a value to the expected type 'Edm.String' of property '%s' on type '%s'.", name, typ)
			}
			if err := checkString(Property{Name: p.Name + "." + name}, s); err != nil {
				return nil, err
			}
			values[name] = s
		}
	}
	if check != nil {
		if err := check(p, values); err != nil {
			return nil, err
		}
	}
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	for _, f := range fields {
		v, ok := values[f.Name]
		if !ok {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		b.Write(marshal(f.Name))
		b.WriteByte(':')
		b.Write(marshal(v))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func checkEmail(p Property, v map[string]any) error {
	addr, _ := v["address"].(string)
	if addr == "" {
		return nil
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || a.Name != "" {
		return bodyError("The email address '%s' of property '%s' is not valid.", addr, p.Name)
	}
	return nil
}

var phoneTypes = map[string]bool{"home": true, "business": true, "mobile": true, "other": true, "assistant": true,
	"homeFax": true, "businessFax": true, "otherFax": true, "pager": true, "radio": true}

func checkPhone(p Property, v map[string]any) error {
	if t, ok := v["type"].(string); ok && !phoneTypes[t] {
		return bodyError("The value '%s' is not a valid phoneType in property '%s'.", t, p.Name)
	}
	return nil
}

// strictString decodes a JSON string and nothing else.
func strictString(raw json.RawMessage, v *string) error {
	if len(raw) == 0 || raw[0] != '"' {
		return fmt.Errorf("not a string")
	}
	return json.Unmarshal(raw, v)
}

func strictArray(raw json.RawMessage, v *[]json.RawMessage) error {
	if len(raw) == 0 || raw[0] != '[' {
		return fmt.Errorf("not an array")
	}
	return json.Unmarshal(raw, v)
}

func strictObject(raw json.RawMessage, v *map[string]json.RawMessage) error {
	if len(raw) == 0 || raw[0] != '{' {
		return fmt.Errorf("not an object")
	}
	return json.Unmarshal(raw, v)
}

func marshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only strings, bools and slices of them reach here
	}
	return b
}

// ParseDateTime parses an RFC 3339 date-time. Graph clients also send
// fractional seconds and, from some SDKs, no zone (taken as UTC).
func ParseDateTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date-time: %q", s)
}

// FormatDateTime formats t as Graph does: UTC, seconds precision, a Z zone.
func FormatDateTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05Z")
}
