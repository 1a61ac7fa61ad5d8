package graphapi

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
)

// TestBatchMalformed: every malformed batch is one 400 BadRequest with a
// message that says what is wrong, and runs nothing, not even its valid
// requests.
func TestBatchMalformed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	host := strings.TrimPrefix(e.srv.URL, "http://")
	create := `{"id":"ok","method":"POST","url":"/me/contacts","headers":{"Content-Type":"application/json"},"body":{"givenName":"Never"}}`
	get := func(id string, extra string) string {
		return `{"id":"` + id + `","method":"GET","url":"/me/contactFolders"` + extra + `}`
	}
	batch := func(reqs ...string) string { return `{"requests":[` + strings.Join(reqs, ",") + `]}` }
	var twentyOne []string
	for i := range 21 {
		twentyOne = append(twentyOne, get(fmt.Sprint(i), ""))
	}
	tests := []struct {
		name, body, msg string
	}{
		{"not JSON", `requests=1`, "The request body is not valid JSON: invalid character 'r' looking for beginning of value."},
		{"cut short", `{"requests":[`, "The request body is not valid JSON: EOF."},
		{"not an object", `[` + create + `]`, "The request body must be a JSON object."},
		{"no requests", `{"request":[` + create + `]}`, "The batch request has no 'requests' array."},
		{"null requests", `{"requests":null}`, "The batch request has no 'requests' array."},
		{"requests not an array", `{"requests":{"id":"1"}}`, "The member 'requests' of a batch request must be an array of requests."},
		{"empty", `{"requests":[]}`, "The batch request holds no requests; a batch holds 1 to 20."},
		{"21 requests", batch(twentyOne...), "Number of requests inside batch exceeds the limit. A batch holds at most 20 requests; this one holds 21."},
		{"request not an object", batch(create, `"GET /me"`), "Request #2 of the batch is not a JSON object."},
		{"no id", batch(create, `{"method":"GET","url":"/me/contacts"}`), "Request #2 of the batch has no id: every request needs a non-empty string id."},
		{"empty id", batch(create, get("", "")), "Request #2 of the batch has no id: every request needs a non-empty string id."},
		{"numeric id", batch(create, `{"id":2,"method":"GET","url":"/me/contacts"}`), "Request #2 of the batch has no id: every request needs a non-empty string id."},
		{"duplicate id", batch(create, get("a1", ""), get("b", ""), get("A1", "")), "Request Id A1 has to be unique in a batch."},
		{"duplicate id, same case", batch(create, get("ok", "")), "Request Id ok has to be unique in a batch."},
		{"no method", batch(create, `{"id":"2","url":"/me/contacts"}`), "Request '2' has no method."},
		{"unknown method", batch(create, `{"id":"2","method":"TRACE","url":"/me/contacts"}`), "Request '2' has the method 'TRACE'; a request of a batch is GET, POST, PATCH, PUT or DELETE."},
		{"no url", batch(create, `{"id":"2","method":"GET"}`), "Request '2' has no url."},
		{"url not a string", batch(create, `{"id":"2","method":"GET","url":["/me"]}`), "Request '2' has no url."},
		{"another host", batch(create, `{"id":"2","method":"GET","url":"https://graph.microsoft.com/v1.0/me/contacts"}`),
			"The url of request '2' is on another host (graph.microsoft.com): a batch holds requests to this server only; use a url relative to /v1.0, such as /me/contacts."},
		{"another host, scheme-relative", batch(create, `{"id":"2","method":"GET","url":"//evil.example/v1.0/me/contacts"}`),
			"The url of request '2' is on another host (evil.example): a batch holds requests to this server only; use a url relative to /v1.0, such as /me/contacts."},
		{"this host, not /v1.0", batch(create, `{"id":"2","method":"GET","url":"http://`+host+`/beta/me/contacts"}`), "The url of request '2' is not under /v1.0 of this server."},
		{"nested", batch(create, `{"id":"2","method":"POST","url":"/$batch","headers":{"Content-Type":"application/json"},"body":{"requests":[]}}`),
			"Request '2' is a $batch request: batches cannot be nested."},
		{"nested, relative", batch(create, `{"id":"2","method":"GET","url":"$batch"}`), "Request '2' is a $batch request: batches cannot be nested."},
		{"nested, absolute", batch(create, `{"id":"2","method":"GET","url":"http://`+host+`/v1.0/%24batch"}`), "Request '2' is a $batch request: batches cannot be nested."},
		{"headers not an object", batch(create, get("2", `,"headers":["Prefer"]`)), "The headers of request '2' must be a JSON object of strings."},
		{"header not a string", batch(create, get("2", `,"headers":{"Prefer":1}`)), "The header 'Prefer' of request '2' must be a string."},
		{"body an array", batch(create, `{"id":"2","method":"POST","url":"/me/contacts","headers":{"Content-Type":"application/json"},"body":[1]}`),
			"The body of request '2' must be a JSON object, or a base64 string for binary content."},
		{"body a string, not base64", batch(create, `{"id":"2","method":"POST","url":"/me/contacts","headers":{"Content-Type":"application/json"},"body":"{\"givenName\":\"x\"}"}`),
			"The body of request '2' is a string that is not base64: send JSON content as a JSON object, binary content as base64."},
		{"body without Content-Type", batch(create, `{"id":"2","method":"POST","url":"/me/contacts","body":{"givenName":"x"}}`), "Request '2' has a body but no Content-Type header."},
		{"dependsOn not an array", batch(create, get("2", `,"dependsOn":"ok"`)), "The dependsOn of request '2' must be an array of request ids."},
		{"dependsOn unknown", batch(create, get("2", `,"dependsOn":["nope"]`)), "Request '2' depends on 'nope', which is not a request of this batch."},
		{"dependsOn twice", batch(create, get("2", `,"dependsOn":["ok","OK"]`)), "Request '2' names 'ok' twice in dependsOn."},
		{"dependsOn itself", batch(create, get("2", `,"dependsOn":["2"]`)), "The dependsOn of the batch form a cycle: '2' → '2'."},
		{"cycle", batch(get("1", `,"dependsOn":["3"]`), get("2", `,"dependsOn":["1"]`), get("3", `,"dependsOn":["2"]`)),
			"The dependsOn of the batch form a cycle: '1' → '3' → '2' → '1'."},
		{"depends on a later request", batch(get("1", `,"dependsOn":["2"]`), get("2", "")),
			"Request '1' depends on '2', which comes after it: a request can depend only on a request before it."},
		{"mixed: one independent", batch(create, get("2", `,"dependsOn":["ok"]`), get("3", `,"dependsOn":["2"]`), get("4", "")),
			"Batch should be either fully sequential or fully parallel. Either no request has dependsOn, or each depends on the one before it, or all depend on the same request."},
		{"two dependencies, not a chain", batch(create, get("2", ""), get("3", `,"dependsOn":["ok","2"]`)),
			"Batch should be either fully sequential or fully parallel. Either no request has dependsOn, or each depends on the one before it, or all depend on the same request."},
		{"a tree", batch(create, get("2", `,"dependsOn":["ok"]`), get("3", `,"dependsOn":["ok"]`), get("4", `,"dependsOn":["2"]`)),
			"Batch should be either fully sequential or fully parallel. Either no request has dependsOn, or each depends on the one before it, or all depend on the same request."},
	}
	for _, tt := range tests {
		r := e.do(t, http.MethodPost, "/v1.0/$batch", u.token, []byte(tt.body))
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400: %s", tt.name, r.status, r.body)
			continue
		}
		if er := fails(t, r, http.StatusBadRequest, "BadRequest"); er.Message != tt.msg {
			t.Errorf("%s: message\n %q, want\n %q", tt.name, er.Message, tt.msg)
		}
	}
	if n := e.countContacts(t, u); n != "0" {
		t.Errorf("%s contacts: a malformed batch ran its valid requests", n)
	}
}

// TestBatchAcceptedShapes: the three dependsOn shapes Graph allows, the
// serial one in the order of the docs' example (ids not sorted) and in
// the Go SDK's form (each request names the whole chain before it).
func TestBatchAcceptedShapes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	get := func(id string, deps ...string) map[string]any {
		r := map[string]any{"id": id, "method": "GET", "url": "/me/contactFolders"}
		if deps != nil {
			r["dependsOn"] = deps
		}
		return r
	}
	for name, reqs := range map[string][]map[string]any{
		"parallel":     {get("1"), get("2"), get("3", []string{}...)},
		"serial, docs": {get("1"), get("2", "1"), get("4", "2"), get("3", "4")},
		"serial, Go":   {get("1"), get("2", "1"), get("3", "1", "2"), get("4", "1", "2", "3")},
		"same":         {get("h"), get("a", "h"), get("b", "H"), get("c", "h")},
		"one":          {get("only")},
	} {
		got, _ := e.batch(t, u.token, reqs)
		for _, a := range got {
			if a.Status != http.StatusOK {
				t.Errorf("%s: %s answered %d %s", name, a.ID, a.Status, a.Body)
			}
		}
	}
}
