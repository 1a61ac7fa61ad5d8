package contactgraph

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
)

func encode(t testing.TB, format string, w, h int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	var b bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParsePhoto(t *testing.T) {
	t.Parallel()
	jpg, pngb := encode(t, "jpeg", 64, 48), encode(t, "png", 3, 5)
	tests := []struct {
		name, ct string
		data     []byte
		code     Code
		typ      string
		w, h     int
	}{
		{"jpeg", "image/jpeg", jpg, "", PhotoJPEG, 64, 48},
		{"jpg alias, parameters, case", "Image/JPG; q=1", jpg, "", PhotoJPEG, 64, 48},
		{"png", "image/png", pngb, "", PhotoPNG, 3, 5},
		{"octet-stream sniffs png", "application/octet-stream", pngb, "", PhotoPNG, 3, 5},
		{"no type sniffs jpeg", "", jpg, "", PhotoJPEG, 64, 48},
		{"gif type", "image/gif", []byte("GIF89a"), EUnsupportedMedia, "", 0, 0},
		{"json type", "application/json", jpg, EUnsupportedMedia, "", 0, 0},
		{"mismatch", "image/png", jpg, EInvalid, "", 0, 0},
		{"gif bytes", "application/octet-stream", []byte("GIF89a\x01\x00\x01\x00"), EInvalid, "", 0, 0},
		{"truncated jpeg", "image/jpeg", jpg[:10], EInvalid, "", 0, 0},
		{"png signature only", "image/png", pngb[:8], EInvalid, "", 0, 0},
		{"empty", "image/png", nil, EInvalid, "", 0, 0},
		{"too large", "image/jpeg", append(bytes.Clone(jpg), make([]byte, MaxPhotoBytes)...), ETooLarge, "", 0, 0},
	}
	for _, tt := range tests {
		p, err := ParsePhoto(tt.ct, tt.data)
		if ErrorCode(err) != tt.code {
			t.Errorf("%s: %v, want code %q", tt.name, err, tt.code)
			continue
		}
		if err != nil {
			continue
		}
		if p.ContentType != tt.typ || p.Width != tt.w || p.Height != tt.h || p.Size != int64(len(tt.data)) || !bytes.Equal(p.Data, tt.data) {
			t.Errorf("%s: %+v", tt.name, p)
		}
	}
	a, _ := ParsePhoto("image/jpeg", jpg)
	b, _ := ParsePhoto("", jpg)
	c, _ := ParsePhoto("image/png", pngb)
	if a.MediaETag != b.MediaETag || a.MediaETag == c.MediaETag || !strings.HasPrefix(a.MediaETag, `"`) || a.ID() != "64x48" {
		t.Errorf("media etags %s %s %s, id %s", a.MediaETag, b.MediaETag, c.MediaETag, a.ID())
	}
}

// FuzzParsePhoto: any bytes under any type give a photo with positive
// dimensions or a coded error, never a panic.
func FuzzParsePhoto(f *testing.F) {
	f.Add("image/jpeg", encode(f, "jpeg", 2, 2))
	f.Add("image/png", encode(f, "png", 2, 2))
	f.Add("", []byte("\xff\xd8\xff\xc0\x00\x11\x08"))
	f.Fuzz(func(t *testing.T, ct string, data []byte) {
		p, err := ParsePhoto(ct, data)
		if err != nil {
			if ErrorCode(err) == EInternal {
				t.Fatalf("uncoded error %v", err)
			}
			return
		}
		if p.Width <= 0 || p.Height <= 0 || (p.ContentType != PhotoJPEG && p.ContentType != PhotoPNG) {
			t.Fatalf("photo %+v", p)
		}
	})
}

func TestParseExtension(t *testing.T) {
	t.Parallel()
	e, err := ParseExtension([]byte(`{"@odata.type":"microsoft.graph.openTypeExtension","extensionName":"Com.Contoso.Referral","id":"ignored",
		"companyName":"Wingtip Toys","dealValue":500050,"tags":["a",1,true,null],"x@odata.type":"#String","none":null}`))
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "Com.Contoso.Referral" || string(e.Data) != `{"companyName":"Wingtip Toys","dealValue":500050,"tags":["a",1,true,null],"none":null}` {
		t.Fatalf("parsed %s %s", e.Name, e.Data)
	}
	want := `{"@odata.type":"#microsoft.graph.openTypeExtension","id":"Microsoft.OutlookServices.OpenTypeExtension.Com.Contoso.Referral","extensionName":"Com.Contoso.Referral","companyName":"Wingtip Toys","dealValue":500050,"tags":["a",1,true,null],"none":null}`
	if got := string(e.Doc()); got != want {
		t.Fatalf("doc\n %s\nwant\n %s", got, want)
	}
	if empty, _ := ParseExtension([]byte(`{"extensionName":"A"}`)); string(empty.Doc()) != `{"@odata.type":"#microsoft.graph.openTypeExtension","id":"`+ExtensionIDPrefix+`A","extensionName":"A"}` {
		t.Fatalf("doc without data: %s", empty.Doc())
	}
	if noName, err := ParseExtension([]byte(`{"v":1}`)); err != nil || noName.Name != "" {
		t.Fatalf("a body without a name: %+v %v", noName, err)
	}
	for _, body := range []string{
		``, `[]`, `"x"`, `{"extensionName":1}`, `{"extensionName":""}`, `{"extensionName":"a b"}`, `{"extensionName":"a/b"}`,
		`{"extensionName":"Microsoft.OutlookServices.OpenTypeExtension.X"}`, `{"extensionName":"` + strings.Repeat("a", 256) + `"}`,
		`{"extensionName":"A","o":{}}`, `{"extensionName":"A","o":[{}]}`, `{"extensionName":"A","o":[[]]}`, `{"extensionName":"A","a":1,"a":2}`,
		`{"extensionName":"A","big":"` + strings.Repeat("x", MaxExtensionBytes) + `"}`, `{"extensionName":"A"} {}`,
	} {
		if _, err := ParseExtension([]byte(body)); ErrorCode(err) != EInvalid {
			t.Errorf("%.80s: %v, want EInvalid", body, err)
		}
	}
	for in, want := range map[string]string{
		"Com.Contoso.X": "Com.Contoso.X",
		"Microsoft.OutlookServices.OpenTypeExtension.Com.Contoso.X": "Com.Contoso.X",
		"microsoft.outlookservices.opentypeextension.Com.Contoso.X": "Com.Contoso.X",
		"microsoft.graph.openTypeExtension.Com.Contoso.X":           "Com.Contoso.X",
	} {
		if got, err := ExtensionName(in); err != nil || got != want {
			t.Errorf("ExtensionName(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "a b", "Microsoft.OutlookServices.OpenTypeExtension.", "x'y"} {
		if _, err := ExtensionName(in); ErrorCode(err) != EMalformedID {
			t.Errorf("ExtensionName(%q): %v", in, err)
		}
	}
}

func TestExtendedPropertyKey(t *testing.T) {
	t.Parallel()
	const g = "{66f5a359-4659-4830-9070-00047ec6ac6e}"
	for in, want := range map[string]string{
		"String " + g + " Name Color":                              "String " + g + " Name Color",
		"string {66F5A359-4659-4830-9070-00047EC6AC6E} name Color": "String " + g + " Name Color",
		"String " + g + " Name Two Words":                          "String " + g + " Name Two Words",
		"Integer " + g + " Id 0x8012":                              "Integer " + g + " Id 0x8012",
		"Integer " + g + " Id 32786":                               "Integer " + g + " Id 0x8012",
		"Integer " + g + " id 0X8012":                              "Integer " + g + " Id 0x8012",
		"String 0x4001001E":                                        "String 0x4001001e",
		"String 0x3a25":                                            "String 0x3a25",
		"StringArray " + g + " Name Palette":                       "StringArray " + g + " Name Palette",
		"clsidarray 0x85201048":                                    "CLSIDArray 0x85201048",
		"  SystemTime   " + g + "  Name  T":                        "SystemTime " + g + " Name  T",
	} {
		got, err := ExtendedPropertyKey(in)
		if err != nil || got != want {
			t.Errorf("ExtendedPropertyKey(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "String", "Color", "Text " + g + " Name X", "String " + g, "String " + g + " Name", "String " + g + " Name ",
		"String {not-a-guid} Name X", "String " + g + " Tag X", "String " + g + " Id 0xZZ", "String 0x123456789",
		"BooleanArray 0x1", "Object 0x1", "String " + g + " Name X\x01", "String " + g + " Name " + strings.Repeat("n", 256),
	} {
		if _, err := ExtendedPropertyKey(in); ErrorCode(err) != EInvalid {
			t.Errorf("ExtendedPropertyKey(%q): %v, want EInvalid", in, err)
		}
	}
	if ExtendedPropertyKey("String " + g + " Name Color"); true {
		a, _ := ExtendedPropertyKey("String " + g + " Name Color")
		b, _ := ExtendedPropertyKey("String " + g + " Name color")
		if a == b {
			t.Error("names are case-sensitive")
		}
	}
}

func TestExtendedValueKey(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("ü", 120) // 240 bytes
	for _, tt := range []struct {
		a, b  string
		equal bool
	}{
		{"Green", "gREEN", true},
		{"Green", "Green ", false},
		{long, strings.ToUpper(long), true},
		{long, long[:len(long)-2], false},
		{long + "a", long + "b", false},
	} {
		if got := ExtendedValueKey(tt.a) == ExtendedValueKey(tt.b); got != tt.equal {
			t.Errorf("keys of %.20q and %.20q equal: %v", tt.a, tt.b, got)
		}
	}
	if k := ExtendedValueKey(long); len(k) <= valueKeyLen || len(k) > valueKeyLen+65 {
		t.Errorf("long key of %d bytes", len(k))
	}
	if k := ExtendedValueKey(strings.Repeat("a", valueKeyLen)); len(k) != valueKeyLen {
		t.Errorf("a value of %d bytes is its own key, got %d bytes", valueKeyLen, len(k))
	}
}

func TestParseContactInputParts(t *testing.T) {
	t.Parallel()
	const g = "{66f5a359-4659-4830-9070-00047ec6ac6e}"
	in, err := ParseContactInput([]byte(`{"givenName":"Ada",
		"extensions":[{"extensionName":"A","v":1},{"extensionName":"B"}],
		"singleValueExtendedProperties":[{"id":"Integer ` + g + ` Id 0x8012","value":" 007 "},{"id":"String ` + g + ` Name S","value":null},
			{"id":"Boolean 0x0E1B000B","value":"TRUE"},{"id":"SystemTime ` + g + ` Name T","value":"2026-01-02T03:04:05.5+01:00"},
			{"id":"CLSID ` + g + ` Name G","value":"{8ECCC264-6880-4EBE-992F-8888D2EEAA1D}"},{"id":"Double ` + g + ` Name D","value":"1.50"}],
		"multiValueExtendedProperties":[{"id":"IntegerArray ` + g + ` Name N","value":["1","+2"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Props) != 1 || len(in.Extensions) != 2 || len(in.Extended) != 7 {
		t.Fatalf("parsed %+v", in)
	}
	want := []string{"7", "", "true", "2026-01-02T02:04:05.5Z", "8eccc264-6880-4ebe-992f-8888d2eeaa1d", "1.5"}
	for i, w := range want {
		if p := in.Extended[i]; p.Value != w || p.Multi {
			t.Errorf("property %d: %+v, want value %q", i, p, w)
		}
	}
	if !in.Extended[1].Remove {
		t.Error("a null value removes the property")
	}
	if m := in.Extended[6]; !m.Multi || strings.Join(m.Values, ",") != "1,2" {
		t.Errorf("multi-value %+v", m)
	}
	for _, body := range []string{
		`{"extensions":{}}`, `{"extensions":[{"v":1}]}`, `{"extensions":[{"extensionName":"A"},{"extensionName":"a"}]}`,
		`{"singleValueExtendedProperties":[{"id":"String ` + g + ` Name S","value":"a"},{"id":"string ` + g + ` name S","value":"b"}]}`,
		`{"singleValueExtendedProperties":[{"id":"String ` + g + ` Name S"}]}`,
		`{"singleValueExtendedProperties":[{"id":"String ` + g + ` Name S","value":"a","extra":1}]}`,
		`{"singleValueExtendedProperties":[{"id":"Short ` + g + ` Name S","value":"70000"}]}`,
		`{"singleValueExtendedProperties":[{"id":"Binary ` + g + ` Name S","value":"!!"}]}`,
		`{"singleValueExtendedProperties":[{"id":"Double ` + g + ` Name S","value":"NaN"}]}`,
		`{"multiValueExtendedProperties":[{"id":"StringArray ` + g + ` Name S","value":[1]}]}`,
		`{"multiValueExtendedProperties":[{"id":"String ` + g + ` Name S","value":["a"]}]}`,
	} {
		if _, err := ParseContactInput([]byte(body)); ErrorCode(err) != EInvalid {
			t.Errorf("%s: %v, want EInvalid", body, err)
		}
	}
}

func TestCanonicalExtendedValue(t *testing.T) {
	t.Parallel()
	const g = "{66f5a359-4659-4830-9070-00047ec6ac6e}"
	for _, tt := range []struct{ id, in, want string }{
		{"Integer " + g + " Id 0x8012", "+0012", "12"},
		{"String " + g + " Name S", " As Is ", " As Is "},
		{"Boolean 0x0E1B000B", "False", "false"},
		{"Double " + g + " Name D", "2.50", "2.5"},
	} {
		if got, err := CanonicalExtendedValue(tt.id, tt.in); err != nil || got != tt.want {
			t.Errorf("CanonicalExtendedValue(%q, %q) = %q, %v; want %q", tt.id, tt.in, got, err, tt.want)
		}
	}
	for _, tt := range []struct{ id, in string }{
		{"Integer " + g + " Id 0x8012", "twelve"}, {"StringArray " + g + " Name A", "x"}, {"Nonsense", "x"},
	} {
		if _, err := CanonicalExtendedValue(tt.id, tt.in); ErrorCode(err) != EInvalid {
			t.Errorf("CanonicalExtendedValue(%q, %q): %v", tt.id, tt.in, err)
		}
	}
}
