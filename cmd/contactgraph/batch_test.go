package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

var batchRE = regexp.MustCompile("(?s)<!-- batch:begin -->\\s*```sh\\n(.*?)```\\s*<!-- batch:end -->")

// TestReadmeBatch runs the README's $batch commands as pasted. It skips
// until the README holds the batch block (its text came with the $batch
// branch, to be pasted in by whoever merges it).
func TestReadmeBatch(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := batchRE.FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no batch block")
	}
	runReadmeBatch(t, string(m[1]))
}

// runReadmeBatch runs the batch block against a real server and checks
// what it shows: two creates and a 403, a 404 with a 424 after it, and the
// 400 of duplicate ids.
func runReadmeBatch(t *testing.T, block string) {
	t.Helper()
	s := startServe(t)
	tok := mintToken(t, s.db, "--tenant", "contoso", "--user", "demo@contoso.com", "--scopes", "Contacts.ReadWrite")
	out := bash(t, "../..", block, "BASE="+s.base, "TOKEN="+tok)
	for _, want := range []string{`"givenName":"Katherine"`, `"givenName":"Dorothy"`, `{"id":"3","status":403,`, `"code":"Authorization_RequestDenied"`,
		`{"id":"1","status":404,`, `{"id":"2","status":424,`, `"code":"FailedDependency"`,
		`"code":"BadRequest","message":"Request Id A has to be unique in a batch."`} {
		if !strings.Contains(out, want) {
			t.Errorf("the batch commands' output lacks %s:\n%s", want, out)
		}
	}
	if n := strings.Count(out, `"status":201`); n != 2 {
		t.Errorf("%d creates answered 201, want 2:\n%s", n, out)
	}
	if strings.Contains(out, `"givenName":"Never"`) {
		t.Errorf("the request after the failed one ran:\n%s", out)
	}
}
