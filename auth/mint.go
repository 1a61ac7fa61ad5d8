package auth

import (
	"strings"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/golang-jwt/jwt/v5"
)

// CLIAppName names the client application of delegated tokens minted
// without an AppName: their azp and appid are AppID(tid, CLIAppName).
const CLIAppName = "contactgraph-cli"

// DefaultTTL is the lifetime of a minted token when none is set, as for
// Entra ID access tokens.
const DefaultTTL = time.Hour

// MintOptions describe a token to mint. A token is delegated when UPN is
// set (it then needs Scopes; AppName, if set, names the client app) and
// app-only otherwise (it then needs AppName and Roles, and no Scopes).
type MintOptions struct {
	TenantName string        // a name, or a tenant GUID; the tid is contactgraph.TenantID(TenantName)
	UPN        string        // the signed-in user of a delegated token
	AppName    string        // the application; its id is contactgraph.AppID(tid, AppName)
	Scopes     []string      // scp of a delegated token
	Roles      []string      // roles: required for app-only, optional for delegated
	TTL        time.Duration // lifetime; zero means DefaultTTL
	Now        time.Time     // issue time; zero means the Local's clock
}

// Mint returns a signed token for opts that l.Authenticate accepts until it
// expires. Ids are stable: the same names give the same tid, oid and appid.
// It returns an EInvalid error for options that would make a token
// Authenticate refuses (no tenant, no permissions, a scope with a space, a
// negative TTL, scopes on an app-only token).
func (l *Local) Mint(opts MintOptions) (string, error) {
	c, err := l.claims(opts)
	if err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = l.kid
	return t.SignedString(l.key)
}

func (l *Local) claims(opts MintOptions) (*claims, error) {
	tenant := strings.TrimSpace(opts.TenantName)
	upn := strings.TrimSpace(opts.UPN)
	app := strings.TrimSpace(opts.AppName)
	switch {
	case tenant == "":
		return nil, invalid("a token needs a tenant")
	case opts.TTL < 0:
		return nil, invalid("the lifetime of a token cannot be negative")
	case upn != "" && len(opts.Scopes) == 0:
		return nil, invalid("a delegated token needs at least one scope")
	case upn == "" && app == "":
		return nil, invalid("a token needs a user (delegated) or an application (app-only)")
	case upn == "" && len(opts.Roles) == 0:
		return nil, invalid("an app-only token needs at least one role")
	case upn == "" && len(opts.Scopes) > 0:
		return nil, invalid("an app-only token carries roles, not scopes")
	}
	for _, s := range opts.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			return nil, invalid("scope %q is empty or holds white space", s)
		}
	}
	for _, r := range opts.Roles {
		if r == "" {
			return nil, invalid("a role cannot be empty")
		}
	}
	now, ttl := opts.Now, opts.TTL
	if now.IsZero() {
		now = l.now()
	}
	if ttl == 0 {
		ttl = DefaultTTL
	}
	tid := contactgraph.TenantID(tenant)
	if app == "" {
		app = CLIAppName
	}
	appID := contactgraph.AppID(tid, app)
	c := &claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    l.Issuer(tid),
			Audience:  jwt.ClaimStrings{GraphAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		TenantID:        tid,
		Roles:           opts.Roles,
		AuthorizedParty: appID,
		AppID:           appID,
		IssuedAtMicros:  now.UnixMicro(),
	}
	if upn != "" {
		c.ObjectID = contactgraph.UserID(tid, upn)
		c.Subject = c.ObjectID
		c.UPN, c.PreferredUsername = upn, upn
		c.Scope = strings.Join(opts.Scopes, " ")
	} else {
		c.Subject = appID
	}
	return c, nil
}

func invalid(format string, args ...any) error {
	return contactgraph.Errorf(contactgraph.EInvalid, "auth: "+format, args...)
}
