package odata

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

func TestLex(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string // kinds and texts, space-separated
	}{
		{"displayName eq 'x'", "name:displayName name:eq string:x"},
		{"a eq 'it''s'", "name:a name:eq string:it's"},
		{"a eq ''''", "name:a name:eq string:'"},
		{"a eq ''", "name:a name:eq string:"},
		{"x/any(a:a/address eq 'q')", "name:x '/' name:any '(' name:a ':' name:a '/' name:address name:eq string:q ')'"},
		{"id eq 477E9FC6-5DE7-4406-BB2A-7E5C83C9FFFF", "name:id name:eq GUID:477e9fc6-5de7-4406-bb2a-7e5c83c9ffff"},
		{"abcdef01-5de7-4406-bb2a-7e5c83c9ffff", "GUID:abcdef01-5de7-4406-bb2a-7e5c83c9ffff"},
		{"b ge 2024-02-29", "name:b name:ge date:2024-02-29"},
		{"b ge 2024-02-29T10:11:12Z", "name:b name:ge date-time:2024-02-29T10:11:12Z"},
		{"b ge 2024-02-29T10:11:12.5+02:00", "name:b name:ge date-time:2024-02-29T10:11:12.5+02:00"},
		{"b ge 2024-02-29T10:11Z", "name:b name:ge date-time:2024-02-29T10:11Z"},
		{"n eq -12.5", "name:n name:eq number:-12.5"},
		{"\ta\t(", "name:a '('"},
	} {
		toks, err := lex(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		var parts []string
		for _, tok := range toks[:len(toks)-1] {
			s := tok.kind.String()
			if tok.kind != tLParen && tok.kind != tRParen && tok.kind != tSlash && tok.kind != tColon && tok.kind != tComma {
				s += ":" + tok.text
			}
			parts = append(parts, s)
		}
		if got := strings.Join(parts, " "); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"a eq 'x", "a eq 'x''", "a # b", "a eq 2024-13-01", "a eq 2024-02-30", "a eq 2024-01-01T10:00:00",
		"a eq 2024-01-01T25:00:00Z", "a eq 12ab", "a eq 2024-01-01Tx", "a\u00a0eq 'x'", "a eq \"x\"", "a eq 2024-01-01T10:00:00.1234567890Z"} {
		if _, err := lex(bad); err == nil {
			t.Errorf("%q: lexed", bad)
		} else if e := (*Error)(nil); !errors.As(err, &e) || !e.Syntax {
			t.Errorf("%q: %v, want a syntax error", bad, err)
		}
	}
	toks, _ := lex("t ge 2024-02-29T10:11:12.5+02:00")
	if want := time.Date(2024, 2, 29, 8, 11, 12, 5e8, time.UTC); !toks[2].time.Equal(want) {
		t.Errorf("time %v, want %v", toks[2].time, want)
	}
}

// TestParseFilter: valid filters and the tree they give, shown by
// FormatFilter (every binary node in parentheses).
func TestParseFilter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"displayName eq 'Ada'", "displayName eq 'Ada'"},
		{"DisplayName EQ 'Ada'", "displayName eq 'Ada'"},
		{"'Ada' eq displayName", "displayName eq 'Ada'"},
		{"'b' lt surname", "surname gt 'b'"},
		{"2020-01-01 ge birthday", "birthday le 2020-01-01T00:00:00Z"},
		{"displayName ne null", "displayName ne null"},
		{"startswith(displayName,'Ad')", "startswith(displayName,'Ad')"},
		{"startsWith( displayName , 'Ad' )", "startswith(displayName,'Ad')"},
		{"emailAddresses/any(a:a/address eq 'ada@example.com')", "emailAddresses/any(a:a/address eq 'ada@example.com')"},
		{"emailAddresses/ANY(x: x/Address eq 'A@B.C')", "emailAddresses/any(x:x/address eq 'A@B.C')"},
		{"categories/any(c:c eq 'Red')", "categories/any(c:c eq 'Red')"},
		{"createdDateTime gt 2024-01-02T03:04:05Z", "createdDateTime gt 2024-01-02T03:04:05Z"},
		{"createdDateTime gt 2024-01-02T05:04:05+02:00", "createdDateTime gt 2024-01-02T03:04:05Z"},
		{"lastModifiedDateTime le 2024-01-02T03:04:05.25Z", "lastModifiedDateTime le 2024-01-02T03:04:05.25Z"},
		// Precedence: not > and > or; parentheses group.
		{"a1 eq 'x' or givenName eq 'y' and surname eq 'z'", ""},
		{"givenName eq 'x' or givenName eq 'y' and surname eq 'z'", "(givenName eq 'x') or ((givenName eq 'y') and (surname eq 'z'))"},
		{"givenName eq 'x' and givenName eq 'y' or surname eq 'z'", "((givenName eq 'x') and (givenName eq 'y')) or (surname eq 'z')"},
		{"(givenName eq 'x' or givenName eq 'y') and surname eq 'z'", "((givenName eq 'x') or (givenName eq 'y')) and (surname eq 'z')"},
		{"not givenName eq 'x' and surname eq 'z'", "(not (givenName eq 'x')) and (surname eq 'z')"},
		{"not (givenName eq 'x' and surname eq 'z')", "not ((givenName eq 'x') and (surname eq 'z'))"},
		{"NOT startswith(displayName,'Conf')", "not (startswith(displayName,'Conf'))"},
		{"not not givenName eq 'x'", "not (not (givenName eq 'x'))"},
		{"givenName eq 'a' or givenName eq 'b' or givenName eq 'c'", "((givenName eq 'a') or (givenName eq 'b')) or (givenName eq 'c')"},
		{"((((givenName eq 'a'))))", "givenName eq 'a'"},
		// Escaping and injection attempts stay inside one literal.
		{"displayName eq 'x'' or 1=1 --'", "displayName eq 'x'' or 1=1 --'"},
		{"displayName eq ''' OR ''1''=''1'", "displayName eq ''' OR ''1''=''1'"},
		{"displayName eq 'Robert''); DROP TABLE contacts;--'", "displayName eq 'Robert''); DROP TABLE contacts;--'"},
		{"displayName eq '%'", "displayName eq '%'"},
		{"startswith(displayName,'_%')", "startswith(displayName,'_%')"},
	} {
		if tc.want == "" {
			continue
		}
		e, err := ParseFilter(tc.in, contactgraph.ContactSchema)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		got := contactgraph.FormatFilter(e)
		if got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.in, got, tc.want)
		}
		// The rendering parses back to the same tree.
		e2, err := ParseFilter(got, contactgraph.ContactSchema)
		if err != nil || contactgraph.FormatFilter(e2) != got {
			t.Errorf("%q: rendering %q does not parse back: %v", tc.in, got, err)
		}
	}
	e, _ := ParseFilter("displayName eq 'x'' or 1=1 --'", contactgraph.ContactSchema)
	if c, ok := e.(contactgraph.Compare); !ok || c.Value.Str != "x' or 1=1 --" {
		t.Errorf("injection attempt parsed as %#v", e)
	}
}

func TestParseFilterOrg(t *testing.T) {
	t.Parallel()
	s := contactgraph.OrgContactSchema
	for _, tc := range []struct{ in, want string }{
		{"mail in ('a@x.com','b@x.com')", "mail in ('a@x.com','b@x.com')"},
		{"id eq '477E9FC6-5DE7-4406-BB2A-7E5C83C9FFFF'", "id eq '477E9FC6-5DE7-4406-BB2A-7E5C83C9FFFF'"},
		{"id eq 477E9FC6-5DE7-4406-BB2A-7E5C83C9FFFF", "id eq '477e9fc6-5de7-4406-bb2a-7e5c83c9ffff'"},
		{"proxyAddresses/any(p:startswith(p,'smtp:'))", "proxyAddresses/any(p:startswith(p,'smtp:'))"},
		{"proxyAddresses/any(p:p eq 'SMTP:a@x.com')", "proxyAddresses/any(p:p eq 'SMTP:a@x.com')"},
		{"onPremisesSyncEnabled eq true", "onPremisesSyncEnabled eq true"},
		{"onPremisesSyncEnabled in (true, false)", "onPremisesSyncEnabled in (true,false)"},
		{"onPremisesLastSyncDateTime ge 2024-01-01", "onPremisesLastSyncDateTime ge 2024-01-01T00:00:00Z"},
		{"companyName ne null and not(companyName eq 'Microsoft')", "(companyName ne null) and (not (companyName eq 'Microsoft'))"},
	} {
		e, err := ParseFilter(tc.in, s)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := contactgraph.FormatFilter(e); got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

// TestParseFilterErrors: syntax errors (text that does not parse or
// type-check) and unsupported nodes (well-formed, but not for this
// resource) are told apart.
func TestParseFilterErrors(t *testing.T) {
	t.Parallel()
	const syntax, unsup = true, false
	for _, tc := range []struct {
		schema *contactgraph.Schema
		in     string
		syntax bool
	}{
		{nil, "", syntax},
		{nil, "   ", syntax},
		{nil, "displayName", syntax},
		{nil, "displayName eq", syntax},
		{nil, "displayName eq 'x' and", syntax},
		{nil, "displayName eq 'x' or or givenName eq 'y'", syntax},
		{nil, "(displayName eq 'x'", syntax},
		{nil, "displayName eq 'x')", syntax},
		{nil, "displayName eq 'x'' or 1=1 --", syntax}, // the quote is escaped: the string never ends
		{nil, "displayName eq 'x' or 1=1 --'", syntax},
		{nil, "displayName eq 'x'; DROP TABLE contacts", syntax},
		{nil, "displayName = 'x'", syntax},
		{nil, "displayName eq \"x\"", syntax},
		{nil, "nosuch eq 'x'", syntax},
		{nil, "displayName eq 1", syntax},
		{nil, "displayName eq true", syntax},
		{nil, "birthday eq 'x'", syntax},
		{nil, "birthday eq 2024-01-01T10:00:00", syntax},
		{nil, "startswith(birthday,'1')", syntax},
		{nil, "frobnicate(displayName)", syntax},
		{nil, "emailAddresses/any(a:a/nosuch eq 'x')", syntax},
		{nil, "emailAddresses/any(a a/address eq 'x')", syntax},
		{nil, "displayName eq 'x' displayName eq 'y'", syntax},
		{nil, strings.Repeat("(", 40) + "displayName eq 'x'" + strings.Repeat(")", 40), syntax},
		{nil, strings.TrimSuffix(strings.Repeat("displayName eq 'x' or ", 200), " or "), syntax},
		{nil, "displayName eq '" + strings.Repeat("x", MaxLength) + "'", syntax},

		{nil, "displayName eq '\x00'", syntax},
		{nil, "displayName eq '\xff'", syntax},
		{nil, "personalNotes eq 'x'", unsup},
		{nil, "homeAddress/city eq 'x'", unsup},
		{nil, "emailAddresses/any(a:a/name eq 'x')", unsup},
		{nil, "emailAddresses/any(a:startswith(a/address,'x'))", unsup},
		{nil, "emailAddresses/any(a:a/address ne 'x')", unsup},
		{nil, "emailAddresses/all(a:a/address eq 'x')", unsup},
		{nil, "emailAddresses/any()", unsup},
		{nil, "emailAddresses eq 'x'", unsup},
		{nil, "emailAddresses/any(a:displayName eq 'x')", unsup},
		{nil, "emailAddresses/any(a:categories/any(c:c eq 'x'))", unsup},
		{nil, "businessPhones/any(p:p eq 'x')", unsup},
		{nil, "displayName/any(p:p eq 'x')", unsup},
		{nil, "contains(displayName,'x')", unsup},
		{nil, "endswith(displayName,'x')", unsup},
		{nil, "displayName in ('a','b')", unsup},
		{nil, "displayName eq givenName", unsup},
		{nil, "'a' eq 'a'", unsup},
		{nil, "displayName gt null", unsup},
		{nil, "id gt 'x'", unsup},
		{nil, "startswith(id,'x')", unsup},
		{nil, "displayName has 'x'", unsup},
		{contactgraph.OrgContactSchema, "displayName gt 'x'", unsup},
		{contactgraph.OrgContactSchema, "addresses/any(a:a/city eq 'x')", unsup},
		{contactgraph.OrgContactSchema, "mail in ()", syntax},
		{contactgraph.OrgContactSchema, "mail in ('a', null)", unsup},
		{contactgraph.OrgContactSchema, "mail in (" + strings.TrimSuffix(strings.Repeat("'a',", MaxIn+1), ",") + ")", unsup},
	} {
		s := tc.schema
		if s == nil {
			s = contactgraph.ContactSchema
		}
		e, err := ParseFilter(tc.in, s)
		if err == nil {
			t.Errorf("%.80q: parsed as %s", tc.in, contactgraph.FormatFilter(e))
			continue
		}
		var oe *Error
		if !errors.As(err, &oe) || oe.Syntax != tc.syntax {
			t.Errorf("%.80q: %v (syntax=%v), want syntax=%v", tc.in, err, oe != nil && oe.Syntax, tc.syntax)
			continue
		}
		want := contactgraph.EInvalidFilter
		if tc.syntax {
			want = contactgraph.EInvalid
		}
		if got := contactgraph.ErrorCode(err); got != want {
			t.Errorf("%.80q: code %s, want %s", tc.in, got, want)
		}
	}
}

func TestParseOrderBy(t *testing.T) {
	t.Parallel()
	keys, err := ParseOrderBy("displayName desc, createdDateTime,Surname ASC", contactgraph.ContactSchema)
	if err != nil {
		t.Fatal(err)
	}
	want := []contactgraph.SortKey{{Prop: "displayName", Desc: true}, {Prop: "createdDateTime"}, {Prop: "surname"}}
	if len(keys) != len(want) {
		t.Fatalf("%v", keys)
	}
	for i := range want {
		if keys[i] != want[i] {
			t.Errorf("key %d: %v, want %v", i, keys[i], want[i])
		}
	}
	for in, syntax := range map[string]bool{"": true, "displayName,": true, "displayName sideways": true, "displayName asc desc": true,
		"nosuch": true, "displayName,displayName desc": true, "personalNotes": false, "homeAddress/city": false, "emailAddresses": false} {
		_, err := ParseOrderBy(in, contactgraph.ContactSchema)
		var oe *Error
		if !errors.As(err, &oe) || oe.Syntax != syntax {
			t.Errorf("%q: %v, want syntax=%v", in, err, syntax)
		}
	}
	if _, err := ParseOrderBy("givenName", contactgraph.OrgContactSchema); err == nil {
		t.Error("org contacts sort by displayName only")
	}
}

func TestParseSearch(t *testing.T) {
	t.Parallel()
	s := contactgraph.OrgContactSchema
	for in, want := range map[string]string{
		`"displayName:dana"`:                                     "hasword(displayName,'dana')",
		` "DisplayName: Dana Lee" `:                              "hasword(displayName,'Dana Lee')",
		`"displayName:a" OR "displayName:b"`:                     "(hasword(displayName,'a')) or (hasword(displayName,'b'))",
		`"displayName:a" and "displayName:b" OR "displayName:c"`: "((hasword(displayName,'a')) and (hasword(displayName,'b'))) or (hasword(displayName,'c'))",
		`"displayName:say \"hi\""`:                               `hasword(displayName,'say "hi"')`,
	} {
		e, err := ParseSearch(in, s)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := contactgraph.FormatFilter(e); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
	for _, bad := range []string{``, `dana`, `"dana"`, `"displayName:"`, `"displayName:x`, `"mail:x"`, `"displayName:a" "displayName:b"`, `"displayName:a" OR`} {
		if _, err := ParseSearch(bad, s); err == nil {
			t.Errorf("%s: parsed", bad)
		}
	}
}

// FuzzParseFilter: no input panics, every error is an *Error with a 400
// code, and every tree that parses renders to text that parses back to the
// same tree.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"displayName eq 'x'", "displayName eq 'x'' or 1=1 --'", "not (a eq 'b') and startswith(givenName,'A')",
		"emailAddresses/any(a:a/address eq 'x@y.z')", "categories/any(c:c eq 'Red') or birthday ge 2020-01-01",
		"createdDateTime lt 2024-01-01T10:00:00.5+01:00", "((surname ne null))", "id eq 477e9fc6-5de7-4406-bb2a-7e5c83c9ffff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, schema := range []*contactgraph.Schema{contactgraph.ContactSchema, contactgraph.OrgContactSchema} {
			e, err := ParseFilter(s, schema)
			if err != nil {
				var oe *Error
				if !errors.As(err, &oe) {
					t.Fatalf("%q: error %T %v", s, err, err)
				}
				if c := contactgraph.ErrorCode(err); c != contactgraph.EInvalid && c != contactgraph.EInvalidFilter {
					t.Fatalf("%q: code %s", s, c)
				}
				continue
			}
			text := contactgraph.FormatFilter(e)
			e2, err := ParseFilter(text, schema)
			if err != nil {
				t.Fatalf("%q: rendering %q does not parse: %v", s, text, err)
			}
			if got := contactgraph.FormatFilter(e2); got != text {
				t.Fatalf("%q: %q renders back as %q", s, text, got)
			}
		}
	})
}

// TestParseFilterExtendedProperties: a collection whose members have
// several fields takes a lambda that and-s tests of them, the shape of
// singleValueExtendedProperties/any(ep: ep/id eq '…' and ep/value eq '…').
// The schema entry alone decides it; a store answers it through a side
// table (see internal/sqlstore/filter.go).
func TestParseFilterExtendedProperties(t *testing.T) {
	t.Parallel()
	s := contactgraph.NewSchema("microsoft.graph.contact", []contactgraph.Property{
		{Name: "displayName", Kind: contactgraph.KString, Filter: contactgraph.FilterEq},
		{Name: "singleValueExtendedProperties", Kind: contactgraph.KServiceErrors, Members: []contactgraph.Member{
			{Field: "id", Kind: contactgraph.KString, Ops: contactgraph.FilterEq},
			{Field: "value", Kind: contactgraph.KString, Ops: contactgraph.FilterEq, CaseSensitive: true}}},
	})
	in := "singleValueExtendedProperties/any(ep: ep/id eq 'String {66f5a359-4659-4830-9070-00047ec6ac6e} Name Color' and ep/value eq 'Green')"
	e, err := ParseFilter(in, s)
	if err != nil {
		t.Fatal(err)
	}
	want := contactgraph.Any{Prop: "singleValueExtendedProperties", Var: "ep", Cond: contactgraph.And{
		X: contactgraph.Compare{Path: contactgraph.Path{Var: "ep", Prop: "id"}, Op: contactgraph.Eq, Value: contactgraph.StringValue("String {66f5a359-4659-4830-9070-00047ec6ac6e} Name Color")},
		Y: contactgraph.Compare{Path: contactgraph.Path{Var: "ep", Prop: "value"}, Op: contactgraph.Eq, Value: contactgraph.StringValue("Green")}}}
	if contactgraph.FormatFilter(e) != contactgraph.FormatFilter(want) {
		t.Fatalf("got %s\nwant %s", contactgraph.FormatFilter(e), contactgraph.FormatFilter(want))
	}
	for _, bad := range []string{
		"singleValueExtendedProperties/any(ep: ep/value ne 'x')",
		"singleValueExtendedProperties/any(ep: startswith(ep/id,'String'))",
		"singleValueExtendedProperties/any(ep: ep eq 'x')",
		"singleValueExtendedProperties/any(ep: ep/id eq 'x' and displayName eq 'y')",
	} {
		if _, err := ParseFilter(bad, s); contactgraph.ErrorCode(err) != contactgraph.EInvalidFilter {
			t.Errorf("%s: %v, want EInvalidFilter", bad, err)
		}
	}
}

// TestParseFilterContactExtendedProperties: on the contact schema, Graph's
// documented lambda over singleValueExtendedProperties parses, with the
// id and value in either order, and every other shape is refused: a
// malformed id or value as a syntax error, the rest (and any lambda over
// multiValueExtendedProperties) as unsupported.
func TestParseFilterContactExtendedProperties(t *testing.T) {
	t.Parallel()
	const id = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name SourceId"
	for _, in := range []string{
		"singleValueExtendedProperties/any(ep: ep/id eq '" + id + "' and ep/value eq 'crm-1')",
		"singleValueExtendedProperties/any(ep: ep/value eq 'crm-1' and ep/id eq '" + id + "')",
		"SingleValueExtendedProperties/any(x: (x/ID eq '" + id + "') and (x/Value eq 'crm-1')) and displayName eq 'a'",
		"singleValueExtendedProperties/any(ep: ep/id eq 'Integer {00062004-0000-0000-c000-000000000046} Id 0x8001' and ep/value eq '42')",
	} {
		if _, err := ParseFilter(in, contactgraph.ContactSchema); err != nil {
			t.Errorf("%s: %v", in, err)
		}
	}
	const syntax, unsup = true, false
	for in, wantSyntax := range map[string]bool{
		"singleValueExtendedProperties/any(ep: ep/value eq 'x')":                                                                                   unsup,
		"singleValueExtendedProperties/any(ep: ep/id eq '" + id + "')":                                                                             unsup,
		"singleValueExtendedProperties/any(ep: ep/id eq '" + id + "' or ep/value eq 'x')":                                                          unsup,
		"singleValueExtendedProperties/any(ep: ep/id eq '" + id + "' and not (ep/value eq 'x'))":                                                   unsup,
		"singleValueExtendedProperties/any(ep: ep/id eq '" + id + "' and ep/value eq 'x' and ep/value eq 'y')":                                     unsup,
		"singleValueExtendedProperties/any(ep: ep/id eq '" + id + "' and ep/id eq '" + id + "')":                                                   unsup,
		"singleValueExtendedProperties/any(ep: ep/id eq '" + id + "' and ep/value ne 'x')":                                                         unsup,
		"singleValueExtendedProperties/any(ep: ep/id eq '" + id + "' and startswith(ep/value,'x'))":                                                unsup,
		"singleValueExtendedProperties/all(ep: ep/id eq '" + id + "' and ep/value eq 'x')":                                                         unsup,
		"singleValueExtendedProperties eq 'x'":                                                                                                     unsup,
		"multiValueExtendedProperties/any(ep: ep/id eq 'StringArray {66f5a359-4659-4830-9070-00047ec6ac6e} Name T' and ep/value/any(v: v eq 'x'))": unsup,
		"singleValueExtendedProperties/any(ep: ep/id eq 'not an id' and ep/value eq 'x')":                                                          syntax,
		"singleValueExtendedProperties/any(ep: ep/id eq 'StringArray {66f5a359-4659-4830-9070-00047ec6ac6e} Name T' and ep/value eq 'x')":          syntax,
		"singleValueExtendedProperties/any(ep: ep/id eq 'Integer {00062004-0000-0000-c000-000000000046} Id 0x8001' and ep/value eq 'x')":           syntax,
		"singleValueExtendedProperties/any(ep: ep/nosuch eq 'x')":                                                                                  syntax,
	} {
		_, err := ParseFilter(in, contactgraph.ContactSchema)
		var oe *Error
		if !errors.As(err, &oe) || oe.Syntax != wantSyntax {
			t.Errorf("%s: %v, want syntax=%v", in, err, wantSyntax)
		}
	}
	// The collections are not document properties: $select and $orderby
	// do not know them.
	if _, err := contactgraph.ContactSchema.Select([]string{"singleValueExtendedProperties"}); contactgraph.ErrorCode(err) != contactgraph.EInvalid {
		t.Errorf("$select=singleValueExtendedProperties: %v", err)
	}
	if _, err := ParseOrderBy("singleValueExtendedProperties", contactgraph.ContactSchema); err == nil {
		t.Error("$orderby=singleValueExtendedProperties accepted")
	}
}
