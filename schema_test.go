package contactgraph

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzParseContactInput: any body either is refused with EInvalid, or
// gives canonical values that parse again to themselves (the stored form
// is stable) and render into a valid JSON document. It never panics.
func FuzzParseContactInput(f *testing.F) {
	for _, s := range []string{
		`{"givenName":"Pavel","surname":"Bansky","emailAddresses":[{"address":"pavelb@contoso.com","name":"Pavel Bansky"}],"businessPhones":["+1 732 555 0102"]}`,
		`{"birthday":"2016-10-19T10:37:00Z","homeAddress":{"city":"Seattle","@odata.type":"x"}}`,
		`{"givenName":"a","givenName":"b"}`, `{"categories":null}`, `[]`, `{"x":1}`, `{"displayName":"\ud800"}`,
		`{"primaryEmailAddress":{"address":"a@b.c"}}`, `{"birthday":"2016-10-19"}`, `{"homeAddress":{"city":{"a":1}}}`,
		`{"extensions":[{"@odata.type":"microsoft.graph.openTypeExtension","extensionName":"Com.Contoso.X","v":[1,"a",null]}]}`,
		`{"singleValueExtendedProperties":[{"id":"Integer {66f5a359-4659-4830-9070-00047ec6ac6e} Id 0x8012","value":"12"},{"id":"String 0x3A25001F","value":null}]}`,
		`{"multiValueExtendedProperties":[{"id":"SystemTimeArray {66f5a359-4659-4830-9070-00047ec6ac6e} Name T","value":["2026-01-01T00:00:00Z"]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := ParseContactInput(body)
		if err != nil {
			if ErrorCode(err) != EInvalid {
				t.Fatalf("refused with code %q: %v", ErrorCode(err), err)
			}
			return
		}
		again, err := json.Marshal(in.Props)
		if err != nil {
			t.Fatal(err)
		}
		in2, err := ParseContactInput(again)
		if err != nil {
			t.Fatalf("canonical form %s refused: %v", again, err)
		}
		for k, v := range in.Props {
			if string(in2.Props[k]) != string(v) {
				t.Fatalf("property %s is not canonical: %s then %s", k, v, in2.Props[k])
			}
		}
		c := ApplyContact(nil, in, "folder", fixedNow)
		if !json.Valid(c.Doc) {
			t.Fatalf("rendered document is not JSON: %s", c.Doc)
		}
	})
}

// FuzzParseOrgContactInput: the same for org contacts.
func FuzzParseOrgContactInput(f *testing.F) {
	for _, s := range []string{
		`{"displayName":"Ann","mail":"ann@fabrikam.com","phones":[{"number":"1","type":"business"}],"addresses":[{"city":"x"}]}`,
		`{"onPremisesSyncEnabled":true,"onPremisesLastSyncDateTime":"2020-01-01T00:00:00Z"}`,
		`{"serviceProvisioningErrors":[{"isResolved":false,"createdDateTime":"2020-01-01T00:00:00Z"}]}`,
		`{"mail":"not mail"}`, `{"proxyAddresses":["SMTP:a@b.c"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := ParseOrgContactInput(body)
		if err != nil {
			if ErrorCode(err) != EInvalid {
				t.Fatalf("refused with code %q: %v", ErrorCode(err), err)
			}
			return
		}
		o := ApplyOrgContact(nil, in, 1, fixedNow)
		if !json.Valid(o.Doc()) {
			t.Fatalf("rendered document is not JSON: %s", o.Doc())
		}
	})
}

var fixedNow = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
