package graphapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/contactgraph/contactgraph"
)

// family is the API family of a route. Graph's Outlook services (contacts,
// contact folders) and its directory (users, org contacts) answer the same
// condition with different error codes.
type family int

const (
	outlook family = iota
	directory
)

type familyKey struct{}

// withFamily returns r carrying the API family its errors use.
func withFamily(r *http.Request, f family) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), familyKey{}, f))
}

// familyOf returns the API family carried by r; Outlook by default.
func familyOf(r *http.Request) family {
	f, _ := r.Context().Value(familyKey{}).(family)
	return f
}

// Codes of the HTTP layer itself: conditions no store can produce. They
// share the one error table with the domain codes.
const (
	eBadRequest           contactgraph.Code = "graphapi_bad_request"            // unknown segment, bad version, /me with an app token
	eMethodNotAllowed     contactgraph.Code = "graphapi_method_not_allowed"     // 405
	eDeleteDistinguished  contactgraph.Code = "graphapi_delete_distinguished"   // delete of the default folder
	eChangeDistinguished  contactgraph.Code = "graphapi_change_distinguished"   // rename or move of the default folder
	eUnsupportedEncoding  contactgraph.Code = "graphapi_unsupported_encoding"   // Content-Encoding other than gzip or identity
	eInvalidRequest       contactgraph.Code = "graphapi_invalid_request"        // a subscription's body, resource or validation handshake
	eSubscriptionNotFound contactgraph.Code = "graphapi_subscription_not_found" // no such subscription of the caller
	eFailedDependency     contactgraph.Code = "graphapi_failed_dependency"      // a $batch request whose dependsOn failed
	eQuerySyntax          contactgraph.Code = "graphapi_query_syntax"           // a $filter, $orderby or $search that does not parse or type-check
	eApplicationThrottled contactgraph.Code = "graphapi_application_throttled"  // over Outlook's concurrency limit (throttle.go)
	eHeadersTooLarge      contactgraph.Code = "graphapi_headers_too_large"      // a head over Config.MaxHeaderBytes (framing.go)
)

// graphCode is one row of the error table.
type graphCode struct {
	status  int
	code    string
	message string // used when the error carries no message
}

// errorTable maps (code, family) to the HTTP status, Graph error code and
// default message. Request bodies that fail validation are EInvalid, which
// Outlook routes answer as ErrorInvalidRequest. A code missing here is a 500.
var errorTable = map[contactgraph.Code][2]graphCode{
	// code:                  {Outlook, Directory}
	contactgraph.EInvalid: {
		{400, "ErrorInvalidRequest", "The request is invalid."},
		{400, "Request_BadRequest", "The request is invalid."}},
	contactgraph.EMalformedID: {
		{400, "ErrorInvalidIdMalformed", "Id is malformed."},
		{400, "Request_BadRequest", "Id is malformed."}},
	contactgraph.EUnsupported: {
		{400, "ErrorInvalidUrlQuery", "The query is not supported."},
		{400, "Request_UnsupportedQuery", "The query is not supported."}},
	contactgraph.EInvalidFilter: {
		{400, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes."},
		{400, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause."}},
	contactgraph.EBadToken: {
		{400, "BadRequest", "Badly formed token."},
		{400, "Request_BadRequest", "Badly formed token."}},
	contactgraph.EUnauthenticated: {
		{401, "InvalidAuthenticationToken", "Access token validation failure."},
		{401, "InvalidAuthenticationToken", "Access token validation failure."}},
	contactgraph.EForbidden: {
		{403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."},
		{403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."}},
	contactgraph.ENotFound: {
		{404, "ErrorItemNotFound", "The specified object was not found in the store."},
		{404, "Request_ResourceNotFound", "Resource does not exist or one of its queried reference-property objects are not present."}},
	contactgraph.EUserNotFound: {
		{404, "ErrorInvalidUser", "The requested user is invalid."},
		{404, "Request_ResourceNotFound", "Resource does not exist or one of its queried reference-property objects are not present."}},
	contactgraph.EConflict: {
		{409, "ErrorConflict", "The object conflicts with an existing one."},
		{400, "Request_BadRequest", "Another object with the same value for a unique property already exists."}},
	contactgraph.EFolderExists: {
		{409, "ErrorFolderExists", "A folder with the specified name already exists."},
		{409, "ErrorFolderExists", "A folder with the specified name already exists."}},
	contactgraph.EPrecondition: {
		{412, "ErrorIrresolvableConflict", "The change key passed in the request does not match the current change key for the item."},
		{412, "Request_PreconditionFailed", "The precondition given in the request failed."}},
	contactgraph.ETooLarge: {
		{413, "RequestEntityTooLarge", "The request body is too large."},
		{413, "RequestEntityTooLarge", "The request body is too large."}},
	contactgraph.EUnsupportedMedia: {
		{415, "UnsupportedMediaType", "The media type of the request body is not supported."},
		{415, "Request_UnsupportedMediaType", "The media type of the request body is not supported."}},
	contactgraph.ESyncStateExpired: {
		{410, "SyncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again."},
		{400, "syncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again."}},
	contactgraph.EResyncRequired: {
		{410, "resyncRequired", "The delta token is no longer valid, and the app must reset the sync state."},
		{410, "resyncRequired", "The delta token is no longer valid, and the app must reset the sync state."}},
	contactgraph.EThrottled: {
		{429, "TooManyRequests", "Please retry again later."},
		{429, "TooManyRequests", "Please retry again later."}},
	contactgraph.EUnavailable: {
		{503, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later."},
		{503, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later."}},
	contactgraph.EInternal: {
		{500, "generalException", "An internal server error occurred."},
		{500, "generalException", "An internal server error occurred."}},
	eBadRequest: {
		{400, "BadRequest", "The request is invalid."},
		{400, "BadRequest", "The request is invalid."}},
	eMethodNotAllowed: {
		{405, "BadRequest", "The HTTP method is not allowed on this resource."},
		{405, "Request_BadRequest", "The HTTP method is not allowed on this resource."}},
	eDeleteDistinguished: {
		{400, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted."},
		{400, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted."}},
	eChangeDistinguished: {
		{400, "ErrorCannotMoveOrCopyDistinguishedFolder", "The default contacts folder cannot be renamed or moved."},
		{400, "ErrorCannotMoveOrCopyDistinguishedFolder", "The default contacts folder cannot be renamed or moved."}},
	eQuerySyntax: {
		{400, "BadRequest", "Invalid query clause."},
		{400, "Request_BadRequest", "Invalid query clause."}},
	eInvalidRequest: {
		{400, "InvalidRequest", "The request is invalid."},
		{400, "InvalidRequest", "The request is invalid."}},
	eSubscriptionNotFound: {
		{404, "ResourceNotFound", "The object was not found."},
		{404, "ResourceNotFound", "The object was not found."}},
	eFailedDependency: {
		{424, "FailedDependency", "The request depends on a request of the batch that failed."},
		{424, "FailedDependency", "The request depends on a request of the batch that failed."}},
	eApplicationThrottled: {
		{429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit."},
		{429, "ApplicationThrottled", "Application is over its MailboxConcurrency limit."}},
	eHeadersTooLarge: {
		{431, "RequestHeaderFieldsTooLarge", "The request headers are too large."},
		{431, "RequestHeaderFieldsTooLarge", "The request headers are too large."}},
	eUnsupportedEncoding: {
		{415, "UnsupportedMediaType", "The Content-Encoding of the request is not supported."},
		{415, "Request_UnsupportedMediaType", "The Content-Encoding of the request is not supported."}},
}

// aboutTable words, per (code, family), an error that carries a subject
// and no message: a format with one %s, the subject. A code or family
// missing here uses the error table's message.
var aboutTable = map[contactgraph.Code][2]string{
	// code:                  {Outlook, Directory}
	contactgraph.ENotFound: {"",
		"Resource '%s' does not exist or one of its queried reference-property objects are not present."},
	contactgraph.EUserNotFound: {"The requested user '%s' is invalid.",
		"Resource '%s' does not exist or one of its queried reference-property objects are not present."},
	contactgraph.EConflict:     {"", "Another object with the same value for property %s already exists."},
	contactgraph.EFolderExists: {"A folder with the specified name '%s' already exists.", "A folder with the specified name '%s' already exists."},
}

// retryAfterer is implemented by errors that know when a throttled or
// unavailable client may retry.
type retryAfterer interface {
	RetryAfter() time.Duration
}

// defaultRetryAfter is the Retry-After of a 429 or 503 whose error does not say.
const defaultRetryAfter = time.Second

// lookupError returns the table row and client message for err on the
// family of r. Messages of internal errors are never shown.
func lookupError(err error, f family) (graphCode, string) {
	code := contactgraph.ErrorCode(err)
	row, ok := errorTable[code]
	if !ok {
		code, row = contactgraph.EInternal, errorTable[contactgraph.EInternal]
	}
	gc := row[f]
	msg := gc.message
	var e *contactgraph.Error
	if code != contactgraph.EInternal && errors.As(err, &e) {
		switch {
		case e.Message != "":
			msg = e.Message
		case e.Subject != "" && aboutTable[code][f] != "":
			msg = fmt.Sprintf(aboutTable[code][f], e.Subject)
		}
	}
	return gc, msg
}

// errorBody is Graph's error envelope.
type errorBody struct {
	Error errorMain `json:"error"`
}

type errorMain struct {
	Code       string     `json:"code"`
	Message    string     `json:"message"`
	InnerError innerError `json:"innerError"`
}

type innerError struct {
	Date            string `json:"date"`
	RequestID       string `json:"request-id"`
	ClientRequestID string `json:"client-request-id"`
}

// errorDateLayout is innerError.date: UTC, no fraction, no zone.
const errorDateLayout = "2006-01-02T15:04:05"

// writeError answers err as a Graph error. The status and code come from
// the error table for the error's code and the API family of r; an error
// without a code is a 500 with a generic message, logged with its
// request-id. 429 and 503 carry Retry-After; 401 carries WWW-Authenticate.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	gc, msg := lookupError(err, familyOf(r))
	noteError(r, gc.code)
	h := w.Header()
	rid := h.Get(hdrRequestID)
	if gc.status >= 500 && contactgraph.ErrorCode(err) != contactgraph.EUnavailable {
		// The route kind, not the path: a path may hold a user name.
		s.log.Error("graphapi: internal error", "request-id", rid, "method", MethodLabel(r.Method), "route", routeName(r), "err", err)
	}
	switch gc.status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		d := defaultRetryAfter
		var ra retryAfterer
		if errors.As(err, &ra) && ra.RetryAfter() > 0 {
			d = ra.RetryAfter()
		}
		if h.Get("Retry-After") == "" {
			h.Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
		}
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm=""`)
	}
	body := errorBody{Error: errorMain{
		Code:    gc.code,
		Message: contactgraph.Truncate(msg, 1024),
		InnerError: innerError{
			Date:            s.cfg.Now().UTC().Format(errorDateLayout),
			RequestID:       rid,
			ClientRequestID: h.Get(hdrClientRequestID),
		},
	}}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body) // plain strings: cannot fail
	s.writeJSON(w, r, gc.status, bytes.TrimRight(b.Bytes(), "\n"))
}
