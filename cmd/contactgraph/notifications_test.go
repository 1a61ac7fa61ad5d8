package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph/client"
	"github.com/contactgraph/contactgraph/notify"
)

// TestServeDeliversNotifications: serve --emulator validates a receiver
// made with the client package, and its sender posts a contact's creation
// to it, woken by the commit.
func TestServeDeliversNotifications(t *testing.T) {
	s := startServe(t, "--emulator")
	tok := mintToken(t, s.db, "--tenant", "contoso", "--user", "ada@contoso.com", "--scopes", "Contacts.ReadWrite")
	got := make(chan client.Notifications, 10)
	rc := &client.Receiver{ClientState: "cs-1", Handle: func(_ context.Context, n client.Notifications) error {
		got <- n
		return nil
	}}
	hook := httptest.NewServer(rc)
	defer hook.Close()

	post := func(path string, body any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, s.base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: %d %v", path, resp.StatusCode, m)
		}
		return m
	}
	sub := post("/subscriptions", map[string]any{
		"changeType": "created", "notificationUrl": hook.URL, "resource": "me/contacts",
		"expirationDateTime": time.Now().Add(time.Hour).Format(time.RFC3339), "clientState": "cs-1",
	})
	c := post("/me/contacts", map[string]any{"displayName": "Ada"})
	select {
	case n := <-got:
		if len(n.Value) != 1 || n.Value[0].SubscriptionID != sub["id"] || n.Value[0].ChangeType != "created" || n.Value[0].ResourceData.ID != c["id"] {
			t.Errorf("notification %+v", n.Value)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification within 10 s")
	}
}

// TestServeNotificationFlags: without --emulator or
// --notification-allow a receiver on loopback is refused.
func TestServeNotificationFlags(t *testing.T) {
	s := startServe(t, "--allow-http-notifications")
	tok := mintToken(t, s.db, "--tenant", "contoso", "--user", "ada@contoso.com", "--scopes", "Contacts.Read")
	hook := httptest.NewServer(&client.Receiver{})
	defer hook.Close()
	body, _ := json.Marshal(map[string]any{
		"changeType": "created", "notificationUrl": hook.URL, "resource": "me/contacts",
		"expirationDateTime": time.Now().Add(time.Hour).Format(time.RFC3339),
	})
	status := func(base string) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/subscriptions", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(s.base); got != http.StatusBadRequest {
		t.Errorf("loopback receiver without --notification-allow: %d, want 400", got)
	}
	allowed := startServe(t, "--allow-http-notifications", "--notification-allow", "127.0.0.0/8")
	tok = mintToken(t, allowed.db, "--tenant", "contoso", "--user", "ada@contoso.com", "--scopes", "Contacts.Read")
	if got := status(allowed.base); got != http.StatusCreated {
		t.Errorf("loopback receiver with --notification-allow 127.0.0.0/8: %d, want 201", got)
	}
	m := &Main{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, Getenv: func(string) string { return "" }}
	for _, args := range [][]string{{"--notification-allow", "not-a-range"}, {"--notification-workers", "0"},
		{"--notification-lease", "0s"}, {"--notification-lease", "-1s"}} {
		if _, err := m.serveFlags(args); err == nil {
			t.Errorf("serve %v must fail", args)
		}
	}
}

var notificationsRE = regexp.MustCompile("(?s)<!-- notifications:begin -->\\s*```sh\\n(.*?)```\\s*<!-- notifications:end -->")

// TestReadmeNotifications runs the README's subscription walkthrough, as
// pasted, against serve --emulator, and checks the receiver's output.
func TestReadmeNotifications(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := notificationsRE.FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no notifications block")
	}
	s := startServe(t, "--emulator")
	tok := mintToken(t, s.db, "--tenant", "contoso", "--user", "demo@contoso.com", "--scopes", "Contacts.ReadWrite")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a free port for the receiver
	out := bash(t, "../..", string(m[1]), "BASE="+s.base, "TOKEN="+tok, "RECEIVER="+addr)
	for _, want := range []string{`"@odata.context":"` + s.base + `/$metadata#subscriptions/$entity"`, `"clientState":null`,
		`"changeType":"created"`, `"changeType":"updated"`, `"changeType":"deleted"`, `"clientState":"walkthrough"`, `"resource":"Users/`} {
		if !strings.Contains(out, want) {
			t.Errorf("the walkthrough's output lacks %s:\n%s", want, out)
		}
	}
}

// TestReadmeNotificationControls runs the README's curl lines of the
// notification emulator controls as pasted, on a server of the test's
// (its address put for 127.0.0.1:8080), and checks that they acted.
func TestReadmeNotificationControls(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(l, "curl ") && (strings.Contains(l, "/emulator/deliveries") || strings.Contains(l, "/emulator/lifecycle")) {
			lines = append(lines, l)
		}
	}
	if len(lines) < 6 {
		t.Fatalf("README.md has %d curl lines of the notification controls, want at least 6", len(lines))
	}
	s := startServe(t, "--emulator")
	tok := mintToken(t, s.db, "--tenant", "contoso", "--user", "ada@contoso.com", "--scopes", "Contacts.Read")
	ctl := mintToken(t, s.db, "--tenant", "contoso", "--app", "test-harness", "--roles", "Emulator.Control")
	life := make(chan client.Notifications, 4)
	hook := httptest.NewServer(&client.Receiver{Handle: func(_ context.Context, n client.Notifications) error {
		life <- n
		return nil
	}})
	defer hook.Close()
	body, _ := json.Marshal(map[string]any{
		"changeType": "created", "notificationUrl": hook.URL, "lifecycleNotificationUrl": hook.URL, "resource": "me/contacts",
		"expirationDateTime": time.Now().Add(time.Hour).Format(time.RFC3339),
	})
	req, _ := http.NewRequest(http.MethodPost, s.base+"/subscriptions", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var sub map[string]any
	json.NewDecoder(resp.Body).Decode(&sub)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, sub)
	}
	root := strings.TrimSuffix(s.base, "/v1.0")
	script := strings.ReplaceAll(strings.Join(lines, "\n"), "http://127.0.0.1:8080", root)
	bash(t, "../..", script, "CTL="+ctl, "SUB="+sub["id"].(string))
	select {
	case n := <-life:
		if len(n.Value) != 1 || n.Value[0].LifecycleEvent != "missed" || n.Value[0].SubscriptionID != sub["id"] {
			t.Errorf("lifecycle notification %+v", n.Value)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the README's lifecycle control sent nothing within 10 s")
	}
}

// TestServeNotificationLease: --notification-lease defaults to the
// sender's default, is read from CONTACTGRAPH_NOTIFICATION_LEASE, and the
// flag wins over the environment.
func TestServeNotificationLease(t *testing.T) {
	for _, c := range []struct {
		env  string
		args []string
		want time.Duration
	}{
		{"", nil, notify.DefaultLease},
		{"5s", nil, 5 * time.Second},
		{"5s", []string{"--notification-lease", "2s"}, 2 * time.Second},
	} {
		m := &Main{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, Getenv: func(name string) string {
			if name == "CONTACTGRAPH_NOTIFICATION_LEASE" {
				return c.env
			}
			return ""
		}}
		cfg, err := m.serveFlags(c.args)
		if err != nil {
			t.Fatalf("env %q, serve %v: %v", c.env, c.args, err)
		}
		if cfg.Notify.Lease != c.want {
			t.Errorf("env %q, serve %v: lease %v, want %v", c.env, c.args, cfg.Notify.Lease, c.want)
		}
	}
}

// TestServeCORS: --cors-origins lets a browser origin's preflight through
// before authentication; a malformed origin is refused at start.
func TestServeCORS(t *testing.T) {
	s := startServe(t, "--cors-origins", "https://app.example, http://localhost:5173")
	req, _ := http.NewRequest(http.MethodOptions, s.base+"/me/contacts", nil)
	req.Header.Set("Origin", "http://localhost:5173")
	req.Header.Set("Access-Control-Request-Method", "GET")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	m := &Main{Stdout: &syncBuffer{}, Stderr: &syncBuffer{}, Getenv: func(string) string { return "" }}
	if _, err := m.serveFlags([]string{"--cors-origins", "app.example"}); err == nil {
		t.Error("--cors-origins app.example must be refused")
	}
}
