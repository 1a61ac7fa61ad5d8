package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph/vcard"
)

// run runs one command in-process; it returns standard output and error.
func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errs bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &errs, Getenv: func(string) string { return "" }}
	err := m.Run(context.Background(), args)
	return out.String(), errs.String(), err
}

// cardsOf returns the cards of a .vcf file, sorted.
func cardsOf(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := vcard.SplitCards(b)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(chunks))
	for i, c := range chunks {
		out[i] = string(c.Text)
	}
	slices.Sort(out)
	return out
}

const vcfFile = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:client-uid-1\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;King;;\r\n" +
	"ORG:Analytical Engines;Research\r\nEMAIL;TYPE=INTERNET:ada@example.com\r\nTEL;TYPE=CELL:+44 2\r\n" +
	"ADR;TYPE=HOME:;;12 St James's Square;London;;SW1;UK\r\nBDAY:1815-12-10\r\nNOTE:two\\nlines\r\n" +
	"X-ABLabel:kept as it is\r\nitem1.X-SOCIAL;TYPE=mastodon:@ada@example.social\r\n" +
	"PHOTO;ENCODING=b;TYPE=PNG:" + pngPixel + "\r\nEND:VCARD\r\n" +
	"\r\n" +
	"BEGIN:VCARD\nVERSION:4.0\nFN:Charles Babbage\nEMAIL:charles@example.org\nEND:VCARD\n"

// pngPixel is a 1×1 PNG, base64.
const pngPixel = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

func TestImportExportVCF(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "cg.db")
	user := []string{"--db", db, "--tenant", "contoso", "--user", "ada@contoso.com"}
	cmd := func(args ...string) (string, string) {
		t.Helper()
		out, errs, err := run(t, append(args, user...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errs)
		}
		return out, errs
	}
	if _, errs, err := run(t, "seed", "--db", db, "--user", "ada@contoso.com", "--contacts", "40", "--org-contacts", "3", "--seed", "7"); err != nil {
		t.Fatal(err, errs)
	}
	in := filepath.Join(dir, "in.vcf")
	if err := os.WriteFile(in, []byte(vcfFile), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := cmd("import", "--vcf", in, "--folder", "Imported")
	if !strings.Contains(out, "imported 2 contacts") {
		t.Fatalf("import: %q", out)
	}
	got := cardsOf(t, export(t, cmd, dir, "imported.vcf", "--folder", "Imported"))
	if len(got) != 2 || !strings.Contains(strings.Join(got, ""), "UID:client-uid-1\r\n") ||
		!strings.Contains(strings.Join(got, ""), "item1.X-SOCIAL;TYPE=mastodon:@ada@example.social\r\n") ||
		!strings.Contains(strings.Join(got, ""), "PHOTO;ENCODING=b;TYPE=PNG:"+pngPixel[:40]) {
		t.Fatalf("exported:\n%s", strings.Join(got, ""))
	}

	// Round trip: the seeded default folder, exported, imported into A,
	// exported, imported into B and exported gives the same cards each time.
	seeded := export(t, cmd, dir, "seeded.vcf")
	cmd("import", "--vcf", seeded, "--folder", "A")
	a := export(t, cmd, dir, "a.vcf", "--folder", "A")
	cmd("import", "--vcf", a, "--folder", "B")
	b := export(t, cmd, dir, "b.vcf", "--folder", "B")
	cs, ca, cb := cardsOf(t, seeded), cardsOf(t, a), cardsOf(t, b)
	if len(cs) != 40 || !slices.Equal(cs, ca) || !slices.Equal(ca, cb) {
		t.Fatalf("round trip: %d seeded, %d in A, %d in B cards; equal %v %v", len(cs), len(ca), len(cb), slices.Equal(cs, ca), slices.Equal(ca, cb))
	}
	// vCard 4.0 too.
	a4 := export(t, cmd, dir, "a4.vcf", "--folder", "A", "--version", "4.0")
	cmd("import", "--vcf", a4, "--folder", "C")
	if c4 := cardsOf(t, export(t, cmd, dir, "c4.vcf", "--folder", "C", "--version", "4.0")); !slices.Equal(cardsOf(t, a4), c4) {
		t.Fatal("vCard 4.0 round trip differs")
	}

	// The directory: the tenant's org contacts.
	d := cardsOf(t, export(t, cmd, dir, "dir.vcf", "--directory"))
	if len(d) != 3 {
		t.Fatalf("%d directory cards", len(d))
	}

	// A bad card refuses the whole file: each is reported, nothing is imported.
	bad := filepath.Join(dir, "bad.vcf")
	text := vcfFile + "BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Old\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nno colon here\r\nEND:VCARD\r\n"
	if err := os.WriteFile(bad, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errs, err := run(t, append([]string{"import", "--vcf", bad, "--folder", "Bad"}, user...)...)
	if err == nil || !strings.Contains(err.Error(), "2 of 4 cards are not valid; nothing imported") ||
		!strings.Contains(errs, "card 3 (line 22):") || !strings.Contains(errs, "card 4 (line 26):") {
		t.Fatalf("bad file: %v\n%s", err, errs)
	}
	if _, _, err := run(t, append([]string{"export", "--vcf", filepath.Join(dir, "x.vcf"), "--folder", "Bad"}, user...)...); err == nil {
		t.Fatal("a refused import made its folder")
	}
	if err := os.WriteFile(bad, []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, append([]string{"import", "--vcf", bad}, user...)...); err == nil || !strings.Contains(err.Error(), "line 1: card 1 has no END:VCARD") {
		t.Fatalf("unterminated: %v", err)
	}
}

// export runs export into dir/name and returns its path.
func export(t *testing.T, cmd func(...string) (string, string), dir, name string, args ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	cmd(append([]string{"export", "--vcf", p}, args...)...)
	return p
}
