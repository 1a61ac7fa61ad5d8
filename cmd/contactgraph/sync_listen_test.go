package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// listening is `contactgraph sync --listen` running in-process.
type listening struct {
	url    string // the listener's own URL, from Main.Ready
	out    *syncBuffer
	errs   *syncBuffer
	file   string
	cancel context.CancelFunc
	done   chan error
}

// startListen runs sync --listen 127.0.0.1:0 on the delta URL with tok and
// waits until it is subscribed and has saved its first round. rnd is
// Main.Rand (nil for crypto/rand).
func startListen(t *testing.T, tok, deltaURL string, rnd io.Reader, args ...string) *listening {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &listening{out: &syncBuffer{}, errs: &syncBuffer{}, file: filepath.Join(t.TempDir(), "mirror.json"), cancel: cancel, done: make(chan error, 1)}
	ready := make(chan string, 1)
	m := &Main{Stdout: l.out, Stderr: l.errs, Getenv: func(string) string { return "" }, Rand: rnd, Ready: func(u string) { ready <- u }}
	go func() {
		l.done <- m.Run(ctx, append([]string{"sync", "--listen", "127.0.0.1:0", "--url", deltaURL, "--out", l.file, "--token", tok}, args...))
	}()
	select {
	case l.url = <-ready:
	case err := <-l.done:
		t.Fatalf("sync --listen stopped: %v\n%s%s", err, l.out.String(), l.errs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("sync --listen did not get ready:\n%s%s", l.out.String(), l.errs.String())
	}
	t.Cleanup(func() {
		l.cancel()
		select {
		case <-l.done:
		case <-time.After(30 * time.Second):
			t.Error("sync --listen did not stop")
		}
	})
	return l
}

// stop cancels sync --listen, as SIGINT does, and returns its error.
func (l *listening) stop(t *testing.T) error {
	t.Helper()
	l.cancel()
	select {
	case err := <-l.done:
		l.done <- nil // for Cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("sync --listen did not stop")
		return nil
	}
}

func (l *listening) mirror(t *testing.T) syncState {
	t.Helper()
	st, err := loadSyncState(l.file)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// count returns how many stdout lines match re.
func (l *listening) count(re string) int {
	return len(regexp.MustCompile("(?m)"+re).FindAllString(l.out.String(), -1))
}

// waitFor waits until cond holds, checking every 20 ms for 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// subscriptions lists the caller's subscriptions on the server.
func subscriptions(t *testing.T, base, tok string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, v := range call(t, http.MethodGet, base+"/subscriptions", tok, "")["value"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// notify posts a notification body to the listener and checks it was
// accepted.
func (l *listening) notify(t *testing.T, body string) {
	t.Helper()
	resp, err := http.Post(l.url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("the listener answered %d to %s", resp.StatusCode, body)
	}
}

// TestSyncListen: sync --listen subscribes to the collection of its delta
// URL, mirrors creates, updates and deletes as their notifications
// arrive (it never polls), and deletes its subscription on cancel.
func TestSyncListen(t *testing.T) {
	s := startServe(t, "--emulator")
	tok := mintToken(t, s.db, "--user", "demo@contoso.com")
	a := call(t, http.MethodPost, s.base+"/me/contacts", tok, `{"givenName":"Ada"}`)["id"].(string)
	l := startListen(t, tok, s.base+"/me/contacts/delta?$select=givenName", nil)

	if st := l.mirror(t); len(st.Objects) != 1 || string(st.Objects[a]["givenName"]) != `"Ada"` || st.DeltaLink == "" {
		t.Fatalf("after the first round: %+v", st)
	}
	subs := subscriptions(t, s.base, tok)
	if len(subs) != 1 {
		t.Fatalf("subscriptions: %v", subs)
	}
	sub := subs[0]
	if sub["resource"] != "me/contacts" || sub["changeType"] != "created,updated,deleted" ||
		sub["notificationUrl"] != l.url || sub["lifecycleNotificationUrl"] != l.url {
		t.Errorf("subscription %v, want me/contacts to %s", sub, l.url)
	}
	if n := l.count(`^\S+: subscription ` + sub["id"].(string) + ` created for me/contacts, expires \S+$`); n != 1 {
		t.Errorf("%d created lines:\n%s", n, l.out.String())
	}

	b := call(t, http.MethodPost, s.base+"/me/contacts", tok, `{"givenName":"Alan"}`)["id"].(string)
	c := call(t, http.MethodPost, s.base+"/me/contacts", tok, `{"givenName":"Grace"}`)["id"].(string)
	call(t, http.MethodPatch, s.base+"/me/contacts/"+a, tok, `{"givenName":"Ada L."}`)
	waitFor(t, "the new and changed contacts in the mirror", func() bool {
		st := l.mirror(t)
		return len(st.Objects) == 3 && st.Objects[b] != nil && st.Objects[c] != nil && string(st.Objects[a]["givenName"]) == `"Ada L."`
	})
	call(t, http.MethodDelete, s.base+"/me/contacts/"+b, tok, "")
	waitFor(t, "the deleted contact gone from the mirror", func() bool {
		st := l.mirror(t)
		return len(st.Objects) == 2 && st.Objects[b] == nil
	})

	if err := l.stop(t); err != nil {
		t.Fatalf("sync --listen ended with %v\n%s", err, l.errs.String())
	}
	// A round saves the file before it prints its line: count the lines
	// once all are printed. The writes and the delete, waited for apart,
	// cannot share a round.
	if n := l.count(`^\S+: \d+ objects, \d+ changes applied, 0 resets, in \S+$`); n < 2 {
		t.Errorf("%d rounds after the first, want at least one for the writes and one for the delete:\n%s", n, l.out.String())
	}
	if n := l.count(`^\S+: subscription ` + sub["id"].(string) + ` deleted$`); n != 1 {
		t.Errorf("no deleted line:\n%s", l.out.String())
	}
	if subs := subscriptions(t, s.base, tok); len(subs) != 0 {
		t.Errorf("after cancel the server still has %v", subs)
	}
	if st := l.mirror(t); len(st.Objects) != 2 {
		t.Errorf("the saved mirror: %+v", st)
	}
}

// TestSyncListenLifecycle: a missed notification makes a full resync; a
// subscriptionRemoved makes a new subscription and a full resync; a
// reauthorizationRequired renews. The notifications are posted as the
// server would, with the clientState that Main.Rand fixes.
func TestSyncListenLifecycle(t *testing.T) {
	s := startServe(t, "--emulator")
	tok := mintToken(t, s.db, "--user", "demo@contoso.com")
	folder := call(t, http.MethodPost, s.base+"/me/contactFolders", tok, `{"displayName":"Friends"}`)["id"].(string)
	a := call(t, http.MethodPost, s.base+"/me/contactFolders/"+folder+"/contacts", tok, `{"givenName":"Ada"}`)["id"].(string)
	seed := bytes.Repeat([]byte{7}, 32)
	clientState, err := newClientState(bytes.NewReader(seed))
	if err != nil {
		t.Fatal(err)
	}
	l := startListen(t, tok, s.base+"/me/contactFolders/"+folder+"/contacts/delta", bytes.NewReader(seed))
	subs := subscriptions(t, s.base, tok)
	if len(subs) != 1 || subs[0]["resource"] != "me/contactFolders/"+folder+"/contacts" {
		t.Fatalf("subscriptions: %v", subs)
	}
	id := subs[0]["id"].(string)
	lifecycle := func(event, subID, state string) string {
		return fmt.Sprintf(`{"value":[{"subscriptionId":%q,"subscriptionExpirationDateTime":"2030-01-01T00:00:00Z","clientState":%q,"lifecycleEvent":%q,"tenantId":"t"}]}`, subID, state, event)
	}

	// The first round is a full one: it resets the empty mirror.
	resyncs := func() int { return l.count(`: 1 objects, 1 changes applied, 1 resets, in `) }
	if n := resyncs(); n != 1 {
		t.Fatalf("%d full rounds at start:\n%s", n, l.out.String())
	}
	// A wrong clientState is dropped. The loop handles work in the order
	// it arrives, so by the time it renews after the reauthorizationRequired
	// posted next, a missed it had accepted would have shown.
	l.notify(t, lifecycle("missed", id, "guess"))
	l.notify(t, lifecycle("reauthorizationRequired", id, clientState))
	waitFor(t, "a renewal", func() bool {
		return l.count(`: subscription `+id+` renewed until \S+ \(reauthorizationRequired\)$`) == 1
	})
	if n := l.count(`: missed notifications: full resync$`); n != 0 || resyncs() != 1 {
		t.Fatalf("a missed notification with a wrong clientState was acted on:\n%s", l.out.String())
	}

	l.notify(t, lifecycle("missed", id, clientState))
	waitFor(t, "a full resync after missed", func() bool { return resyncs() == 2 })
	if n := l.count(`: missed notifications: full resync$`); n != 1 {
		t.Errorf("%d missed lines, want 1:\n%s", n, l.out.String())
	}
	if st := l.mirror(t); len(st.Objects) != 1 || string(st.Objects[a]["givenName"]) != `"Ada"` {
		t.Errorf("after the resync: %+v", st)
	}

	l.notify(t, lifecycle("subscriptionRemoved", "00000000-0000-0000-0000-000000000000", clientState)) // not ours: ignored
	l.notify(t, lifecycle("subscriptionRemoved", id, clientState))
	waitFor(t, "a new subscription and another resync", func() bool { return resyncs() == 3 })
	if l.count(`: subscription `+id+` removed by the server$`) != 1 || l.count(`: subscription \S+ created for `) != 2 {
		t.Errorf("stdout:\n%s", l.out.String())
	}
	subs = subscriptions(t, s.base, tok)
	if len(subs) != 1 || subs[0]["id"] == id {
		t.Fatalf("after subscriptionRemoved the server has %v, want one new subscription", subs)
	}
	b := call(t, http.MethodPost, s.base+"/me/contactFolders/"+folder+"/contacts", tok, `{"givenName":"Alan"}`)["id"].(string)
	waitFor(t, "a contact made after the new subscription", func() bool { return l.mirror(t).Objects[b] != nil })

	if err := l.stop(t); err != nil {
		t.Fatal(err)
	}
	if subs := subscriptions(t, s.base, tok); len(subs) != 0 {
		t.Errorf("after cancel the server still has %v", subs)
	}
}

// TestSyncListenRenews: the subscription is renewed before it expires.
func TestSyncListenRenews(t *testing.T) {
	s := startServe(t, "--emulator")
	tok := mintToken(t, s.db, "--user", "demo@contoso.com")
	l := startListen(t, tok, s.base+"/me/contactFolders/delta", nil, "--subscription-lifetime", "3s")
	subs := subscriptions(t, s.base, tok)
	if len(subs) != 1 || subs[0]["resource"] != "me/contactFolders" {
		t.Fatalf("subscriptions: %v", subs)
	}
	id := subs[0]["id"].(string)
	first, _ := time.Parse(time.RFC3339, subs[0]["expirationDateTime"].(string))
	waitFor(t, "a renewal", func() bool { return l.count(`: subscription `+id+` renewed until \S+ \(due\)$`) > 0 })
	sub := call(t, http.MethodGet, s.base+"/subscriptions/"+id, tok, "")
	if later, _ := time.Parse(time.RFC3339, sub["expirationDateTime"].(string)); !later.After(first) {
		t.Errorf("expiry %s after renewal, was %s", later, first)
	}
	if err := l.stop(t); err != nil {
		t.Fatal(err)
	}
}

// TestSyncListenRefused: a subscription the server refuses ends sync
// --listen with the server's answer.
func TestSyncListenRefused(t *testing.T) {
	s := startServe(t) // no --emulator: http receivers are refused
	tok := mintToken(t, s.db, "--user", "demo@contoso.com")
	var out syncBuffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
	err := m.Run(context.Background(), []string{"sync", "--listen", "127.0.0.1:0", "--url", s.base + "/me/contacts/delta",
		"--out", filepath.Join(t.TempDir(), "m.json"), "--token", tok})
	if err == nil || !strings.Contains(err.Error(), "InvalidRequest") || !strings.Contains(err.Error(), "scheme='http' is not supported") {
		t.Fatalf("sync --listen against a server without --emulator: %v", err)
	}
}

func TestSyncListenFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--listen", "127.0.0.1:0", "--every", "1m"},
		{"--notification-url", "https://hooks.example.com/"},
		{"--subscription-lifetime", "2h"},
		{"--listen", "127.0.0.1:0", "--subscription-lifetime", "0s"},
		{"--listen", "127.0.0.1:0", "--notification-url", "hooks.example.com"},
		{"--listen", "127.0.0.1:0", "--url", "http://127.0.0.1:1/v1.0/me/contacts"},
	} {
		var out syncBuffer
		m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }}
		err := m.Run(context.Background(), append([]string{"sync", "--out", filepath.Join(t.TempDir(), "m.json"), "--token", "x", "--url", "http://127.0.0.1:1/v1.0/me/contacts/delta"}, args...))
		if err == nil || err == flag.ErrHelp {
			t.Errorf("sync %v: %v, want a refusal", args, err)
		}
	}
}

func TestDeltaResource(t *testing.T) {
	for _, tc := range []struct{ url, base, resource string }{
		{"https://graph.microsoft.com/v1.0/me/contacts/delta?$select=displayName", "https://graph.microsoft.com/v1.0", "me/contacts"},
		{"http://localhost:8080/v1.0/me/contactFolders/AAMk%2F1=/contacts/delta", "http://localhost:8080/v1.0", "me/contactFolders/AAMk%2F1=/contacts"},
		{"http://h/v1.0/me/contactFolders/delta", "http://h/v1.0", "me/contactFolders"},
		{"http://h/v1.0/contacts/delta?$deltatoken=x", "http://h/v1.0", "contacts"},
		{"http://h/prefix/v1.0/users/ada@contoso.com/contacts/delta()", "http://h/prefix/v1.0", "users/ada@contoso.com/contacts"},
		{"https://graph.microsoft.com/beta/me/contacts/microsoft.graph.delta()", "https://graph.microsoft.com/beta", "me/contacts"},
		{"http://h/V1.0/Me/Contacts/Delta", "http://h/V1.0", "Me/Contacts"},
	} {
		base, res, err := deltaResource(tc.url)
		if err != nil || base != tc.base || res != tc.resource {
			t.Errorf("deltaResource(%s) = %q, %q, %v; want %q, %q", tc.url, base, res, err, tc.base, tc.resource)
		}
	}
	for _, bad := range []string{"/v1.0/me/contacts/delta", "http://h/me/contacts/delta", "http://h/v1.0/me/contacts", "http://h/v1.0/delta", "http://h/v1.0"} {
		if _, _, err := deltaResource(bad); err == nil {
			t.Errorf("deltaResource(%s) must fail", bad)
		}
	}
}
