package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
)

// decodeReference decodes a page the plain way: the page, then every
// item on its own. decodePage must agree with it on every input.
func decodeReference(body []byte) (Page, bool) {
	var raw struct {
		Value     []json.RawMessage `json:"value"`
		NextLink  string            `json:"@odata.nextLink"`
		DeltaLink string            `json:"@odata.deltaLink"`
	}
	if json.Unmarshal(body, &raw) != nil || (raw.NextLink == "") == (raw.DeltaLink == "") {
		return Page{}, false
	}
	p := Page{NextLink: raw.NextLink, DeltaLink: raw.DeltaLink, Items: []Item{}}
	for _, v := range raw.Value {
		var members map[string]json.RawMessage
		if json.Unmarshal(v, &members) != nil || members == nil {
			return Page{}, false
		}
		it := Item{Raw: v}
		if json.Unmarshal(members["id"], &it.ID) != nil || it.ID == "" {
			return Page{}, false
		}
		if rm, ok := members["@removed"]; ok && string(rm) != "null" {
			var r struct {
				Reason string `json:"reason"`
			}
			if json.Unmarshal(rm, &r) != nil {
				return Page{}, false
			}
			it.Removed = r.Reason
			if it.Removed == "" {
				it.Removed = contactgraph.RemovedDeleted
			}
		}
		p.Items = append(p.Items, it)
	}
	return p, true
}

var pageSeeds = []string{
	`{"@odata.context":"c","@odata.nextLink":"n","value":[{"id":"a","displayName":"A"},{"id":"b","@removed":{"reason":"deleted"}},{"@removed":{"reason":"changed"},"id":"c"}]}`,
	`{"@odata.deltaLink":"d","value":[]}`,
	` { "value" : [ { "x" : [1, {"id":"no"}, "}\"]"] , "id" : "a\"b\u0041" , "@removed" : null } ] , "@odata.deltaLink" : "d" } `,
	`{"@odata.deltaLink":"d","value":[{"id":"a","id":"b"}]}`,
	`{"@odata.deltaLink":"d","value":[{"\u0069d":"esc"}]}`,
	`{"@odata.deltaLink":"d","value":[{"ID":"upper"}]}`,
	`{"@odata.deltaLink":"d","value":[{"id":7}]}`,
	`{"@odata.deltaLink":"d","value":[{"id":""}]}`,
	`{"@odata.deltaLink":"d","value":[null]}`,
	`{"@odata.deltaLink":"d","value":[{"id":"a","@removed":"gone"}]}`,
	`{"@odata.deltaLink":"d","value":[{"id":"a","@removed":{}}]}`,
	`{"@odata.deltaLink":"d","value":[{"id":"a","n":-1.5e3,"t":true,"f":false,"z":null}]}`,
	`{"@odata.deltaLink":"d","value":[{"id":"a"}`,
	`{"@odata.nextLink":"n","@odata.deltaLink":"d","value":[]}`,
	`[]`,
}

func FuzzDecodePage(f *testing.F) {
	for _, s := range pageSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		want, wantOK := decodeReference(bytes.Clone(body))
		got, err := decodePage(body)
		if (err == nil) != wantOK {
			t.Fatalf("decodePage(%q): err %v, reference ok %v", body, err, wantOK)
		}
		if err != nil {
			return
		}
		if got.NextLink != want.NextLink || got.DeltaLink != want.DeltaLink || len(got.Items) != len(want.Items) {
			t.Fatalf("decodePage(%q) = %+v, want %+v", body, got, want)
		}
		for i := range got.Items {
			g, w := got.Items[i], want.Items[i]
			if g.ID != w.ID || g.Removed != w.Removed || !bytes.Equal(g.Raw, w.Raw) {
				t.Fatalf("item %d of %q: %q %q %s, want %q %q %s", i, body, g.ID, g.Removed, g.Raw, w.ID, w.Removed, w.Raw)
			}
		}
	})
}

func TestDecodePageErrors(t *testing.T) {
	for body, want := range map[string]string{
		`{"@odata.deltaLink":"d","value":[{"id":7}]}`:   `graph: a delta item without an id: {"id":7}`,
		`{"@odata.deltaLink":"d","value":[{"name":1}]}`: `graph: a delta item without an id: {"name":1}`,
		`{"@odata.deltaLink":"d","value":[`:             `graph: a delta page is not JSON: unexpected end of JSON input`,
	} {
		if _, err := decodePage([]byte(body)); err == nil || err.Error() != want {
			t.Errorf("decodePage(%s): %v, want %s", body, err, want)
		}
	}
}

// BenchmarkDecodePage decodes a page of 200 contacts of about 1.6 KB each.
func BenchmarkDecodePage(b *testing.B) {
	var body bytes.Buffer
	body.WriteString(`{"@odata.context":"https://graph.example/v1.0/$metadata#Collection(contact)","@odata.nextLink":"https://graph.example/v1.0/me/contacts/delta?$skiptoken=x","value":[`)
	for i := range 200 {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"@odata.etag":"W/\"EQAAABYAAAC%04d\"","id":"AAMkAGI2TGuLAAA%04d=","createdDateTime":"2026-11-24T10:00:00Z","lastModifiedDateTime":"2026-11-24T10:00:00Z","changeKey":"EQAAABYAAAC%04d","categories":[],"parentFolderId":"AAMkAGI2TAAA=","birthday":null,"fileAs":"","displayName":"Contact %d","givenName":"Given","initials":null,"middleName":null,"nickName":null,"surname":"Surname","title":null,"yomiGivenName":null,"yomiSurname":null,"yomiCompanyName":null,"generation":null,"imAddresses":[],"jobTitle":"Engineer","companyName":"Contoso","department":"R&D","officeLocation":null,"profession":null,"businessHomePage":null,"assistantName":null,"manager":null,"homePhones":["+1 555 0100"],"mobilePhone":"+1 555 0101","businessPhones":["+1 555 0102"],"spouseName":null,"personalNotes":"%s","children":[],"emailAddresses":[{"name":"Contact","address":"contact%d@contoso.com"}],"homeAddress":{},"businessAddress":{"street":"1 Main St","city":"Redmond","state":"WA","countryOrRegion":"USA","postalCode":"98052"},"otherAddress":{}}`, i, i, i, i, strings.Repeat("note ", 60), i)
	}
	body.WriteString(`]}`)
	page := body.Bytes()
	for b.Loop() {
		if _, err := decodePage(page); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*200), "ns/item")
}
