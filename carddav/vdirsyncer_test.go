package carddav_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVdirsyncer two-way syncs the default address book with a local
// folder using a real CardDAV client (Debian package vdirsyncer).
func TestVdirsyncer(t *testing.T) {
	bin, err := exec.LookPath("vdirsyncer")
	if err != nil {
		t.Skip("vdirsyncer is not installed (apt-get install -y vdirsyncer): the real-client test is skipped")
	}
	e := newEnv(t)
	dir := t.TempDir()
	local := filepath.Join(dir, "local")
	conf := filepath.Join(dir, "config")
	if err := os.MkdirAll(local, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := `[general]
status_path = "` + filepath.Join(dir, "status") + `/"

[pair book]
a = "local"
b = "remote"
collections = null
conflict_resolution = "b wins"

[storage local]
type = "filesystem"
path = "` + local + `/"
fileext = ".vcf"

[storage remote]
type = "carddav"
url = "` + e.srv.URL + e.book() + `"
username = "` + e.upn + `"
password = "` + e.pass + `"
`
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"-c", conf}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+dir, "LC_ALL=C.UTF-8")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("vdirsyncer %v: %v\n%s", args, err, out)
		}
	}
	sync := func() { t.Helper(); run("sync") }
	run("discover", "book")
	localCards := func() map[string]string {
		t.Helper()
		files, _ := filepath.Glob(filepath.Join(local, "*.vcf"))
		out := map[string]string{}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			fn := regexp.MustCompile(`(?m)^FN:(.*?)\r?$`).FindStringSubmatch(string(b))
			if fn == nil {
				t.Fatalf("%s has no FN:\n%s", f, b)
			}
			out[fn[1]] = f
		}
		return out
	}
	graphNames := func() map[string]string {
		t.Helper()
		resp, body := e.graph("GET", "/me/contacts?$select=displayName", "")
		want(t, resp, body, 200)
		out := map[string]string{}
		for _, m := range regexp.MustCompile(`"id":"([^"]+)","displayName":"([^"]*)"`).FindAllStringSubmatch(body, -1) {
			out[m[2]] = m[1]
		}
		if n := strings.Count(body, `"id":`); n != len(out) {
			t.Fatalf("%d contacts for %d names (a duplicate?): %s", n, len(out), body)
		}
		return out
	}

	// A Graph contact reaches the folder; a local card reaches Graph.
	resp, body := e.graph("POST", "/me/contacts", `{"givenName":"Grace","surname":"Hopper","emailAddresses":[{"address":"grace@example.com"}]}`)
	want(t, resp, body, 201)
	sync()
	if _, ok := localCards()["Grace Hopper"]; !ok || len(localCards()) != 1 {
		t.Fatalf("local cards after the first sync: %v", localCards())
	}
	card := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:local-alan\r\nFN:Alan Turing\r\nN:Turing;Alan;;;\r\nX-KEPT:yes\r\nEND:VCARD\r\n"
	if err := os.WriteFile(filepath.Join(local, "local-alan.vcf"), []byte(card), 0o644); err != nil {
		t.Fatal(err)
	}
	sync()
	g := graphNames()
	if _, ok := g["Alan Turing"]; !ok || len(g) != 2 {
		t.Fatalf("Graph contacts after a local create: %v", g)
	}

	// Edits on both sides propagate.
	alan := strings.Replace(card, "FN:Alan Turing", "FN:Alan M. Turing", 1)
	if err := os.WriteFile(filepath.Join(local, "local-alan.vcf"), []byte(alan), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, body = e.graph("PATCH", "/me/contacts/"+g["Grace Hopper"], `{"displayName":"Rear Admiral Grace Hopper"}`)
	want(t, resp, body, 200)
	sync()
	g = graphNames()
	lc := localCards()
	if _, ok := g["Alan M. Turing"]; !ok || len(g) != 2 {
		t.Fatalf("Graph contacts after a local edit: %v", g)
	}
	if _, ok := lc["Rear Admiral Grace Hopper"]; !ok || len(lc) != 2 {
		t.Fatalf("local cards after a Graph edit: %v", lc)
	}

	// Deletes on both sides propagate; another sync changes nothing.
	if err := os.Remove(lc["Alan M. Turing"]); err != nil {
		t.Fatal(err)
	}
	resp, body = e.graph("DELETE", "/me/contacts/"+g["Rear Admiral Grace Hopper"], "")
	want(t, resp, body, 204)
	sync()
	sync()
	if g, lc := graphNames(), localCards(); len(g) != 0 || len(lc) != 0 {
		t.Fatalf("after deletes on both sides: Graph %v, local %v", g, lc)
	}
}
