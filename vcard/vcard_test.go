package vcard

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
)

// A card written from a Graph document reads back to the same fields.
func TestRoundTrip(t *testing.T) {
	doc := `{"id":"X","displayName":"Ada; King","givenName":"Ada","surname":"King","middleName":"","title":"Dr","generation":"",
"nickName":"Countess","companyName":"AE","department":"R&D","jobTitle":"Analyst","emailAddresses":[{"address":"a@example.com"}],
"businessPhones":["1"],"homePhones":["2"],"mobilePhone":"3","businessAddress":{"street":"1 Way","city":"London"},
"homeAddress":{},"otherAddress":{"countryOrRegion":"UK"},"businessHomePage":"https://x","birthday":"1815-12-10T00:00:00Z",
"personalNotes":"a\nb, c","categories":["x,y","z"]}`
	for _, v := range []string{"3.0", "4.0"} {
		text := Encode(json.RawMessage(doc), Parts{Extra: []string{"X-ONE;TYPE=a:b"}}, v)
		c, err := Parse(text)
		if err != nil {
			t.Fatalf("%s: %v\n%s", v, err, text)
		}
		d, err := Decode(c)
		if err != nil {
			t.Fatal(err)
		}
		var got, wantDoc map[string]any
		_ = json.Unmarshal(d.Body, &got)
		_ = json.Unmarshal([]byte(doc), &wantDoc)
		for _, k := range Mapped {
			g, _ := json.Marshal(got[k])
			w, _ := json.Marshal(wantDoc[k])
			if (string(w) == `""` || string(w) == `{}`) && string(g) == "null" {
				continue
			}
			if string(g) != string(w) {
				t.Errorf("%s %s: got %s, want %s", v, k, g, w)
			}
		}
		if d.UID != "X" || len(d.Extra) != 1 || d.Extra[0] != "X-ONE;TYPE=a:b" {
			t.Errorf("%s: UID %q, extra %q", v, d.UID, d.Extra)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		in   string
		code contactgraph.Code
	}{
		{"", contactgraph.EInvalid},
		{"BEGIN:VCARD\nFN:x\nEND:VCARD\n", contactgraph.EInvalid},
		{"BEGIN:VCARD\nVERSION:3.0\n:x\nEND:VCARD\n", contactgraph.EInvalid},
		{"BEGIN:VCARD\nVERSION:3.0\nFN:" + strings.Repeat("x", MaxBytes) + "\nEND:VCARD\n", contactgraph.ETooLarge},
	} {
		if _, err := Parse([]byte(c.in)); contactgraph.ErrorCode(err) != c.code {
			t.Errorf("Parse(%.40q): %v, want %s", c.in, err, c.code)
		}
	}
	// Folded lines unfold; a long line folds at 75 octets.
	c, err := Parse([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ada\r\n  Lovelace\r\nEND:VCARD\r\n"))
	if err != nil || c.Get("FN").Value != "Ada Lovelace" {
		t.Fatalf("unfold: %v %+v", err, c)
	}
	out := Encode(json.RawMessage(`{"displayName":"`+strings.Repeat("é", 100)+`"}`), Parts{UID: "u"}, "3.0")
	for _, l := range strings.Split(string(out), "\r\n") {
		if len(l) > 75 {
			t.Fatalf("line of %d octets", len(l))
		}
	}
}

func TestSplitCards(t *testing.T) {
	file := "\ufeffBEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nEND:VCARD\r\n\r\nbegin:vcard\nVERSION:4.0\nFN:B\n  folded\nEND:VCARD"
	got, err := SplitCards([]byte(file))
	if err != nil || len(got) != 2 {
		t.Fatalf("%d chunks, %v", len(got), err)
	}
	if got[0].N != 1 || got[0].Line != 1 || string(got[0].Text) != "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\nEND:VCARD\r\n" {
		t.Fatalf("first %+v %q", got[0], got[0].Text)
	}
	if got[1].N != 2 || got[1].Line != 6 {
		t.Fatalf("second %+v", got[1])
	}
	if _, err := Parse(got[1].Text); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   string
		line int
	}{
		{"BEGIN:VCARD\nFN:A\nEND:VCARD\nstray\n", 4},
		{"BEGIN:VCARD\nFN:A\nEND:VCARD\nBEGIN:VCARD\nFN:B\n", 4},
	} {
		_, err := SplitCards([]byte(c.in))
		ce, ok := err.(*ChunkError)
		if !ok || ce.Line != c.line {
			t.Fatalf("%q: %v, want line %d", c.in, err, c.line)
		}
	}
}
