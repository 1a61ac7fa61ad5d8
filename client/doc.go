// Package client runs Microsoft Graph delta rounds the way the Graph
// documentation describes, against contactgraph or against Microsoft Graph
// itself, and applies them to a local mirror.
//
// A Client follows @odata.nextLink verbatim until a page carries
// @odata.deltaLink, re-sends its Prefer header on every page (Graph does not
// keep headers in tokens), honours Retry-After on 429 and 503, retries
// transport errors with backoff, and, when the server says the sync state
// is gone (410 SyncStateNotFound or resyncRequired, 400 syncStateNotFound),
// starts over with a full round and tells the mirror to reset.
//
// For change notifications, Subscribe, RenewSubscription and
// DeleteSubscription manage subscriptions (POST, PATCH and DELETE
// /subscriptions) with the same token and error handling, and a Receiver
// serves the notificationUrl: the validation handshake, the clientState
// check and the Notifications payload. The documented pattern is a
// notification says that something changed, a delta round says what.
//
// Errors that Graph answered come back as *contactgraph.Error with the
// domain code of the Graph error (ENotFound, ESyncStateExpired, ...), wrapping
// an *HTTPError with the status, the Graph code and the request id.
//
// For change notifications, a Receiver serves a subscription's
// notificationUrl (the validation handshake, clientState checks); Decrypt
// opens the encryptedContent of a rich notification with the private key
// of the subscription's certificate, and ValidationKeys (or
// VerifyValidationToken) checks its validationTokens against the key set
// the server publishes at /common/discovery/v2.0/keys.
package client
