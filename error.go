package contactgraph

import (
	"errors"
	"fmt"
)

// Code classifies an error. The HTTP layer maps each code, together with the
// API family of the route (Outlook or directory), to a status and a Graph
// error code in one table.
type Code string

// Error codes. Callers branch on these with ErrorCode or errors.Is against
// the sentinels below; they never match message text.
const (
	EInvalid          Code = "invalid"           // bad input: 400
	EMalformedID      Code = "malformed_id"      // an id that cannot be one of ours: 400
	EUnsupported      Code = "unsupported_query" // a query option this route does not support: 400
	EInvalidFilter    Code = "invalid_filter"    // a well-formed $filter with a node the resource does not support: 400
	EBadToken         Code = "bad_token"         // a garbled, tampered or foreign delta token: 400
	EUnauthenticated  Code = "unauthenticated"   // missing or invalid bearer token: 401
	EForbidden        Code = "forbidden"         // authenticated but not allowed: 403
	ENotFound         Code = "not_found"         // no such object in the caller's scope: 404
	EUserNotFound     Code = "user_not_found"    // app-only access to an unknown user: 404
	EConflict         Code = "conflict"          // uniqueness violated: 409
	EFolderExists     Code = "folder_exists"     // duplicate folder name under one parent: 409
	EPrecondition     Code = "precondition"      // If-Match did not match: 412
	ETooLarge         Code = "too_large"         // request body over the limit: 413
	EUnsupportedMedia Code = "unsupported_media" // a request body of a media type the route does not take: 415
	ESyncStateExpired Code = "sync_state"        // delta token older than kept history
	EResyncRequired   Code = "resync_required"   // the server forces a full resync: 410
	EThrottled        Code = "throttled"         // 429
	EUnavailable      Code = "unavailable"       // 503
	EInternal         Code = "internal"          // 500, message never echoed
)

// Error is the error type of the domain. Message is safe to show to the
// client; Err, when set, is the underlying cause and is only logged.
//
// Stores leave Message empty for the conditions a protocol words itself
// (an object or user not found, a folder name taken, a failed
// precondition) and set Subject instead: the HTTP layers word those from
// their own tables, naming the subject where their protocol's message does.
type Error struct {
	Code    Code
	Message string
	// Subject is the id or name the error is about (the user, object or
	// folder name not found or taken), never worded by the store.
	Subject string
	Err     error
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" && e.Subject != "" {
		msg = "'" + e.Subject + "'"
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotFound) true for any *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == "" && t.Subject == "" && t.Err == nil && t.Code == e.Code
}

// ErrDefaultFolder is the cause (Err) of the EInvalid a store returns when
// asked to delete, rename or move a mailbox's default contacts folder. The
// store does not word it: the HTTP layer answers that request itself, with
// the message of its error table.
var ErrDefaultFolder = errors.New("the default contacts folder cannot be deleted, renamed or moved")

// About returns an *Error with the given code about subject (an id or a
// name), left for the HTTP layer to word.
func About(code Code, subject string) *Error {
	return &Error{Code: code, Subject: subject}
}

// Errorf returns an *Error with the given code and a formatted, client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: the code of the first *Error in its
// chain, or EInternal for any other non-nil error.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-safe message of err: its Message, or for
// an error left unworded a plain sentence for its code naming its Subject.
// Errors without a code get a generic message: their text is never shown
// to a client.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EInternal {
		if e.Message != "" {
			return e.Message
		}
		if text, ok := plainText[e.Code]; ok {
			if e.Subject != "" {
				return text + ": '" + e.Subject + "'."
			}
			return text + "."
		}
	}
	return "An internal server error occurred."
}

// plainText words the codes stores leave unworded, for the callers of
// ErrorMessage with no table of their own (CardDAV's plain-text bodies,
// the command line).
var plainText = map[Code]string{
	EMalformedID:  "Malformed id",
	ENotFound:     "Not found",
	EUserNotFound: "No such user",
	EConflict:     "Conflicts with an existing object",
	EFolderExists: "A folder of this name exists",
	EPrecondition: "The precondition failed",
}

// Sentinels for the codes callers branch on.
var (
	ErrNotFound          = &Error{Code: ENotFound}
	ErrSyncStateExpired  = &Error{Code: ESyncStateExpired}
	ErrConflict          = &Error{Code: EConflict}
	ErrPreconditionFails = &Error{Code: EPrecondition}
)
