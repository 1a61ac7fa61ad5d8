package graphapi

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

// hostileTimeout bounds every request of the hostile tests: a server that
// hangs on an input fails the case instead of the whole run.
const hostileTimeout = 30 * time.Second

// rawCall is one request sent exactly as written: target (path and query)
// goes on the request line byte for byte, without the cleaning or
// re-escaping a URL would get.
type rawCall struct {
	method  string
	target  string // "/v1.0/…?…"
	token   string
	body    []byte // nil: no body
	chunked bool   // send the body without Content-Length
	hdr     []string
}

// rawDo sends c with a client that gives up after hostileTimeout and checks
// the request-id headers of the answer.
func (e *env) rawDo(t *testing.T, c rawCall) result {
	t.Helper()
	var rd io.Reader
	if c.body != nil {
		rd = bytes.NewReader(c.body)
		if c.chunked {
			rd = io.MultiReader(rd) // hides the length
		}
	}
	req, err := http.NewRequest(c.method, e.srv.URL+"/", rd)
	if err != nil {
		t.Fatal(err)
	}
	path, query, _ := strings.Cut(c.target, "?")
	if strings.HasPrefix(path, "//") {
		// An opaque "//…" would go out as an absolute URL with a host.
		req.URL.Path, req.URL.RawPath = path, path
	} else {
		req.URL.Opaque = path
	}
	req.URL.RawQuery = query
	if c.chunked {
		req.ContentLength = -1
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	addHeaders(req, c.hdr)
	client := *e.srv.Client()
	client.Timeout = hostileTimeout
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, short(c.target), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", c.method, short(c.target), err)
	}
	res := result{status: resp.StatusCode, header: resp.Header, body: b}
	checkIDs(t, res)
	return res
}

// short abbreviates long paths and bodies in messages.
func short(s string) string {
	if len(s) > 160 {
		return fmt.Sprintf("%s…(%d bytes)", s[:160], len(s))
	}
	return s
}

// tokenOf returns the $skiptoken or $deltatoken value of a link.
func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"$skiptoken", "$deltatoken"} {
		if v := u.Query().Get(name); v != "" {
			return v
		}
	}
	t.Fatalf("no token in %s", link)
	return ""
}

// firstPage returns the link of the first page of a delta round that has
// more than one page: its @odata.nextLink.
func (e *env) firstPage(t *testing.T, path, token string) string {
	t.Helper()
	m := ok(t, e.do(t, http.MethodGet, path, token, nil, "Prefer", "odata.maxpagesize=1"), http.StatusOK)
	return str(t, m, "@odata.nextLink")
}

// gzipMembers returns a gzip stream of n members, each holding size zero
// bytes: a bomb that is small on the wire and big once read.
func gzipMembers(t testing.TB, size, n int) []byte {
	t.Helper()
	one := gzipBytes(t, make([]byte, size))
	return bytes.Repeat(one, n)
}

// nested returns n opening brackets, inner, and n closing ones.
func nested(open, close string, n int, inner string) []byte {
	var b bytes.Buffer
	b.Grow(n*(len(open)+len(close)) + len(inner))
	for range n {
		b.WriteString(open)
	}
	b.WriteString(inner)
	for range n {
		b.WriteString(close)
	}
	return b.Bytes()
}

// flipChar changes one character of a token inside its alphabet.
func flipChar(s string, i int) string {
	b := []byte(s)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// hostileCase is one malformed or hostile request and the Graph error it
// must get. A status below 400 marks input the server must tolerate.
type hostileCase struct {
	name   string
	call   rawCall
	big    bool   // send to the server with the default 4 MiB body limit
	status int    // exact status
	code   string // exact Graph error code; "" for a tolerated input
	msg    string // when set, a substring of the message
	check  func(t *testing.T, r result)
}

// TestHostileRequests sends a catalogue of malformed requests and checks
// that each gets the right Graph error (status, code, a message, request
// ids) and never a 500, a panic or a hang.
func TestHostileRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // 64 KiB body limit
	big := newEnv(t, func(c *Config) { c.MaxBodyBytes = DefaultMaxBodyBytes })
	const limit = 64 << 10

	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	bob := e.newUser("contoso", "bob@contoso.com", contactgraph.PermContactsReadWrite)
	bea := e.newUser("fabrikam", "bea@fabrikam.com", contactgraph.PermContactsReadWrite)
	bigAda := big.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	orgApp := e.tokens.app("contoso", "hr-sync", contactgraph.PermDirectoryReadWrite)
	orgReader := e.tokens.app("contoso", "crm", contactgraph.PermOrgContactRead)
	orgAppB := e.tokens.app("fabrikam", "hr-sync", contactgraph.PermDirectoryReadWrite)
	bigOrg := big.tokens.app("contoso", "hr-sync", contactgraph.PermDirectoryReadWrite)
	contactsApp := e.tokens.app("contoso", "sync", contactgraph.PermContactsRead)

	// Data: folder A with two child folders and two contacts, folder B,
	// twelve contacts in the default folder, two org contacts, and delta
	// tokens of every kind.
	folderA := str(t, e.post(t, "/v1.0/me/contactFolders", ada.token, `{"displayName":"A"}`), "id")
	folderB := str(t, e.post(t, "/v1.0/me/contactFolders", ada.token, `{"displayName":"B"}`), "id")
	e.post(t, "/v1.0/me/contactFolders/"+folderA+"/childFolders", ada.token, `{"displayName":"A1"}`)
	e.post(t, "/v1.0/me/contactFolders/"+folderA+"/childFolders", ada.token, `{"displayName":"A2"}`)
	e.post(t, "/v1.0/me/contactFolders/"+folderA+"/contacts", ada.token, `{"givenName":"InA"}`)
	e.post(t, "/v1.0/me/contactFolders/"+folderA+"/contacts", ada.token, `{"givenName":"InA2"}`)
	seeded := e.post(t, "/v1.0/me/contacts", ada.token, `{"givenName":"Ada"}`)
	contact := str(t, seeded, "id")
	for i := range 11 {
		e.post(t, "/v1.0/me/contacts", ada.token, fmt.Sprintf(`{"givenName":"Ida %d"}`, i))
	}
	org := str(t, e.post(t, "/v1.0/contacts", orgApp, `{"displayName":"Org"}`), "id")
	e.post(t, "/v1.0/contacts", orgApp, `{"displayName":"Org 2"}`)
	ok(t, e.do(t, http.MethodGet, "/v1.0/me/contacts", bea.token, nil), http.StatusOK) // bea's mailbox

	_, contactsDL := e.round(t, "/v1.0/me/contacts/delta", ada.token)
	contactsDT := tokenOf(t, contactsDL)
	contactsST := tokenOf(t, e.firstPage(t, "/v1.0/me/contacts/delta", ada.token))
	_, foldersDL := e.round(t, "/v1.0/me/contactFolders/delta", ada.token)
	foldersDT := tokenOf(t, foldersDL)
	_, childADL := e.round(t, "/v1.0/me/contactFolders/"+folderA+"/childFolders/delta", ada.token)
	childADT := tokenOf(t, childADL)
	_, inADL := e.round(t, "/v1.0/me/contactFolders/"+folderA+"/contacts/delta", ada.token)
	inADT := tokenOf(t, inADL)
	_, orgDL := e.round(t, "/v1.0/contacts/delta", orgApp)
	orgDT := tokenOf(t, orgDL)
	orgST := tokenOf(t, e.firstPage(t, "/v1.0/contacts/delta", orgApp))

	guid := "0b5c6b4a-1f5e-4c1b-9e7e-0a1b2c3d4e5f"
	outlookID := "AAMkAGI2TG93AAA="
	outlookLongID := "AAMkAGVmMDEzMTM4LTZmYWUtNDdkNC1hMDZiLTU1OGY5OTZhYmY4OABGAAAAAAAiQ8W967B7TKBjgx9rVEURBwAiIsqMbYjsT5e-T7KzowPTAAAAAAEOAAAiIsqMbYjsT5e-T7KzowPTAAAYbuK-AAA="
	manySelect := make([]string, 3000)
	for i := range manySelect {
		manySelect[i] = fmt.Sprintf("prop%d", i)
	}
	var filterIDs []string
	for i := range 51 {
		filterIDs = append(filterIDs, fmt.Sprintf("id eq '%08x-0000-4000-8000-000000000000'", i))
	}
	deepFolders := "/v1.0/me/contactFolders/" + folderA + strings.Repeat("/childFolders/"+folderA, 500) + "/contacts"
	pagePath := "/v1.0/me/contacts/delta"
	defaultPage := func(t *testing.T, r result) {
		m := r.obj(t)
		if n := len(values(t, m)); n != 10 || m["@odata.nextLink"] == nil || r.header.Get("Preference-Applied") != "" {
			t.Errorf("%d items, Preference-Applied %q: want the default page and no Preference-Applied", n, r.header.Get("Preference-Applied"))
		}
	}

	get := func(target, token string, hdr ...string) rawCall {
		return rawCall{method: http.MethodGet, target: target, token: token, hdr: hdr}
	}
	send := func(method, target, token, body string, hdr ...string) rawCall {
		return rawCall{method: method, target: target, token: token, body: []byte(body), hdr: hdr}
	}
	sendBytes := func(method, target, token string, body []byte, hdr ...string) rawCall {
		return rawCall{method: method, target: target, token: token, body: body, hdr: hdr}
	}
	post := func(body string) rawCall { return send(http.MethodPost, "/v1.0/me/contacts", ada.token, body) }
	postOrg := func(body string) rawCall { return send(http.MethodPost, "/v1.0/contacts", orgApp, body) }
	const (
		badReq  = "ErrorInvalidRequest"
		dirBad  = "Request_BadRequest"
		badID   = "ErrorInvalidIdMalformed"
		badURL  = "ErrorInvalidUrlQuery"
		dirUnsp = "Request_UnsupportedQuery"
		badTok  = "Badly formed token."
		tooBig  = "RequestEntityTooLarge"
		noAuth  = "InvalidAuthenticationToken"
	)

	cases := []hostileCase{
		// Bad JSON.
		{name: "json/truncated", call: post(`{"givenName":`), status: 400, code: badReq, msg: "not valid JSON"},
		{name: "json/trailing comma", call: post(`{"givenName":"a",}`), status: 400, code: badReq},
		{name: "json/single quotes", call: post(`{'givenName':'a'}`), status: 400, code: badReq},
		{name: "json/two values", call: post(`{}{}`), status: 400, code: badReq, msg: "more than one JSON value"},
		{name: "json/trailing garbage", call: post(`{"givenName":"a"} x`), status: 400, code: badReq},
		{name: "json/not json, org", call: postOrg(`{bad`), status: 400, code: dirBad},
		{name: "json/not json, folder patch", call: send(http.MethodPatch, "/v1.0/me/contactFolders/"+folderA, ada.token, `not json`), status: 400, code: badReq},
		{name: "json/NaN", call: post(`{"givenName":NaN}`), status: 400, code: badReq},
		{name: "json/BOM", call: post("\ufeff{}"), status: 400, code: badReq},

		// Wrong JSON types, one per kind of property.
		{name: "type/string gets number", call: post(`{"givenName":5}`), status: 400, code: badReq, msg: "'givenName'"},
		{name: "type/string gets array", call: post(`{"givenName":["a"]}`), status: 400, code: badReq, msg: "Edm.String"},
		{name: "type/string gets object", call: post(`{"surname":{"a":1}}`), status: 400, code: badReq},
		{name: "type/string list gets string", call: post(`{"categories":"red"}`), status: 400, code: badReq, msg: "Collection(Edm.String)"},
		{name: "type/string list gets numbers", call: post(`{"businessPhones":[1,2]}`), status: 400, code: badReq},
		{name: "type/string list gets nested list", call: post(`{"children":[["a"]]}`), status: 400, code: badReq},
		{name: "type/date gets word", call: post(`{"birthday":"yesterday"}`), status: 400, code: badReq, msg: "Edm.DateTimeOffset"},
		{name: "type/date gets number", call: post(`{"birthday":20260101}`), status: 400, code: badReq},
		{name: "type/date out of range", call: post(`{"birthday":"2026-13-45T99:00:00Z"}`), status: 400, code: badReq},
		{name: "type/email list gets object", call: post(`{"emailAddresses":{"address":"a@b.c"}}`), status: 400, code: badReq},
		{name: "type/email address gets number", call: post(`{"emailAddresses":[{"address":5}]}`), status: 400, code: badReq},
		{name: "type/email address not an address", call: post(`{"emailAddresses":[{"address":"not an address"}]}`), status: 400, code: badReq},
		{name: "type/email object gets string", call: post(`{"primaryEmailAddress":"a@b.c"}`), status: 400, code: badReq},
		{name: "type/email object unknown member", call: post(`{"primaryEmailAddress":{"mail":"a@b.c"}}`), status: 400, code: badReq},
		{name: "type/address gets string", call: post(`{"homeAddress":"1 Main St"}`), status: 400, code: badReq},
		{name: "type/address unknown member", call: post(`{"businessAddress":{"planet":"Mars"}}`), status: 400, code: badReq},
		{name: "type/address member gets number", call: post(`{"otherAddress":{"city":5}}`), status: 400, code: badReq},
		{name: "type/phone list gets object", call: postOrg(`{"phones":{"number":"1"}}`), status: 400, code: dirBad},
		{name: "type/phone type unknown", call: postOrg(`{"phones":[{"number":"1","type":"satellite"}]}`), status: 400, code: dirBad},
		{name: "type/phone number gets number", call: postOrg(`{"phones":[{"number":5551234}]}`), status: 400, code: dirBad},
		{name: "type/bool gets string", call: postOrg(`{"onPremisesSyncEnabled":"true"}`), status: 400, code: dirBad, msg: "Edm.Boolean"},
		{name: "type/bool gets number", call: postOrg(`{"onPremisesSyncEnabled":1}`), status: 400, code: dirBad},
		{name: "type/office addresses member gets number", call: postOrg(`{"addresses":[{"city":5}]}`), status: 400, code: dirBad},
		{name: "type/org mail not an address", call: postOrg(`{"mail":"nope"}`), status: 400, code: dirBad},
		{name: "type/unknown property", call: post(`{"favoriteColor":"blue"}`), status: 400, code: badReq, msg: "favoriteColor"},
		{name: "type/folder name gets number", call: send(http.MethodPost, "/v1.0/me/contactFolders", ada.token, `{"displayName":7}`), status: 400, code: badReq},
		{name: "type/folder name empty", call: send(http.MethodPost, "/v1.0/me/contactFolders", ada.token, `{"displayName":""}`), status: 400, code: badReq},
		{name: "type/user upn gets bool", call: send(http.MethodPost, "/v1.0/users", orgApp, `{"userPrincipalName":true}`), status: 400, code: dirBad},
		{name: "type/list over 250 values", call: post(`{"categories":[` + strings.TrimSuffix(strings.Repeat(`"c",`, 251), ",") + `]}`), status: 400, code: badReq},
		{name: "type/string over its length", call: post(`{"givenName":"` + strings.Repeat("x", 4097) + `"}`), status: 400, code: badReq},

		// Bodies over the limit, declared, chunked or compressed.
		{name: "size/over the limit", call: post(`{"personalNotes":"` + strings.Repeat("x", limit) + `"}`), status: 413, code: tooBig},
		{name: "size/over the limit, chunked", call: rawCall{method: http.MethodPost, target: "/v1.0/me/contacts", token: ada.token,
			body: []byte(`{"personalNotes":"` + strings.Repeat("x", limit) + `"}`), chunked: true}, status: 413, code: tooBig},
		{name: "size/gzip bomb", call: sendBytes(http.MethodPost, "/v1.0/me/contacts", ada.token, gzipBytes(t, make([]byte, 16<<20)), "Content-Encoding", "gzip"),
			status: 413, code: tooBig},
		{name: "size/gzip bomb of many members, chunked", call: rawCall{method: http.MethodPost, target: "/v1.0/contacts", token: orgApp,
			body: gzipMembers(t, 1<<20, 40), chunked: true, hdr: []string{"Content-Encoding", "gzip"}}, status: 413, code: tooBig},
		{name: "size/gzip bomb on a patch", call: sendBytes(http.MethodPatch, "/v1.0/me/contacts/"+contact, ada.token, gzipBytes(t, nested("[", "]", 100000, "")), "Content-Encoding", "gzip"),
			status: 413, code: tooBig},
		{name: "size/corrupt gzip", call: send(http.MethodPost, "/v1.0/me/contacts", ada.token, `{"givenName":"a"}`, "Content-Encoding", "gzip"), status: 400, code: badReq, msg: "gzip"},
		{name: "size/truncated gzip", call: sendBytes(http.MethodPost, "/v1.0/me/contacts", ada.token, gzipBytes(t, []byte(`{"givenName":"a"}`))[:20], "Content-Encoding", "gzip"),
			status: 400, code: badReq},

		// Deep nesting, under a limit that lets it through to the parser.
		{name: "depth/100k nested arrays in a string list", big: true, call: sendBytes(http.MethodPost, "/v1.0/me/contacts", bigAda.token,
			append(append([]byte(`{"categories":`), nested("[", "]", 100000, "")...), '}')), status: 400, code: badReq},
		{name: "depth/100k nested objects in an address", big: true, call: sendBytes(http.MethodPost, "/v1.0/me/contacts", bigAda.token,
			append(append([]byte(`{"homeAddress":`), nested(`{"a":`, "}", 100000, "1")...), '}')), status: 400, code: badReq},
		{name: "depth/100k nested arrays in an annotation", big: true, call: sendBytes(http.MethodPost, "/v1.0/me/contacts", bigAda.token,
			append(append([]byte(`{"@odata.type":`), nested("[", "]", 100000, "")...), '}')), status: 400, code: badReq},
		{name: "depth/100k nested arrays in an org contact", big: true, call: sendBytes(http.MethodPost, "/v1.0/contacts", bigOrg,
			append(append([]byte(`{"phones":`), nested("[", "]", 100000, "")...), '}')), status: 400, code: dirBad},
		{name: "depth/100k nested arrays in a user", big: true, call: sendBytes(http.MethodPost, "/v1.0/users", bigOrg,
			append(append([]byte(`{"userPrincipalName":"x@y","passwordProfile":`), nested("[", "]", 100000, "")...), '}')), status: 400, code: dirBad},
		{name: "depth/100k nested arrays, unclosed", big: true, call: sendBytes(http.MethodPost, "/v1.0/me/contacts", bigAda.token,
			append([]byte(`{"categories":`), bytes.Repeat([]byte("["), 100000)...)), status: 400, code: badReq},

		// Invalid UTF-8.
		{name: "utf8/in a string value", call: post("{\"givenName\":\"\xff\xfe\"}"), status: 400, code: badReq, msg: "UTF-8"},
		{name: "utf8/in a key", call: post("{\"given\xc3\x28Name\":\"a\"}"), status: 400, code: badReq},
		{name: "utf8/surrogate escape", call: post(`{"givenName":"\ud800"}`), status: 201},
		{name: "utf8/in a gzip body", call: sendBytes(http.MethodPost, "/v1.0/contacts", orgApp, gzipBytes(t, []byte("{\"displayName\":\"\xc0\xaf\"}")), "Content-Encoding", "gzip"),
			status: 400, code: dirBad},
		{name: "utf8/percent-encoded in $select", call: get("/v1.0/me/contacts?$select=%ff%fe", ada.token), status: 400, code: badReq},
		{name: "utf8/raw byte in $select", call: get("/v1.0/me/contacts?$select=given\xffName", ada.token), status: 400, code: badReq},
		{name: "utf8/in a query name", call: get("/v1.0/contacts?%24sel%ffect=id", orgApp), status: 400, code: dirBad},
		{name: "utf8/bad percent-encoding in the query", call: get("/v1.0/me/contacts?$select=%zz", ada.token), status: 400, code: badReq},
		{name: "utf8/in a delta token", call: get("/v1.0/me/contacts/delta?$deltatoken=%ff%ff", ada.token), status: 400, code: badReq, msg: "query string"},
		{name: "utf8/in an id", call: get("/v1.0/me/contacts/%ff%fe%fd", ada.token), status: 400, code: badID},
		{name: "utf8/in an unknown segment", call: get("/v1.0/me/%c0%af", ada.token), status: 400, code: "BadRequest"},

		// Ids of the wrong shape.
		{name: "id/too short", call: get("/v1.0/me/contacts/abc", ada.token), status: 400, code: badID},
		{name: "id/too long", call: get("/v1.0/me/contacts/"+contact+"A", ada.token), status: 400, code: badID},
		{name: "id/bad alphabet", call: get("/v1.0/me/contacts/"+strings.Repeat("!", 32), ada.token), status: 400, code: badID},
		{name: "id/base64 padding", call: get("/v1.0/me/contacts/"+contact[:31]+"=", ada.token), status: 400, code: badID},
		{name: "id/GUID where a contact id goes", call: get("/v1.0/me/contacts/"+guid, ada.token), status: 400, code: badID},
		{name: "id/Outlook-looking id", call: get("/v1.0/me/contacts/"+url.PathEscape(outlookID), ada.token), status: 400, code: badID},
		{name: "id/long Outlook id as folder", call: get("/v1.0/me/contactFolders/"+outlookLongID+"/contacts", ada.token), status: 400, code: badID},
		{name: "id/contact id where a GUID goes", call: get("/v1.0/contacts/"+contact, orgApp), status: 400, code: dirBad},
		{name: "id/GUID with braces", call: get("/v1.0/contacts/%7B"+org+"%7D", orgApp), status: 400, code: dirBad},
		{name: "id/NUL in an id", call: get("/v1.0/me/contacts/"+contact[:31]+"%00", ada.token), status: 400, code: badID},
		{name: "id/quoted key with injection", call: get("/v1.0/me/contacts('x''%20or%20''1''=''1')", ada.token), status: 400, code: badID},
		{name: "id/user with a slash", call: get("/v1.0/users/a%2Fb@x/contacts", ada.token), status: 404, code: "ErrorInvalidUser"},
		{name: "id/folder in parentFolderId", call: send(http.MethodPost, "/v1.0/me/contactFolders", ada.token, `{"displayName":"x","parentFolderId":"../../etc"}`),
			status: 400, code: badID},

		// Path tricks.
		{name: "path/dot-dot", call: get("/v1.0/me/contacts/../contactFolders", ada.token), status: 400, code: "BadRequest"},
		{name: "path/dot-dot to another user", call: get("/v1.0/me/../users/"+bob.upn+"/contacts", ada.token), status: 400, code: "BadRequest"},
		{name: "path/encoded dot-dot as id", call: get("/v1.0/me/contacts/%2e%2e", ada.token), status: 400, code: badID},
		{name: "path/encoded dot-dot before the version", call: get("/%2e%2e/v1.0/me/contacts", ada.token), status: 400, code: "BadRequest"},
		{name: "path/encoded dot-dot segment", call: get("/v1.0/me/%2e%2e/contacts", ada.token), status: 400, code: "BadRequest"},
		{name: "path/encoded slash inside an id", call: get("/v1.0/me/contacts/"+contact[:16]+"%2F"+contact[16:], ada.token), status: 400, code: badID},
		{name: "path/encoded slash joining segments", call: get("/v1.0/me/contactFolders/"+folderA+"%2Fcontacts", ada.token), status: 400, code: badID},
		{name: "path/encoded slash in the version", call: get("/v1.0%2Fme/contacts", ada.token), status: 400, code: "BadRequest"},
		{name: "path/double slash", call: get("/v1.0/me//contacts", ada.token), status: 400, code: "BadRequest"},
		{name: "path/leading double slash", call: get("//v1.0/me/contacts", ada.token), status: 400, code: "BadRequest"},
		{name: "path/two trailing slashes", call: get("/v1.0/me/contacts//", ada.token), status: 400, code: badID},
		{name: "path/trailing slash on an item", call: get("/v1.0/me/contacts/"+contact+"/", ada.token), status: 200},
		{name: "path/backslash", call: get("/v1.0/me\\contacts", ada.token), status: 400, code: "BadRequest"},
		{name: "path/long id", call: get("/v1.0/me/contacts/"+strings.Repeat("A", 50000), ada.token), status: 400, code: badID},
		// The request line counts in Config.MaxHeaderBytes (64 KiB).
		{name: "path/very long id", call: get("/v1.0/me/contacts/"+strings.Repeat("A", 100000), ada.token), status: 431, code: "RequestHeaderFieldsTooLarge"},
		{name: "path/very long segment list", call: get("/v1.0/me/contacts"+strings.Repeat("/x", 20000), ada.token), status: 400, code: "BadRequest"},
		{name: "path/500 nested folders", call: get(deepFolders, ada.token), status: 404, code: "ErrorItemNotFound"},
		{name: "path/other version", call: get("/beta/me/contacts", ada.token), status: 400, code: "BadRequest"},

		// Query options.
		{name: "query/$select of 3000 unknown names", call: get("/v1.0/me/contacts?$select="+strings.Join(manySelect, ","), ada.token), status: 400, code: badReq, msg: "prop0"},
		{name: "query/$select of a 50k name", call: get("/v1.0/me/contacts?$select="+strings.Repeat("n", 50000), ada.token), status: 400, code: badReq},
		{name: "query/$select of 5000 repeated names", call: get("/v1.0/me/contacts?$select="+strings.Repeat("displayName,", 5000), ada.token), status: 200},
		{name: "query/$select of 5000 repeated names on delta", call: get("/v1.0/me/contacts/delta?$select="+strings.Repeat("givenName,", 5000), ada.token), status: 200},
		{name: "query/$foo", call: get("/v1.0/me/contacts?$foo=1", ada.token), status: 400, code: badReq, msg: "$foo"},
		{name: "query/$foo on delta", call: get("/v1.0/contacts/delta?$foo=1", orgApp), status: 400, code: dirBad},
		{name: "query/repeated $top", call: get("/v1.0/me/contacts?$top=1&$top=2", ada.token), status: 400, code: badReq, msg: "more than once"},
		{name: "query/repeated $select, other spelling", call: get("/v1.0/me/contacts?$select=id&%24SELECT=id", ada.token), status: 400, code: badReq},
		{name: "query/repeated $deltatoken", call: get("/v1.0/me/contacts/delta?$deltatoken="+contactsDT+"&$deltatoken="+contactsDT, ada.token), status: 400, code: badReq},
		{name: "query/$expand on a folder list", call: get("/v1.0/me/contactFolders?$expand=extensions", ada.token), status: 400, code: badURL},
		{name: "query/$expand of extended properties without $filter", call: get("/v1.0/me/contacts?$expand=singleValueExtendedProperties", ada.token), status: 400, code: badURL},
		{name: "query/$top not a number", call: get("/v1.0/me/contacts?$top=abc", ada.token), status: 400, code: badReq},
		{name: "query/$top negative", call: get("/v1.0/me/contacts?$top=-1", ada.token), status: 400, code: badReq},
		{name: "query/$top huge", call: get("/v1.0/me/contacts?$top=99999999999999999999999", ada.token), status: 400, code: badReq},
		{name: "query/$count not a bool", call: get("/v1.0/contacts?$count=maybe", orgApp, "ConsistencyLevel", "eventual"), status: 400, code: dirBad},
		{name: "query/$count without ConsistencyLevel", call: get("/v1.0/contacts?$count=true", orgApp), status: 400, code: dirUnsp},
		{name: "query/$filter on contacts delta", call: get("/v1.0/me/contacts/delta?$filter=givenName%20eq%20'a'", ada.token), status: 400, code: badURL, msg: "Prefer: odata.maxpagesize"},
		{name: "query/$top on folder delta", call: get("/v1.0/me/contactFolders/delta?$top=1", ada.token), status: 400, code: badURL},
		{name: "query/51 filter ids on /contacts/delta", call: get("/v1.0/contacts/delta?$filter="+url.QueryEscape(strings.Join(filterIDs, " or ")), orgApp),
			status: 400, code: dirUnsp, msg: "at most 50"},
		{name: "query/filter with unbalanced quotes", call: get("/v1.0/contacts/delta?$filter="+url.QueryEscape("id eq '"+org), orgApp), status: 400, code: dirUnsp},
		{name: "query/filter id eq without value", call: get("/v1.0/contacts/delta?$filter="+url.QueryEscape("id eq"), orgApp), status: 400, code: dirUnsp},
		{name: "query/filter on another property", call: get("/v1.0/contacts/delta?$filter="+url.QueryEscape("displayName eq 'x'"), orgApp), status: 400, code: dirUnsp},
		{name: "query/filter empty", call: get("/v1.0/contacts/delta?$filter=", orgApp), status: 400, code: dirUnsp},
		{name: "query/filter with or dangling", call: get("/v1.0/contacts/delta?$filter="+url.QueryEscape("id eq '"+org+"' or"), orgApp), status: 400, code: dirUnsp},
		{name: "query/unknown non-$ parameter", call: get("/v1.0/me/contacts?foo=bar&=&&", ada.token), status: 200},

		// Malformed Prefer headers: ignored, as RFC 7240 says.
		{name: "prefer/maxpagesize=abc", call: get(pagePath, ada.token, "Prefer", "odata.maxpagesize=abc"), status: 200, check: defaultPage},
		{name: "prefer/maxpagesize=-1", call: get(pagePath, ada.token, "Prefer", "odata.maxpagesize=-1"), status: 200, check: defaultPage},
		{name: "prefer/maxpagesize=0", call: get(pagePath, ada.token, "Prefer", "odata.maxpagesize=0"), status: 200, check: defaultPage},
		{name: "prefer/maxpagesize overflowing", call: get(pagePath, ada.token, "Prefer", "odata.maxpagesize=99999999999999999999999"), status: 200, check: defaultPage},
		{name: "prefer/maxpagesize empty", call: get(pagePath, ada.token, "Prefer", "odata.maxpagesize="), status: 200, check: defaultPage},
		{name: "prefer/empty", call: get(pagePath, ada.token, "Prefer", ""), status: 200, check: defaultPage},
		{name: "prefer/unbalanced quote", call: get(pagePath, ada.token, "Prefer", `odata.maxpagesize="2, return=minimal`), status: 200, check: defaultPage},
		{name: "prefer/maxpagesize huge but an int", call: get(pagePath, ada.token, "Prefer", "odata.maxpagesize=9223372036854775807"), status: 200,
			check: func(t *testing.T, r result) {
				if got := r.header.Get("Preference-Applied"); got != "odata.maxpagesize=200" {
					t.Errorf("Preference-Applied %q, want the cap", got)
				}
			}},

		// Bearer tokens.
		{name: "auth/truncated", call: get("/v1.0/me/contacts", ada.token[:len(ada.token)/2]), status: 401, code: noAuth},
		{name: "auth/truncated signature", call: get("/v1.0/me/contacts", ada.token[:len(ada.token)-1]), status: 401, code: noAuth},
		{name: "auth/bit flip in the payload", call: get("/v1.0/me/contacts", flipChar(ada.token, strings.IndexByte(ada.token, '.')+10)), status: 401, code: noAuth},
		{name: "auth/bit flip in the signature", call: get("/v1.0/me/contacts", flipChar(ada.token, len(ada.token)-5)), status: 401, code: noAuth},
		{name: "auth/bit flip in the header", call: get("/v1.0/me/contacts", flipChar(ada.token, 3)), status: 401, code: noAuth},
		{name: "auth/two tokens", call: get("/v1.0/me/contacts", ada.token+" "+ada.token), status: 401, code: noAuth},
		{name: "auth/32k of dots", call: get("/v1.0/me/contacts", strings.Repeat(".", 40000)), status: 401, code: noAuth},
		{name: "auth/basic scheme", call: get("/v1.0/me/contacts", "", "Authorization", "Basic YWRhOnB3"), status: 401, code: noAuth},

		// Delta tokens out of place.
		{name: "delta/truncated token", call: get("/v1.0/me/contacts/delta?$deltatoken="+contactsDT[:len(contactsDT)-3], ada.token), status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/tampered token", call: get("/v1.0/me/contacts/delta?$deltatoken="+flipChar(contactsDT, len(contactsDT)/2), ada.token), status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/contact token on folder delta", call: get("/v1.0/me/contactFolders/delta?$deltatoken="+contactsDT, ada.token), status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/folder token on contact delta", call: get("/v1.0/me/contacts/delta?$deltatoken="+foldersDT, ada.token), status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/folder A's child token on folder B", call: get("/v1.0/me/contactFolders/"+folderB+"/childFolders/delta?$deltatoken="+childADT, ada.token),
			status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/folder A's contacts token on folder B", call: get("/v1.0/me/contactFolders/"+folderB+"/contacts/delta?$deltatoken="+inADT, ada.token),
			status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/folder A's contacts token on the default folder", call: get("/v1.0/me/contacts/delta?$deltatoken="+inADT, ada.token),
			status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/another user's token", call: get("/v1.0/me/contacts/delta?$deltatoken="+contactsDT, bob.token), status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/another tenant's token", call: get("/v1.0/me/contacts/delta?$deltatoken="+contactsDT, bea.token), status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/org token of another tenant", call: get("/v1.0/contacts/delta?$deltatoken="+orgDT, orgAppB), status: 400, code: dirBad, msg: badTok},
		{name: "delta/org token of another app", call: get("/v1.0/contacts/delta?$deltatoken="+orgDT, orgReader), status: 400, code: dirBad, msg: badTok},
		{name: "delta/a user's token used by an app", call: get("/v1.0/users/"+ada.upn+"/contacts/delta?$deltatoken="+contactsDT, contactsApp),
			status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/org token on contact delta", call: get("/v1.0/me/contacts/delta?$deltatoken="+orgDT, ada.token), status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/skiptoken as deltatoken", call: get("/v1.0/me/contacts/delta?$deltatoken="+contactsST, ada.token), status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/deltatoken as skiptoken", call: get("/v1.0/me/contacts/delta?$skiptoken="+contactsDT, ada.token), status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/org skiptoken as deltatoken", call: get("/v1.0/contacts/delta?$deltatoken="+orgST, orgApp), status: 400, code: dirBad, msg: badTok},
		{name: "delta/skiptoken and deltatoken together", call: get("/v1.0/me/contacts/delta?$skiptoken="+contactsST+"&$deltatoken="+contactsDT, ada.token),
			status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/empty deltatoken", call: get("/v1.0/me/contacts/delta?$deltatoken=", ada.token), status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/latest on contact delta", call: get("/v1.0/me/contacts/delta?$deltatoken=latest", ada.token), status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/latest as skiptoken", call: get("/v1.0/contacts/delta?$skiptoken=latest", orgApp), status: 400, code: dirBad, msg: badTok},
		{name: "delta/token with padding", call: get("/v1.0/me/contacts/delta?$deltatoken="+contactsDT+"%3D%3D", ada.token), status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/8k token", call: get("/v1.0/me/contacts/delta?$deltatoken="+strings.Repeat("A", 9000), ada.token), status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/delta token as list skiptoken", call: get("/v1.0/me/contacts?$skiptoken="+contactsDT, ada.token), status: 400, code: "BadRequest", msg: badTok},
		{name: "delta/list skiptoken of another id shape", call: get("/v1.0/contacts?$skiptoken="+encodeSkipToken(contact), orgApp), status: 400, code: dirBad, msg: badTok},

		// Headers.
		{name: "header/If-Match of garbage", call: send(http.MethodPatch, "/v1.0/me/contacts/"+contact, ada.token, `{"givenName":"x"}`, "If-Match", `W/"garbage\"`),
			status: 412, code: "ErrorIrresolvableConflict"},
		{name: "header/oversize client-request-id", call: get("/v1.0/me/contactFolders", ada.token, "client-request-id", strings.Repeat("x", 10000)), status: 200,
			check: func(t *testing.T, r result) {
				if r.header.Get("client-request-id") != r.header.Get("request-id") {
					t.Errorf("an oversize client-request-id is echoed")
				}
			}},
		{name: "header/X-Forwarded-Proto of garbage", call: get("/v1.0/me/contacts?$top=1", ada.token, "X-Forwarded-Proto", "javascript"), status: 200,
			check: func(t *testing.T, r result) {
				if next := str(t, r.obj(t), "@odata.nextLink"); !strings.HasPrefix(next, "http://") {
					t.Errorf("nextLink %s", next)
				}
			}},

		// Methods.
		{name: "method/PUT on a contact", call: send(http.MethodPut, "/v1.0/me/contacts/"+contact, ada.token, `{}`), status: 405, code: "BadRequest"},
		{name: "method/DELETE on a collection", call: rawCall{method: http.MethodDelete, target: "/v1.0/me/contacts", token: ada.token}, status: 405, code: "BadRequest"},
		{name: "method/POST on delta", call: send(http.MethodPost, "/v1.0/me/contacts/delta()", ada.token, `{}`), status: 405, code: "BadRequest"},
		{name: "method/PATCH on org delta", call: send(http.MethodPatch, "/v1.0/contacts/delta", orgApp, `{}`), status: 405, code: dirBad},
		{name: "method/OPTIONS", call: rawCall{method: http.MethodOptions, target: "/v1.0/me/contacts", token: ada.token}, status: 405, code: "BadRequest"},
		{name: "method/made up", call: rawCall{method: "FROB", target: "/v1.0/contacts/" + org, token: orgApp}, status: 405, code: dirBad},
		{name: "method/TRACE", call: rawCall{method: http.MethodTrace, target: "/v1.0/me/contacts", token: ada.token}, status: 405, code: "BadRequest"},

		// Content-Encoding other than gzip.
		{name: "encoding/br", call: send(http.MethodPost, "/v1.0/me/contacts", ada.token, `{}`, "Content-Encoding", "br"), status: 415, code: "UnsupportedMediaType"},
		{name: "encoding/deflate", call: send(http.MethodPost, "/v1.0/contacts", orgApp, `{}`, "Content-Encoding", "deflate"), status: 415, code: "Request_UnsupportedMediaType"},
		{name: "encoding/gzip twice", call: sendBytes(http.MethodPost, "/v1.0/me/contacts", ada.token, gzipBytes(t, gzipBytes(t, []byte(`{}`))), "Content-Encoding", "gzip, gzip"),
			status: 415, code: "UnsupportedMediaType"},
		{name: "encoding/gzip then br headers", call: send(http.MethodPatch, "/v1.0/me/contacts/"+contact, ada.token, `{}`, "Content-Encoding", "gzip", "Content-Encoding", "br"),
			status: 415, code: "UnsupportedMediaType"},

		// Bodies that are not one JSON object.
		{name: "body/empty POST", call: rawCall{method: http.MethodPost, target: "/v1.0/me/contacts", token: ada.token}, status: 400, code: badReq, msg: "JSON object"},
		{name: "body/empty org POST", call: rawCall{method: http.MethodPost, target: "/v1.0/contacts", token: orgApp}, status: 400, code: dirBad},
		{name: "body/empty folder PATCH", call: rawCall{method: http.MethodPatch, target: "/v1.0/me/contactFolders/" + folderA, token: ada.token}, status: 400, code: badReq},
		{name: "body/empty user POST", call: rawCall{method: http.MethodPost, target: "/v1.0/users", token: orgApp}, status: 400, code: dirBad},
		{name: "body/white space", call: post(" \n\t "), status: 400, code: badReq},
		{name: "body/array", call: post(`[{"givenName":"a"}]`), status: 400, code: badReq},
		{name: "body/empty array", call: postOrg(`[]`), status: 400, code: dirBad},
		{name: "body/string", call: post(`"givenName"`), status: 400, code: badReq},
		{name: "body/number", call: post(`42`), status: 400, code: badReq},
		{name: "body/null", call: post(`null`), status: 400, code: badReq},
		{name: "body/true", call: postOrg(`true`), status: 400, code: dirBad},

		// Duplicate keys: OData refuses them; a first-wins and a last-wins
		// reader would disagree on the value.
		{name: "dup/same key, string then number", call: post(`{"givenName":"a","givenName":5}`), status: 400, code: badReq},
		{name: "dup/same key, number then string", call: post(`{"givenName":5,"givenName":"a"}`), status: 400, code: badReq},
		{name: "dup/same key, two strings", call: post(`{"givenName":"a","givenName":"b"}`), status: 400, code: badReq},
		{name: "dup/same key in an address", call: post(`{"homeAddress":{"city":"a","city":"b"}}`), status: 400, code: badReq},
		{name: "dup/folder parent twice", call: send(http.MethodPost, "/v1.0/me/contactFolders", ada.token,
			`{"displayName":"x","parentFolderId":"`+folderA+`","parentFolderId":"`+folderB+`"}`), status: 400, code: badReq},
		{name: "dup/org key twice", call: postOrg(`{"displayName":"a","displayName":"b"}`), status: 400, code: dirBad},
	}

	errorCases := 0
	for _, tc := range cases {
		if tc.status >= 400 {
			errorCases++
		}
		t.Run(tc.name, func(t *testing.T) {
			srv := e
			if tc.big {
				srv = big
			}
			start := time.Now()
			r := srv.rawDo(t, tc.call)
			if d := time.Since(start); d > hostileTimeout/2 {
				t.Errorf("answered in %v", d)
			}
			if r.status >= 500 {
				t.Fatalf("%d for %s %s: %s", r.status, tc.call.method, short(tc.call.target), short(string(r.body)))
			}
			if tc.status < 400 {
				if r.status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.status, tc.status, short(string(r.body)))
				}
			} else {
				er := fails(t, r, tc.status, tc.code)
				if tc.msg != "" && !strings.Contains(er.Message, tc.msg) {
					t.Errorf("message %q lacks %q", short(er.Message), tc.msg)
				}
				if tc.status == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				if tc.status == http.StatusMethodNotAllowed && r.header.Get("Allow") == "" {
					t.Error("405 without Allow")
				}
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
	if errorCases < 40 {
		t.Errorf("only %d error cases; the catalogue needs at least 40", errorCases)
	}
	t.Logf("%d hostile cases ran (%d must be refused, %d tolerated)", len(cases), errorCases, len(cases)-errorCases)

	// Nothing of the above changed the seeded data.
	if got := ok(t, e.do(t, http.MethodGet, "/v1.0/me/contacts/"+contact, ada.token, nil), http.StatusOK); got["changeKey"] != seeded["changeKey"] {
		t.Errorf("contact changed: %v", got)
	}
	if got := ok(t, e.do(t, http.MethodGet, "/v1.0/me/contactFolders/"+folderA, ada.token, nil), http.StatusOK); got["displayName"] != "A" {
		t.Errorf("folder changed: %v", got)
	}
	if vs := values(t, ok(t, e.do(t, http.MethodGet, "/v1.0/me/contactFolders/"+folderA+"/contacts", ada.token, nil), http.StatusOK)); len(vs) != 2 {
		t.Errorf("folder A holds %d contacts, want 2", len(vs))
	}
	if got := ok(t, e.do(t, http.MethodGet, "/v1.0/contacts/"+org, orgApp, nil), http.StatusOK); got["displayName"] != "Org" {
		t.Errorf("org contact changed: %v", got)
	}
}
