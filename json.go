package contactgraph

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/contactgraph/contactgraph/internal/jsonscan"
)

// CheckJSONObject checks that body is one JSON object with no member name
// repeated in any object inside it (OData refuses duplicate names; a decoder
// that keeps the last one would let a proxy and the server disagree on
// what was sent) and nothing after it. It returns an EInvalid error.
func CheckJSONObject(body []byte) error {
	_, err := checkedMembers(body, false)
	return err
}

// checkedMembers checks body as CheckJSONObject does and, when keep is
// set, returns its top-level members, values as sub-slices of body. Valid
// JSON is checked by json.Valid and walked once (jsonscan); only a body
// that is not valid JSON is read again, by a decoder, for the message
// that says where it breaks.
func checkedMembers(body []byte, keep bool) (map[string]json.RawMessage, error) {
	if !json.Valid(body) {
		if err := decodeCheck(body); err != nil {
			return nil, err
		}
		// The tokens read well, yet the text is refused: nested past
		// encoding/json's depth limit.
		err := json.Unmarshal(body, &struct{}{})
		return nil, Errorf(EInvalid, "The request body is not valid JSON: %s.", jsonErrorText(err))
	}
	var members map[string]json.RawMessage
	if keep {
		members = map[string]json.RawMessage{}
	}
	var err error
	seen := map[string]bool{}
	if !jsonscan.Object(body, func(name string, value []byte) bool {
		if seen[name] {
			err = repeated(name)
			return false
		}
		seen[name] = true
		if keep {
			members[name] = value
		}
		err = noRepeats(value)
		return err == nil
	}) {
		return nil, Errorf(EInvalid, "The request body must be a JSON object.")
	}
	return members, err
}

// noRepeats checks that no object in the valid JSON value v repeats a
// member name.
func noRepeats(v []byte) error {
	var err error
	switch v[0] {
	case '{':
		var seen map[string]bool
		jsonscan.Object(v, func(name string, value []byte) bool {
			if seen == nil {
				seen = map[string]bool{}
			}
			if seen[name] {
				err = repeated(name)
				return false
			}
			seen[name] = true
			err = noRepeats(value)
			return err == nil
		})
	case '[':
		jsonscan.Array(v, func(elem []byte) bool {
			err = noRepeats(elem)
			return err == nil
		})
	}
	return err
}

func repeated(name string) error {
	return Errorf(EInvalid, "The property '%s' is given more than once.", Truncate(name, 128))
}

// decodeCheck is CheckJSONObject by a token decoder: for a body json.Valid
// refused, whose error it words.
func decodeCheck(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return Errorf(EInvalid, "The request body is not valid JSON: %s.", jsonErrorText(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return Errorf(EInvalid, "The request body must be a JSON object.")
	}
	if err := checkObject(dec); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Errorf(EInvalid, "The request body holds more than one JSON value.")
	}
	return nil
}

// checkObject reads the members of an object whose '{' was read.
func checkObject(dec *json.Decoder) error {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Errorf(EInvalid, "The request body is not valid JSON: %s.", jsonErrorText(err))
		}
		name, _ := tok.(string)
		if seen[name] {
			return repeated(name)
		}
		seen[name] = true
		if err := checkValue(dec); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	if err != nil {
		return Errorf(EInvalid, "The request body is not valid JSON: %s.", jsonErrorText(err))
	}
	return nil
}

// checkValue reads one value, checking the objects inside it.
func checkValue(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return Errorf(EInvalid, "The request body is not valid JSON: %s.", jsonErrorText(err))
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if d == '{' {
		return checkObject(dec)
	}
	for dec.More() { // an array
		if err := checkValue(dec); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // ']'
		return Errorf(EInvalid, "The request body is not valid JSON: %s.", jsonErrorText(err))
	}
	return nil
}

// Truncate shortens s to at most n bytes (on a rune boundary) with an
// ellipsis, for echoing client input in messages.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
