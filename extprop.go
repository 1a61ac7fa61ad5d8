package contactgraph

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of extended properties.
const (
	MaxExtendedProperties = 256 // per contact, single- and multi-value together
	maxPropertyIDLen      = 1024
	maxPropertyNameLen    = 255
	maxPropertyValueLen   = 32 << 10 // characters of one value
)

// ExtendedProperty is a single-value or multi-value extended property
// (singleValueLegacyExtendedProperty, multiValueLegacyExtendedProperty): a
// MAPI property an integration keeps on a contact.
type ExtendedProperty struct {
	// ID is the property's id as the client last wrote it, in one of
	// Graph's three formats; Key is its canonical form (ExtendedPropertyKey),
	// under which the property is stored and found.
	ID  string
	Key string
	// Multi marks a multi-value property (an array type); its values are
	// in Values, a single value in Value. Values are in their canonical
	// text form for the property's type.
	Multi  bool
	Value  string
	Values []string
	// Remove, in an input, marks a property whose value was null: the
	// write removes it.
	Remove bool
}

// propTypes maps the lower-case MAPI type names of extended property ids
// to their canonical spelling.
var propTypes = func() map[string]string {
	m := map[string]string{}
	for _, t := range []string{"ApplicationTime", "Binary", "Boolean", "CLSID", "Currency", "Double", "Float", "Integer", "Long", "Short", "String", "SystemTime"} {
		m[strings.ToLower(t)] = t
		if t != "Boolean" {
			m[strings.ToLower(t)+"array"] = t + "Array"
		}
	}
	return m
}()

// ExtendedPropertyKey returns the canonical form of an extended property
// id, under which stores keep and find the property: the type name in its
// canonical spelling, then the GUID in lower case with "Name <name>" (the
// name as given: names are case-sensitive) or "Id 0x<hex>", or the
// property tag as 0x<hex>. So "string {8ECCC264-…} name X" and
// "String {8eccc264-…} Name X" are one property. EInvalid when id is in
// none of the three formats or its type is unknown.
func ExtendedPropertyKey(id string) (string, error) {
	k, err := parsePropertyID(id)
	return k.key, err
}

// CanonicalExtendedValue returns a single value of the extended property
// id in the canonical text form stores keep it in (integers and floats as
// Go formats them, booleans as true or false, GUIDs in lower case, times
// in RFC 3339 UTC, binary as standard base64, strings as given), so that a
// $filter literal compares with stored values. EInvalid for a malformed
// id, an array type, or a value that is not of the property's type.
func CanonicalExtendedValue(id, value string) (string, error) {
	p, err := parsePropertyID(id)
	if err != nil {
		return "", err
	}
	if p.multi {
		return "", Errorf(EInvalid, "The extended property '%s' has an array type: its values cannot be compared as one.", Truncate(id, 256))
	}
	return canonicalPropertyValue(p.typ, id, value)
}

// propertyID is a parsed extended property id.
type propertyID struct {
	key   string
	typ   string // canonical type name, "Array" included
	multi bool
}

func parsePropertyID(id string) (propertyID, error) {
	bad := func() (propertyID, error) {
		return propertyID{}, Errorf(EInvalid, "The extended property id '%s' is not valid: use \"{type} {guid} Name {name}\", \"{type} {guid} Id {id}\" or \"{type} {proptag}\".", Truncate(id, 256))
	}
	if len(id) > maxPropertyIDLen || !utf8.ValidString(id) {
		return bad()
	}
	rawType, rest, ok := strings.Cut(strings.TrimSpace(id), " ")
	typ, known := propTypes[strings.ToLower(rawType)]
	if !ok || !known {
		return bad()
	}
	p := propertyID{typ: typ, multi: strings.HasSuffix(typ, "Array")}
	rest = strings.TrimLeft(rest, " ")
	if !strings.HasPrefix(rest, "{") {
		tag, ok := parseHexOrDecimal(rest)
		if !ok {
			return bad()
		}
		p.key = typ + " " + tag
		return p, nil
	}
	end := strings.IndexByte(rest, '}')
	if end < 0 || !IsGUID(rest[1:end]) {
		return bad()
	}
	guid := strings.ToLower(rest[1:end])
	kw, what, ok := strings.Cut(strings.TrimLeft(rest[end+1:], " "), " ")
	switch {
	case !ok:
		return bad()
	case strings.EqualFold(kw, "Name"):
		if what == "" || len(what) > maxPropertyNameLen || strings.ContainsFunc(what, func(r rune) bool { return r < ' ' }) {
			return bad()
		}
		p.key = typ + " {" + guid + "} Name " + what
	case strings.EqualFold(kw, "Id"):
		n, ok := parseHexOrDecimal(what)
		if !ok {
			return bad()
		}
		p.key = typ + " {" + guid + "} Id " + n
	default:
		return bad()
	}
	return p, nil
}

// parseHexOrDecimal parses a 32-bit property id or tag, 0x-prefixed hex
// or decimal, into its canonical 0x<lower-case hex> form.
func parseHexOrDecimal(s string) (string, bool) {
	var n uint64
	var err error
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		n, err = strconv.ParseUint(s[2:], 16, 32)
	} else {
		n, err = strconv.ParseUint(s, 10, 32)
	}
	if err != nil {
		return "", false
	}
	if n <= 0xffff {
		return "0x" + leftPad(strconv.FormatUint(n, 16), 4), true
	}
	return "0x" + leftPad(strconv.FormatUint(n, 16), 8), true
}

func leftPad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return strings.Repeat("0", n-len(s)) + s
}

// valueKeyLen is the length up to which ExtendedValueKey is the folded
// value itself.
const valueKeyLen = 200

// ExtendedValueKey returns the index key of a single extended property
// value, for Graph's $filter on ep/value, which compares values without
// regard to case: the value in lower case when that is at most 200 bytes,
// else its first 200 bytes (cut on a rune boundary), '#' and the hex
// SHA-256 of the whole lower-case value. Two values have the same key
// exactly when they are equal without regard to case (long keys are longer
// than 200 bytes, so a short value never has a long value's key), and the
// key stays short enough for any index.
func ExtendedValueKey(v string) string {
	f := strings.ToLower(v)
	if len(f) <= valueKeyLen {
		return f
	}
	n := valueKeyLen
	for n > 0 && !utf8.RuneStart(f[n]) {
		n--
	}
	sum := sha256.Sum256([]byte(f))
	return f[:n] + "#" + hex.EncodeToString(sum[:])
}

// parseExtendedProperties validates the value of a contact body's
// singleValueExtendedProperties (multi false) or
// multiValueExtendedProperties (multi true): an array of {"id","value"}
// objects. A null value removes the property.
func parseExtendedProperties(name string, raw json.RawMessage, multi bool) ([]ExtendedProperty, error) {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	var items []json.RawMessage
	if strictArray(raw, &items) != nil {
		return nil, Errorf(EInvalid, "The property '%s' must be an array.", name)
	}
	if len(items) > maxListLen {
		return nil, Errorf(EInvalid, "The property '%s' holds more than %d values.", name, maxListLen)
	}
	out := make([]ExtendedProperty, 0, len(items))
	for _, it := range items {
		p, err := parseExtendedProperty(name, it, multi)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func parseExtendedProperty(name string, raw json.RawMessage, multi bool) (ExtendedProperty, error) {
	var members map[string]json.RawMessage
	if strictObject(bytes.TrimSpace(raw), &members) != nil {
		return ExtendedProperty{}, Errorf(EInvalid, "Each item of '%s' must be an object with an id and a value.", name)
	}
	var p ExtendedProperty
	for k := range members {
		if k != "id" && k != "value" && !strings.Contains(k, "@") {
			return ExtendedProperty{}, Errorf(EInvalid, "The property '%s' does not exist on an item of '%s'.", Truncate(k, 128), name)
		}
	}
	if strictString(bytes.TrimSpace(members["id"]), &p.ID) != nil {
		return ExtendedProperty{}, Errorf(EInvalid, "Each item of '%s' needs an id that is a string.", name)
	}
	id, err := parsePropertyID(p.ID)
	if err != nil {
		return ExtendedProperty{}, err
	}
	if id.multi != multi {
		if multi {
			return ExtendedProperty{}, Errorf(EInvalid, "The extended property '%s' has a single-value type; put it in singleValueExtendedProperties.", Truncate(p.ID, 256))
		}
		return ExtendedProperty{}, Errorf(EInvalid, "The extended property '%s' has an array type; put it in multiValueExtendedProperties.", Truncate(p.ID, 256))
	}
	p.Key, p.Multi = id.key, multi
	v := bytes.TrimSpace(members["value"])
	switch {
	case len(v) == 0:
		return ExtendedProperty{}, Errorf(EInvalid, "The extended property '%s' needs a value.", Truncate(p.ID, 256))
	case bytes.Equal(v, []byte("null")):
		p.Remove = true
	case !multi:
		var s string
		if strictString(v, &s) != nil {
			return ExtendedProperty{}, Errorf(EInvalid, "The value of the extended property '%s' must be a string.", Truncate(p.ID, 256))
		}
		if p.Value, err = canonicalPropertyValue(id.typ, p.ID, s); err != nil {
			return ExtendedProperty{}, err
		}
	default:
		var vs []json.RawMessage
		if strictArray(v, &vs) != nil || len(vs) > maxListLen {
			return ExtendedProperty{}, Errorf(EInvalid, "The value of the extended property '%s' must be an array of at most %d strings.", Truncate(p.ID, 256), maxListLen)
		}
		p.Values = make([]string, 0, len(vs))
		for _, item := range vs {
			var s string
			if strictString(bytes.TrimSpace(item), &s) != nil {
				return ExtendedProperty{}, Errorf(EInvalid, "The values of the extended property '%s' must be strings.", Truncate(p.ID, 256))
			}
			c, err := canonicalPropertyValue(strings.TrimSuffix(id.typ, "Array"), p.ID, s)
			if err != nil {
				return ExtendedProperty{}, err
			}
			p.Values = append(p.Values, c)
		}
	}
	return p, nil
}

// canonicalPropertyValue checks a value against the property's MAPI type
// and returns its canonical text: integers and floats as Go formats them,
// booleans as true or false, GUIDs in lower case without braces, times in
// RFC 3339 UTC, binary as standard base64; strings as sent.
func canonicalPropertyValue(typ, id, v string) (string, error) {
	bad := func() (string, error) {
		return "", Errorf(EInvalid, "The value '%s' is not valid for the extended property '%s' of type %s.", Truncate(v, 128), Truncate(id, 256), typ)
	}
	if utf8.RuneCountInString(v) > maxPropertyValueLen {
		return "", Errorf(EInvalid, "The value of the extended property '%s' is longer than %d characters.", Truncate(id, 256), maxPropertyValueLen)
	}
	t := strings.TrimSpace(v)
	switch typ {
	case "String":
		return v, nil
	case "Short", "Integer", "Long":
		bits := map[string]int{"Short": 16, "Integer": 32, "Long": 64}[typ]
		n, err := strconv.ParseInt(t, 10, bits)
		if err != nil {
			return bad()
		}
		return strconv.FormatInt(n, 10), nil
	case "Float", "Double", "Currency", "ApplicationTime":
		bits := 64
		if typ == "Float" {
			bits = 32
		}
		f, err := strconv.ParseFloat(t, bits)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return bad()
		}
		return strconv.FormatFloat(f, 'g', -1, bits), nil
	case "Boolean":
		switch strings.ToLower(t) {
		case "true", "false":
			return strings.ToLower(t), nil
		}
		return bad()
	case "CLSID":
		g := strings.TrimSuffix(strings.TrimPrefix(t, "{"), "}")
		if !IsGUID(g) {
			return bad()
		}
		return strings.ToLower(g), nil
	case "SystemTime":
		tm, err := ParseDateTime(t)
		if err != nil {
			return bad()
		}
		return tm.UTC().Format(time.RFC3339Nano), nil
	case "Binary":
		b, err := base64.StdEncoding.DecodeString(t)
		if err != nil {
			return bad()
		}
		return base64.StdEncoding.EncodeToString(b), nil
	}
	return bad()
}

// ExtendedFilter is a $filter lambda over singleValueExtendedProperties,
// any(ep: ep/id eq '…' and ep/value eq '…'), in the form stores look it
// up by: the property's key (ExtendedPropertyKey of the id) and the value's
// key (ExtendedValueKey of its canonical form), so that any spelling of
// the id, and the value in any case, finds the property.
type ExtendedFilter struct {
	Key      string
	ValueKey string
}

// ParseExtendedFilter reads the condition of a lambda over a Keyed
// collection: exactly "v/id eq '…' and v/value eq '…'", in either order,
// with v the lambda's variable. EInvalidFilter for any other shape (Graph
// answers ErrorInvalidUrlQueryFilter); EInvalid for an id that is not an
// extended property id, an array type, or a value not of the property's
// type.
func ParseExtendedFilter(a Any) (ExtendedFilter, error) {
	bad := func() (ExtendedFilter, error) {
		return ExtendedFilter{}, Errorf(EInvalidFilter, "A lambda over '%s' must be %s/any(%s: %s/id eq '…' and %s/value eq '…').", a.Prop, a.Prop, a.Var, a.Var, a.Var)
	}
	and, ok := a.Cond.(And)
	if !ok {
		return bad()
	}
	field := func(e Expr, name string) (string, bool) {
		c, ok := e.(Compare)
		if !ok || c.Op != Eq || c.Path.Var != a.Var || c.Path.Prop != name || c.Value.Kind != VString {
			return "", false
		}
		return c.Value.Str, true
	}
	id, okID := field(and.X, "id")
	value, okValue := field(and.Y, "value")
	if !okID || !okValue {
		id, okID = field(and.Y, "id")
		value, okValue = field(and.X, "value")
	}
	if !okID || !okValue {
		return bad()
	}
	key, err := ExtendedPropertyKey(id)
	if err != nil {
		return ExtendedFilter{}, err
	}
	canon, err := CanonicalExtendedValue(id, value)
	if err != nil {
		return ExtendedFilter{}, err
	}
	return ExtendedFilter{Key: key, ValueKey: ExtendedValueKey(canon)}, nil
}
