package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// Publishers of validation tokens: the azp (or appid) that the
// validationTokens of rich notifications carry.
const (
	// NotificationPublisherID is contactgraph's publisher, the same GUID
	// as the server's auth.NotificationPublisherID.
	NotificationPublisherID = "52ee086d-6054-4d4d-9200-8dcd4f783a38"
	// GraphNotificationPublisherID is Microsoft Graph's publisher.
	GraphNotificationPublisherID = "0bf30f3b-4a52-48df-9a82-234910c4a086"
)

// ErrBadValidationToken is wrapped by every error of a validation token
// that does not verify: the POST did not come from the server, or not for
// this application. Errors fetching the key set do not wrap it.
var ErrBadValidationToken = errors.New("notification: validation token does not verify")

// validationLeeway is the clock skew allowed on exp, nbf and iat.
const validationLeeway = 5 * time.Minute

// maxKeySet bounds the body of a key set.
const maxKeySet = 1 << 20

// ValidationKeys verifies the validationTokens of rich notifications with
// the key set a server publishes. It is safe for concurrent use.
type ValidationKeys struct {
	kf keyfunc.Keyfunc
}

// FetchValidationKeys fetches the JSON Web Key Set at jwksURL with hc (nil
// means http.DefaultClient): for contactgraph, the server's
// /common/discovery/v2.0/keys. It fails on a transport error, a status
// other than 200, a body over 1 MiB, or a body that is not a key set.
func FetchValidationKeys(ctx context.Context, hc *http.Client, jwksURL string) (*ValidationKeys, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jwksURL, nil)
	if err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("key set: %s answered %s", jwksURL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeySet+1))
	if err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	if len(body) > maxKeySet {
		return nil, fmt.Errorf("key set: %s answered over 1 MiB", jwksURL)
	}
	kf, err := keyfunc.NewJWKSetJSON(body)
	if err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	return &ValidationKeys{kf: kf}, nil
}

// validationClaims are the claims Verify reads.
type validationClaims struct {
	jwt.RegisteredClaims
	TenantID string `json:"tid"`
	AZP      string `json:"azp"`
	AppID    string `json:"appid"`
}

// Verify checks one validation token at now, as Graph's documentation asks
// receivers to: an RS256 signature by the key of the set that its kid
// names; aud holding appID (the receiving application's id); exp present,
// and exp, nbf and iat valid at now give or take five minutes; a tid; and
// azp (else appid) naming a notification publisher, NotificationPublisherID
// or GraphNotificationPublisherID. Every failure wraps
// ErrBadValidationToken and the cause.
func (k *ValidationKeys) Verify(token, appID string, now time.Time) error {
	if appID == "" {
		return fmt.Errorf("%w: no application id to check the audience against", ErrBadValidationToken)
	}
	var c validationClaims
	_, err := jwt.ParseWithClaims(token, &c, k.kf.Keyfunc,
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithAudience(appID),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(validationLeeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadValidationToken, err)
	}
	if c.TenantID == "" {
		return fmt.Errorf("%w: no tid claim", ErrBadValidationToken)
	}
	publisher := c.AZP
	if publisher == "" {
		publisher = c.AppID
	}
	if publisher != NotificationPublisherID && publisher != GraphNotificationPublisherID {
		return fmt.Errorf("%w: issued to %q, not to a notification publisher", ErrBadValidationToken, publisher)
	}
	return nil
}

// VerifyValidationToken fetches the key set at jwksURL with hc and verifies
// token for appID at the current time: FetchValidationKeys, then Verify.
// A receiver that verifies every POST keeps a ValidationKeys instead.
func VerifyValidationToken(ctx context.Context, hc *http.Client, jwksURL, token, appID string) error {
	k, err := FetchValidationKeys(ctx, hc, jwksURL)
	if err != nil {
		return err
	}
	return k.Verify(token, appID, time.Now())
}
