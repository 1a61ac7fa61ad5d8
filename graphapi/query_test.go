package graphapi

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/contactgraph/contactgraph"
)

func TestQueryOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query string
		want  url.Values
		err   string // expected error message; "" for none
	}{
		{"", url.Values{}, ""},
		{"$select=id,displayName", url.Values{"$select": {"id,displayName"}}, ""},
		{"%24select=givenName&%24top=5", url.Values{"$select": {"givenName"}, "$top": {"5"}}, ""},
		{"$SELECT=a&$Top=2&$SkipToken=x", url.Values{"$select": {"a"}, "$top": {"2"}, "$skiptoken": {"x"}}, ""},
		{"%24DeltaToken=abc", url.Values{"$deltatoken": {"abc"}}, ""},
		{"$filter=id%20eq%20'x'", url.Values{"$filter": {"id eq 'x'"}}, ""},
		{"$count=true&$orderby=id&$expand=x&$search=y&$skip=1", url.Values{"$count": {"true"}, "$orderby": {"id"}, "$expand": {"x"}, "$search": {"y"}, "$skip": {"1"}}, ""},
		{"custom=1&custom=2&&", url.Values{"custom": {"1", "2"}}, ""},
		{"$top", url.Values{"$top": {""}}, ""},
		{"$foo=1", nil, "The query parameter '$foo' is not supported."},
		{"%24FORMAT=json", nil, "The query parameter '$format' is not supported."},
		{"$top=1&%24top=2", nil, "Query option '$top' was specified more than once, but it must be specified at most once."},
		{"$select=a&$Select=b", nil, "Query option '$select' was specified more than once, but it must be specified at most once."},
		{"$select=%zz", nil, "The query string of the request is malformed."},
		{"%ff=1", nil, "The query string of the request is malformed."},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/v1.0/me/contacts?"+tt.query, nil)
		got, err := queryOptions(r)
		if tt.err != "" {
			if contactgraph.ErrorCode(err) != contactgraph.EInvalid || contactgraph.ErrorMessage(err) != tt.err {
				t.Errorf("%q: error %v, want %q", tt.query, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.query, err)
			continue
		}
		if got.Encode() != tt.want.Encode() {
			t.Errorf("%q: got %v, want %v", tt.query, got, tt.want)
		}
	}
}

func TestParseTop(t *testing.T) {
	t.Parallel()
	for q, want := range map[string]int{"": defaultTop, "$top=1": 1, "$top=25": 25, "$top=1000": 1000, "$top=5000": maxTop, "$top=%2012": 12} {
		v, _ := url.ParseQuery(q)
		got, err := parseTop(v)
		if err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", q, got, err, want)
		}
	}
	for _, q := range []string{"$top=0", "$top=-1", "$top=abc", "$top=", "$top=1.5", "$top=99999999999999999999"} {
		v, _ := url.ParseQuery(q)
		if _, err := parseTop(v); contactgraph.ErrorCode(err) != contactgraph.EInvalid {
			t.Errorf("%q: %v, want EInvalid", q, err)
		}
	}
}

func TestSkipToken(t *testing.T) {
	t.Parallel()
	id := contactgraph.NewID()
	tok := encodeSkipToken(id)
	if got, err := decodeSkipToken(tok, contactgraph.ValidID); err != nil || got != id {
		t.Fatalf("round trip: %q, %v", got, err)
	}
	for _, bad := range []string{"", "!!!", "bm9wZQ", tok + "A", encodeSkipToken("short")} {
		if _, err := decodeSkipToken(bad, contactgraph.ValidID); contactgraph.ErrorCode(err) != contactgraph.EBadToken {
			t.Errorf("%q: %v, want EBadToken", bad, err)
		}
	}
}

func TestEscapeQueryValue(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"id,displayName": "id,displayName", "a b&c=d#": "a%20b%26c%3Dd%23", "é": "%C3%A9"} {
		if got := escapeQueryValue(in); got != want {
			t.Errorf("escapeQueryValue(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzQueryOptions(f *testing.F) {
	for _, s := range []string{"$select=a,b&$top=2", "%24top=1&%24TOP=2", "$x=%zz", "a=b;c=d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest("GET", "/v1.0/me/contacts", nil)
		r.URL.RawQuery = raw
		q, err := queryOptions(r)
		if err != nil {
			if contactgraph.ErrorCode(err) != contactgraph.EInvalid {
				t.Fatalf("%q: code %s", raw, contactgraph.ErrorCode(err))
			}
			return
		}
		for name, vs := range q {
			if name != "" && name[0] == '$' && (!knownOptions[name] || len(vs) != 1) {
				t.Fatalf("%q: option %q %v passed", raw, name, vs)
			}
		}
	})
}

func TestLinkBase(t *testing.T) {
	t.Parallel()
	s := &Server{}
	for path, want := range map[string]string{
		"/v1.0/me/contacts":                   "http://h:1/v1.0/me/contacts",
		"/V1.0/me/contactFolders/delta%28%29": "http://h:1/v1.0/me/contactFolders/delta%28%29",
		"/v1.0/me/contacts/a%2Fb?x=1":         "http://h:1/v1.0/me/contacts/a%2Fb",
	} {
		r := httptest.NewRequest("GET", "http://h:1"+path, nil)
		if got := s.linkBase(r); got != want {
			t.Errorf("%s: %s, want %s", path, got, want)
		}
	}
}

func TestCursorToken(t *testing.T) {
	t.Parallel()
	id := contactgraph.NewID()
	c := &contactgraph.Cursor{Keys: []contactgraph.Value{contactgraph.StringValue("ada lovelace"), {}, contactgraph.StringValue("")}, ID: id}
	tok := encodeCursor(c, 42)
	got, err := decodeCursor(tok, contactgraph.ValidID, 3, 42)
	if err != nil || got.ID != id || len(got.Keys) != 3 || got.Keys[0].Str != "ada lovelace" || got.Keys[1].Kind != contactgraph.VNull ||
		got.Keys[2].Kind != contactgraph.VString || got.Keys[2].Str != "" {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	nul := encodeCursor(&contactgraph.Cursor{Keys: []contactgraph.Value{contactgraph.StringValue("a\x00b")}, ID: id}, 42)
	for name, bad := range map[string]struct {
		tok  string
		keys int
		hash uint32
	}{
		"other hash":       {tok, 3, 43},
		"other key count":  {tok, 2, 42},
		"truncated":        {tok[:len(tok)-8], 3, 42},
		"plain id token":   {encodeSkipToken(id), 3, 42},
		"not base64":       {"!!", 3, 42},
		"empty":            {"", 3, 42},
		"nul in a key":     {nul, 1, 42},
		"trailing garbage": {tok + "AAAA", 3, 42},
	} {
		if _, err := decodeCursor(bad.tok, contactgraph.ValidID, bad.keys, bad.hash); contactgraph.ErrorCode(err) != contactgraph.EBadToken {
			t.Errorf("%s: %v, want EBadToken", name, err)
		}
	}
}

// FuzzDecodeCursor: no token panics, and one that decodes encodes back to
// itself.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(&contactgraph.Cursor{Keys: []contactgraph.Value{contactgraph.StringValue("x"), {}}, ID: contactgraph.NewID()}, 7))
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := decodeCursor(tok, contactgraph.ValidID, 2, 7)
		if err != nil {
			return
		}
		if again := encodeCursor(c, 7); again != tok {
			if c2, err := decodeCursor(again, contactgraph.ValidID, 2, 7); err != nil || c2.ID != c.ID {
				t.Fatalf("%q decodes to %+v, which encodes to %q", tok, c, again)
			}
		}
	})
}
