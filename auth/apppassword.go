package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"

	"github.com/contactgraph/contactgraph"
)

// AppPasswords issues and checks the app passwords with which CardDAV
// clients sign in by HTTP Basic (user name: the UPN).
//
// A password is "<id>.<secret>": 16 random bytes of id in hex, 32 random
// bytes of secret in base64url. Only the SHA-256 of the secret is kept, in
// the store's secrets under "app-password:<id>" with the tenant, user and
// UPN it signs in. A slow hash (bcrypt, argon2id) protects guessable
// passwords; these carry 256 random bits, so one SHA-256 is as strong and
// costs a Basic request nothing. Issued passwords are not listed or
// revoked yet: that needs a table of their own.
type AppPasswords struct {
	Store SecretStore
}

type appPasswordRecord struct {
	Tenant string `json:"tid"`
	User   string `json:"oid"`
	UPN    string `json:"upn"`
	Hash   string `json:"sha256"`
}

const appPasswordPrefix = "app-password:"

var errNoAppPassword = errors.New("auth: no such app password")

// Issue creates an app password for the user upn of the tenant named
// tenantName (or its GUID) and returns it: it is shown once and cannot be
// read back. EInvalid for an empty UPN.
func (a AppPasswords) Issue(ctx context.Context, tenantName, upn string) (string, error) {
	if strings.TrimSpace(upn) == "" || strings.TrimSpace(tenantName) == "" {
		return "", contactgraph.Errorf(contactgraph.EInvalid, "An app password needs a tenant and a user.")
	}
	var id [16]byte
	var secret [32]byte
	_, _ = rand.Read(id[:])
	_, _ = rand.Read(secret[:])
	sum := sha256.Sum256(secret[:])
	tid := contactgraph.TenantID(tenantName)
	rec, err := json.Marshal(appPasswordRecord{Tenant: tid, User: contactgraph.UserID(tid, upn), UPN: upn, Hash: hex.EncodeToString(sum[:])})
	if err != nil {
		return "", err
	}
	if _, err := a.Store.Secret(ctx, appPasswordPrefix+hex.EncodeToString(id[:]), func() ([]byte, error) { return rec, nil }); err != nil {
		return "", err
	}
	return hex.EncodeToString(id[:]) + "." + base64.RawURLEncoding.EncodeToString(secret[:]), nil
}

// Verify checks an HTTP Basic user name and password and returns the
// principal they sign in: a delegated principal of the password's user
// with Contacts.ReadWrite. The user name must be that user's UPN (without
// regard to case). Every refusal is EUnauthenticated with one message, so
// it tells nothing of which part was wrong.
func (a AppPasswords) Verify(ctx context.Context, user, password string) (contactgraph.Principal, error) {
	refuse := unauthenticated("The user name or app password is not valid.", nil)
	idHex, secretText, ok := strings.Cut(password, ".")
	id, err1 := hex.DecodeString(idHex)
	secret, err2 := base64.RawURLEncoding.DecodeString(secretText)
	if !ok || err1 != nil || err2 != nil || len(id) != 16 || len(secret) != 32 {
		return contactgraph.Principal{}, refuse
	}
	raw, err := a.Store.Secret(ctx, appPasswordPrefix+idHex, func() ([]byte, error) { return nil, errNoAppPassword })
	if errors.Is(err, errNoAppPassword) {
		return contactgraph.Principal{}, refuse
	}
	if err != nil {
		return contactgraph.Principal{}, err
	}
	var rec appPasswordRecord
	if json.Unmarshal(raw, &rec) != nil {
		return contactgraph.Principal{}, refuse
	}
	sum := sha256.Sum256(secret)
	want, _ := hex.DecodeString(rec.Hash)
	if subtle.ConstantTimeCompare(sum[:], want) != 1 || !strings.EqualFold(user, rec.UPN) {
		return contactgraph.Principal{}, refuse
	}
	return contactgraph.Principal{TenantID: rec.Tenant, UserID: rec.User, UPN: rec.UPN,
		Scopes: []string{contactgraph.PermContactsReadWrite}}, nil
}
