package auth

import (
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// NotificationPublisherID is the application id (azp and appid) of the
// validation tokens this server signs for rich change notifications: the
// "application" that publishes notifications. It is a fixed GUID of
// contactgraph's own. Microsoft Graph's publisher is
// GraphNotificationPublisherID, which receivers written for Graph check;
// such a receiver must accept this id too to verify contactgraph's tokens.
const NotificationPublisherID = "52ee086d-6054-4d4d-9200-8dcd4f783a38"

// GraphNotificationPublisherID is the appid of the validation tokens
// Microsoft Graph itself sends. contactgraph never signs tokens with it.
const GraphNotificationPublisherID = "0bf30f3b-4a52-48df-9a82-234910c4a086"

// ValidationTokenTTL is the lifetime of a validation token.
const ValidationTokenTTL = time.Hour

// ValidationToken returns a validation token for the rich notifications of
// application appID in tenant tenantID, as the validationTokens of a
// notification POST carry one per (app, tenant): an RS256 JWT signed with
// l's key, kid in its header, so that a receiver verifies it with the key
// set of l.PublicJWKS. Its claims are aud = appID, iss = l.Issuer(tenantID),
// tid = tenantID, azp = appid = NotificationPublisherID, and iat = nbf = now,
// exp = now + ValidationTokenTTL; a zero now means l's clock.
//
// A validation token is no access token: it has neither scp nor roles and
// its audience is the receiving application, so l.Authenticate refuses it.
// To keep it so, appID may not be one of the Graph audiences a Local
// accepts. Empty ids and such an appID are EInvalid errors.
func (l *Local) ValidationToken(appID, tenantID string, now time.Time) (string, error) {
	appID, tenantID = strings.TrimSpace(appID), strings.TrimSpace(tenantID)
	switch {
	case appID == "":
		return "", invalid("a validation token needs the application id")
	case tenantID == "":
		return "", invalid("a validation token needs the tenant id")
	case strings.EqualFold(appID, GraphAudience) || strings.EqualFold(appID, GraphApplicationID):
		return "", invalid("the audience of a validation token cannot be Microsoft Graph")
	}
	if now.IsZero() {
		now = l.now()
	}
	c := &claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    l.Issuer(tenantID),
			Audience:  jwt.ClaimStrings{appID},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ValidationTokenTTL)),
		},
		TenantID:        tenantID,
		AuthorizedParty: NotificationPublisherID,
		AppID:           NotificationPublisherID,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = l.kid
	s, err := t.SignedString(l.key)
	if err != nil {
		return "", fmt.Errorf("auth: sign a validation token: %w", err)
	}
	return s, nil
}
