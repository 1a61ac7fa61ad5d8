package carddav_test

import (
	"bytes"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// litmusLine is one result of a litmus suite: number, test name and
// outcome (pass, FAIL, SKIPPED; a pass with warnings is a pass). litmus
// prints each test's name twice on a terminal-less run.
var litmusLine = regexp.MustCompile(`(\d+)\.\s(\w+)\.+\s+(?:WARNING:[^\n]*\n[\s.]*)?(pass|FAIL|SKIPPED)`)

// runLitmus runs one litmus suite against url and returns each test's
// outcome by name, and the whole output.
func runLitmus(t *testing.T, suite, url, user, pass string) (map[string]string, string) {
	t.Helper()
	cmd := exec.Command("/usr/libexec/litmus/"+suite, "--htdocs", "/usr/share/litmus/htdocs", url, user, pass)
	cmd.Dir = t.TempDir() // debug.log and child.log
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run() // a failing test is a non-zero exit: the results say which
	res := map[string]string{}
	for _, m := range litmusLine.FindAllStringSubmatch(out.String(), -1) {
		res[m[2]] = m[3]
	}
	return res, out.String()
}

// TestLitmus runs the WebDAV litmus suites (Debian package litmus) over
// real HTTP with an app password, and pins what CardDAV can pass.
//
// litmus tests a generic WebDAV file server: every suite begins with
// MKCOL of a "litmus" collection under its URL and then PUTs plain-text
// bodies, locks, copies and sets dead properties in it. On a fresh address
// book that MKCOL is refused (403: an address book holds no collections,
// RFC 6352 §5.2), so every suite stops at begin. On the home set the MKCOL
// makes an address book at .../litmus/, which the suites then use: what
// fails there is what an address book refuses (plain-text bodies are 400,
// nested collections and dead properties 403).
func TestLitmus(t *testing.T) {
	if _, err := exec.LookPath("litmus"); err != nil {
		t.Skip("litmus is not installed (Debian package litmus): the WebDAV litmus suite is not run")
	}
	suites := []string{"basic", "copymove", "props", "locks", "http"}
	check := func(t *testing.T, suite string, res map[string]string, out string, wantRes map[string]string) {
		t.Helper()
		for name, w := range wantRes {
			if res[name] != w {
				t.Errorf("litmus %s: %s is %q, want %q; output:\n%s", suite, name, res[name], w, out)
			}
		}
	}
	t.Run("address book", func(t *testing.T) {
		e := newEnv(t)
		resp, body := e.do("MKCOL", "/dav/"+e.user+"/contacts/litmus/", mkcolBody)
		want(t, resp, body, http.StatusCreated)
		url := e.srv.URL + resp.Header.Get("Location")
		for _, suite := range suites {
			res, out := runLitmus(t, suite, url, e.upn, e.pass)
			t.Logf("litmus %s on a fresh address book:\n%s", suite, out)
			check(t, suite, res, out, map[string]string{"init": "pass", "begin": "FAIL"})
			if !strings.Contains(out, "403 Forbidden") {
				t.Errorf("litmus %s: begin did not fail on the refused MKCOL:\n%s", suite, out)
			}
		}
	})
	t.Run("home set", func(t *testing.T) {
		for _, suite := range suites {
			e := newEnv(t) // each suite on a fresh store: litmus cannot delete the book it made
			res, out := runLitmus(t, suite, e.srv.URL+"/dav/"+e.user+"/contacts/", e.upn, e.pass)
			t.Logf("litmus %s on the home set:\n%s", suite, out)
			wantRes := map[string]string{"init": "pass", "begin": "pass", "finish": "pass"}
			switch suite {
			case "basic":
				for _, n := range []string{"options", "put_no_parent", "delete_null", "mkcol_no_parent"} {
					wantRes[n] = "pass"
				}
				wantRes["put_get"] = "FAIL" // 400: a plain-text body is not a vCard
			case "props":
				for _, n := range []string{"propfind_invalid", "propfind_d0", "propextended", "propwformed", "propcleanup"} {
					wantRes[n] = "pass"
				}
			case "copymove":
				for _, n := range []string{"copy_cleanup", "move_cleanup"} {
					wantRes[n] = "pass"
				}
			case "locks":
				wantRes["precond"] = "SKIPPED" // no DAV class 2: CardDAV needs no locks; the suite stops there
				delete(wantRes, "finish")
			case "http":
				wantRes["expect100"] = "pass"
			}
			check(t, suite, res, out, wantRes)
		}
	})
}
