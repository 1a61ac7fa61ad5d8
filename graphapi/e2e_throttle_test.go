package graphapi

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/auth"
	"github.com/contactgraph/contactgraph/storetest"
	"github.com/contactgraph/contactgraph/throttle"
)

// newThrottledEnv starts a server with the given limits on a fake clock.
func newThrottledEnv(t *testing.T, limits throttle.Limits) (*env, *storetest.Clock) {
	t.Helper()
	clock := storetest.NewClock()
	e := newEnv(t, func(c *Config) { c.Throttle = throttle.New(limits, &throttle.Memory{}, clock.Now) })
	return e, clock
}

// throttled checks a 429 with code, message and Retry-After.
func throttled(t *testing.T, r result, code, msg, retryAfter string) {
	t.Helper()
	e := fails(t, r, http.StatusTooManyRequests, code)
	if e.Message != msg || r.header.Get("Retry-After") != retryAfter {
		t.Fatalf("429 %q with Retry-After %q, want %q and %q", e.Message, r.header.Get("Retry-After"), msg, retryAfter)
	}
}

const (
	msgConcurrency = "Application is over its MailboxConcurrency limit."
	msgRetry       = "Please retry again later."
)

// TestThrottleConcurrency: a request holds its app's slot until it ends
// (here a POST whose body the client has not finished sending); the next
// request of the app, alone or in a $batch, is 429 ApplicationThrottled.
func TestThrottleConcurrency(t *testing.T) {
	t.Parallel()
	e, _ := newThrottledEnv(t, throttle.Limits{Concurrency: 1})
	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	bob := e.newUser("contoso", "bob@contoso.com", contactgraph.PermContactsReadWrite) // same app, another mailbox
	ok(t, e.do(t, "GET", "/v1.0/me/contacts", ada.token, nil), 200)

	finish, r := holdSlot(t, e, ada.token, bob.token)
	throttled(t, r, "ApplicationThrottled", msgConcurrency, "1")
	answers, _ := e.batch(t, ada.token, []map[string]any{
		{"id": "1", "method": "GET", "url": "/me/contacts"},
		{"id": "2", "method": "GET", "url": "/me/contactFolders"},
	})
	for _, a := range answers {
		throttled(t, a.result(), "ApplicationThrottled", msgConcurrency, "1")
	}
	// Another app has slots of its own.
	other := e.tokens.mint(auth.MintOptions{TenantName: "contoso", UPN: "bob@contoso.com", AppName: "other-app", Scopes: []string{contactgraph.PermContactsRead}})
	ok(t, e.do(t, "GET", "/v1.0/me/contacts", other, nil), 200)

	if r := finish(); r.status != http.StatusCreated {
		t.Fatalf("slow POST: %d %s", r.status, r.body)
	}
	ok(t, e.do(t, "GET", "/v1.0/me/contacts", bob.token, nil), 200)
}

// holdSlot sends a POST with token whose body it holds back, so that the
// request keeps its concurrency slot, until finish is called; finish
// returns the POST's answer. It returns once a request with probe (of the
// same app) was refused for the slot, with that refusal. A POST that
// arrives while a probe holds the slot is refused itself: then it tries
// again.
func holdSlot(t *testing.T, e *env, token, probe string) (finish func() result, refused result) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		pr, pw := io.Pipe()
		req, _ := http.NewRequest("POST", e.srv.URL+"/v1.0/me/contacts", pr)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		done := make(chan result, 1)
		go func() {
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				done <- result{}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			done <- result{status: resp.StatusCode, header: resp.Header, body: b}
		}()
		pw.Write([]byte(`{"givenName":`))
		for time.Now().Before(deadline) {
			select {
			case <-done: // refused: a probe held the slot
				pw.Close()
			default:
				r := e.do(t, "GET", "/v1.0/me/contactFolders", probe, nil)
				if r.status != http.StatusTooManyRequests {
					time.Sleep(time.Millisecond)
					continue
				}
				return func() result {
					pw.Write([]byte(`"Slow"}`))
					pw.Close()
					return <-done
				}, r
			}
			break
		}
	}
	t.Fatal("the slow POST never held the slot")
	return nil, result{}
}

// TestThrottleRequestWindow: requests per app and mailbox in a window,
// inner requests of a $batch counted one by one, released when the
// window ends and not a millisecond before.
func TestThrottleRequestWindow(t *testing.T) {
	t.Parallel()
	e, clock := newThrottledEnv(t, throttle.Limits{Requests: 3, RequestWindow: 10 * time.Minute})
	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	reader := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsRead)
	bob := e.newUser("contoso", "bob@contoso.com", contactgraph.PermContactsReadWrite)

	ok(t, e.do(t, "GET", "/v1.0/me/contacts", ada.token, nil), 200)
	clock.Advance(time.Minute)
	// Refused before its handler (403, 404): not counted.
	fails(t, e.do(t, "POST", "/v1.0/me/contactFolders", reader.token, map[string]any{"displayName": "x"}), 403, "ErrorAccessDenied")
	fails(t, e.do(t, "GET", "/v1.0/me/contactFolders/"+contactgraph.NewID()+"/childFolders/"+contactgraph.NewID()+"/contacts", ada.token, nil), 404, "ErrorItemNotFound")
	ok(t, e.do(t, "GET", "/v1.0/me/contactFolders", ada.token, nil), 200)
	ok(t, e.do(t, "GET", "/v1.0/me/contacts/delta", ada.token, nil), 200)
	throttled(t, e.do(t, "GET", "/v1.0/me/contacts", ada.token, nil), "TooManyRequests", msgRetry, "540")
	ok(t, e.do(t, "GET", "/v1.0/me/contacts", bob.token, nil), 200) // another mailbox
	// The subscriptions service is not the contacts API.
	ok(t, e.do(t, "GET", "/v1.0/subscriptions", ada.token, nil), 200)

	clock.Advance(9*time.Minute - time.Millisecond)
	throttled(t, e.do(t, "GET", "/v1.0/me/contacts", ada.token, nil), "TooManyRequests", msgRetry, "1")
	clock.Advance(time.Millisecond)

	// A batch of five: three pass, two are refused, each with its own
	// Retry-After; the batch itself counts nothing.
	var reqs []map[string]any
	for i := range 5 {
		reqs = append(reqs, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/me/contacts"})
	}
	answers, _ := e.batch(t, ada.token, reqs)
	passed := 0
	for _, a := range answers {
		switch a.Status {
		case 200:
			passed++
		default:
			throttled(t, a.result(), "TooManyRequests", msgRetry, "600")
		}
	}
	if passed != 3 {
		t.Fatalf("%d of 5 batched requests passed, want 3", passed)
	}
	clock.Advance(10 * time.Minute)
	ok(t, e.do(t, "GET", "/v1.0/me/contacts", ada.token, nil), 200)
}

// TestThrottleUpload: upload bytes per app and mailbox in a window; a
// chunked body counts once read.
func TestThrottleUpload(t *testing.T) {
	t.Parallel()
	e, clock := newThrottledEnv(t, throttle.Limits{UploadBytes: 1000, UploadWindow: 5 * time.Minute})
	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	body := []byte(`{"givenName":"` + strings.Repeat("a", 580) + `"}`) // 600 bytes
	ok(t, e.do(t, "POST", "/v1.0/me/contacts", ada.token, body), 201)
	clock.Advance(time.Minute)
	throttled(t, e.do(t, "POST", "/v1.0/me/contacts", ada.token, body), "TooManyRequests", msgRetry, "240")
	ok(t, e.do(t, "GET", "/v1.0/me/contacts", ada.token, nil), 200) // no body: passes
	clock.Advance(4 * time.Minute)

	// A chunked body: its length is unknown until read.
	req, _ := http.NewRequest("POST", e.srv.URL+"/v1.0/me/contacts", io.MultiReader(strings.NewReader(string(body))))
	req.Header.Set("Authorization", "Bearer "+ada.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("chunked POST: %d", resp.StatusCode)
	}
	throttled(t, e.do(t, "POST", "/v1.0/me/contacts", ada.token, body), "TooManyRequests", msgRetry, "300")
}

// TestThrottleDirectory: the resource-unit bucket per app and tenant with
// Graph's headers, and the write quota.
func TestThrottleDirectory(t *testing.T) {
	t.Parallel()
	e, clock := newThrottledEnv(t, throttle.Limits{DirectoryUnits: 3, DirectoryWindow: 10 * time.Second,
		DirectoryWrites: 1, DirectoryWriteWindow: 150 * time.Second})
	reader := e.tokens.app("contoso", "crm", "OrgContact.Read.All")
	writer := e.tokens.app("contoso", "hr-sync", orgWriter)
	tenant := contactgraph.TenantID("contoso")
	crm := contactgraph.AppID(tenant, "crm")

	for i, want := range []string{"", "", "1"} { // 1/3, 2/3, then 3/3 of the quota used
		r := e.do(t, "GET", "/v1.0/contacts?$select=displayName", reader, nil)
		ok(t, r, 200)
		if r.header.Get(hdrResourceUnit) != "1" || r.header.Get(hdrLimitPercentage) != want {
			t.Fatalf("request %d: %s %q, %s %q (want %q)", i, hdrResourceUnit, r.header.Get(hdrResourceUnit), hdrLimitPercentage, r.header.Get(hdrLimitPercentage), want)
		}
	}
	r := e.do(t, "GET", "/v1.0/contacts", reader, nil)
	throttled(t, r, "TooManyRequests", msgRetry, "4") // 1 unit refills in 3.33 s
	if r.header.Get(hdrThrottleScope) != "Tenant_Application/ReadWrite/"+crm+"/"+tenant ||
		r.header.Get(hdrThrottleInfo) != "ResourceUnitLimitExceeded" || r.header.Get(hdrResourceUnit) != "1" || r.header.Get(hdrLimitPercentage) != "1.33" {
		t.Fatalf("429 headers %v", r.header)
	}
	ok(t, e.do(t, "GET", "/v1.0/contacts", writer, nil), 200) // another app
	clock.Advance(3333 * time.Millisecond)
	throttled(t, e.do(t, "GET", "/v1.0/contacts", reader, nil), "TooManyRequests", msgRetry, "1")
	clock.Advance(time.Millisecond)
	ok(t, e.do(t, "GET", "/v1.0/contacts", reader, nil), 200)

	// Writes: one per 150 s.
	e.post(t, "/v1.0/contacts", writer, `{"displayName":"Ann","mail":"ann@fabrikam.com"}`)
	r = e.do(t, "POST", "/v1.0/contacts", writer, []byte(`{"displayName":"Bo","mail":"bo@fabrikam.com"}`))
	throttled(t, r, "TooManyRequests", msgRetry, "150")
	if r.header.Get(hdrThrottleScope) != "Tenant_Application/Write/"+contactgraph.AppID(tenant, "hr-sync")+"/"+tenant || r.header.Get(hdrThrottleInfo) != "WriteLimitExceeded" {
		t.Fatalf("write 429 headers %v", r.header)
	}
	clock.Advance(150 * time.Second)
	e.post(t, "/v1.0/contacts", writer, `{"displayName":"Bo","mail":"bo@fabrikam.com"}`)
}

func TestDirectoryCost(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		kind   kind
		method string
		query  string
		want   int64
	}{
		{kOrgContacts, "GET", "", 1},
		{kOrgContacts, "GET", "$select=mail", 1},
		{kOrgContacts, "GET", "$top=5", 1},
		{kUsers, "GET", "", 2},
		{kUsers, "GET", "$select=mail", 1},
		{kUsers, "GET", "$top=19", 1},
		{kUsers, "GET", "$top=20", 2},
		{kUsers, "GET", "$select=mail&$top=5", 1},
		{kUsers, "GET", "$expand=manager", 3},
		{kUsers, "POST", "", 1},
		{kUser, "GET", "", 1},
		{kOrgDelta, "GET", "$select=mail", 1},
	} {
		q, _ := url.ParseQuery(c.query)
		if got := directoryCost(c.kind, c.method, q); got != c.want {
			t.Errorf("%s %v ?%s: cost %d, want %d", c.method, c.kind, c.query, got, c.want)
		}
	}
}
