package delta

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func testCodec(t testing.TB, key string) *Codec {
	c, err := NewCodec([]byte(strings.Repeat(key, 32)[:32]))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sample() Token {
	return Token{Skip: true, Collection: Contacts, Binding: Bind(Contacts, "t-1", "u-1", "f-1", "u:u-1"),
		Since: 5, Until: 90, After: 40, Issued: time.UnixMilli(1795000000123).UTC(), Select: []string{"id", "displayName"}}
}

func TestTokenRoundTrip(t *testing.T) {
	c := testCodec(t, "k")
	for _, tok := range []Token{sample(), {Collection: Folders, Binding: Bind(Folders, "t", "", "", ""), Issued: time.Unix(0, 0).UTC()},
		{Collection: OrgContacts, Binding: Bind(OrgContacts, "t", "", "", "a:x"), Since: 1 << 40, After: 1 << 40, Issued: time.Unix(1, 0).UTC(), Filter: []string{"a", "b"}}} {
		s := c.Encode(tok)
		if strings.ContainsAny(s, "&#+/=%") {
			t.Fatalf("token %q is not URL-safe", s)
		}
		got, err := c.Decode(s)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(got, tok) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, tok)
		}
		if again := c.Encode(tok); again == s {
			t.Fatal("two encodings of one token must differ (every deltaLink call gets a new token)")
		}
	}
}

func TestBindingSeparatesFields(t *testing.T) {
	a := Bind(Contacts, "t", "ab", "c", "u")
	for _, b := range []Binding{Bind(Contacts, "t", "a", "bc", "u"), Bind(Folders, "t", "ab", "c", "u"), Bind(Contacts, "t", "ab", "c", "v")} {
		if a == b {
			t.Fatal("different bindings share a digest")
		}
	}
}

func TestTokenRejects(t *testing.T) {
	c := testCodec(t, "k")
	good := c.Encode(sample())
	raw := []byte(good)
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	cases := map[string]string{
		"empty":        "",
		"garbage":      "bogus",
		"not base64":   "!!!!",
		"truncated":    good[:len(good)-3],
		"one char off": flip(len(good) / 2),
		"last char":    flip(len(good) - 1),
		"padded":       good + "==",
		"doubled":      good + good,
		"huge":         strings.Repeat("A", maxTokenLen+1),
		"newline":      good[:10] + "\n" + good[10:],
		"carriage":     good[:10] + "\r" + good[10:],
	}
	for name, s := range cases {
		if _, err := c.Decode(s); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	other := testCodec(t, "x")
	if _, err := other.Decode(good); !errors.Is(err, ErrForeignKey) {
		t.Fatalf("a token of another key: err = %v, want ErrForeignKey", err)
	}
}

// FuzzDecode: the decoder never panics, and what it accepts is exactly the
// canonical encoding of what it returns: re-encoding the token with its own
// nonce gives back the same string, so no modified token passes.
func FuzzDecode(f *testing.F) {
	c := testCodec(f, "k")
	for _, tok := range []Token{sample(), {Collection: Folders, Issued: time.Unix(0, 0)}} {
		f.Add(c.Encode(tok))
	}
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := c.Decode(s)
		if err != nil {
			return
		}
		raw, _ := base64.RawURLEncoding.DecodeString(s)
		again := *c
		again.nonce = func(b []byte) { copy(b, raw[1+keyIDLen:1+keyIDLen+nonceLen]) }
		if enc := again.Encode(tok); enc != s {
			t.Fatalf("accepted %q, whose canonical encoding is %q", s, enc)
		}
	})
}

// Short tokens that start with the version byte are refused, at every
// length below the smallest token the codec makes: the length check comes
// before any slicing.
func TestTokenRejectsShortVersioned(t *testing.T) {
	c := testCodec(t, "k")
	for n := 1; n < 1+keyIDLen+nonceLen+2+tagLen; n++ {
		b := make([]byte, n)
		b[0] = tokenVersion
		s := base64.RawURLEncoding.EncodeToString(b)
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("%d bytes: Decode panicked: %v", n, r)
				}
			}()
			if _, err := c.Decode(s); !errors.Is(err, ErrMalformed) {
				t.Errorf("%d bytes: err = %v, want ErrMalformed", n, err)
			}
		}()
	}
}
