package auth

import (
	"context"
	"errors"

	"github.com/contactgraph/contactgraph"
)

// Authenticator verifies a bearer token (the part of the Authorization
// header after "Bearer ") and returns the principal it names. Every error
// is a *contactgraph.Error with code contactgraph.EUnauthenticated.
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (contactgraph.Principal, error)
}

// SecretStore keeps named secrets with the data. contactgraph.Store
// implements it.
type SecretStore interface {
	// Secret returns the secret named name, creating it with gen on first
	// use. Every process sharing the storage sees the same value.
	Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error)
	// Secrets returns the secrets whose names begin with prefix, by name.
	Secrets(ctx context.Context, prefix string) (map[string][]byte, error)
	// DeleteSecret deletes the secret named name. ENotFound.
	DeleteSecret(ctx context.Context, name string) error
}

// Graph audiences: the URI and the application id of Microsoft Graph. A
// Local accepts both and mints tokens for GraphAudience.
const (
	GraphAudience      = "https://graph.microsoft.com"
	GraphApplicationID = "00000003-0000-0000-c000-000000000000"
)

// TenantPlaceholder is replaced by a token's tid in a configured issuer, as
// in Entra ID's "https://login.microsoftonline.com/{tenantid}/v2.0".
const TenantPlaceholder = "{tenantid}"

// maxTokenLen bounds the tokens we look at. Entra ID tokens are a few KiB.
const maxTokenLen = 32 << 10

// errUnknownKey marks, in the Err chain of an authentication error, a token
// signed with a key this authenticator does not have: the token is someone
// else's. Chain prefers any other error to such one.
var errUnknownKey = errors.New("auth: no key matches the token")

// Client-safe messages, in the style of Entra ID.
const (
	msgEmpty         = "Access token is empty."
	msgTooLong       = "Access token is too long."
	msgNoDots        = "IDX14100: JWT is not well formed, there are no dots (.)."
	msgOneDot        = "IDX14120: JWT is not well formed, there is only one dot (.)."
	msgParts         = "JWT is not well formed: a signed token has three parts separated by two dots (.)."
	msgAlphabet      = "JWT is not well formed: it holds characters outside the Base64Url alphabet."
	msgHeader        = "JWT is not well formed: the header is not Base64Url-encoded JSON."
	msgPayload       = "JWT is not well formed: the payload or signature cannot be decoded, or a claim has the wrong type."
	msgAlgorithm     = "Signature validation failed. The token's signing algorithm is not accepted."
	msgUnknownKey    = "Signature validation failed. Unable to match key: no trusted key has the token's kid."
	msgSignature     = "Signature validation failed."
	msgExpired       = "Lifetime validation failed, the token is expired."
	msgNotYetValid   = "Lifetime validation failed, the token is not yet valid."
	msgAudience      = "Access token validation failure. Invalid audience."
	msgIssuer        = "Access token validation failure. Invalid issuer."
	msgMissingClaim  = "Access token validation failure. A required claim (exp, aud, iss) is missing."
	msgInvalid       = "Access token validation failure."
	msgTenant        = "Access token validation failure. The tid claim is missing or not a GUID."
	msgObject        = "Access token validation failure. The oid claim of a delegated token is missing or not a GUID."
	msgNoPermissions = "Access token validation failure. The token has neither scp nor roles."
	msgNumericDate   = "JWT is not well formed: exp, nbf and iat must be JSON numbers (NumericDate, RFC 7519)."
)

// unauthenticated returns an EUnauthenticated error with a client-safe
// message and, for logs only, its cause.
func unauthenticated(msg string, cause error) *contactgraph.Error {
	return &contactgraph.Error{Code: contactgraph.EUnauthenticated, Message: msg, Err: cause}
}
