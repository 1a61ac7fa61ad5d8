package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Subscription is a change notification subscription, as POST, PATCH and
// GET /subscriptions carry it.
type Subscription struct {
	ID string `json:"id"`
	// Resource is the watched collection, relative to the service root:
	// me/contacts, users/{id}/contacts, me/contactFolders/{id}/contacts,
	// me/contactFolders, contacts (org contacts, a contactgraph extension).
	Resource string `json:"resource"`
	// ChangeType is a comma list of created, updated and deleted.
	ChangeType      string `json:"changeType"`
	NotificationURL string `json:"notificationUrl"`
	// LifecycleNotificationURL receives the lifecycle notifications
	// (missed, subscriptionRemoved, reauthorizationRequired); "" for none.
	// It can only be set on create.
	LifecycleNotificationURL string    `json:"lifecycleNotificationUrl"`
	ExpirationDateTime       time.Time `json:"expirationDateTime"`
	// ClientState is sent on create, to come back in every notification.
	// Graph never returns it: it is empty in answers.
	ClientState string `json:"clientState"`
}

// createBody is the body of POST /subscriptions: only what a client may set.
type createBody struct {
	ChangeType               string `json:"changeType"`
	NotificationURL          string `json:"notificationUrl"`
	LifecycleNotificationURL string `json:"lifecycleNotificationUrl,omitempty"`
	Resource                 string `json:"resource"`
	ExpirationDateTime       string `json:"expirationDateTime"`
	ClientState              string `json:"clientState,omitempty"`
}

// Subscribe creates a subscription under base, the service root (such as
// https://graph.microsoft.com/v1.0), and returns it as the server stored
// it, with its id and expiry. s.ID is ignored. Before answering, the
// server checks NotificationURL and LifecycleNotificationURL with the
// validation handshake (see Receiver); a failed handshake, a resource that
// cannot be subscribed or an expiry too far ahead is 400 InvalidRequest,
// which comes back as a *contactgraph.Error with code EInvalid wrapping an
// *HTTPError with the Graph code and message. Throttling and
// unavailability answers are retried as Get retries them; a transport
// error is not, since the subscription may have been made.
func (c *Client) Subscribe(ctx context.Context, base string, s Subscription) (Subscription, error) {
	in := createBody{
		ChangeType: s.ChangeType, NotificationURL: s.NotificationURL, LifecycleNotificationURL: s.LifecycleNotificationURL,
		Resource: s.Resource, ExpirationDateTime: graphTime(s.ExpirationDateTime), ClientState: s.ClientState,
	}
	var out Subscription
	err := c.send(ctx, http.MethodPost, strings.TrimSuffix(base, "/")+"/subscriptions", in, &out, false)
	return out, err
}

// RenewSubscription moves the expiry of subscription id under base to
// until (PATCH /subscriptions/{id}), which also reauthorizes it with the
// client's current token, and returns the subscription. A subscription that
// is gone (expired, removed or deleted) is ENotFound; an expiry in the past
// or too far ahead is EInvalid. Errors are retried as Get retries them.
func (c *Client) RenewSubscription(ctx context.Context, base, id string, until time.Time) (Subscription, error) {
	in := struct {
		ExpirationDateTime string `json:"expirationDateTime"`
	}{graphTime(until)}
	var out Subscription
	err := c.send(ctx, http.MethodPatch, subscriptionURL(base, id), in, &out, true)
	return out, err
}

// DeleteSubscription deletes subscription id under base. A subscription
// that is already gone is ENotFound. Errors are retried as Get retries them.
func (c *Client) DeleteSubscription(ctx context.Context, base, id string) error {
	return c.send(ctx, http.MethodDelete, subscriptionURL(base, id), nil, nil, true)
}

func subscriptionURL(base, id string) string {
	return strings.TrimSuffix(base, "/") + "/subscriptions/" + url.PathEscape(id)
}

// graphTime formats t as Graph's date-times: UTC, RFC 3339.
func graphTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// send makes a request with in as its JSON body (none when nil) and
// decodes a 2xx answer into out (unless nil), retrying as Get does.
// Transport errors are retried only when the request is idempotent.
func (c *Client) send(ctx context.Context, method, link string, in, out any, idempotent bool) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	return c.retry(ctx, func() (time.Duration, error) {
		req, err := http.NewRequestWithContext(ctx, method, link, bytes.NewReader(body))
		if err != nil {
			return -1, err
		}
		req.Header.Set("Accept", "application/json")
		if in != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if err := c.authorize(ctx, req); err != nil {
			return -1, err
		}
		resp, err := c.httpClient().Do(req)
		if err != nil {
			if ctx.Err() != nil || !idempotent {
				return -1, err
			}
			return 0, err
		}
		defer resp.Body.Close()
		answer, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		if err != nil {
			if !idempotent {
				return -1, err
			}
			return 0, err
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return answerError(resp, answer)
		}
		if out != nil {
			if err := json.Unmarshal(answer, out); err != nil {
				return -1, fmt.Errorf("graph: %s %s answered no subscription JSON: %w", method, link, err)
			}
		}
		return 0, nil
	})
}
