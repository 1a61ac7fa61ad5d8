// Package jsonscan walks JSON text that is already known to be valid
// (json.Valid, or checked by encoding/json): the members of an object and
// the elements of an array as sub-slices of the input, without decoding
// them. It is the one-pass reading of request bodies and delta pages.
// On text that is not valid JSON its results are unspecified (it never
// reads past the input).
package jsonscan

import (
	"encoding/json"
	"unicode/utf8"
)

// Object calls fn with the name (unescaped) and the value of each member
// of the object v, in order, until fn returns false. It reports whether v
// is an object; leading and trailing white space are allowed.
func Object(v []byte, fn func(name string, value []byte) bool) bool {
	i := skipSpace(v, 0)
	if i == len(v) || v[i] != '{' {
		return false
	}
	for i++; i < len(v); {
		i = skipSpace(v, i)
		if i == len(v) || v[i] == '}' {
			return true
		}
		if v[i] == ',' {
			i = skipSpace(v, i+1)
		}
		end := stringEnd(v, i)
		name := Name(v[i:end])
		i = skipSpace(v, end) // at ':'
		i = skipSpace(v, i+1) // at the value
		vend := valueEnd(v, i)
		if !fn(name, v[i:vend]) {
			return true
		}
		i = vend
	}
	return true
}

// Array calls fn with each element of the array v, in order, until fn
// returns false. It reports whether v is an array.
func Array(v []byte, fn func(elem []byte) bool) bool {
	i := skipSpace(v, 0)
	if i == len(v) || v[i] != '[' {
		return false
	}
	for i++; i < len(v); {
		i = skipSpace(v, i)
		if i == len(v) || v[i] == ']' {
			return true
		}
		if v[i] == ',' {
			i = skipSpace(v, i+1)
		}
		end := valueEnd(v, i)
		if !fn(v[i:end]) {
			return true
		}
		i = end
	}
	return true
}

// Name returns the text of the JSON string q (with its quotes), as
// encoding/json decodes it (escapes undone, invalid UTF-8 replaced by
// U+FFFD), decoding only when it holds an escape or a byte over 0x7F.
func Name(q []byte) string {
	for _, c := range q {
		if c == '\\' || c >= utf8.RuneSelf {
			var s string
			json.Unmarshal(q, &s) // valid JSON: cannot fail
			return s
		}
	}
	if len(q) < 2 {
		return ""
	}
	return string(q[1 : len(q)-1])
}

func skipSpace(v []byte, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that starts at v[i].
func stringEnd(v []byte, i int) int {
	for i++; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(v)
}

// valueEnd returns the index just past the value that starts at v[i].
func valueEnd(v []byte, i int) int {
	if i == len(v) {
		return i
	}
	switch v[i] {
	case '"':
		return stringEnd(v, i)
	case '{', '[':
		depth := 0
		for ; i < len(v); i++ {
			switch v[i] {
			case '"':
				i = stringEnd(v, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(v)
	}
	for i < len(v) && v[i] != ',' && v[i] != '}' && v[i] != ']' && v[i] != ' ' && v[i] != '\t' && v[i] != '\n' && v[i] != '\r' {
		i++
	}
	return i
}
