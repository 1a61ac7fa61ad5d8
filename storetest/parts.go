package storetest

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

// testImage encodes a w×h image as "jpeg", "png" or "gif".
func testImage(t testing.TB, format string, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, x%h, color.RGBA{R: 200, G: uint8(x), B: 40, A: 255})
	}
	var b bytes.Buffer
	var err error
	switch format {
	case "jpeg":
		err = jpeg.Encode(&b, img, nil)
	case "png":
		err = png.Encode(&b, img)
	case "gif":
		err = gif.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// JPEG returns a w×h JPEG image, for tests of photos.
func JPEG(t testing.TB, w, h int) []byte { return testImage(t, "jpeg", w, h) }

// PNG returns a w×h PNG image.
func PNG(t testing.TB, w, h int) []byte { return testImage(t, "png", w, h) }

func testPhotos(t *testing.T, s contactgraph.Store, clock *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	other := mailbox(t, s, "bob@contoso.com")
	c := must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"Ada"}`)))
	_, err := s.ContactPhoto(ctx(), mb, c.ID, true)
	wantCode(t, err, contactgraph.ENotFound)
	wantCode(t, func() error { _, err := s.DeleteContactPhoto(ctx(), mb, c.ID, ""); return err }(), contactgraph.ENotFound)

	clock.Advance(time.Minute)
	jpg := JPEG(t, 48, 32)
	up := must(s.SetContactPhoto(ctx(), mb, c.ID, "image/jpeg", jpg, ""))
	if up.ChangeKey == c.ChangeKey || !up.Modified.After(c.Modified) || up.Rev <= c.Rev || prop(t, up, "changeKey") != up.ChangeKey {
		t.Fatalf("setting a photo is not a change of the contact: %+v then %+v", c, up)
	}
	if cur := must(s.Contact(ctx(), mb, c.ID)); cur.ChangeKey != up.ChangeKey || string(cur.Doc) != string(up.Doc) {
		t.Fatalf("contact read back as %s, want %s", cur.Doc, up.Doc)
	}
	if strings.Contains(string(up.Doc), "photo") {
		t.Fatalf("the photo shows in the contact's document: %s", up.Doc)
	}
	meta := must(s.ContactPhoto(ctx(), mb, c.ID, false))
	if meta.ContentType != contactgraph.PhotoJPEG || meta.Width != 48 || meta.Height != 32 || meta.Size != int64(len(jpg)) ||
		meta.Data != nil || meta.MediaETag == "" || meta.ID() != "48x32" {
		t.Fatalf("photo metadata %+v", meta)
	}
	full := must(s.ContactPhoto(ctx(), mb, c.ID, true))
	if !bytes.Equal(full.Data, jpg) || full.MediaETag != meta.MediaETag {
		t.Fatalf("photo bytes read back: %d bytes, etag %s (want %d, %s)", len(full.Data), full.MediaETag, len(jpg), meta.MediaETag)
	}

	// Another mailbox, even with this contact's id, finds nothing.
	_, err = s.ContactPhoto(ctx(), other, c.ID, false)
	wantCode(t, err, contactgraph.ENotFound)
	_, err = s.SetContactPhoto(ctx(), other, c.ID, "image/jpeg", jpg, "")
	wantCode(t, err, contactgraph.ENotFound)

	// Refusals change nothing; an unknown contact is ENotFound first.
	big := append(slices.Clone(jpg), make([]byte, contactgraph.MaxPhotoBytes+1-len(jpg))...)
	for _, r := range []struct {
		name, ct string
		data     []byte
		code     contactgraph.Code
	}{
		{"gif", "image/gif", testImage(t, "gif", 8, 8), contactgraph.EUnsupportedMedia},
		{"json", "application/json", []byte(`{}`), contactgraph.EUnsupportedMedia},
		{"gif as octet-stream", "application/octet-stream", testImage(t, "gif", 8, 8), contactgraph.EInvalid},
		{"png declared as jpeg", "image/jpeg", PNG(t, 4, 4), contactgraph.EInvalid},
		{"garbage", "image/png", []byte("\x89PNG\r\n\x1a\nnot really"), contactgraph.EInvalid},
		{"empty", "image/jpeg", nil, contactgraph.EInvalid},
		{"over the limit", "image/jpeg", big, contactgraph.ETooLarge},
	} {
		_, err := s.SetContactPhoto(ctx(), mb, c.ID, r.ct, r.data, "")
		if contactgraph.ErrorCode(err) != r.code {
			t.Errorf("%s: %v, want code %s", r.name, err, r.code)
		}
		_, err = s.SetContactPhoto(ctx(), mb, contactgraph.NewID(), r.ct, r.data, "")
		if contactgraph.ErrorCode(err) != contactgraph.ENotFound {
			t.Errorf("%s on an unknown contact: %v, want not found", r.name, err)
		}
	}
	if cur := must(s.Contact(ctx(), mb, c.ID)); cur.ChangeKey != up.ChangeKey {
		t.Fatal("a refused photo changed the contact")
	}
	if got := must(s.ContactPhoto(ctx(), mb, c.ID, true)); !bytes.Equal(got.Data, jpg) {
		t.Fatal("a refused photo replaced the photo")
	}

	// A PNG sent as application/octet-stream (what the SDKs send), of
	// exactly the largest size, replaces it.
	pngBytes := PNG(t, 20, 30)
	maxed := append(slices.Clone(pngBytes), make([]byte, contactgraph.MaxPhotoBytes-len(pngBytes))...)
	_, err = s.SetContactPhoto(ctx(), mb, c.ID, "application/octet-stream", maxed, c.ETag())
	wantCode(t, err, contactgraph.EPrecondition)
	up2 := must(s.SetContactPhoto(ctx(), mb, c.ID, "application/octet-stream", maxed, up.ETag()))
	got := must(s.ContactPhoto(ctx(), mb, c.ID, true))
	if got.ContentType != contactgraph.PhotoPNG || got.Width != 20 || got.Height != 30 || !bytes.Equal(got.Data, maxed) || got.MediaETag == meta.MediaETag {
		t.Fatalf("replaced photo: %s %dx%d, %d bytes, etag %s", got.ContentType, got.Width, got.Height, len(got.Data), got.MediaETag)
	}
	// If-Match also takes the photo's media etag.
	up3 := must(s.SetContactPhoto(ctx(), mb, c.ID, "image/png", pngBytes, got.MediaETag))
	if up3.ChangeKey == up2.ChangeKey {
		t.Fatal("changeKey did not advance")
	}
	_, err = s.DeleteContactPhoto(ctx(), mb, c.ID, up2.ETag())
	wantCode(t, err, contactgraph.EPrecondition)
	del := must(s.DeleteContactPhoto(ctx(), mb, c.ID, up3.ETag()))
	if del.ChangeKey == up3.ChangeKey {
		t.Fatal("removing a photo did not change the contact")
	}
	_, err = s.ContactPhoto(ctx(), mb, c.ID, false)
	wantCode(t, err, contactgraph.ENotFound)
	_, err = s.DeleteContactPhoto(ctx(), mb, c.ID, "")
	wantCode(t, err, contactgraph.ENotFound)

	// A contact's input may carry its photo (a vCard does): written with
	// the contact, returned by ContactParts, removed by RemovePhoto.
	in := contactIn(t, `{"givenName":"Grace"}`)
	p := must(contactgraph.ParsePhoto("", pngBytes))
	in.Photo = &p
	g := must(s.CreateContact(ctx(), mb, mb.RootID, in))
	parts := must(s.ContactParts(ctx(), mb, []string{g.ID, c.ID}, contactgraph.PartsQuery{Photo: true}))
	if gp := parts[g.ID]; gp == nil || gp.Photo == nil || !bytes.Equal(gp.Photo.Data, pngBytes) || gp.Photo.Width != 20 || parts[c.ID] != nil {
		t.Fatalf("ContactParts photos: %+v", parts)
	}
	if other := must(s.ContactParts(ctx(), other, []string{g.ID}, contactgraph.PartsQuery{Photo: true})); len(other) != 0 {
		t.Fatal("another mailbox read the photo")
	}
	upd := contactIn(t, `{"surname":"Hopper"}`)
	upd.RemovePhoto = true
	g2 := must(s.UpdateContact(ctx(), mb, g.ID, upd, ""))
	_, err = s.ContactPhoto(ctx(), mb, g.ID, false)
	wantCode(t, err, contactgraph.ENotFound)
	if g2.ChangeKey == g.ChangeKey {
		t.Fatal("the update did not change the contact")
	}
}

// extIn parses an open extension body.
func extIn(t *testing.T, body string) contactgraph.Extension {
	t.Helper()
	return must(contactgraph.ParseExtension([]byte(body)))
}

func testExtensions(t *testing.T, s contactgraph.Store, _ *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	other := mailbox(t, s, "bob@contoso.com")
	c := must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"Ada",
		"extensions":[{"@odata.type":"microsoft.graph.openTypeExtension","extensionName":"Com.Contoso.Referral","companyName":"Wingtip Toys","dealValue":500050}]}`)))
	if l := must(s.ContactExtensions(ctx(), mb, c.ID)); len(l) != 1 || l[0].Name != "Com.Contoso.Referral" ||
		string(l[0].Data) != `{"companyName":"Wingtip Toys","dealValue":500050}` {
		t.Fatalf("extensions created with the contact: %+v", l)
	}
	if strings.Contains(string(c.Doc), "Wingtip") {
		t.Fatalf("an extension shows in the contact's document: %s", c.Doc)
	}

	e := must(s.CreateContactExtension(ctx(), mb, c.ID, extIn(t, `{"extensionName":"Com.Contoso.Sync","tags":["a","b"],"seen":true}`), c.ETag()))
	if e.Name != "Com.Contoso.Sync" || e.ID() != contactgraph.ExtensionIDPrefix+"Com.Contoso.Sync" {
		t.Fatalf("created %+v", e)
	}
	after := must(s.Contact(ctx(), mb, c.ID))
	if after.ChangeKey == c.ChangeKey || after.Rev <= c.Rev {
		t.Fatal("creating an extension did not change the contact")
	}
	_, err := s.CreateContactExtension(ctx(), mb, c.ID, extIn(t, `{"extensionName":"com.contoso.SYNC"}`), "")
	wantCode(t, err, contactgraph.EConflict)
	_, err = s.CreateContactExtension(ctx(), mb, c.ID, extIn(t, `{"x":1}`), "")
	wantCode(t, err, contactgraph.EInvalid)
	_, err = s.CreateContactExtension(ctx(), mb, c.ID, extIn(t, `{"extensionName":"Com.Contoso.Late"}`), c.ETag())
	wantCode(t, err, contactgraph.EPrecondition)
	_, err = s.CreateContactExtension(ctx(), other, c.ID, extIn(t, `{"extensionName":"Com.Contoso.Other"}`), "")
	wantCode(t, err, contactgraph.ENotFound)

	got := must(s.ContactExtension(ctx(), mb, c.ID, "COM.CONTOSO.SYNC"))
	if got.Name != "Com.Contoso.Sync" || string(got.Data) != `{"tags":["a","b"],"seen":true}` {
		t.Fatalf("read back %s %s", got.Name, got.Data)
	}
	if l := must(s.ContactExtensions(ctx(), mb, c.ID)); len(l) != 2 || l[0].Name != "Com.Contoso.Referral" || l[1].Name != "Com.Contoso.Sync" {
		t.Fatalf("extensions by name: %+v", l)
	}
	_, err = s.ContactExtension(ctx(), mb, c.ID, "Com.Contoso.None")
	wantCode(t, err, contactgraph.ENotFound)
	_, err = s.ContactExtension(ctx(), other, c.ID, "Com.Contoso.Sync")
	wantCode(t, err, contactgraph.ENotFound)
	_, err = s.ContactExtensions(ctx(), mb, contactgraph.NewID())
	wantCode(t, err, contactgraph.ENotFound)

	// An update replaces the custom data, as in Graph.
	up := must(s.UpdateContactExtension(ctx(), mb, c.ID, "com.contoso.sync", extIn(t, `{"extensionName":"Com.Contoso.Sync","seen":false}`), after.ETag()))
	if up.Name != "Com.Contoso.Sync" || string(up.Data) != `{"seen":false}` {
		t.Fatalf("updated %s %s", up.Name, up.Data)
	}
	if string(must(s.ContactExtension(ctx(), mb, c.ID, "Com.Contoso.Sync")).Data) != `{"seen":false}` {
		t.Fatal("update did not stick")
	}
	afterUp := must(s.Contact(ctx(), mb, c.ID))
	if afterUp.ChangeKey == after.ChangeKey {
		t.Fatal("updating an extension did not change the contact")
	}
	_, err = s.UpdateContactExtension(ctx(), mb, c.ID, "Com.Contoso.Sync", extIn(t, `{"extensionName":"Com.Contoso.Referral"}`), "")
	wantCode(t, err, contactgraph.EInvalid)
	_, err = s.UpdateContactExtension(ctx(), mb, c.ID, "Com.Contoso.None", extIn(t, `{}`), "")
	wantCode(t, err, contactgraph.ENotFound)

	wantCode(t, s.DeleteContactExtension(ctx(), mb, c.ID, "Com.Contoso.Sync", after.ETag()), contactgraph.EPrecondition)
	if err := s.DeleteContactExtension(ctx(), mb, c.ID, "Com.Contoso.Sync", afterUp.ETag()); err != nil {
		t.Fatal(err)
	}
	if must(s.Contact(ctx(), mb, c.ID)).ChangeKey == afterUp.ChangeKey {
		t.Fatal("deleting an extension did not change the contact")
	}
	wantCode(t, s.DeleteContactExtension(ctx(), mb, c.ID, "Com.Contoso.Sync", ""), contactgraph.ENotFound)

	// PATCH of the contact does not take extensions; a contact holds at
	// most MaxExtensions.
	_, err = s.UpdateContact(ctx(), mb, c.ID, contactIn(t, `{"extensions":[{"extensionName":"Com.Contoso.Inline"}]}`), "")
	wantCode(t, err, contactgraph.EInvalid)
	for i := 1; i < contactgraph.MaxExtensions; i++ {
		must(s.CreateContactExtension(ctx(), mb, c.ID, extIn(t, fmt.Sprintf(`{"extensionName":"Com.Contoso.N%d"}`, i)), ""))
	}
	_, err = s.CreateContactExtension(ctx(), mb, c.ID, extIn(t, `{"extensionName":"Com.Contoso.TooMany"}`), "")
	wantCode(t, err, contactgraph.EInvalid)
	_, err = s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"extensions":[{"extensionName":"A"}],"givenName":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
}

// Extended property ids of the tests, in several spellings.
const (
	propColor      = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name Color"
	propColorOther = "string {66F5A359-4659-4830-9070-00047EC6AC6E} name Color"
	propCount      = "Integer {66f5a359-4659-4830-9070-00047ec6ac6e} Id 0x8012"
	propCountHex   = "Integer {66f5a359-4659-4830-9070-00047ec6ac6e} Id 32786"
	propPalette    = "StringArray {66f5a359-4659-4830-9070-00047ec6ac6e} Name Palette"
	propTag        = "String 0x3A25001F"
)

func key(t *testing.T, id string) string {
	t.Helper()
	return must(contactgraph.ExtendedPropertyKey(id))
}

func testExtendedProperties(t *testing.T, s contactgraph.Store, _ *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	other := mailbox(t, s, "bob@contoso.com")
	work := must(s.CreateFolder(ctx(), mb, "", folderIn("Work")))
	long := strings.Repeat("é", 150) + "-tail"
	c := must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"Ada",
		"singleValueExtendedProperties":[{"id":"`+propColor+`","value":"Green"},{"id":"`+propCount+`","value":"012"},{"id":"`+propTag+`","value":"`+long+`"}],
		"multiValueExtendedProperties":[{"id":"`+propPalette+`","value":["Green","Aqua"]}]}`)))
	if strings.Contains(string(c.Doc), "Green") {
		t.Fatalf("an extended property shows in the contact's document: %s", c.Doc)
	}
	all := contactgraph.PartsQuery{Single: []string{key(t, propColorOther), key(t, propCountHex), key(t, propTag)}, Multi: []string{key(t, propPalette)}}
	parts := must(s.ContactParts(ctx(), mb, []string{c.ID}, all))[c.ID]
	if parts == nil || len(parts.Single) != 3 || len(parts.Multi) != 1 || parts.Extensions != nil {
		t.Fatalf("parts %+v", parts)
	}
	byKey := map[string]contactgraph.ExtendedProperty{}
	for _, p := range parts.Single {
		byKey[p.Key] = p
	}
	if p := byKey[key(t, propColor)]; p.ID != propColor || p.Value != "Green" || p.Multi {
		t.Fatalf("color %+v", p)
	}
	if p := byKey[key(t, propCount)]; p.Value != "12" {
		t.Fatalf("an Integer value is kept in canonical form: %+v", p)
	}
	if p := parts.Multi[0]; p.ID != propPalette || !slices.Equal(p.Values, []string{"Green", "Aqua"}) || !p.Multi {
		t.Fatalf("palette %+v", p)
	}
	// A key asked for as the other kind, or of another mailbox, is absent.
	if m := must(s.ContactParts(ctx(), mb, []string{c.ID}, contactgraph.PartsQuery{Multi: []string{key(t, propColor)}})); len(m) != 0 {
		t.Fatalf("a single-value property returned as multi-value: %+v", m[c.ID])
	}
	if m := must(s.ContactParts(ctx(), other, []string{c.ID}, all)); len(m) != 0 {
		t.Fatalf("another mailbox reads the parts: %+v", m)
	}

	// Lookups by value: case-insensitive, by any spelling of the id, in
	// the folder only, long values included.
	d := must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"Bea","singleValueExtendedProperties":[{"id":"`+propColor+`","value":"GREEN"}]}`)))
	w := must(s.CreateContact(ctx(), mb, work.ID, contactIn(t, `{"givenName":"Cy","singleValueExtendedProperties":[{"id":"`+propColor+`","value":"green"}]}`)))
	must(s.CreateContact(ctx(), other, other.RootID, contactIn(t, `{"givenName":"Bob","singleValueExtendedProperties":[{"id":"`+propColor+`","value":"green"}]}`)))
	ids := func(cs []*contactgraph.Contact) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	want := []string{c.ID, d.ID}
	slices.Sort(want)
	if got := ids(must(s.ContactsByExtendedProperty(ctx(), mb, mb.RootID, propColorOther, "gReEn", contactgraph.Page{Limit: 10}))); !slices.Equal(got, want) {
		t.Fatalf("lookup found %v, want %v", got, want)
	}
	page1 := must(s.ContactsByExtendedProperty(ctx(), mb, mb.RootID, propColor, "green", contactgraph.Page{Limit: 1}))
	page2 := must(s.ContactsByExtendedProperty(ctx(), mb, mb.RootID, propColor, "green", contactgraph.Page{After: page1[0].ID, Limit: 5}))
	if !slices.Equal(append(ids(page1), ids(page2)...), want) || string(page1[0].Doc) == "" {
		t.Fatalf("paged lookup %v then %v", ids(page1), ids(page2))
	}
	if got := ids(must(s.ContactsByExtendedProperty(ctx(), mb, work.ID, propColor, "Green", contactgraph.Page{Limit: 10}))); !slices.Equal(got, []string{w.ID}) {
		t.Fatalf("lookup in another folder found %v", got)
	}
	if got := must(s.ContactsByExtendedProperty(ctx(), mb, mb.RootID, propTag, strings.ToUpper(long), contactgraph.Page{Limit: 10})); len(got) != 1 || got[0].ID != c.ID {
		t.Fatalf("lookup of a long value found %v", ids(got))
	}
	if got := must(s.ContactsByExtendedProperty(ctx(), mb, mb.RootID, propTag, long[:len(long)-1], contactgraph.Page{Limit: 10})); len(got) != 0 {
		t.Fatalf("a prefix of a long value matched %v", ids(got))
	}
	if got := must(s.ContactsByExtendedProperty(ctx(), mb, mb.RootID, propCountHex, "+0012", contactgraph.Page{Limit: 10})); len(got) != 1 {
		t.Fatalf("lookup of an integer in another form found %v", ids(got))
	}
	_, err := s.ContactsByExtendedProperty(ctx(), mb, mb.RootID, propCount, "twelve", contactgraph.Page{Limit: 10})
	wantCode(t, err, contactgraph.EInvalid)
	_, err = s.ContactsByExtendedProperty(ctx(), mb, mb.RootID, propPalette, "Green", contactgraph.Page{Limit: 10})
	wantCode(t, err, contactgraph.EInvalid)
	_, err = s.ContactsByExtendedProperty(ctx(), mb, mb.RootID, "Nonsense", "x", contactgraph.Page{Limit: 10})
	wantCode(t, err, contactgraph.EInvalid)
	_, err = s.ContactsByExtendedProperty(ctx(), other, mb.RootID, propColor, "x", contactgraph.Page{Limit: 10})
	wantCode(t, err, contactgraph.ENotFound)

	// A PATCH sets, replaces and (null) removes properties, keeps the
	// others, and is a change even when it sets nothing else.
	up := must(s.UpdateContact(ctx(), mb, c.ID, contactIn(t, `{"singleValueExtendedProperties":[{"id":"`+propColorOther+`","value":"Blue"},{"id":"`+propCount+`","value":null}]}`), c.ETag()))
	if up.ChangeKey == c.ChangeKey {
		t.Fatal("a PATCH of extended properties did not change the contact")
	}
	parts = must(s.ContactParts(ctx(), mb, []string{c.ID}, all))[c.ID]
	if len(parts.Single) != 2 || len(parts.Multi) != 1 {
		t.Fatalf("after PATCH: %+v", parts)
	}
	for _, p := range parts.Single {
		if p.Key == key(t, propColor) && (p.Value != "Blue" || p.ID != propColorOther) {
			t.Fatalf("replaced property %+v", p)
		}
	}
	if got := ids(must(s.ContactsByExtendedProperty(ctx(), mb, mb.RootID, propColor, "green", contactgraph.Page{Limit: 10}))); !slices.Equal(got, []string{d.ID}) {
		t.Fatalf("after the change the lookup finds %v", got)
	}
	// A contact holds at most MaxExtendedProperties.
	props := func(from, to int) contactgraph.ContactInput {
		var many []string
		for i := from; i < to; i++ {
			many = append(many, fmt.Sprintf(`{"id":"String {66f5a359-4659-4830-9070-00047ec6ac6e} Name P%d","value":"v"}`, i))
		}
		return contactIn(t, `{"singleValueExtendedProperties":[`+strings.Join(many, ",")+`]}`)
	}
	must(s.UpdateContact(ctx(), mb, c.ID, props(0, 200), "")) // 3 + 200
	full := must(s.UpdateContact(ctx(), mb, c.ID, props(200, contactgraph.MaxExtendedProperties-3), ""))
	_, err = s.UpdateContact(ctx(), mb, c.ID, props(1000, 1001), "")
	wantCode(t, err, contactgraph.EInvalid)
	if must(s.Contact(ctx(), mb, c.ID)).ChangeKey != full.ChangeKey {
		t.Fatal("a refused PATCH changed the contact")
	}
	must(s.UpdateContact(ctx(), mb, c.ID, props(0, 1), "")) // replacing one keeps the count
}

// testPartsDelta: each change of a part is a change of the contact: the
// next delta round returns it at its new changeKey, and the folder's
// subscription is notified of an update.
func testPartsDelta(t *testing.T, s contactgraph.Store, clock *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	c := must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"Ada"}`)))
	quiet := must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"Quiet"}`)))
	m := mirror{}
	pos, _ := contactRound(t, s, mb, mb.RootID, 0, 10, m)
	must(s.CreateSubscription(ctx(), newSubscription("sub", contactgraph.Watched{Collection: "contacts", Mailbox: mb, FolderID: mb.RootID},
		contactgraph.ChangeCreated|contactgraph.ChangeUpdated|contactgraph.ChangeDeleted, clock)))
	jpg := JPEG(t, 8, 8)
	steps := []struct {
		name  string
		write func() error
	}{
		{"set photo", func() error { _, err := s.SetContactPhoto(ctx(), mb, c.ID, "image/jpeg", jpg, ""); return err }},
		{"replace photo", func() error { _, err := s.SetContactPhoto(ctx(), mb, c.ID, "image/jpeg", jpg, ""); return err }},
		{"remove photo", func() error { _, err := s.DeleteContactPhoto(ctx(), mb, c.ID, ""); return err }},
		{"create extension", func() error {
			_, err := s.CreateContactExtension(ctx(), mb, c.ID, extIn(t, `{"extensionName":"Com.Contoso.X","v":1}`), "")
			return err
		}},
		{"update extension", func() error {
			_, err := s.UpdateContactExtension(ctx(), mb, c.ID, "Com.Contoso.X", extIn(t, `{"v":2}`), "")
			return err
		}},
		{"delete extension", func() error { return s.DeleteContactExtension(ctx(), mb, c.ID, "Com.Contoso.X", "") }},
		{"set extended property", func() error {
			_, err := s.UpdateContact(ctx(), mb, c.ID, contactIn(t, `{"singleValueExtendedProperties":[{"id":"`+propColor+`","value":"Red"}]}`), "")
			return err
		}},
	}
	for _, st := range steps {
		before := m[c.ID]
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		var seen []contactgraph.ContactChange
		pos, seen = contactRound(t, s, mb, mb.RootID, pos, 10, m)
		if len(seen) != 1 || seen[0].ID != c.ID || seen[0].Removed {
			t.Fatalf("%s: the next round returned %+v, want the contact alone", st.name, seen)
		}
		if m[c.ID] == before || m[c.ID] != must(s.Contact(ctx(), mb, c.ID)).ChangeKey {
			t.Fatalf("%s: the round returned changeKey %s (was %s)", st.name, m[c.ID], before)
		}
		lines, ns := claimAll(t, s, clock, "sender")
		if want := []string{"sub 2 " + c.ID}; !slices.Equal(lines, want) {
			t.Fatalf("%s: notifications %v, want %v", st.name, lines, want)
		}
		if err := s.AckNotifications(ctx(), "sender", keysOf(ns)); err != nil {
			t.Fatal(err)
		}
	}
	// A refused part write records nothing.
	_, err := s.SetContactPhoto(ctx(), mb, c.ID, "image/gif", []byte("GIF89a"), "")
	wantCode(t, err, contactgraph.EUnsupportedMedia)
	if _, seen := contactRound(t, s, mb, mb.RootID, pos, 10, m); len(seen) != 0 {
		t.Fatalf("a refused photo appears in delta: %+v", seen)
	}
	if lines, _ := claimAll(t, s, clock, "sender"); len(lines) != 0 {
		t.Fatalf("a refused photo was notified: %v", lines)
	}
	if m[quiet.ID] == "" {
		t.Fatal("the mirror lost a contact")
	}
}

// testPartsDeleted: deleting a contact, its folder, its user or its
// tenant deletes its parts: nothing of them is found under its id.
func testPartsDeleted(t *testing.T, s contactgraph.Store, _ *Clock) {
	mb := mailbox(t, s, "alice@contoso.com")
	f := must(s.CreateFolder(ctx(), mb, "", folderIn("F")))
	sub := must(s.CreateFolder(ctx(), mb, f.ID, folderIn("Sub")))
	q := contactgraph.PartsQuery{Extensions: true, Single: []string{key(t, propColor)}}
	ids := []string{
		withParts(t, s, mb, mb.RootID).ID,
		withParts(t, s, mb, f.ID).ID,
		withParts(t, s, mb, sub.ID).ID,
	}
	if n := len(must(s.ContactParts(ctx(), mb, ids, q))); n != 3 {
		t.Fatalf("parts of %d contacts, want 3", n)
	}
	if err := s.DeleteContact(ctx(), mb, ids[0], ""); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteFolder(ctx(), mb, f.ID); err != nil {
		t.Fatal(err)
	}
	if m := must(s.ContactParts(ctx(), mb, ids, q)); len(m) != 0 {
		t.Fatalf("parts outlived their contacts: %+v", m)
	}
	if got := must(s.ContactsByExtendedProperty(ctx(), mb, mb.RootID, propColor, "kept", contactgraph.Page{Limit: 10})); len(got) != 0 {
		t.Fatalf("a deleted contact is found by its property: %v", got)
	}
}

// withParts creates a contact in folder with a photo, an open extension
// and an extended property (propColor = "kept").
func withParts(t *testing.T, s contactgraph.Store, mb contactgraph.Mailbox, folder string) *contactgraph.Contact {
	t.Helper()
	c := must(s.CreateContact(ctx(), mb, folder, contactIn(t, `{"givenName":"Parts",
		"extensions":[{"extensionName":"Com.Contoso.Kept","k":"v"}],
		"singleValueExtendedProperties":[{"id":"`+propColor+`","value":"kept"}]}`)))
	return must(s.SetContactPhoto(ctx(), mb, c.ID, "image/png", PNG(t, 4, 4), ""))
}

// CheckPartsDeleted checks that deletes leave none of a contact's parts
// behind in a store's tables, which the Store interface cannot see: rows
// returns how many rows the store holds for parts of contacts (for the SQL
// stores, the rows of their part tables). It deletes contacts in every
// way there is: one contact, a folder tree, a user, a tenant.
func CheckPartsDeleted(t *testing.T, s contactgraph.Store, rows func() int) {
	t.Helper()
	if n := rows(); n != 0 {
		t.Fatalf("a fresh store holds %d rows of parts", n)
	}
	mb := mailbox(t, s, "alice@contoso.com")
	f := must(s.CreateFolder(ctx(), mb, "", folderIn("F")))
	sub := must(s.CreateFolder(ctx(), mb, f.ID, folderIn("Sub")))
	one := withParts(t, s, mb, mb.RootID)
	withParts(t, s, mb, f.ID)
	withParts(t, s, mb, sub.ID)
	if n := rows(); n != 9 {
		t.Fatalf("3 contacts with a photo, an extension and a property each: %d rows, want 9", n)
	}
	steps := []struct {
		name string
		del  func() error
		left int
	}{
		{"contact", func() error { return s.DeleteContact(ctx(), mb, one.ID, "") }, 6},
		{"folder", func() error { return s.DeleteFolder(ctx(), mb, f.ID) }, 0},
	}
	for _, st := range steps {
		if err := st.del(); err != nil {
			t.Fatal(err)
		}
		if n := rows(); n != st.left {
			t.Fatalf("after deleting a %s: %d rows of parts, want %d", st.name, n, st.left)
		}
	}
	withParts(t, s, mb, mb.RootID)
	if err := s.DeleteUser(ctx(), tenant, mb.UserID); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 0 {
		t.Fatalf("after deleting the user: %d rows of parts", n)
	}
	mb = mailbox(t, s, "alice@contoso.com")
	withParts(t, s, mb, mb.RootID)
	if err := s.ResetTenant(ctx(), tenant); err != nil {
		t.Fatal(err)
	}
	if n := rows(); n != 0 {
		t.Fatalf("after resetting the tenant: %d rows of parts", n)
	}
}
