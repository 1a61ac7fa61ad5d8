package contactgraph

import (
	"bytes"
	"encoding/json"
	"strings"
)

// ExtensionIDPrefix starts the id of an open extension on an Outlook item;
// the extension's name follows it.
const ExtensionIDPrefix = "Microsoft.OutlookServices.OpenTypeExtension."

// extensionIDPrefixes are the prefixes an extension id may carry in a path
// or a $filter, compared without regard to case: the Outlook one, and the
// microsoft.graph one the Graph documentation also shows.
var extensionIDPrefixes = []string{ExtensionIDPrefix, "microsoft.graph.openTypeExtension."}

// Limits of open extensions.
const (
	MaxExtensions       = 50       // per contact
	MaxExtensionBytes   = 32 << 10 // the JSON of one extension's custom data
	maxExtensionNameLen = 255
)

// Extension is an open extension (microsoft.graph.openTypeExtension) of a
// contact: a name and the client's custom data.
type Extension struct {
	Name string // extensionName
	// Data is the custom data: a JSON object whose members are primitive
	// values or arrays of them, in the order the client sent them.
	Data json.RawMessage
}

// ID returns the extension's id: ExtensionIDPrefix followed by its name.
func (e *Extension) ID() string { return ExtensionIDPrefix + e.Name }

// Doc returns the extension's Graph representation: its @odata.type, id,
// extensionName and custom data.
func (e *Extension) Doc() json.RawMessage {
	var b bytes.Buffer
	b.WriteString(`{"@odata.type":"#microsoft.graph.openTypeExtension","id":`)
	b.Write(marshal(e.ID()))
	b.WriteString(`,"extensionName":`)
	b.Write(marshal(e.Name))
	if inner := bytes.TrimSpace(e.Data); len(inner) > 2 {
		b.WriteByte(',')
		b.Write(inner[1 : len(inner)-1])
	}
	b.WriteByte('}')
	return b.Bytes()
}

// ParseExtension validates the body of an open extension: a POST to
// …/extensions, a PATCH of …/extensions/{id} (whose custom data replaces
// the old, as in Graph), or an item of a contact's "extensions". Name is ""
// when the body has no extensionName; callers that create require one.
// "id" (read-only) and instance annotations are ignored. Errors are
// EInvalid: not an object, a malformed extensionName, a custom property
// that is an object or holds one, or custom data over MaxExtensionBytes.
func ParseExtension(body []byte) (Extension, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return Extension{}, Errorf(EInvalid, "An open extension must be a JSON object.")
	}
	if err := CheckJSONObject(body); err != nil {
		return Extension{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	_, _ = dec.Token() // '{', checked above
	var e Extension
	var data bytes.Buffer
	data.WriteByte('{')
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Extension{}, Errorf(EInvalid, "The request body is not valid JSON: %s.", jsonErrorText(err))
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return Extension{}, Errorf(EInvalid, "The request body is not valid JSON: %s.", jsonErrorText(err))
		}
		switch {
		case name == "extensionName":
			var v string
			if strictString(raw, &v) != nil || !validExtensionName(v) {
				return Extension{}, badExtensionName(string(raw))
			}
			e.Name = v
		case name == "id" || strings.Contains(name, "@"):
		default:
			if name == "" || len(name) > maxExtensionNameLen {
				return Extension{}, Errorf(EInvalid, "The name of a custom property of an open extension must have 1 to %d characters.", maxExtensionNameLen)
			}
			if !primitiveOrArray(raw) {
				return Extension{}, Errorf(EInvalid, "The custom property '%s' of an open extension must be a primitive value or an array of primitive values.", Truncate(name, 128))
			}
			if data.Len() > 1 {
				data.WriteByte(',')
			}
			data.Write(marshal(name))
			data.WriteByte(':')
			if err := json.Compact(&data, raw); err != nil {
				return Extension{}, Errorf(EInvalid, "The request body is not valid JSON: %s.", jsonErrorText(err))
			}
		}
	}
	data.WriteByte('}')
	if data.Len() > MaxExtensionBytes {
		return Extension{}, Errorf(EInvalid, "The custom data of an open extension is larger than %d bytes.", MaxExtensionBytes)
	}
	e.Data = data.Bytes()
	return e, nil
}

// primitiveOrArray reports whether raw is a string, number, boolean or
// null, or an array of them.
func primitiveOrArray(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == '{' {
		return false
	}
	if raw[0] != '[' {
		return true
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return false
	}
	for _, it := range items {
		if it = bytes.TrimSpace(it); len(it) == 0 || it[0] == '{' || it[0] == '[' {
			return false
		}
	}
	return true
}

// validExtensionName reports whether s can name an open extension: 1 to
// 255 letters, digits, dots, hyphens and underscores (reverse DNS, as
// Microsoft advises), and not itself an extension id.
func validExtensionName(s string) bool {
	if s == "" || len(s) > maxExtensionNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return stripExtensionPrefix(s) == s
}

func badExtensionName(v string) error {
	return Errorf(EInvalid, "The extensionName %s is not valid: use 1 to %d letters, digits, '.', '-' and '_', such as Com.Contoso.Referral.", Truncate(v, 128), maxExtensionNameLen)
}

// stripExtensionPrefix removes an extension id prefix from s.
func stripExtensionPrefix(s string) string {
	for _, p := range extensionIDPrefixes {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			return s[len(p):]
		}
	}
	return s
}

// ExtensionName returns the name of the extension that idOrName, the
// {extensionId} of a path or the literal of an extensions $filter, names:
// either the name itself or an id (the name after ExtensionIDPrefix or
// microsoft.graph.openTypeExtension.). Names compare without regard to
// case. EMalformedID when the name is not a valid extension name.
func ExtensionName(idOrName string) (string, error) {
	name := stripExtensionPrefix(idOrName)
	if !validExtensionName(name) {
		return "", Errorf(EMalformedID, "The extension id '%s' is malformed.", Truncate(idOrName, 128))
	}
	return name, nil
}
