package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestThrottleFlags(t *testing.T) {
	env := map[string]string{"CONTACTGRAPH_THROTTLE": "graph", "CONTACTGRAPH_THROTTLE_REQUESTS": "7", "CONTACTGRAPH_THROTTLE_UPLOAD_BYTES": "5000000000"}
	m := &Main{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, Getenv: func(k string) string { return env[k] }}
	cfg, err := m.serveFlags([]string{"--throttle-concurrency-key", "app+mailbox", "--throttle-directory-units", "8000", "--throttle-requests-window", "1m"})
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Throttle.Limits
	if cfg.Throttle.Mode != "graph" || !l.ConcurrencyPerMailbox || l.Concurrency != 4 || l.Requests != 7 || l.RequestWindow != time.Minute ||
		l.UploadBytes != 5_000_000_000 || l.UploadWindow != 5*time.Minute || l.DirectoryUnits != 8000 || l.DirectoryWindow != 10*time.Second ||
		l.DirectoryWrites != 3000 || l.DirectoryWriteWindow != 150*time.Second {
		t.Fatalf("defaults, then environment, then flags: %+v", cfg.Throttle)
	}
	for _, bad := range [][]string{{"--throttle", "on"}, {"--throttle-concurrency-key", "mailbox"}, {"--throttle-requests", "-1"}, {"--throttle-upload-window", "0s"}} {
		if _, err := m.serveFlags(bad); err == nil {
			t.Errorf("serve %v must be refused", bad)
		}
	}
	m.Getenv = func(string) string { return "" }
	if cfg, err := m.serveFlags(nil); err != nil || cfg.Throttle.Mode != "off" || cfg.Throttle.limiter(nil) != nil {
		t.Fatalf("default: %+v %v", cfg.Throttle, err)
	}
}

// TestServeThrottle: serve --throttle graph answers Graph's 429 once a
// mailbox's requests are used up.
func TestServeThrottle(t *testing.T) {
	s := startServe(t, "--throttle", "graph", "--throttle-requests", "2", "--throttle-requests-window", "1h")
	tok := mintToken(t, s.db, "--user", "ada@contoso.com")
	get := func() *http.Response {
		req, _ := http.NewRequest(http.MethodGet, s.base+"/me/contacts", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for range 2 {
		if resp := get(); resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	resp := get()
	defer resp.Body.Close()
	var body struct {
		Error struct{ Code, Message string }
	}
	json.NewDecoder(resp.Body).Decode(&body)
	ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusTooManyRequests || body.Error.Code != "TooManyRequests" || ra < 3500 || ra > 3600 {
		t.Fatalf("third request: %d %+v Retry-After %q", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
}
