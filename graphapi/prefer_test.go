package graphapi

import (
	"net/http"
	"testing"
)

func TestParsePrefer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		headers []string
		want    prefer
	}{
		{nil, prefer{}},
		{[]string{"odata.maxpagesize=5"}, prefer{MaxPageSize: 5}},
		{[]string{"odata.maxpagesize = 7"}, prefer{MaxPageSize: 7}},
		{[]string{`odata.maxpagesize="9"`}, prefer{MaxPageSize: 9}},
		{[]string{"Odata.MaxPageSize=3"}, prefer{MaxPageSize: 3}},
		{[]string{"maxpagesize=4"}, prefer{MaxPageSize: 4}},
		{[]string{"return=minimal, odata.maxpagesize=2"}, prefer{MaxPageSize: 2, ReturnMinimal: true}},
		{[]string{"odata.track-changes", "odata.maxpagesize=2", "return=minimal"}, prefer{MaxPageSize: 2, ReturnMinimal: true}},
		{[]string{`IdType="ImmutableId",odata.maxpagesize=8`}, prefer{MaxPageSize: 8, IDType: "ImmutableId"}},
		{[]string{`idtype=restid`, `IdType="ImmutableId"`}, prefer{IDType: "RestId"}},
		{[]string{`IdType="EwsId"`}, prefer{}},
		{[]string{`outlook.body-content-type="text, html", return="minimal"`}, prefer{ReturnMinimal: true}},
		{[]string{"return=representation"}, prefer{}},
		{[]string{"odata.maxpagesize=abc"}, prefer{}},
		{[]string{"odata.maxpagesize=0"}, prefer{}},
		{[]string{"odata.maxpagesize=-3"}, prefer{}},
		{[]string{"odata.maxpagesize=99999999999999999999999"}, prefer{}},
		{[]string{"odata.maxpagesize=abc, odata.maxpagesize=6"}, prefer{MaxPageSize: 6}},
		{[]string{"odata.maxpagesize=6", "odata.maxpagesize=9"}, prefer{MaxPageSize: 6}},
		{[]string{"odata.maxpagesize=6; foo=bar"}, prefer{MaxPageSize: 6}},
		{[]string{" , ,odata.maxpagesize=1,"}, prefer{MaxPageSize: 1}},
	}
	for _, tt := range tests {
		h := http.Header{}
		for _, v := range tt.headers {
			h.Add("Prefer", v)
		}
		if got := parsePrefer(h); got != tt.want {
			t.Errorf("%q: got %+v, want %+v", tt.headers, got, tt.want)
		}
	}
}
