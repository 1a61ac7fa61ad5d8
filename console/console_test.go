package console

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, target string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Result()
}

// TestEmbeddedFiles serves every embedded file with its media type, the
// CSP and nosniff.
func TestEmbeddedFiles(t *testing.T) {
	h := Handler(Options{})
	n := 0
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		name := strings.TrimPrefix(p, "static/")
		resp := get(t, h, http.MethodGet, Prefix+"/"+name)
		body, _ := io.ReadAll(resp.Body)
		want, _ := fs.ReadFile(static, p)
		if resp.StatusCode != http.StatusOK || string(body) != string(want) {
			t.Errorf("GET %s: %d, %d bytes, want 200 and the file's %d", name, resp.StatusCode, len(body), len(want))
		}
		if got, want := resp.Header.Get("Content-Type"), types[path.Ext(name)]; got != want || want == "" {
			t.Errorf("GET %s: Content-Type %q, want %q", name, got, want)
		}
		checkHeaders(t, name, resp)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 8 {
		t.Fatalf("only %d embedded files", n)
	}
}

func checkHeaders(t *testing.T, name string, resp *http.Response) {
	t.Helper()
	if got := resp.Header.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
		t.Errorf("%s: Content-Security-Policy %q", name, got)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q", name, got)
	}
	if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("%s: X-Frame-Options %q", name, got)
	}
}

// TestPolicy: the CSP allows only the console's own origin, and the page
// loads nothing from elsewhere and runs no inline script or style.
func TestPolicy(t *testing.T) {
	for _, d := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "img-src 'self' data: blob:"} {
		if !strings.Contains(ContentSecurityPolicy, d) {
			t.Errorf("the policy has no %q", d)
		}
	}
	if strings.Contains(ContentSecurityPolicy, "unsafe") {
		t.Error("the policy allows unsafe sources")
	}
	outside := regexp.MustCompile(`(?i)(src|href)=["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import|from\s+["'](https?:)?//|import\(\s*["'](https?:)?//`)
	inline := regexp.MustCompile(`(?i)<script(\s[^>]*)?>\s*[^<\s]|\sstyle=|\son[a-z]+=|innerHTML|javascript:`)
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(static, p)
		if m := outside.Find(b); m != nil {
			t.Errorf("%s loads from elsewhere: %q", p, m)
		}
		if m := inline.Find(b); m != nil {
			t.Errorf("%s has inline code or style, or writes HTML: %q", p, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRoutes(t *testing.T) {
	h := Mount(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }), Options{Emulator: true})
	resp := get(t, h, http.MethodGet, "/console")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/console/" {
		t.Errorf("GET /console: %d to %q, want a redirect to /console/", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = get(t, h, http.MethodGet, "/console/")
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(string(b), `<script type="module" src="js/app.js">`) {
		t.Errorf("GET /console/: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	checkHeaders(t, "/console/", resp)
	etag := resp.Header.Get("ETag")
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/console/", nil)
	req.Header.Set("If-None-Match", etag)
	h.ServeHTTP(rec, req)
	if etag == "" || rec.Code != http.StatusNotModified {
		t.Errorf("GET /console/ with If-None-Match %s: %d, want 304", etag, rec.Code)
	}
	resp = get(t, h, http.MethodGet, "/console/config.json")
	if b, _ := io.ReadAll(resp.Body); string(b) != `{"apiBase":"/v1.0","emulator":true}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("config.json: %s %q", b, resp.Header.Get("Content-Type"))
	}
	for _, p := range []string{"/console/nope.js", "/console/../console.go", "/console/js/", "/console/console.go", "/console/.hidden.js"} {
		if resp := get(t, h, http.MethodGet, p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	if resp := get(t, h, http.MethodPost, "/console/"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /console/: %d, want 405", resp.StatusCode)
	}
	for _, p := range []string{"/v1.0/me", "/consoles", "/dav/"} {
		if resp := get(t, h, http.MethodGet, p); resp.StatusCode != http.StatusTeapot {
			t.Errorf("GET %s went to the console (%d)", p, resp.StatusCode)
		}
	}
}
