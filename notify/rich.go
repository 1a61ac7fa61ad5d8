package notify

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/contactgraph/contactgraph"
)

// Rich notifications (includeResourceData).
//
// A change notification of a subscription with IncludeResourceData is
// "rich": besides resourceData it carries the changed object's JSON,
// encrypted for the subscription's certificate, as encryptedContent. A
// POST that holds rich notifications carries at its top level
// validationTokens: one JWT per distinct (application, tenant) among them,
// with which the receiver checks that the POST comes from this server.
// Lifecycle notifications are never rich. A deleted object has no data: its
// notification (a "deleted" change, or an earlier change of an object gone
// by the time it is sent) is rich without encryptedContent, and still
// counts for validationTokens.
//
// The Sender does the I/O (Sender.ResourceData reads and renders the
// object, Sender.ValidationToken signs) and RichPayload, like Payload, only
// renders.

// Rich is what the rich notifications of one POST carry besides Payload's
// items.
type Rich struct {
	// Content is the encryptedContent of items, by notification key.
	Content map[contactgraph.NotificationKey]EncryptedContent
	// ValidationTokens is the top-level validationTokens; left out of the
	// body when empty.
	ValidationTokens []string
}

// RichPayload renders notifications as the body of one POST, as Payload
// does, with the encryptedContent of r.Content on each change item whose
// key it holds, and r.ValidationTokens. With a zero Rich it is Payload,
// byte for byte.
func RichPayload(ns []contactgraph.Notification, r Rich) ([]byte, error) {
	items := make([]item, 0, len(ns))
	for _, n := range ns {
		it := newItem(n)
		if ec, ok := r.Content[n.Key]; ok && n.Lifecycle == "" {
			it.EncryptedContent = &ec
		}
		items = append(items, it)
	}
	return json.Marshal(struct {
		Value            []item   `json:"value"`
		ValidationTokens []string `json:"validationTokens,omitempty"`
	}{items, r.ValidationTokens})
}

// ResourceOf returns the @odata.type and the @odata.id (also the resource)
// that notifications give an object of a watched collection, such as
// "#Microsoft.Graph.Contact" and "Users/{userId}/Contacts/{id}". A rich
// notification's decrypted data names its object the same way.
func ResourceOf(w contactgraph.Watched, id string) (odataType, odataID string) {
	return resourceOf(w, id)
}

// isRich reports whether n is a rich notification: a change of a
// subscription with IncludeResourceData.
func isRich(n contactgraph.Notification) bool {
	return n.Lifecycle == "" && n.Subscription.ID != "" && n.Subscription.IncludeResourceData
}

// payload renders the body of one POST, with what its rich notifications
// need.
func (s *Sender) payload(ctx context.Context, ns []contactgraph.Notification) ([]byte, error) {
	r, err := s.enrich(ctx, ns)
	if err != nil {
		return nil, err
	}
	return RichPayload(ns, r)
}

// appTenant is a key of validationTokens.
type appTenant struct{ app, tenant string }

// enrich gathers the Rich of one POST:
//   - for each rich notification of a change other than a deletion, the
//     object's JSON from s.ResourceData, encrypted with Encrypt for the
//     subscription's EncryptionCertificate and EncryptionCertificateID. An
//     ENotFound error (errors.Is contactgraph.ErrNotFound) means the object
//     has no data any more: that item goes without encryptedContent;
//   - one token from s.ValidationToken, at the sender's clock, per distinct
//     (AppID, TenantID) of the rich notifications, in order of appearance.
//
// Any other error of ResourceData or ValidationToken, and a certificate
// that does not parse (ParseEncryptionCertificate checked it when the
// subscription was made, so the stored one is damaged), fail the whole
// POST, which is then retried like a refused delivery. Without rich
// notifications it returns a zero Rich and does no I/O.
func (s *Sender) enrich(ctx context.Context, ns []contactgraph.Notification) (Rich, error) {
	var r Rich
	certs := map[string]*x509.Certificate{} // by subscription id
	signed := map[appTenant]bool{}
	for _, n := range ns {
		if !isRich(n) {
			continue
		}
		sub := n.Subscription
		if k := (appTenant{sub.AppID, sub.TenantID}); s.ValidationToken != nil && !signed[k] {
			signed[k] = true
			tok, err := s.ValidationToken(sub.AppID, sub.TenantID, s.now())
			if err != nil {
				return Rich{}, fmt.Errorf("validation token for app %s: %w", sub.AppID, err)
			}
			r.ValidationTokens = append(r.ValidationTokens, tok)
		}
		if s.ResourceData == nil || n.Change == contactgraph.ChangeDeleted {
			continue
		}
		data, err := s.ResourceData(ctx, n)
		if errors.Is(err, contactgraph.ErrNotFound) {
			continue
		}
		if err != nil {
			return Rich{}, fmt.Errorf("resource data of %s for subscription %s: %w", n.ObjectID, sub.ID, err)
		}
		cert, ok := certs[sub.ID]
		if !ok {
			if cert, err = ParseEncryptionCertificate(sub.EncryptionCertificate); err != nil {
				return Rich{}, fmt.Errorf("subscription %s: %w", sub.ID, err)
			}
			certs[sub.ID] = cert
		}
		ec, err := Encrypt(rand.Reader, cert, sub.EncryptionCertificateID, data)
		if err != nil {
			return Rich{}, fmt.Errorf("subscription %s: %w", sub.ID, err)
		}
		if r.Content == nil {
			r.Content = map[contactgraph.NotificationKey]EncryptedContent{}
		}
		r.Content[n.Key] = ec
	}
	return r, nil
}
