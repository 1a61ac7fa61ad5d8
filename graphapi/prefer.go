package graphapi

import (
	"net/http"
	"strconv"
	"strings"
)

// prefer holds the preferences of the Prefer request headers (RFC 7240)
// that this server honours.
type prefer struct {
	MaxPageSize   int  // odata.maxpagesize; 0 when not given or malformed
	ReturnMinimal bool // return=minimal
	// IDType is IdType's value in its canonical spelling, "ImmutableId" or
	// "RestId"; "" when not given or another value.
	IDType string
}

// parsePrefer reads every Prefer header of h. Preferences may be
// comma-separated in one header or spread over several; names ignore case,
// values may be quoted, spaces around tokens are ignored, parameters after
// ";" are dropped. Unknown preferences are ignored, and so is an
// odata.maxpagesize that is not a positive integer. When a preference is
// given twice the first occurrence wins.
func parsePrefer(h http.Header) prefer {
	var p prefer
	seenPage, seenReturn, seenID := false, false, false
	for _, line := range h.Values("Prefer") {
		for _, item := range splitPreferences(line) {
			item, _, _ = strings.Cut(item, ";")
			name, value, _ := strings.Cut(item, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			value = unquote(strings.TrimSpace(value))
			switch name {
			case "odata.maxpagesize", "maxpagesize":
				if seenPage {
					continue
				}
				if n, err := strconv.Atoi(value); err == nil && n > 0 {
					p.MaxPageSize, seenPage = n, true
				}
			case "return":
				if !seenReturn {
					p.ReturnMinimal, seenReturn = strings.EqualFold(value, "minimal"), true
				}
			case "idtype":
				if seenID {
					continue
				}
				seenID = true
				switch {
				case strings.EqualFold(value, "ImmutableId"):
					p.IDType = "ImmutableId"
				case strings.EqualFold(value, "RestId"):
					p.IDType = "RestId"
				}
			}
		}
	}
	return p
}

// splitPreferences splits a Prefer header value at the commas outside
// quoted strings.
func splitPreferences(v string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			if quoted {
				i++
			}
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	return append(out, v[start:])
}

// unquote removes the quotes of a quoted-string and its backslash escapes.
func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	v = v[1 : len(v)-1]
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// addPreferenceApplied adds one applied preference to the answer's
// Preference-Applied header, comma-separated after those already there.
func addPreferenceApplied(h http.Header, pref string) {
	if prev := h.Get("Preference-Applied"); prev != "" {
		pref = prev + ", " + pref
	}
	h.Set("Preference-Applied", pref)
}
