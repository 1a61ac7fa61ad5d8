package carddav_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// queryBody is an addressbook-query with the given filter and limit.
func queryBody(filter string, limit int) string {
	l := ""
	if limit > 0 {
		l = fmt.Sprintf("<C:limit><C:nresults>%d</C:nresults></C:limit>", limit)
	}
	return `<?xml version="1.0"?><C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">` +
		`<D:prop><D:getetag/><C:address-data/></D:prop>` + filter + l + `</C:addressbook-query>`
}

func vcf(uid, fn, extra string) string {
	return "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + fn + "\r\n" + extra + "END:VCARD\r\n"
}

func TestAddressbookQuery(t *testing.T) {
	e := newEnv(t)
	cards := map[string]string{
		"a.vcf": vcf("uid-a", "Ada Lovelace", "EMAIL;TYPE=INTERNET:ada@example.com\r\nTEL;TYPE=CELL:+44 2\r\nNICKNAME:Countess\r\n"),
		"b.vcf": vcf("uid-b", "Charles Babbage", "EMAIL;TYPE=INTERNET:charles@example.org\r\n"),
		"c.vcf": vcf("uid-c", "Émilie du Châtelet", "TEL;TYPE=WORK:+33 1\r\n"),
	}
	for name, c := range cards {
		resp, body := e.do("PUT", e.book()+name, c, "Content-Type", "text/vcard")
		want(t, resp, body, http.StatusCreated)
	}
	resp, body := e.do("PROPFIND", e.book(), `<D:propfind xmlns:D="DAV:"><D:prop><D:supported-report-set/></D:prop></D:propfind>`, "Depth", "0")
	want(t, resp, body, http.StatusMultiStatus)
	contains(t, body, "<C:addressbook-query/>")

	pf := func(name, inner string) string {
		return `<C:prop-filter name="` + name + `">` + inner + `</C:prop-filter>`
	}
	pfTest := func(name, test, inner string) string {
		return `<C:prop-filter name="` + name + `" test="` + test + `">` + inner + `</C:prop-filter>`
	}
	tm := func(attrs, text string) string { return `<C:text-match ` + attrs + `>` + text + `</C:text-match>` }
	for _, c := range []struct {
		name, filter string
		want         []string
	}{
		{"no filter terms", `<C:filter/>`, []string{"a", "b", "c"}},
		{"FN contains, casemap", `<C:filter>` + pf("FN", tm(`match-type="contains"`, "LOVE")) + `</C:filter>`, []string{"a"}},
		{"FN contains by default", `<C:filter>` + pf("FN", tm(``, "babb")) + `</C:filter>`, []string{"b"}},
		{"FN non-ASCII casemap", `<C:filter>` + pf("FN", tm(`collation="i;unicode-casemap"`, "ÉMILIE")) + `</C:filter>`, []string{"c"}},
		{"FN octet is case-sensitive", `<C:filter>` + pf("FN", tm(`collation="i;octet"`, "ada")) + `</C:filter>`, nil},
		{"FN equals", `<C:filter>` + pf("FN", tm(`match-type="equals"`, "charles babbage")) + `</C:filter>`, []string{"b"}},
		{"FN equals is whole", `<C:filter>` + pf("FN", tm(`match-type="equals"`, "charles")) + `</C:filter>`, nil},
		{"EMAIL ends-with", `<C:filter>` + pf("EMAIL", tm(`match-type="ends-with"`, "@example.org")) + `</C:filter>`, []string{"b"}},
		{"EMAIL starts-with", `<C:filter>` + pf("EMAIL", tm(`match-type="starts-with"`, "ADA@")) + `</C:filter>`, []string{"a"}},
		{"TEL contains", `<C:filter>` + pf("TEL", tm(`match-type="contains"`, "+33")) + `</C:filter>`, []string{"c"}},
		{"NICKNAME equals", `<C:filter>` + pf("NICKNAME", tm(`match-type="equals"`, "countess")) + `</C:filter>`, []string{"a"}},
		{"UID equals", `<C:filter>` + pf("UID", tm(`match-type="equals"`, "uid-c")) + `</C:filter>`, []string{"c"}},
		{"negate", `<C:filter>` + pf("FN", tm(`negate-condition="yes"`, "ada")) + `</C:filter>`, []string{"b", "c"}},
		{"is-not-defined", `<C:filter>` + pf("EMAIL", `<C:is-not-defined/>`) + `</C:filter>`, []string{"c"}},
		{"defined", `<C:filter>` + pf("TEL", ``) + `</C:filter>`, []string{"a", "c"}},
		{"anyof", `<C:filter test="anyof">` + pf("FN", tm(``, "ada")) + pf("TEL", tm(``, "+33")) + `</C:filter>`, []string{"a", "c"}},
		{"allof", `<C:filter test="allof">` + pf("FN", tm(``, "a")) + pf("EMAIL", tm(``, "example")) + `</C:filter>`, []string{"a", "b"}},
		{"allof none", `<C:filter test="allof">` + pf("FN", tm(``, "ada")) + pf("TEL", tm(``, "+33")) + `</C:filter>`, nil},
		{"prop-filter allof", `<C:filter>` + pfTest("FN", "allof", tm(``, "ada")+tm(``, "lace")) + `</C:filter>`, []string{"a"}},
		{"prop-filter anyof", `<C:filter>` + pfTest("FN", "anyof", tm(``, "ada")+tm(``, "babbage")) + `</C:filter>`, []string{"a", "b"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.do("REPORT", e.book(), queryBody(c.filter, 0), "Depth", "1")
			want(t, resp, body, http.StatusMultiStatus)
			got := queryHits(body)
			slices.Sort(got)
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("got %v, want %v:\n%s", got, c.want, body)
			}
			for _, n := range got {
				contains(t, body, "<C:address-data>BEGIN:VCARD", "UID:uid-"+n, "<D:getetag>")
			}
		})
	}

	// A limit: at most that many, and 507 for the collection when more match.
	resp, body = e.do("REPORT", e.book(), queryBody(`<C:filter/>`, 2), "Depth", "1")
	want(t, resp, body, http.StatusMultiStatus)
	if got := queryHits(body); len(got) != 2 {
		t.Fatalf("limit 2: %v:\n%s", got, body)
	}
	contains(t, body, "<D:href>"+e.book()+"</D:href><D:status>HTTP/1.1 507 Insufficient Storage</D:status>")
	resp, body = e.do("REPORT", e.book(), queryBody(`<C:filter/>`, 3), "Depth", "1")
	want(t, resp, body, http.StatusMultiStatus)
	if strings.Contains(body, "507") || len(queryHits(body)) != 3 {
		t.Fatalf("limit 3:\n%s", body)
	}

	// What the evaluator does not do is a 403 with its precondition.
	for _, c := range []struct{ filter, elem string }{
		{`<C:filter>` + pf("FN", tm(`collation="i;klingon"`, "x")) + `</C:filter>`, "<C:supported-collation/>"},
		{`<C:filter>` + pf("TEL", `<C:param-filter name="TYPE"/>`) + `</C:filter>`, "<C:supported-filter/>"},
		{`<C:filter>` + pf("FN", tm(`match-type="regex"`, "x")) + `</C:filter>`, "<C:supported-filter/>"},
		{``, "<C:valid-filter/>"},
	} {
		resp, body := e.do("REPORT", e.book(), queryBody(c.filter, 0), "Depth", "1")
		want(t, resp, body, http.StatusForbidden)
		contains(t, body, c.elem)
	}
	resp, body = e.do("REPORT", e.book(), queryBody(`<C:filter/><C:limit><C:nresults>0</C:nresults></C:limit>`, 0), "Depth", "1")
	want(t, resp, body, http.StatusBadRequest)
}

// queryHits lists the card names (without ".vcf") of a multistatus, in order.
func queryHits(body string) []string {
	var out []string
	for _, part := range strings.Split(body, "<D:href>")[1:] {
		href, _, _ := strings.Cut(part, "</D:href>")
		if name, ok := strings.CutSuffix(href, ".vcf"); ok {
			out = append(out, name[strings.LastIndex(name, "/")+1:])
		}
	}
	return out
}
