package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/contactgraph/contactgraph"
	"github.com/golang-jwt/jwt/v5"
)

// validationClaims are the claims a receiver reads from a validation token.
type validationClaims struct {
	jwt.RegisteredClaims
	TenantID string `json:"tid"`
	AZP      string `json:"azp"`
	AppID    string `json:"appid"`
	Scope    string `json:"scp"`
	Roles    []string
}

// parseValidation verifies tok as a receiver does: with the public key set
// only, RS256, the receiving app as audience, at time now.
func parseValidation(t *testing.T, l *Local, tok, appID string, now time.Time) (*validationClaims, error) {
	t.Helper()
	set, err := l.PublicJWKS()
	if err != nil {
		t.Fatal(err)
	}
	kf, err := keyfunc.NewJWKSetJSON(set)
	if err != nil {
		t.Fatal(err)
	}
	var c validationClaims
	_, err = jwt.ParseWithClaims(tok, &c, kf.Keyfunc,
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(appID), jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), jwt.WithTimeFunc(func() time.Time { return now }))
	return &c, err
}

func TestValidationToken(t *testing.T) {
	t.Parallel()
	l := newLocal(t, LocalOptions{})
	app := contactgraph.AppID(contoso, "crm")
	tok, err := l.ValidationToken(app, contoso, t0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseValidation(t, l, tok, app, t0.Add(time.Minute))
	if err != nil {
		t.Fatalf("the public key set does not verify the token: %v", err)
	}
	if c.Issuer != l.Issuer(contoso) || c.TenantID != contoso || c.AZP != NotificationPublisherID || c.AppID != NotificationPublisherID {
		t.Errorf("claims %+v", c)
	}
	if len(c.Audience) != 1 || c.Audience[0] != app {
		t.Errorf("aud %v, want [%s]", c.Audience, app)
	}
	if !c.IssuedAt.Equal(t0) || !c.NotBefore.Equal(t0) || !c.ExpiresAt.Equal(t0.Add(ValidationTokenTTL)) || ValidationTokenTTL != time.Hour {
		t.Errorf("iat %v nbf %v exp %v", c.IssuedAt, c.NotBefore, c.ExpiresAt)
	}
	if c.Scope != "" || c.Roles != nil || c.Subject != "" {
		t.Errorf("a validation token carries permissions or a subject: %+v", c)
	}
	if NotificationPublisherID == GraphNotificationPublisherID || !contactgraph.IsGUID(NotificationPublisherID) {
		t.Errorf("publisher id %q must be a GUID of our own", NotificationPublisherID)
	}
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header["kid"] != l.KeyID() || parsed.Header["alg"] != "RS256" {
		t.Errorf("header %v", parsed.Header)
	}

	// The token ends after its hour, is meant for app alone, and
	// another key set does not verify it.
	if _, err := parseValidation(t, l, tok, app, t0.Add(ValidationTokenTTL+time.Second)); !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("after an hour: %v, want expired", err)
	}
	if _, err := parseValidation(t, l, tok, contactgraph.AppID(contoso, "other"), t0); !errors.Is(err, jwt.ErrTokenInvalidAudience) {
		t.Errorf("for another app: %v, want invalid audience", err)
	}
	other, err := NewLocal(context.Background(), &memSecrets{}, LocalOptions{Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseValidation(t, other, tok, app, t0); err == nil {
		t.Error("another key set verifies the token")
	}
}

// A zero time takes the Local's clock.
func TestValidationTokenClock(t *testing.T) {
	t.Parallel()
	t1 := t0.Add(72 * time.Hour)
	l := newLocal(t, LocalOptions{Now: at(t1)})
	tok, err := l.ValidationToken("app", contoso, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseValidation(t, l, tok, "app", t1)
	if err != nil || !c.IssuedAt.Equal(t1) {
		t.Fatalf("iat %v, %v; want %v", c.IssuedAt, err, t1)
	}
}

// A validation token signed by the same key as access tokens is still
// no access token.
func TestValidationTokenIsNoAccessToken(t *testing.T) {
	t.Parallel()
	l := newLocal(t, LocalOptions{})
	tok, err := l.ValidationToken(contactgraph.AppID(contoso, CLIAppName), contoso, t0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Authenticate(context.Background(), tok)
	wantRefused(t, err, msgAudience)

	for _, aud := range []string{GraphAudience, GraphApplicationID, strings.ToUpper(GraphAudience)} {
		if _, err := l.ValidationToken(aud, contoso, t0); contactgraph.ErrorCode(err) != contactgraph.EInvalid {
			t.Errorf("audience %s: %v, want EInvalid", aud, err)
		}
	}
	// Were the audience accepted, the missing permissions still refuse it.
	c := &claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: l.Issuer(contoso), Audience: jwt.ClaimStrings{GraphAudience},
		IssuedAt: jwt.NewNumericDate(t0), ExpiresAt: jwt.NewNumericDate(t0.Add(time.Hour))},
		TenantID: contoso, AuthorizedParty: NotificationPublisherID, AppID: NotificationPublisherID}
	_, err = l.Authenticate(context.Background(), sign(t, jwt.SigningMethodRS256, l.key, l.kid, c))
	wantRefused(t, err, msgNoPermissions)
}

func TestValidationTokenErrors(t *testing.T) {
	t.Parallel()
	l := newLocal(t, LocalOptions{})
	for _, tt := range []struct{ app, tenant string }{{"", contoso}, {" ", contoso}, {"app", ""}, {"app", "\t"}} {
		tok, err := l.ValidationToken(tt.app, tt.tenant, t0)
		if tok != "" || contactgraph.ErrorCode(err) != contactgraph.EInvalid {
			t.Errorf("ValidationToken(%q, %q) = %q, %v; want EInvalid", tt.app, tt.tenant, tok, err)
		}
	}
}
