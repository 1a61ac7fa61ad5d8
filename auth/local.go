package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/golang-jwt/jwt/v5"
)

// SigningKeySecret is the name of the secret that holds the local signing
// key: an RSA private key, PEM-encoded PKCS #8.
const SigningKeySecret = "jwt-signing-key"

// DefaultLocalIssuer is the issuer of locally minted tokens, in the form of
// Entra ID's v2.0 issuer: TenantPlaceholder stands for the tenant id.
const DefaultLocalIssuer = "https://contactgraph.local/" + TenantPlaceholder + "/v2.0"

const keyBits = 2048

// localMethods are the algorithms a Local signs and accepts.
var localMethods = []string{jwt.SigningMethodRS256.Alg()}

// LocalOptions configure a Local. The zero value is ready to use.
type LocalOptions struct {
	// Issuer is the iss of minted tokens and the one Authenticate expects;
	// it must contain TenantPlaceholder. Empty means DefaultLocalIssuer.
	Issuer string
	// Leeway is the clock skew allowed on exp and nbf: zero means
	// DefaultLeeway, a negative value none.
	Leeway time.Duration
	// Now is the clock of Authenticate and of Mint; nil means time.Now.
	Now func() time.Time
}

// Local mints and verifies tokens with the signing key kept in a
// SecretStore. It is safe for concurrent use.
type Local struct {
	key    *rsa.PrivateKey
	kid    string
	issuer string
	now    func() time.Time
	v      *verifier
}

var _ Authenticator = (*Local)(nil)

// NewLocal returns a Local with the key named SigningKeySecret in secrets,
// generating the key on first use. Every Local built on the same storage
// has the same key (and key id), so that all replicas and the `token`
// command agree. It fails when the store fails, when the stored secret is
// not an RSA private key of at least 2048 bits, or when opts.Issuer lacks
// TenantPlaceholder.
func NewLocal(ctx context.Context, secrets SecretStore, opts LocalOptions) (*Local, error) {
	if opts.Issuer == "" {
		opts.Issuer = DefaultLocalIssuer
	}
	if !strings.Contains(opts.Issuer, TenantPlaceholder) {
		return nil, fmt.Errorf("auth: local issuer %q lacks %s", opts.Issuer, TenantPlaceholder)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	pemBytes, err := secrets.Secret(ctx, SigningKeySecret, generateKey)
	if err != nil {
		return nil, fmt.Errorf("auth: signing key: %w", err)
	}
	key, err := parseKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("auth: signing key: %w", err)
	}
	l := &Local{
		key:    key,
		kid:    thumbprint(&key.PublicKey),
		issuer: opts.Issuer,
		now:    opts.Now,
		v:      newVerifier(localMethods, []string{GraphAudience, GraphApplicationID}, opts.Issuer, opts.Leeway, opts.Now),
	}
	l.v.known = func(kid string) bool { return kid == l.kid }
	return l, nil
}

// Authenticate verifies a token minted by l (or by any Local on the same
// key). A token whose kid is not l's is refused without trying the key.
// Errors are EUnauthenticated, see the package documentation.
func (l *Local) Authenticate(_ context.Context, bearer string) (contactgraph.Principal, error) {
	return l.v.verify(bearer, l.keyfunc)
}

func (l *Local) keyfunc(t *jwt.Token) (any, error) {
	if kid, _ := t.Header["kid"].(string); kid != l.kid {
		return nil, errUnknownKey
	}
	return &l.key.PublicKey, nil
}

// KeyID returns the kid of l's key: its RFC 7638 thumbprint.
func (l *Local) KeyID() string { return l.kid }

// Issuer returns the iss of l's tokens for a tenant id.
func (l *Local) Issuer(tenantID string) string {
	return strings.ReplaceAll(l.issuer, TenantPlaceholder, tenantID)
}

// jwk is the public JSON Web Key of an RSA signing key.
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// PublicJWKS returns the JSON Web Key Set of l's public key, as an OIDC
// provider serves it at its jwks_uri.
func (l *Local) PublicJWKS() ([]byte, error) {
	k := publicJWK(&l.key.PublicKey)
	k.Use, k.Alg, k.Kid = "sig", jwt.SigningMethodRS256.Alg(), l.kid
	return json.Marshal(struct {
		Keys []jwk `json:"keys"`
	}{[]jwk{k}})
}

func publicJWK(pub *rsa.PublicKey) jwk {
	enc := base64.RawURLEncoding
	return jwk{
		Kty: "RSA",
		N:   enc.EncodeToString(pub.N.Bytes()),
		E:   enc.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, Base64Url) of
// pub: a key id that any party can derive from the public key.
func thumbprint(pub *rsa.PublicKey) string {
	k := publicJWK(pub)
	// RFC 7638: the required members in lexicographic order, no spaces.
	canonical := `{"e":"` + k.E + `","kty":"RSA","n":"` + k.N + `"}`
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// generateKey makes a new signing key, PEM-encoded PKCS #8.
func generateKey() ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// parseKey reads a key written by generateKey.
func parseKey(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM-encoded PKCS #8 private key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an RSA key", k)
	}
	if key.N.BitLen() < keyBits {
		return nil, fmt.Errorf("an RSA key of %d bits, fewer than %d", key.N.BitLen(), keyBits)
	}
	return key, nil
}
