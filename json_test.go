package contactgraph

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzCheckedMembers: the one-pass check accepts exactly the bodies the
// token decoder and encoding/json together accept, and returns the
// members encoding/json decodes.
func FuzzCheckedMembers(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"a":1,"a":2}`, `{"a":{"b":1,"b":2}}`, `{"a":[{"b":1},{"b":1,"b":2}]}`,
		`{"a":1} {}`, `[]`, `{"a":`, `{"\u0061":1,"a":2}`, ` {"x" : [ "y" , {"z":null} ] } `, `{"a":"\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := checkedMembers(body, true)
		var want map[string]json.RawMessage
		werr := decodeCheck(body)
		if werr == nil {
			if uerr := json.Unmarshal(body, &want); uerr != nil {
				werr = uerr
			}
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("checkedMembers(%q): %v; the decoders: %v", body, err, werr)
		}
		if err != nil {
			if ErrorCode(err) != EInvalid {
				t.Fatalf("checkedMembers(%q): %v is not EInvalid", body, err)
			}
			return
		}
		if len(got) != len(want) {
			t.Fatalf("checkedMembers(%q): %d members, want %d", body, len(got), len(want))
		}
		for k, v := range want {
			if !bytes.Equal(bytes.TrimSpace(got[k]), bytes.TrimSpace(v)) {
				t.Fatalf("checkedMembers(%q)[%q] = %q, want %q", body, k, got[k], v)
			}
		}
	})
}

// BenchmarkParseContactInput parses a typical create body (the bench's
// contacts: names, company, two emails, phones, an address, notes).
func BenchmarkParseContactInput(b *testing.B) {
	body := []byte(`{"givenName":"Pavel","surname":"Bansky","displayName":"Pavel Bansky","jobTitle":"Engineer","companyName":"Contoso","department":"R&D",` +
		`"emailAddresses":[{"address":"pavelb@contoso.com","name":"Pavel Bansky"},{"address":"pavel@fabrikam.com","name":"Pavel"}],` +
		`"businessPhones":["+1 732 555 0102"],"homePhones":["+1 732 555 0103"],"mobilePhone":"+1 732 555 0104",` +
		`"businessAddress":{"street":"1 Main St","city":"Redmond","state":"WA","countryOrRegion":"USA","postalCode":"98052"},` +
		`"categories":["Friends","Work"],"personalNotes":"Met at the conference; prefers email.","birthday":"1974-03-02T00:00:00Z"}`)
	for b.Loop() {
		if _, err := ParseContactInput(body); err != nil {
			b.Fatal(err)
		}
	}
}
