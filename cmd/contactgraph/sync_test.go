package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func call(t *testing.T, method, url, token, body string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d", method, url, resp.StatusCode)
	}
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return m
}

// TestSync: sync mirrors a folder, resumes from its saved deltaLink, and
// starts over by itself when the server forces a resync.
func TestSync(t *testing.T) {
	s := startServe(t, "--emulator")
	tok := mintToken(t, s.db, "--user", "demo@contoso.com")
	ctl := mintToken(t, s.db, "--app", "harness", "--roles", "Emulator.Control")
	a := call(t, http.MethodPost, s.base+"/me/contacts", tok, `{"givenName":"Ada"}`)["id"].(string)
	b := call(t, http.MethodPost, s.base+"/me/contacts", tok, `{"givenName":"Alan"}`)["id"].(string)
	out := filepath.Join(t.TempDir(), "mirror.json")
	run := func(args ...string) string {
		t.Helper()
		var buf syncBuffer
		m := &Main{Stdout: &buf, Stderr: &buf, Getenv: func(string) string { return "" }}
		if err := m.Run(context.Background(), append([]string{"sync", "--out", out, "--token", tok, "--page-size", "1"}, args...)); err != nil {
			t.Fatalf("sync: %v\n%s", err, buf.String())
		}
		return buf.String()
	}
	read := func() syncState {
		t.Helper()
		st, err := loadSyncState(out)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	run("--url", s.base+"/me/contacts/delta?$select=givenName")
	st := read()
	if len(st.Objects) != 2 || string(st.Objects[a]["givenName"]) != `"Ada"` || st.DeltaLink == "" {
		t.Fatalf("first run: %+v", st)
	}
	if _, ok := st.Objects[a]["surname"]; ok {
		t.Fatal("$select must hold: surname was mirrored")
	}
	call(t, http.MethodPatch, s.base+"/me/contacts/"+a, tok, `{"givenName":"Ada L."}`)
	call(t, http.MethodDelete, s.base+"/me/contacts/"+b, tok, "")
	if got := run(); !strings.Contains(got, "1 objects, 2 changes applied, 0 resets") {
		t.Fatalf("second run said %q", got)
	}
	if st := read(); len(st.Objects) != 1 || string(st.Objects[a]["givenName"]) != `"Ada L."` {
		t.Fatalf("second run: %+v", st)
	}
	call(t, http.MethodPost, strings.TrimSuffix(s.base, "/v1.0")+"/emulator/resync", ctl, "")
	if got := run(); !strings.Contains(got, "1 resets") {
		t.Fatalf("after a forced resync: %q", got)
	}
	if st := read(); len(st.Objects) != 1 {
		t.Fatalf("after the resync: %+v", st)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
}
