package compat

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// throttledAnswers returns the 429s the client received, as code and
// Retry-After pairs.
func throttledAnswers(c *graphClient) [][2]string {
	var out [][2]string
	for _, ex := range c.rec.exchanges() {
		if ex.status != http.StatusTooManyRequests {
			continue
		}
		var e struct{ Error struct{ Code string } }
		json.Unmarshal(ex.respBody, &e)
		out = append(out, [2]string{e.Error.Code, ex.respHeader.Get("Retry-After")})
	}
	return out
}

// TestThrottledSDKRetries: under --throttle graph the SDK's retry handler
// recovers from each of the server's 429s by itself, waiting the
// Retry-After the server sent: over a mailbox's request window, over the
// app's concurrency (ApplicationThrottled), over the directory's
// resource units.
func TestThrottledSDKRetries(t *testing.T) {
	srv := startServer(t, "--throttle", "graph",
		"--throttle-requests", "3", "--throttle-requests-window", "2s",
		"--throttle-concurrency", "1",
		"--throttle-directory-units", "2", "--throttle-directory-window", "2s")
	ctx := context.Background()

	t.Run("request window", func(t *testing.T) {
		c := srv.client(t, srv.delegatedToken(t, uniqueUPN("window"), "Contacts.ReadWrite"))
		start := time.Now()
		for i := range 5 {
			_, err := c.Me().Contacts().Get(ctx, nil)
			check(t, err, "GET /me/contacts #"+strconv.Itoa(i+1))
		}
		got := throttledAnswers(c)
		if len(got) != 1 || got[0][0] != "TooManyRequests" {
			t.Fatalf("429s %v, want one TooManyRequests (the 4th request, retried once)", got)
		}
		if ra, _ := strconv.Atoi(got[0][1]); ra < 1 || ra > 2 || time.Since(start) < time.Duration(ra)*time.Second {
			t.Errorf("Retry-After %q, after %v", got[0][1], time.Since(start))
		}
	})

	t.Run("concurrency", func(t *testing.T) {
		// Another request of the same app holds the app's one slot: a POST
		// whose body is still coming.
		var probes []string
		for range 8 {
			probes = append(probes, srv.delegatedToken(t, uniqueUPN("probe"), "Contacts.Read"))
		}
		finish := holdSlot(t, srv, srv.delegatedToken(t, uniqueUPN("slow"), "Contacts.ReadWrite"), probes)
		c := srv.client(t, srv.delegatedToken(t, uniqueUPN("sdk"), "Contacts.ReadWrite"))
		done := make(chan error, 1)
		go func() {
			_, err := c.Me().ContactFolders().Get(ctx, nil)
			done <- err
		}()
		// Once the SDK got its 429, let the slow POST finish: its retry
		// a second later finds the slot free.
		for deadline := time.Now().Add(20 * time.Second); len(throttledAnswers(c)) == 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the SDK request was not throttled")
			}
		}
		if status := finish(); status != http.StatusCreated {
			t.Fatalf("the slow POST: %d", status)
		}
		check(t, <-done, "GET /me/contactFolders while another request held the slot")
		if got := throttledAnswers(c); len(got) != 1 || got[0] != [2]string{"ApplicationThrottled", "1"} {
			t.Errorf("429s %v, want one ApplicationThrottled with Retry-After 1", got)
		}
	})

	t.Run("directory units", func(t *testing.T) {
		tenant := strings.SplitN(uniqueUPN("tenant"), "@", 2)[0]
		c := srv.client(t, srv.token(t, "--tenant", tenant, "--app", "crm", "--roles", "OrgContact.Read.All"))
		for i := range 3 {
			_, err := c.Contacts().Get(ctx, nil)
			check(t, err, "GET /contacts #"+strconv.Itoa(i+1))
		}
		got := throttledAnswers(c)
		if len(got) != 1 || got[0] != [2]string{"TooManyRequests", "1"} {
			t.Fatalf("429s %v, want one TooManyRequests with Retry-After 1 (1 unit refills in 1 s)", got)
		}
		for _, ex := range c.rec.exchanges() {
			if ex.respHeader.Get("x-ms-resource-unit") != "1" {
				t.Errorf("%s %s: x-ms-resource-unit %q", ex.method, pathOf(ex.url), ex.respHeader.Get("x-ms-resource-unit"))
			}
			if ex.status == http.StatusTooManyRequests && (ex.respHeader.Get("x-ms-throttle-information") != "ResourceUnitLimitExceeded" ||
				!strings.HasPrefix(ex.respHeader.Get("x-ms-throttle-scope"), "Tenant_Application/ReadWrite/")) {
				t.Errorf("429 headers %v", ex.respHeader)
			}
		}
	})
}

// holdSlot sends a POST with token whose body it holds back, so that the
// request keeps its app's concurrency slot, until finish is called;
// finish returns the POST's status. It returns once a probe request (of
// the same app) was refused with ApplicationThrottled. A POST that
// arrives while a probe holds the slot is refused itself: then it tries
// again. The probes go out every 50 ms, each with the next of probes'
// tokens (users of their own), so that no probe's mailbox runs over its
// request window (TooManyRequests) however long the POST takes to arrive
// on a loaded machine.
func holdSlot(t *testing.T, srv *testServer, token string, probes []string) (finish func() int) {
	t.Helper()
	next := 0
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		pr, pw := io.Pipe()
		req, _ := http.NewRequest(http.MethodPost, srv.BaseURL+"/me/contacts", pr)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		done := make(chan int, 1)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		pw.Write([]byte(`{"givenName":`))
		for time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			select {
			case <-done: // refused: a probe held the slot
				pw.Close()
			default:
				preq, _ := http.NewRequest(http.MethodGet, srv.BaseURL+"/me/contactFolders", nil)
				preq.Header.Set("Authorization", "Bearer "+probes[next%len(probes)])
				next++
				resp, err := http.DefaultClient.Do(preq)
				if err != nil {
					t.Fatal(err)
				}
				var e struct{ Error struct{ Code string } }
				json.NewDecoder(resp.Body).Decode(&e)
				resp.Body.Close()
				if e.Error.Code != "ApplicationThrottled" {
					continue
				}
				return func() int {
					pw.Write([]byte(`"Slow"}`))
					pw.Close()
					return <-done
				}
			}
			break
		}
	}
	t.Fatal("the slow POST never held the slot")
	return nil
}
