package contactgraph

import (
	"context"
	"slices"
	"strings"
	"time"
)

// Principal is the authenticated caller of a request, taken from a verified
// bearer token. It travels in the request context.
type Principal struct {
	TenantID  string    // tid claim: a GUID
	UserID    string    // oid claim of a delegated token; empty for app-only
	UPN       string    // upn or preferred_username; empty for app-only
	AppID     string    // azp/appid claim when present
	Scopes    []string  // scp: delegated permissions
	Roles     []string  // roles: application permissions
	IssuedAt  time.Time // iat: when the token was issued, to the microsecond for local tokens, else in whole seconds; zero when it does not say
	ExpiresAt time.Time // exp: when the token expires
}

// Delegated reports whether the principal acts for a signed-in user.
func (p Principal) Delegated() bool { return p.UserID != "" }

// Has reports whether the principal holds any of the given permissions, in
// its scopes (delegated) or roles (application). Comparison ignores case, as
// Entra ID does.
func (p Principal) Has(perms ...string) bool {
	held := p.Roles
	if p.Delegated() {
		held = p.Scopes
	}
	for _, want := range perms {
		if slices.ContainsFunc(held, func(h string) bool { return strings.EqualFold(h, want) }) {
			return true
		}
	}
	return false
}

// Permission names used by the routes.
const (
	PermContactsRead         = "Contacts.Read"
	PermContactsReadWrite    = "Contacts.ReadWrite"
	PermOrgContactRead       = "OrgContact.Read.All"
	PermOrgContactReadWrite  = "OrgContact.ReadWrite.All"
	PermDirectoryRead        = "Directory.Read.All"
	PermDirectoryReadWrite   = "Directory.ReadWrite.All"
	PermUserRead             = "User.Read.All"
	PermUserReadWrite        = "User.ReadWrite.All"
	PermUserReadBasic        = "User.ReadBasic.All"
	PermUserReadSelf         = "User.Read"      // the signed-in user's own profile
	PermUserReadWriteSelf    = "User.ReadWrite" // the same, writable
	PermDirectoryAccessAsApp = "Directory.AccessAsUser.All"
	// PermEmulatorControl allows the emulator controls of a server started
	// with them enabled: fault injection, forced resync, tenant reset, seeding.
	PermEmulatorControl = "Emulator.Control"
)

type principalKey struct{}

// NewContext returns a copy of ctx that carries p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal carried by ctx, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
