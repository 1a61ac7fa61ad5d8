package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServePrintsConsoleLink: serve prints a console link whose #token=
// signs the console in, and the binary serves the console there.
func TestServePrintsConsoleLink(t *testing.T) {
	for _, emulator := range []bool{false, true} {
		var args []string
		if emulator {
			args = append(args, "--emulator")
		}
		s := startServe(t, args...)
		lines := strings.Split(s.out.String(), "\n")
		var link, head string
		for i, l := range lines {
			if strings.HasPrefix(l, "console (") && i+1 < len(lines) {
				head, link = l, lines[i+1]
			}
		}
		origin := strings.TrimSuffix(s.base, "/v1.0")
		page, token, ok := strings.Cut(link, "#token=")
		if !ok || page != origin+"/console/" || strings.Count(token, ".") != 2 {
			t.Fatalf("no console link in:\n%s", s.out.String())
		}
		if got := strings.Contains(head, "Emulator.Control"); got != emulator {
			t.Errorf("emulator %v: the console token's permissions: %s", emulator, head)
		}
		resp, err := http.Get(page)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
			!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") || !strings.Contains(string(body), "js/app.js") {
			t.Fatalf("GET %s: %d %v", page, resp.StatusCode, resp.Header)
		}
		for _, p := range []string{"/v1.0/me/contacts", "/v1.0/contacts", "/v1.0/me/contactFolders"} {
			req, _ := http.NewRequest(http.MethodGet, origin+p, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s with the console token: %d", p, resp.StatusCode)
			}
		}
		s.stop(t)
	}
}
