package contactgraph

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// CheckJSONObject checks that body is one JSON object with no member name
// repeated in any object inside it (OData refuses duplicate names; a decoder
// that keeps the last one would let a proxy and the server disagree on
// what was sent) and nothing after it. It returns an EInvalid error.
func CheckJSONObject(body []byte) error {
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
			return Errorf(EInvalid, "The property '%s' is given more than once.", Truncate(name, 128))
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
