package fakedata

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
)

// The generator writes canonical JSON directly; it must equal what the
// validator makes of the same body, or seeded data would differ from data
// written through the API.
func TestCanonical(t *testing.T) {
	g := New(1)
	for i := 0; i < 200; i++ {
		in := g.Contact()
		body, _ := json.Marshal(in.Props)
		parsed, err := contactgraph.ParseContactInput(body)
		if err != nil {
			t.Fatalf("generated contact does not validate: %v\n%s", err, body)
		}
		if !reflect.DeepEqual(parsed.Props, in.Props) {
			t.Fatalf("not canonical:\n got %v\nwant %v", in.Props, parsed.Props)
		}
		org := g.OrgContact()
		body, _ = json.Marshal(org.Props)
		oparsed, err := contactgraph.ParseOrgContactInput(body)
		if err != nil {
			t.Fatalf("generated org contact does not validate: %v\n%s", err, body)
		}
		if !reflect.DeepEqual(oparsed.Props, org.Props) {
			t.Fatalf("org contact not canonical:\n got %s\nwant %s", body, mustJSON(oparsed.Props))
		}
	}
	a, b := New(7).Contact(), New(7).Contact()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed must give the same data")
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestNumberedUPNs(t *testing.T) {
	if got := NumberedUPNs("cap@contoso.com", 2); !reflect.DeepEqual(got, []string{"cap-00001@contoso.com", "cap-00002@contoso.com"}) {
		t.Fatal(got)
	}
	if got := NumberedUPNs("a.b@x.example", 123456); got[0] != "a.b-000001@x.example" || got[123455] != "a.b-123456@x.example" {
		t.Fatal(got[0], got[123455])
	}
	if got := NumberedUPNs("cap-1@contoso.com", 3); strings.Join(got, " ") != "cap-1-00001@contoso.com cap-1-00002@contoso.com cap-1-00003@contoso.com" {
		t.Errorf("NumberedUPNs: %v", got)
	}
}
