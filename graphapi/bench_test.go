package graphapi

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/contactgraph/contactgraph/fakedata"
)

// BenchmarkCreateContactHTTP: POST /me/contacts over loopback HTTP with
// keep-alive, one client: the write path as a sequential client sees it.
func BenchmarkCreateContactHTTP(b *testing.B) {
	e := newEnv(&testing.T{})
	u := e.newUser("contoso", "alice@contoso.com", "Contacts.ReadWrite")
	gen := fakedata.New(1)
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = gen.ContactJSON()
	}
	client := e.srv.Client()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v1.0/me/contacts", bytes.NewReader(bodies[i]))
		req.Header.Set("Authorization", "Bearer "+u.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
