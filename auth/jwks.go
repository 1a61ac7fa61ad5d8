package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/contactgraph/contactgraph"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// jwksMethods are the algorithms a JWKS accepts: asymmetric ones only, so
// that a public key can never serve as an HMAC secret.
var jwksMethods = []string{
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
}

// Defaults of JWKSOptions.
const (
	DefaultJWKSRefresh = time.Hour
	jwksFetchTimeout   = 10 * time.Second
	unknownKIDEvery    = 5 * time.Minute // at most one refresh for unknown kids per period
)

// JWKSOptions configure a JWKS.
type JWKSOptions struct {
	// URL is the issuer's JWK Set address (the jwks_uri of its OpenID
	// configuration). Required.
	URL string
	// Issuer is the iss tokens must carry. TenantPlaceholder in it is
	// replaced by the token's tid before comparing, as Entra ID issuers
	// contain the tenant id. Required.
	Issuer string
	// Audiences are the accepted aud values; a token needs one of them.
	// Required.
	Audiences []string
	// Client fetches the key set; nil means http.DefaultClient.
	Client *http.Client
	// Refresh is the period of the background refresh of the key set; zero
	// means DefaultJWKSRefresh.
	Refresh time.Duration
	// Leeway is the clock skew allowed on exp and nbf: zero means
	// DefaultLeeway, a negative value none.
	Leeway time.Duration
	// Now is the clock of Authenticate; nil means time.Now.
	Now func() time.Time
	// Logger receives failed background refreshes; nil means slog.Default().
	Logger *slog.Logger
}

// JWKS verifies tokens of an external issuer against the keys it publishes.
// It is safe for concurrent use.
type JWKS struct {
	cached    keyfunc.Keyfunc // the key set as last fetched
	refreshed keyfunc.Keyfunc // fetches the key set again on an unknown kid
	unknown   *rate.Limiter   // bounds the refreshes for unknown kids
	v         *verifier
}

var _ Authenticator = (*JWKS)(nil)

// NewJWKS fetches the key set at opts.URL and returns a JWKS that trusts
// it. It fails when an option is missing or when the first fetch fails.
// The key set is refreshed in the background every opts.Refresh until ctx
// is done, and when a token names a key id the set lacks (key rotation),
// at most once every five minutes: Authenticate never waits for that limit.
func NewJWKS(ctx context.Context, opts JWKSOptions) (*JWKS, error) {
	switch {
	case opts.URL == "":
		return nil, errors.New("auth: JWKS needs the URL of the key set")
	case opts.Issuer == "":
		return nil, errors.New("auth: JWKS needs the expected issuer")
	case len(opts.Audiences) == 0:
		return nil, errors.New("auth: JWKS needs at least one accepted audience")
	}
	if opts.Refresh <= 0 {
		opts.Refresh = DefaultJWKSRefresh
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	set, err := jwkset.NewStorageFromHTTP(opts.URL, jwkset.HTTPClientStorageOptions{
		Client:          opts.Client,
		Ctx:             ctx,
		HTTPTimeout:     jwksFetchTimeout,
		RefreshInterval: opts.Refresh,
		RefreshErrorHandler: func(ctx context.Context, err error) {
			log.WarnContext(ctx, "auth: refreshing a JWK set failed", "url", opts.URL, "err", err)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("auth: key set of %s: %w", opts.URL, err)
	}
	refreshing, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs:          map[string]jwkset.Storage{opts.URL: set},
		RateLimitWaitMax:  jwksFetchTimeout, // bounds the fetch: the limiter never waits
		RefreshUnknownKID: rate.NewLimiter(rate.Inf, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("auth: key set of %s: %w", opts.URL, err)
	}
	cached, err := keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: set})
	if err != nil {
		return nil, err
	}
	refreshed, err := keyfunc.New(keyfunc.Options{Ctx: ctx, Storage: refreshing})
	if err != nil {
		return nil, err
	}
	return &JWKS{
		cached:    cached,
		refreshed: refreshed,
		unknown:   rate.NewLimiter(rate.Every(unknownKIDEvery), 1),
		v:         newVerifier(jwksMethods, opts.Audiences, opts.Issuer, opts.Leeway, opts.Now),
	}, nil
}

// Authenticate verifies a token of the configured issuer. A token whose kid
// is not in the key set, even after a refresh, is refused with a
// "no key matches" error. Errors are EUnauthenticated, see the package
// documentation. ctx bounds a refresh caused by an unknown kid.
func (j *JWKS) Authenticate(ctx context.Context, bearer string) (contactgraph.Principal, error) {
	return j.v.verify(bearer, func(t *jwt.Token) (any, error) {
		key, err := j.cached.KeyfuncCtx(ctx)(t)
		if errors.Is(err, jwkset.ErrKeyNotFound) && j.unknown.Allow() {
			key, err = j.refreshed.KeyfuncCtx(ctx)(t)
		}
		if errors.Is(err, jwkset.ErrKeyNotFound) {
			return nil, fmt.Errorf("%w: %w", errUnknownKey, err)
		}
		return key, err
	})
}
