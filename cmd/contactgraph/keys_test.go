package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// TestServePublishesKeys checks that serve publishes its signing key where
// receivers of rich notifications fetch it, and that the key set verifies
// the token serve prints.
func TestServePublishesKeys(t *testing.T) {
	s := startServe(t)
	resp, err := http.Get(strings.TrimSuffix(s.base, "/v1.0") + "/common/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("key set: %s %q: %s", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	kf, err := keyfunc.NewJWKSetJSON(body)
	if err != nil {
		t.Fatalf("key set %s: %v", body, err)
	}
	lines := strings.Split(s.out.String(), "\n")
	var token string
	for i, l := range lines {
		if strings.HasPrefix(l, "token (") && i+1 < len(lines) {
			token = lines[i+1]
		}
	}
	if _, err := jwt.Parse(token, kf.Keyfunc, jwt.WithValidMethods([]string{"RS256"})); err != nil {
		t.Fatalf("the printed token %q does not verify with the published key set: %v", token, err)
	}
}
