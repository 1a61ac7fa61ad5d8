package odata

import (
	"strings"
	"time"
	"unicode/utf8"
)

// tokKind is the kind of a token.
type tokKind int

const (
	tEOF      tokKind = iota
	tIdent            // a name: property, keyword, function, lambda variable
	tString           // '…', text unescaped
	tGUID             // 8-4-4-4-12 hex digits, text in lower case
	tDateTime         // 2024-01-02T03:04:05Z, with a zone; time set
	tDate             // 2024-01-02; time set to its midnight UTC
	tNumber           // an integer or decimal, possibly negative
	tLParen           // (
	tRParen           // )
	tComma            // ,
	tSlash            // /
	tColon            // :
)

var tokNames = [...]string{tEOF: "end of input", tIdent: "name", tString: "string", tGUID: "GUID", tDateTime: "date-time",
	tDate: "date", tNumber: "number", tLParen: "'('", tRParen: "')'", tComma: "','", tSlash: "'/'", tColon: "':'"}

func (k tokKind) String() string { return tokNames[k] }

// token is one lexeme and where it starts (a byte offset into the input).
type token struct {
	kind tokKind
	text string
	time time.Time
	pos  int
}

// lex splits src into tokens, ending with tEOF. Blanks (space and tab, as
// OData's RWS after percent-decoding) separate tokens; any other character
// outside a string that starts no token is a syntax error.
func lex(src string) ([]token, error) {
	var out []token
	i := 0
	for {
		for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
			i++
		}
		if i == len(src) {
			return append(out, token{kind: tEOF, pos: i}), nil
		}
		if len(out) >= MaxNodes*4 {
			return nil, syntaxErr(i, "The query expression has too many parts.")
		}
		c := src[i]
		start := i
		switch {
		case c == '(':
			out, i = append(out, token{kind: tLParen, pos: i}), i+1
		case c == ')':
			out, i = append(out, token{kind: tRParen, pos: i}), i+1
		case c == ',':
			out, i = append(out, token{kind: tComma, pos: i}), i+1
		case c == '/':
			out, i = append(out, token{kind: tSlash, pos: i}), i+1
		case c == ':':
			out, i = append(out, token{kind: tColon, pos: i}), i+1
		case c == '\'':
			s, n, ok := lexString(src[i:])
			if !ok {
				return nil, syntaxErr(i, "There is an unterminated string literal at position %d in '%s'.", i, src)
			}
			out, i = append(out, token{kind: tString, text: s, pos: start}), i+n
		default:
			t, n := lexWord(src[i:])
			if n == 0 {
				r, _ := utf8.DecodeRuneInString(src[i:])
				return nil, syntaxErr(i, "Syntax error: character '%s' is not valid at position %d in '%s'.", string(r), i, src)
			}
			if t.kind == tEOF { // a malformed literal
				return nil, syntaxErr(i, "Syntax error: '%s' at position %d is not a valid literal.", src[i:i+n], i)
			}
			t.pos = start
			out, i = append(out, t), i+n
		}
	}
}

// lexString reads a quoted string at the start of s: its unescaped text
// (a doubled quote stands for one) and its length in s.
func lexString(s string) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '\'' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), i + 1, true
	}
	return "", 0, false
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isHex(c byte) bool    { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// isWordByte reports whether c continues a name or literal: a token that
// runs into one ("1abc", "2024-01-01x") is malformed.
func isWordByte(c byte) bool { return isLetter(c) || isDigit(c) || c == '.' || c == '-' || c == '+' }

// lexWord reads a name or an unquoted literal at the start of s and returns
// it with its length; length 0 when no token starts there, and a tEOF
// token with the length of the run when the run is a malformed literal.
func lexWord(s string) (token, int) {
	if n := guidLen(s); n > 0 {
		return token{kind: tGUID, text: strings.ToLower(s[:n])}, n
	}
	if isDigit(s[0]) || (s[0] == '-' && len(s) > 1 && isDigit(s[1])) {
		if n, t, ok := dateTimeLen(s); n > 0 {
			if !ok {
				return token{kind: tEOF}, n
			}
			kind := tDateTime
			if n == len("2006-01-02") {
				kind = tDate
			}
			return token{kind: kind, text: s[:n], time: t}, n
		}
		n := 0
		if s[0] == '-' {
			n++
		}
		for n < len(s) && isDigit(s[n]) {
			n++
		}
		if n+1 < len(s) && s[n] == '.' && isDigit(s[n+1]) {
			n++
			for n < len(s) && isDigit(s[n]) {
				n++
			}
		}
		if n < len(s) && isWordByte(s[n]) {
			m := n
			for m < len(s) && isWordByte(s[m]) {
				m++
			}
			return token{kind: tEOF}, m
		}
		return token{kind: tNumber, text: s[:n]}, n
	}
	if !isLetter(s[0]) {
		return token{}, 0
	}
	n := 1
	for n < len(s) && (isLetter(s[n]) || isDigit(s[n])) {
		n++
	}
	return token{kind: tIdent, text: s[:n]}, n
}

// guidLen returns the length of a GUID literal at the start of s, or 0.
func guidLen(s string) int {
	const n = 36
	if len(s) < n {
		return 0
	}
	for i := 0; i < n; i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return 0
			}
		default:
			if !isHex(s[i]) {
				return 0
			}
		}
	}
	if len(s) > n && (isLetter(s[n]) || isDigit(s[n])) {
		return 0
	}
	return n
}

// dateTimeLen returns the length of a date (yyyy-mm-dd) or date-time
// (yyyy-mm-ddThh:mm[:ss[.f…]] with up to 9 digits of fraction, and Z or ±hh:mm) literal at the start of
// s, 0 when s does not start like one, and whether it is valid (a real
// date, a zone on a date-time).
func dateTimeLen(s string) (int, time.Time, bool) {
	digits := func(i, k int) bool {
		if i+k > len(s) {
			return false
		}
		for j := i; j < i+k; j++ {
			if !isDigit(s[j]) {
				return false
			}
		}
		return true
	}
	if !digits(0, 4) || len(s) < 10 || s[4] != '-' || !digits(5, 2) || s[7] != '-' || !digits(8, 2) {
		return 0, time.Time{}, false
	}
	n := 10
	end := func(n int) int { // extend over a malformed tail
		m := n
		for m < len(s) && (isWordByte(s[m]) || s[m] == ':') {
			m++
		}
		return m
	}
	if n == len(s) || !(s[n] == 'T' || s[n] == 't') {
		if n < len(s) && (isWordByte(s[n]) || s[n] == ':') {
			return end(n), time.Time{}, false
		}
		t, err := time.Parse("2006-01-02", s[:n])
		return n, t, err == nil
	}
	n++
	if !digits(n, 2) || n+5 > len(s) || s[n+2] != ':' || !digits(n+3, 2) {
		return end(n), time.Time{}, false
	}
	n += 5
	if n < len(s) && s[n] == ':' {
		if !digits(n+1, 2) {
			return end(n), time.Time{}, false
		}
		n += 3
		if n < len(s) && s[n] == '.' {
			m := n + 1
			for m < len(s) && isDigit(s[m]) {
				m++
			}
			if m == n+1 || m-n-1 > 9 {
				return end(n), time.Time{}, false
			}
			n = m
		}
	}
	switch {
	case n < len(s) && (s[n] == 'Z' || s[n] == 'z'):
		n++
	case n < len(s) && (s[n] == '+' || s[n] == '-') && digits(n+1, 2) && n+6 <= len(s) && s[n+3] == ':' && digits(n+4, 2):
		n += 6
	default:
		return end(n), time.Time{}, false // OData's DateTimeOffset needs a zone
	}
	if n < len(s) && (isWordByte(s[n]) || s[n] == ':') {
		return end(n), time.Time{}, false
	}
	text := s[:n]
	if text[len(text)-1] == 'z' {
		text = text[:len(text)-1] + "Z"
	}
	text = text[:10] + "T" + text[11:]
	layout := "2006-01-02T15:04Z07:00"
	if len(text) > 16 && text[16] == ':' {
		layout = time.RFC3339 // a fraction after the seconds is accepted when parsing
	}
	t, err := time.Parse(layout, text)
	if err != nil {
		return n, time.Time{}, false
	}
	return n, t.UTC(), true
}
