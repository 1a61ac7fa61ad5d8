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
	"slices"
	"strings"
	"time"

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
// costs a Basic request nothing. List lists a user's passwords (never the
// secrets) and Revoke deletes one; deleting the user or resetting the
// tenant deletes its passwords with it (contactgraph.AppPasswordPrefix).
//
// With a Cache, Verify serves a password it accepted from memory for the
// cache's lifetime; see PasswordCache for what that means for revocation.
type AppPasswords struct {
	Store SecretStore
	Cache *PasswordCache // nil: every Verify asks the store
}

type appPasswordRecord struct {
	Tenant string `json:"tid"`
	User   string `json:"oid"`
	UPN    string `json:"upn"`
	Hash   string `json:"sha256"`
}

const appPasswordPrefix = contactgraph.AppPasswordPrefix

// AppPassword describes an issued app password: its id (the part before
// the dot) and what it signs in; the secret itself cannot be read back.
type AppPassword struct {
	ID     string
	Tenant string // tenant id
	User   string // user id
	UPN    string
}

// List returns the app passwords of the user upn of the tenant named
// tenantName (or its GUID), or of every user of the tenant when upn is
// empty, by id.
func (a AppPasswords) List(ctx context.Context, tenantName, upn string) ([]AppPassword, error) {
	tid := contactgraph.TenantID(tenantName)
	all, err := a.Store.Secrets(ctx, appPasswordPrefix)
	if err != nil {
		return nil, err
	}
	var out []AppPassword
	for name, raw := range all {
		var rec appPasswordRecord
		if json.Unmarshal(raw, &rec) != nil || rec.Tenant != tid || (upn != "" && rec.User != contactgraph.UserID(tid, upn)) {
			continue
		}
		out = append(out, AppPassword{ID: strings.TrimPrefix(name, appPasswordPrefix), Tenant: rec.Tenant, User: rec.User, UPN: rec.UPN})
	}
	slices.SortFunc(out, func(x, y AppPassword) int { return strings.Compare(x.ID, y.ID) })
	return out, nil
}

// Revoke deletes the app password of id (the part of the password before
// the dot): it no longer signs in, at once in this process (a.Cache
// forgets it), within the cache's lifetime in the other processes on the
// same database. ENotFound when there is none.
func (a AppPasswords) Revoke(ctx context.Context, id string) error {
	if b, err := hex.DecodeString(id); err != nil || len(b) != 16 {
		return contactgraph.Errorf(contactgraph.ENotFound, "No app password has the id '%s'.", id)
	}
	err := a.Store.DeleteSecret(ctx, appPasswordPrefix+strings.ToLower(id))
	if a.Cache != nil {
		a.Cache.Forget(id) // after the delete: a Verify reading before it keeps nothing
	}
	if contactgraph.ErrorCode(err) == contactgraph.ENotFound {
		return contactgraph.Errorf(contactgraph.ENotFound, "No app password has the id '%s'.", id)
	}
	return err
}

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

// refusePassword is Verify's one refusal (made when refusing: a password
// accepted costs no error).
func refusePassword() error {
	return unauthenticated("The user name or app password is not valid.", nil)
}

// Verify checks an HTTP Basic user name and password and returns the
// principal they sign in: a delegated principal of the password's user
// with Contacts.ReadWrite. The user name must be that user's UPN (without
// regard to case). Every refusal is EUnauthenticated with one message, so
// it tells nothing of which part was wrong.
//
// Without a.Cache, or for a password it does not hold, Verify reads the
// password's record with Store.Secret, whose generator refuses: a
// password that is not there writes nothing (the SQL stores read it with
// one SELECT on their read pool). A password a.Cache holds is answered
// from memory.
func (a AppPasswords) Verify(ctx context.Context, user, password string) (contactgraph.Principal, error) {
	idHex, secretText, ok := strings.Cut(password, ".")
	id, err1 := hex.DecodeString(idHex)
	secret, err2 := base64.RawURLEncoding.DecodeString(secretText)
	if !ok || err1 != nil || err2 != nil || len(id) != 16 || len(secret) != 32 {
		return contactgraph.Principal{}, refusePassword()
	}
	sum := sha256.Sum256(secret)
	var gen uint64
	var started time.Time
	if a.Cache != nil {
		p, known, accepted, g := a.Cache.lookup(idHex, sum, user)
		switch {
		case known && accepted:
			return p, nil
		case known:
			return contactgraph.Principal{}, refusePassword()
		}
		gen, started = g, a.Cache.now()
	}
	raw, err := a.Store.Secret(ctx, appPasswordPrefix+idHex, func() ([]byte, error) { return nil, errNoAppPassword })
	if errors.Is(err, errNoAppPassword) {
		return contactgraph.Principal{}, refusePassword()
	}
	if err != nil {
		return contactgraph.Principal{}, err
	}
	var rec appPasswordRecord
	if json.Unmarshal(raw, &rec) != nil {
		return contactgraph.Principal{}, refusePassword()
	}
	want, _ := hex.DecodeString(rec.Hash)
	if subtle.ConstantTimeCompare(sum[:], want) != 1 || !strings.EqualFold(user, rec.UPN) {
		return contactgraph.Principal{}, refusePassword()
	}
	p := contactgraph.Principal{TenantID: rec.Tenant, UserID: rec.User, UPN: rec.UPN,
		Scopes: []string{contactgraph.PermContactsReadWrite}}
	if a.Cache != nil {
		a.Cache.put(gen, started, idHex, sum, p)
	}
	return p, nil
}
