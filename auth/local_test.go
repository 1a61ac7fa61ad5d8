package auth

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/golang-jwt/jwt/v5"
)

var (
	contoso  = contactgraph.TenantID("contoso")
	adaOpts  = MintOptions{TenantName: "contoso", UPN: "ada@contoso.com", Scopes: []string{"Contacts.Read", "Contacts.ReadWrite"}}
	syncOpts = MintOptions{TenantName: "contoso", AppName: "sync", Roles: []string{"Contacts.ReadWrite", "OrgContact.Read.All"}}
	ada      = contactgraph.Principal{
		TenantID: contoso,
		UserID:   contactgraph.UserID(contoso, "ada@contoso.com"),
		UPN:      "ada@contoso.com",
		AppID:    contactgraph.AppID(contoso, CLIAppName),
		Scopes:   []string{"Contacts.Read", "Contacts.ReadWrite"},
	}
	syncApp = contactgraph.Principal{
		TenantID: contoso,
		AppID:    contactgraph.AppID(contoso, "sync"),
		Roles:    []string{"Contacts.ReadWrite", "OrgContact.Read.All"},
	}
)

// b64 encodes a token part.
func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestLocalAuthenticate(t *testing.T) {
	t.Parallel()
	l := newLocal(t, LocalOptions{})
	upper := strings.ToUpper(contoso)
	pubDER, err := x509.MarshalPKIXPublicKey(&l.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	// signed returns a token of ada's claims changed by edit, signed with the
	// local key.
	signed := func(edit func(c *claims)) func(t *testing.T) string {
		return func(t *testing.T) string {
			c := mintClaims(t, l, adaOpts)
			edit(c)
			return sign(t, jwt.SigningMethodRS256, l.key, l.kid, c)
		}
	}
	minted := func(o MintOptions) func(t *testing.T) string {
		return func(t *testing.T) string { return mint(t, l, o) }
	}
	raw := func(s string) func(t *testing.T) string { return func(*testing.T) string { return s } }
	validHeader := b64(`{"alg":"RS256","kid":"` + l.kid + `","typ":"JWT"}`)

	tests := []struct {
		name  string
		token func(t *testing.T) string
		want  contactgraph.Principal // when msg is empty
		msg   string
	}{
		{name: "delegated", token: minted(adaOpts), want: ada},
		{name: "app-only", token: minted(syncOpts), want: syncApp},
		{name: "delegated through a named app", token: minted(MintOptions{TenantName: "contoso", UPN: "ada@contoso.com", AppName: "crm", Scopes: []string{"Contacts.Read"}}),
			want: contactgraph.Principal{TenantID: contoso, UserID: ada.UserID, UPN: ada.UPN, AppID: contactgraph.AppID(contoso, "crm"), Scopes: []string{"Contacts.Read"}}},
		{name: "delegated with roles too", token: minted(MintOptions{TenantName: "contoso", UPN: "ada@contoso.com", Scopes: []string{"Contacts.Read"}, Roles: []string{"Admin"}}),
			want: contactgraph.Principal{TenantID: contoso, UserID: ada.UserID, UPN: ada.UPN, AppID: ada.AppID, Scopes: []string{"Contacts.Read"}, Roles: []string{"Admin"}}},
		{name: "Graph application id as audience", token: signed(func(c *claims) { c.Audience = jwt.ClaimStrings{GraphApplicationID} }), want: ada},
		{name: "one of several audiences", token: signed(func(c *claims) { c.Audience = jwt.ClaimStrings{"api://other", GraphAudience} }), want: ada},
		{name: "upper-case ids are lowered", token: signed(func(c *claims) {
			c.TenantID, c.Issuer, c.ObjectID = upper, l.Issuer(upper), strings.ToUpper(c.ObjectID)
		}), want: ada},
		{name: "preferred_username and appid", token: signed(func(c *claims) { c.UPN, c.AuthorizedParty = "", "" }), want: ada},
		{name: "scp with extra spaces", token: signed(func(c *claims) { c.Scope = "  Contacts.Read   Contacts.ReadWrite " }), want: ada},
		{name: "expired within leeway", token: signed(func(c *claims) { c.ExpiresAt = jwt.NewNumericDate(t0.Add(-30 * time.Second)) }), want: expiring(ada, t0.Add(-30*time.Second))},
		{name: "not yet valid within leeway", token: signed(func(c *claims) { c.NotBefore = jwt.NewNumericDate(t0.Add(30 * time.Second)) }), want: ada},

		{name: "empty", token: raw(""), msg: msgEmpty},
		{name: "no dots", token: raw("garbage"), msg: msgNoDots},
		{name: "one dot", token: raw("a.b"), msg: msgOneDot},
		{name: "four parts", token: raw("a.b.c.d"), msg: msgParts},
		{name: "JWE-like", token: raw("a.b.c.d.e"), msg: msgParts},
		{name: "white space", token: raw("a b.c.d"), msg: msgAlphabet},
		{name: "padding", token: func(t *testing.T) string { return mint(t, l, adaOpts) + "==" }, msg: msgAlphabet},
		{name: "standard Base64", token: raw(validHeader + ".e30+.sig/"), msg: msgAlphabet},
		{name: "newline in signature", token: func(t *testing.T) string {
			tok := mint(t, l, adaOpts)
			return tok[:len(tok)-10] + "\n" + tok[len(tok)-10:]
		}, msg: msgAlphabet},
		{name: "too long", token: raw(validHeader + "." + strings.Repeat("A", maxTokenLen) + ".sig"), msg: msgTooLong},
		{name: "header bad Base64", token: raw("a.e30.sig"), msg: msgHeader},
		{name: "header not JSON", token: raw(b64("hello") + ".e30.sig"), msg: msgHeader},
		{name: "header a JSON array", token: raw(b64(`["RS256"]`) + ".e30.sig"), msg: msgHeader},
		{name: "payload bad Base64", token: raw(validHeader + ".a.c2ln"), msg: msgPayload},
		{name: "payload not JSON", token: raw(validHeader + "." + b64("{tid:1") + ".c2ln"), msg: msgPayload},
		{name: "signature bad Base64", token: raw(validHeader + ".e30.a"), msg: msgPayload},
		{name: "roles not an array", token: raw(validHeader + "." + b64(`{"roles":"Contacts.Read"}`) + ".c2ln"), msg: msgPayload},
		{name: "exp not a number", token: raw(validHeader + "." + b64(`{"exp":"tomorrow"}`) + ".c2ln"), msg: msgPayload},

		{name: "tampered payload", token: func(t *testing.T) string {
			tok := mint(t, l, adaOpts)
			parts := strings.Split(tok, ".")
			c := mintClaims(t, l, adaOpts)
			c.Scope += " Directory.ReadWrite.All"
			forged := sign(t, jwt.SigningMethodRS256, l.key, l.kid, c)
			return parts[0] + "." + strings.Split(forged, ".")[1] + "." + parts[2]
		}, msg: msgSignature},
		{name: "signed by another key under the local kid", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, otherKey(), l.kid, mintClaims(t, l, adaOpts))
		}, msg: msgSignature},
		{name: "signed by another key", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, otherKey(), "other", mintClaims(t, l, adaOpts))
		}, msg: msgUnknownKey},
		{name: "no kid", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS256, l.key, "", mintClaims(t, l, adaOpts))
		}, msg: msgUnknownKey},
		{name: "alg none", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, l.kid, mintClaims(t, l, adaOpts))
		}, msg: msgAlgorithm},
		{name: "HS256 with the public key as secret", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, pubPEM, l.kid, mintClaims(t, l, adaOpts))
		}, msg: msgAlgorithm},
		{name: "RS512", token: func(t *testing.T) string {
			return sign(t, jwt.SigningMethodRS512, l.key, l.kid, mintClaims(t, l, adaOpts))
		}, msg: msgAlgorithm},
		{name: "unknown alg", token: raw(b64(`{"alg":"XX999","kid":"`+l.kid+`"}`) + ".e30.c2ln"), msg: msgAlgorithm},

		{name: "expired", token: minted(MintOptions{TenantName: "contoso", UPN: "ada@contoso.com", Scopes: []string{"Contacts.Read"}, Now: t0.Add(-2 * time.Hour)}), msg: msgExpired},
		{name: "expired and wrong audience", token: signed(func(c *claims) {
			c.ExpiresAt, c.Audience = jwt.NewNumericDate(t0.Add(-time.Hour)), jwt.ClaimStrings{"api://other"}
		}), msg: msgExpired},
		{name: "not yet valid", token: minted(MintOptions{TenantName: "contoso", AppName: "sync", Roles: []string{"Contacts.Read"}, Now: t0.Add(2 * time.Minute)}), msg: msgNotYetValid},
		{name: "no exp", token: signed(func(c *claims) { c.ExpiresAt = nil }), msg: msgMissingClaim},
		{name: "wrong audience", token: signed(func(c *claims) { c.Audience = jwt.ClaimStrings{"https://outlook.office.com"} }), msg: msgAudience},
		{name: "no audience", token: signed(func(c *claims) { c.Audience = nil }), msg: msgMissingClaim},
		{name: "wrong issuer", token: signed(func(c *claims) { c.Issuer = "https://login.microsoftonline.com/" + contoso + "/v2.0" }), msg: msgIssuer},
		{name: "issuer of another tenant", token: signed(func(c *claims) { c.Issuer = l.Issuer(contactgraph.TenantID("fabrikam")) }), msg: msgIssuer},
		{name: "no issuer", token: signed(func(c *claims) { c.Issuer = "" }), msg: msgIssuer},
		{name: "no tid", token: signed(func(c *claims) { c.TenantID = "" }), msg: msgTenant},
		{name: "tid not a GUID", token: signed(func(c *claims) { c.TenantID, c.Issuer = "contoso", l.Issuer("contoso") }), msg: msgTenant},
		{name: "neither scp nor roles", token: signed(func(c *claims) { c.Scope = "" }), msg: msgNoPermissions},
		{name: "blank scp", token: signed(func(c *claims) { c.Scope = "   " }), msg: msgNoPermissions},
		{name: "empty roles", token: signed(func(c *claims) { c.Scope, c.Roles = "", []string{""} }), msg: msgNoPermissions},
		{name: "delegated without oid", token: signed(func(c *claims) { c.ObjectID = "" }), msg: msgObject},
		{name: "oid not a GUID", token: signed(func(c *claims) { c.ObjectID = "ada" }), msg: msgObject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := l.Authenticate(context.Background(), tt.token(t))
			if tt.msg != "" {
				wantRefused(t, err, tt.msg)
				if !reflect.DeepEqual(p, contactgraph.Principal{}) {
					t.Errorf("refused token gave principal %+v", p)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p, issuedAtT0(tt.want)) {
				t.Errorf("principal\n got %+v\nwant %+v", p, tt.want)
			}
		})
	}
}

func TestLocalUnknownKeyIsMarked(t *testing.T) {
	t.Parallel()
	l := newLocal(t, LocalOptions{})
	tok := sign(t, jwt.SigningMethodRS256, otherKey(), "other", mintClaims(t, l, adaOpts))
	_, err := l.Authenticate(context.Background(), tok)
	if !errors.Is(err, errUnknownKey) {
		t.Fatalf("error %v does not say the key is unknown", err)
	}
	_, err = l.Authenticate(context.Background(), mint(t, l, MintOptions{TenantName: "contoso", UPN: "ada@contoso.com", Scopes: []string{"Contacts.Read"}, Now: t0.Add(-2 * time.Hour)}))
	if errors.Is(err, errUnknownKey) {
		t.Fatalf("expiry of a local token is marked as an unknown key: %v", err)
	}
}

func TestLocalLeeway(t *testing.T) {
	t.Parallel()
	expiredBy := func(d time.Duration) MintOptions {
		o := adaOpts
		o.Now, o.TTL = t0.Add(-time.Hour-d), time.Hour
		return o
	}
	tests := []struct {
		leeway time.Duration
		late   time.Duration
		ok     bool
	}{
		{0, 59 * time.Second, true}, // default: one minute
		{0, 61 * time.Second, false},
		{-1, time.Second, false}, // none
		{-1, 0, false},           // exp is exclusive
		{-1, -time.Second, true},
		{10 * time.Minute, 9 * time.Minute, true},
		{10 * time.Minute, 11 * time.Minute, false},
	}
	for _, tt := range tests {
		l := newLocal(t, LocalOptions{Leeway: tt.leeway})
		_, err := l.Authenticate(context.Background(), mint(t, l, expiredBy(tt.late)))
		if (err == nil) != tt.ok {
			t.Errorf("leeway %v, %v after exp: error %v, want accepted %v", tt.leeway, tt.late, err, tt.ok)
		}
	}
}

func TestLocalIssuerOption(t *testing.T) {
	t.Parallel()
	l := newLocal(t, LocalOptions{Issuer: "https://login.example.test/" + TenantPlaceholder + "/v2.0"})
	tok := mint(t, l, adaOpts)
	if p, err := l.Authenticate(context.Background(), tok); err != nil || p.UserID != ada.UserID {
		t.Fatalf("own issuer refused: %+v %v", p, err)
	}
	if got, want := l.Issuer(contoso), "https://login.example.test/"+contoso+"/v2.0"; got != want {
		t.Errorf("Issuer = %q, want %q", got, want)
	}
	// A Local on the same key with the default issuer refuses it.
	_, err := newLocal(t, LocalOptions{}).Authenticate(context.Background(), tok)
	wantRefused(t, err, msgIssuer)
}

// expiring is p with its token's exp.
func expiring(p contactgraph.Principal, exp time.Time) contactgraph.Principal {
	p.ExpiresAt = exp.UTC()
	return p
}
