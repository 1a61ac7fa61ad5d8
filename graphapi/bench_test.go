package graphapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
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

// BenchmarkCreate20: 20 new contacts per iteration over loopback HTTP with
// keep-alive, one client, either as 20 POST /me/contacts one after another
// or as one POST /$batch of 20 creates. It reports HTTP requests/s and
// contacts/s.
func BenchmarkCreate20(b *testing.B) {
	const n = maxBatchRequests
	b.Run("single", func(b *testing.B) {
		e := newEnv(&testing.T{})
		u := e.newUser("contoso", "alice@contoso.com", "Contacts.ReadWrite")
		gen := fakedata.New(1)
		bodies := make([][]byte, b.N*n)
		for i := range bodies {
			bodies[i] = gen.ContactJSON()
		}
		client := e.srv.Client()
		b.ResetTimer()
		for i := range bodies {
			benchPost(b, client, e.srv.URL+"/v1.0/me/contacts", u.token, bodies[i], http.StatusCreated)
		}
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "requests/s")
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "contacts/s")
	})
	b.Run("batch", func(b *testing.B) {
		e := newEnv(&testing.T{})
		u := e.newUser("contoso", "alice@contoso.com", "Contacts.ReadWrite")
		gen := fakedata.New(1)
		batches := make([][]byte, b.N)
		for i := range batches {
			reqs := make([]map[string]any, n)
			for j := range reqs {
				reqs[j] = map[string]any{"id": strconv.Itoa(j + 1), "method": "POST", "url": "/me/contacts",
					"headers": map[string]string{"Content-Type": "application/json"}, "body": json.RawMessage(gen.ContactJSON())}
			}
			batches[i] = mustJSON(b, map[string]any{"requests": reqs})
		}
		client := e.srv.Client()
		b.ResetTimer()
		for i := range batches {
			body := benchPost(b, client, e.srv.URL+"/v1.0/$batch", u.token, batches[i], http.StatusOK)
			if c := bytes.Count(body, []byte(`"status":201`)); c != n {
				b.Fatalf("%d of %d creates succeeded: %.300s", c, n, body)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
		b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "contacts/s")
	})
}

// benchPost sends one POST and returns the answer's body, failing on any
// status but want.
func benchPost(b *testing.B, client *http.Client, url, token string, body []byte, want int) []byte {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != want {
		b.Fatalf("status %d: %.300s", resp.StatusCode, out)
	}
	return out
}
