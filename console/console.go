// Package console serves the web console: a browser view of the Graph API
// and the emulator controls, at /console. Its files are embedded in the
// binary and load nothing from elsewhere. The console calls the public API
// with the token the user signed in with, so it can do nothing a client
// with that token could not.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// Prefix is the path the console is served under.
const Prefix = "/console"

// ContentSecurityPolicy is sent with every console answer: the console
// runs only its own scripts and styles and talks only to its origin.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

//go:embed static
var static embed.FS

// Options configure the console.
type Options struct {
	// Emulator tells the console that the emulator controls are on, so it
	// shows their view. The controls still need Emulator.Control.
	Emulator bool
}

// types maps the extensions of the embedded files to their media types;
// a file of another extension is not served.
var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".json": "application/json",
}

// Handler serves the console under Prefix: /console/ is the page, the rest
// its files, and /console/config.json what the console needs to know of the
// server.
func Handler(o Options) http.Handler {
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	config, _ := json.Marshal(map[string]any{"emulator": o.Emulator, "apiBase": "/v1.0"})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := r.URL.Path
		if p == Prefix {
			http.Redirect(w, r, Prefix+"/", http.StatusMovedPermanently)
			return
		}
		name := strings.TrimPrefix(p, Prefix+"/")
		if name == "" {
			name = "index.html"
		}
		if name == "config.json" {
			h.Set("Content-Type", types[".json"])
			_, _ = w.Write(config)
			return
		}
		typ, ok := types[path.Ext(name)]
		if !ok || !fs.ValidPath(name) || strings.HasPrefix(path.Base(name), ".") {
			http.NotFound(w, r)
			return
		}
		b, err := fs.ReadFile(files, name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", typ)
		// No Last-Modified: the files change with the binary. The ETag
		// lets a browser revalidate (no-cache) without downloading again.
		sum := sha256.Sum256(b)
		h.Set("ETag", `"`+hex.EncodeToString(sum[:12])+`"`)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
	})
}

// Mount serves the console under Prefix and everything else with next.
func Mount(next http.Handler, o Options) http.Handler {
	c := Handler(o)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == Prefix || strings.HasPrefix(r.URL.Path, Prefix+"/") {
			c.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
