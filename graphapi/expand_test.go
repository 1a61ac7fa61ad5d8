package graphapi

import (
	"net/url"
	"slices"
	"testing"

	"github.com/contactgraph/contactgraph"
)

func TestParseExpand(t *testing.T) {
	t.Parallel()
	const (
		g     = "{66f5a359-4659-4830-9070-00047ec6ac6e}"
		color = "String " + g + " Name Color"
		arr   = "StringArray " + g + " Name Palette"
	)
	key := func(id string) string { k, _ := contactgraph.ExtendedPropertyKey(id); return k }
	tests := []struct {
		expand        string
		ext           bool
		names         []string // nil: all
		single, multi []string
		navS, navM    bool
	}{
		{"extensions", true, nil, nil, nil, false, false},
		{"Extensions", true, nil, nil, nil, false, false},
		{"extensions($filter=id eq 'Com.Contoso.A')", true, []string{"Com.Contoso.A"}, nil, nil, false, false},
		{"extensions($filter=id eq 'Microsoft.OutlookServices.OpenTypeExtension.A' or id eq 'B')", true, []string{"A", "B"}, nil, nil, false, false},
		{"extensions($filter=id eq 'A'),extensions", true, nil, nil, nil, false, false},
		{"extensions,extensions($filter=id eq 'A')", true, nil, nil, nil, false, false},
		{"singleValueExtendedProperties($filter=id eq '" + color + "')", false, nil, []string{key(color)}, nil, true, false},
		{"singleValueExtendedProperties($filter=(id eq '" + color + "') or (id eq 'String 0x3a25'))", false, nil, []string{key(color), "String 0x3a25"}, nil, true, false},
		{"singleValueExtendedProperties($filter=ID EQ '" + color + "')", false, nil, []string{key(color)}, nil, true, false},
		{"singleValueExtendedProperties($filter=id eq '" + arr + "')", false, nil, nil, nil, true, false},
		{"multiValueExtendedProperties($filter=id eq '" + arr + "'), extensions", true, nil, nil, []string{key(arr)}, false, true},
		{"singleValueExtendedProperties($filter=id eq 'String " + g + " Name it''s')", false, nil, []string{"String " + g + " Name it's"}, nil, true, false},
		{"singleValueExtendedProperties($filter=id eq 'String " + g + " Name a,b(c)')", false, nil, []string{"String " + g + " Name a,b(c)"}, nil, true, false},
	}
	for _, tt := range tests {
		x, err := parseExpand(url.Values{"$expand": {tt.expand}})
		if err != nil {
			t.Errorf("%s: %v", tt.expand, err)
			continue
		}
		if x.q.Extensions != tt.ext || !slices.Equal(x.q.ExtensionNames, tt.names) || (x.q.ExtensionNames == nil) != (tt.names == nil) && tt.ext ||
			!slices.Equal(x.q.Single, tt.single) || !slices.Equal(x.q.Multi, tt.multi) || x.single != tt.navS || x.multi != tt.navM {
			t.Errorf("%s: %+v", tt.expand, x)
		}
	}
	for expand, code := range map[string]contactgraph.Code{
		"photo":                                                contactgraph.EInvalid,
		"extensions(":                                          contactgraph.EInvalid,
		"extensions)":                                          contactgraph.EInvalid,
		"extensions($filter=id eq 'A'":                         contactgraph.EInvalid,
		"extensions($filter=id eq 'A)":                         contactgraph.EInvalid,
		"extensions($select=id)":                               contactgraph.EUnsupported,
		"extensions($filter=id eq 'A';$top=1)":                 contactgraph.EUnsupported,
		"extensions($filter=id ne 'A')":                        contactgraph.EUnsupported,
		"extensions($filter=id eq 'A' and id eq 'B')":          contactgraph.EUnsupported,
		"extensions($filter=id eq A)":                          contactgraph.EUnsupported,
		"extensions($filter=)":                                 contactgraph.EUnsupported,
		"extensions($filter=id eq 'bad name')":                 contactgraph.EMalformedID,
		"singleValueExtendedProperties":                        contactgraph.EUnsupported,
		"multiValueExtendedProperties()":                       contactgraph.EUnsupported,
		"singleValueExtendedProperties($filter=id eq 'Color')": contactgraph.EInvalid,
	} {
		if _, err := parseExpand(url.Values{"$expand": {expand}}); contactgraph.ErrorCode(err) != code {
			t.Errorf("%s: %v, want code %s", expand, err, code)
		}
	}
	if x, err := parseExpand(url.Values{}); x != nil || err != nil {
		t.Errorf("no $expand: %+v %v", x, err)
	}
}
