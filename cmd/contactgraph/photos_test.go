package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

var photosRE = regexp.MustCompile("(?s)<!-- photos:begin -->\\s*```sh\\n(.*?)```\\s*<!-- photos:end -->")

// TestReadmePhotos runs the README's photo and extension commands, as
// pasted, against a real server.
func TestReadmePhotos(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := photosRE.FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no photos block")
	}
	s := startServe(t)
	tok := mintToken(t, s.db, "--tenant", "contoso", "--user", "demo@contoso.com", "--scopes", "Contacts.ReadWrite")
	out := bash(t, "../..", string(m[1]), "BASE="+s.base, "TOKEN="+tok)
	for _, want := range []string{
		`"@odata.mediaContentType":"image/png"`, `"id":"1x1","width":1,"height":1}`,
		"the photo came back byte for byte",
		`"id":"Microsoft.OutlookServices.OpenTypeExtension.Com.Contoso.Crm","extensionName":"Com.Contoso.Crm","tier":"gold","score":42}`,
		`"displayName":"Grace Hopper","extensions":[{`,
		`"singleValueExtendedProperties":[{"id":"String {66f5a359-4659-4830-9070-00047ec6ac6e} Name CrmId","value":"CRM-1906"}]}`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the photo commands' output lacks %s:\n%s", want, out)
		}
	}
	// The last line is the delta round after the changes: Grace, once.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, `"@odata.deltaLink"`) || strings.Count(last, `"displayName":"Grace Hopper"`) != 1 {
		t.Errorf("the delta round after the photo and the extension: %s", last)
	}
}
