package graphapi

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
)

// FuzzParseBatch: any body is either a valid batch, whose every
// dependency comes before its request, or a 400 BadRequest (413 over the
// limit); never a panic or another error.
func FuzzParseBatch(f *testing.F) {
	for _, s := range []string{
		`{"requests":[{"id":"1","method":"GET","url":"/me/contacts"}]}`,
		`{"requests":[{"id":"1","method":"GET","url":"me/contacts?$top=1"},{"id":"2","method":"POST","url":"/v1.0/me/contacts","dependsOn":["1"],"headers":{"content-type":"application/json"},"body":{"givenName":"x"}}]}`,
		`{"requests":[{"id":"a","method":"GET","url":"http://example.com/v1.0/$batch"},{"id":"A","method":"GET","url":"//x/y"}]}`,
		`{"requests":[{"id":"1","method":"PUT","url":"/me/contacts/x","headers":{"Content-Type":"image/png"},"body":"iVBORw0KGgo="}]}`,
		`{"requests":[{"id":"1","dependsOn":["2"],"method":"GET","url":"/me"},{"id":"2","dependsOn":["1"],"method":"GET","url":"/me"}]}`,
	} {
		f.Add([]byte(s))
	}
	s := &Server{cfg: Config{MaxBodyBytes: 64 << 10}}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "http://example.com/v1.0/$batch", bytes.NewReader(body))
		items, err := s.parseBatch(r)
		if err != nil {
			if c := contactgraph.ErrorCode(err); c != eBadRequest && c != contactgraph.ETooLarge {
				t.Fatalf("code %s: %v", c, err)
			}
			return
		}
		if len(items) == 0 || len(items) > maxBatchRequests {
			t.Fatalf("%d items", len(items))
		}
		for i, it := range items {
			if it.id == "" || it.method == "" || !strings.HasPrefix(it.path, "/") || it.header == nil {
				t.Fatalf("item %d: %+v", i, it)
			}
			for _, d := range it.deps {
				if d >= i {
					t.Fatalf("item %d depends on %d", i, d)
				}
			}
		}
	})
}
