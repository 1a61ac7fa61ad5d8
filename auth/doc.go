// Package auth verifies the bearer tokens of Microsoft Graph requests and
// turns them into a contactgraph.Principal. It knows nothing of HTTP: the
// HTTP layer takes the token out of the Authorization header, calls an
// Authenticator and puts the principal in the request context.
//
// There are two ways to trust a token:
//
//   - Local: a signing key (RSA 2048, RS256) that the server creates on first
//     start and keeps with its data through a SecretStore, so that every
//     replica on the same database, and the `token` command, use the same
//     key. Local both mints tokens (development, tests, emulator use) and
//     verifies them. It also signs the validation tokens of rich change
//     notifications (ValidationToken), which receivers verify with its
//     public key set (PublicJWKS).
//   - JWKS: an external issuer (Entra ID, Keycloak, any OIDC provider) whose
//     public keys are fetched from its JWKS address, with issuer and
//     audience checks.
//
// A Chain tries several authenticators in turn, and a Cache remembers the
// tokens it accepted until their exp.
//
// CardDAV clients sign in by HTTP Basic with an app password instead
// (AppPasswords), whose PasswordCache remembers the passwords it accepted
// for a short lifetime.
//
// Contract of every Authenticate in this package: it returns a principal
// only for a token whose signature verifies with a trusted key under an
// asymmetric algorithm (never "none", never an HMAC), that is inside its
// lifetime (exp required, nbf honoured, with a small leeway), whose aud is
// accepted, whose iss is the expected one for the token's tenant, whose tid
// is a GUID and that carries scp (delegated: then oid must be a GUID) or
// roles (application). Every failure is a *contactgraph.Error with code
// contactgraph.EUnauthenticated and a client-safe message in the style of
// Entra ID ("Lifetime validation failed, the token is expired."); the
// underlying library error, if any, is only in its Err field, for logs.
//
// Claims map to the principal as follows: TenantID = tid, UserID = oid (only
// for a delegated token, one with scp), UPN = upn or else
// preferred_username, AppID = azp or else appid, Scopes = scp split at
// spaces, Roles = roles. Tenant and user ids are lower-cased.
package auth
