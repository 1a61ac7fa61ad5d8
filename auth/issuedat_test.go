package auth

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestIssuedAtPrecision: a local token says when it was issued to the
// microsecond (iat stays whole seconds, as every JWT library expects);
// a token without the sub-second claim, such as one minted by an older
// version, or with one that contradicts iat, is taken at iat's second.
func TestIssuedAtPrecision(t *testing.T) {
	t.Parallel()
	issued := t0.Add(345678912 * time.Nanosecond) // 10:00:00.345678912
	l := newLocal(t, LocalOptions{Now: at(issued)})
	authn := func(tok string) time.Time {
		t.Helper()
		p, err := l.Authenticate(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		return p.IssuedAt
	}
	if got, want := authn(mint(t, l, adaOpts)), issued.Truncate(time.Microsecond); !got.Equal(want) {
		t.Errorf("minted at %v: IssuedAt %v, want %v", issued, got, want)
	}
	c := mintClaims(t, l, adaOpts)
	if c.IssuedAt.Unix() != t0.Unix() {
		t.Errorf("iat %v, want whole seconds %v", c.IssuedAt, t0)
	}
	for name, micros := range map[string]int64{
		"without the claim":   0,
		"with another second": t0.Add(2 * time.Second).UnixMicro(),
		"with an earlier one": t0.Add(-time.Microsecond).UnixMicro(),
	} {
		c := mintClaims(t, l, adaOpts)
		c.IssuedAtMicros = micros
		tok := sign(t, jwt.SigningMethodRS256, l.key, l.kid, c)
		if got := authn(tok); !got.Equal(t0) {
			t.Errorf("%s: IssuedAt %v, want iat's second %v", name, got, t0)
		}
	}
}
