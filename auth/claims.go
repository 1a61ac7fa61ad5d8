package auth

import (
	"strings"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/golang-jwt/jwt/v5"
)

// claims are the claims of a Graph access token that contactgraph reads or
// writes. The same type serves minting and verifying.
type claims struct {
	jwt.RegisteredClaims
	TenantID          string   `json:"tid,omitempty"`
	ObjectID          string   `json:"oid,omitempty"`
	UPN               string   `json:"upn,omitempty"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Scope             string   `json:"scp,omitempty"` // space-separated delegated permissions
	Roles             []string `json:"roles,omitempty"`
	AuthorizedParty   string   `json:"azp,omitempty"`
	AppID             string   `json:"appid,omitempty"`
	// IssuedAtMicros is the issue instant in microseconds since the Unix
	// epoch: iat with the sub-second part that iat, in whole seconds as
	// every JWT library expects it, leaves out. Local tokens carry it, so
	// that an instant such as the emulator's expire-tokens can tell tokens
	// of the same second apart. It counts only when it falls in iat's second.
	IssuedAtMicros int64 `json:"cg_iat_us,omitempty"`
}

// principal checks the claims that the signature and the standard checks
// leave open and maps them to a principal. issuer is the expected issuer,
// in which TenantPlaceholder stands for the token's tid.
func (c *claims) principal(issuer string) (contactgraph.Principal, error) {
	if !contactgraph.IsGUID(c.TenantID) {
		return contactgraph.Principal{}, unauthenticated(msgTenant, nil)
	}
	if c.Issuer != strings.ReplaceAll(issuer, TenantPlaceholder, c.TenantID) {
		return contactgraph.Principal{}, unauthenticated(msgIssuer, nil)
	}
	p := contactgraph.Principal{
		TenantID: strings.ToLower(c.TenantID),
		UPN:      c.UPN,
		AppID:    c.AuthorizedParty,
	}
	if c.IssuedAt != nil {
		p.IssuedAt = c.IssuedAt.UTC()
		if precise := time.UnixMicro(c.IssuedAtMicros).UTC(); c.IssuedAtMicros != 0 && precise.Truncate(time.Second).Equal(p.IssuedAt) {
			p.IssuedAt = precise
		}
	}
	if c.ExpiresAt != nil {
		p.ExpiresAt = c.ExpiresAt.UTC()
	}
	if scopes := strings.Fields(c.Scope); len(scopes) > 0 {
		p.Scopes = scopes
	}
	for _, r := range c.Roles {
		if r != "" {
			p.Roles = append(p.Roles, r)
		}
	}
	if p.UPN == "" {
		p.UPN = c.PreferredUsername
	}
	if p.AppID == "" {
		p.AppID = c.AppID
	}
	if len(p.Scopes) == 0 && len(p.Roles) == 0 {
		return contactgraph.Principal{}, unauthenticated(msgNoPermissions, nil)
	}
	if len(p.Scopes) > 0 {
		if !contactgraph.IsGUID(c.ObjectID) {
			return contactgraph.Principal{}, unauthenticated(msgObject, nil)
		}
		p.UserID = strings.ToLower(c.ObjectID)
	}
	return p, nil
}
