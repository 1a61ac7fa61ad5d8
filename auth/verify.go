package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/golang-jwt/jwt/v5"
)

// DefaultLeeway is the clock skew allowed on exp and nbf when none is set.
const DefaultLeeway = time.Minute

// segment is the strict encoding of the three parts of a token. Strict
// decoding makes the encoding of a signature unique, so a token verifies
// only in the exact form it was signed in.
var segment = base64.RawURLEncoding.Strict()

// verifier holds the checks of one issuer configuration; Local and JWKS
// differ only in where their keys come from.
type verifier struct {
	parser  *jwt.Parser
	methods []string // accepted alg values: asymmetric only
	issuer  string   // expected iss; TenantPlaceholder stands for tid
	// known, when set, tells whether a kid can be one of ours; a token
	// with another kid is refused as errUnknownKey before anything else.
	known func(kid string) bool
}

// newVerifier returns a verifier. A zero leeway means DefaultLeeway, a
// negative one none; a nil now means time.Now.
func newVerifier(methods, audiences []string, issuer string, leeway time.Duration, now func() time.Time) *verifier {
	switch {
	case leeway == 0:
		leeway = DefaultLeeway
	case leeway < 0:
		leeway = 0
	}
	if now == nil {
		now = time.Now
	}
	return &verifier{
		parser: jwt.NewParser(
			jwt.WithValidMethods(methods),
			jwt.WithStrictDecoding(),
			jwt.WithExpirationRequired(),
			jwt.WithLeeway(leeway),
			jwt.WithTimeFunc(now),
			jwt.WithAudience(audiences...),
		),
		methods: methods,
		issuer:  issuer,
	}
}

// verify checks raw with the key keyfunc returns and maps its claims to a
// principal. Errors are EUnauthenticated; a keyfunc error that wraps
// errUnknownKey still does in the returned error's chain.
func (v *verifier) verify(raw string, keyfunc jwt.Keyfunc) (contactgraph.Principal, error) {
	alg, kid, err := header(raw)
	if err != nil {
		return contactgraph.Principal{}, err
	}
	if v.known != nil && !v.known(kid) {
		return contactgraph.Principal{}, unauthenticated(msgUnknownKey, errUnknownKey)
	}
	if !slices.Contains(v.methods, alg) {
		return contactgraph.Principal{}, unauthenticated(msgAlgorithm, nil)
	}
	var c claims
	if _, err := v.parser.ParseWithClaims(raw, &c, keyfunc); err != nil {
		return contactgraph.Principal{}, parseError(err)
	}
	if err := numericDates(raw); err != nil {
		return contactgraph.Principal{}, err
	}
	return c.principal(v.issuer)
}

// dateClaims are the claims whose value is a NumericDate.
var dateClaims = []string{"exp", "nbf", "iat"}

// numericDates checks that the date claims of raw's payload, when present,
// are JSON numbers, as RFC 7519 defines NumericDate: golang-jwt also reads
// a number inside a string ("exp":"1893456000"), which another validator
// of the same token may read otherwise.
func numericDates(raw string) error {
	_, rest, _ := strings.Cut(raw, ".")
	payload, _, _ := strings.Cut(rest, ".")
	b, err := segment.DecodeString(payload)
	if err != nil {
		return unauthenticated(msgPayload, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return unauthenticated(msgPayload, err)
	}
	for _, name := range dateClaims {
		v, ok := m[name]
		if !ok {
			continue
		}
		if v = bytes.TrimSpace(v); len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
			return unauthenticated(msgNumericDate, nil)
		}
	}
	return nil
}

// header checks the shape of raw, a compact JWS, and returns the alg and
// kid of its header. It refuses any character outside the Base64Url alphabet and the
// dots, so that no two strings decode to the same token.
func header(raw string) (alg, kid string, err error) {
	switch {
	case raw == "":
		return "", "", unauthenticated(msgEmpty, nil)
	case len(raw) > maxTokenLen:
		return "", "", unauthenticated(msgTooLong, nil)
	}
	switch strings.Count(raw, ".") {
	case 0:
		return "", "", unauthenticated(msgNoDots, nil)
	case 1:
		return "", "", unauthenticated(msgOneDot, nil)
	case 2:
	default:
		return "", "", unauthenticated(msgParts, nil)
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", "", unauthenticated(msgAlphabet, nil)
		}
	}
	b, err := segment.DecodeString(raw[:strings.IndexByte(raw, '.')])
	if err != nil {
		return "", "", unauthenticated(msgHeader, err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		return "", "", unauthenticated(msgHeader, err)
	}
	alg, _ = h["alg"].(string)
	kid, _ = h["kid"].(string)
	return alg, kid, nil
}

// parseError maps an error of jwt.Parser to a client-safe message. When
// several claims fail, lifetime comes first, then audience.
func parseError(err error) error {
	var msg string
	switch {
	case errors.Is(err, errUnknownKey):
		msg = msgUnknownKey
	case errors.Is(err, jwt.ErrTokenMalformed):
		msg = msgPayload
	case errors.Is(err, jwt.ErrTokenExpired):
		msg = msgExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		msg = msgNotYetValid
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		msg = msgAudience
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		msg = msgMissingClaim
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		msg = msgIssuer
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		msg = msgSignature
	default:
		msg = msgInvalid
	}
	return unauthenticated(msg, err)
}
