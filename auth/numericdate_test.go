package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// TestNumericDatesAreNumbers: RFC 7519 makes exp, nbf and iat JSON numbers
// (NumericDate). golang-jwt also reads a number in a string; a token doing
// so is refused, signed by a trusted key or not, for the local issuer and
// a JWKS issuer alike.
func TestNumericDatesAreNumbers(t *testing.T) {
	t.Parallel()
	l := newLocal(t, LocalOptions{})
	is := newIssuer(t)
	ext := is.jwks(t, nil)
	for _, v := range []struct {
		name string
		l    *Local
		auth Authenticator
	}{{"local", l, l}, {"jwks", is.Local, ext}} {
		// payload returns ada's claims as a map, with edit applied.
		payload := func(edit func(m map[string]any)) jwt.MapClaims {
			b, err := json.Marshal(mintClaims(t, v.l, adaOpts))
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				t.Fatal(err)
			}
			edit(m)
			return m
		}
		signed := func(m jwt.MapClaims) string { return sign(t, jwt.SigningMethodRS256, v.l.key, v.l.kid, m) }

		if _, err := v.auth.Authenticate(context.Background(), signed(payload(func(map[string]any) {}))); err != nil {
			t.Fatalf("%s: the unchanged token: %v", v.name, err)
		}
		for _, claim := range []string{"exp", "nbf", "iat"} {
			quoted := payload(func(m map[string]any) { m[claim] = m[claim].(json.Number).String() })
			_, err := v.auth.Authenticate(context.Background(), signed(quoted))
			wantRefused(t, err, msgNumericDate)
		}
		for name, val := range map[string]any{"true": true, "an object": map[string]any{"n": 1}, "an array": []any{1}} {
			_, err := v.auth.Authenticate(context.Background(), signed(payload(func(m map[string]any) { m["exp"] = val })))
			if err == nil {
				t.Errorf("%s: exp %s accepted", v.name, name)
			}
		}
		// A fraction and an exponent are numbers.
		frac := payload(func(m map[string]any) { m["iat"] = json.Number(m["iat"].(json.Number).String() + ".5") })
		if _, err := v.auth.Authenticate(context.Background(), signed(frac)); err != nil {
			t.Errorf("%s: iat with a fraction: %v", v.name, err)
		}
	}
}
