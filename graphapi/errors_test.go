package graphapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

var testNow = time.Date(2026, 11, 24, 10, 0, 0, 123456789, time.UTC)

func newBareServer(logs *bytes.Buffer) *Server {
	log := slog.New(slog.NewTextHandler(logs, nil))
	return &Server{cfg: Config{Now: func() time.Time { return testNow }}, log: log}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRequestIDs(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	setRequestIDs(w, httptest.NewRequest("GET", "/", nil))
	rid := w.Header().Get("request-id")
	if !uuidRE.MatchString(rid) || w.Header().Get("client-request-id") != rid {
		t.Errorf("request-id %q, client-request-id %q", rid, w.Header().Get("client-request-id"))
	}
	w2 := httptest.NewRecorder()
	setRequestIDs(w2, httptest.NewRequest("GET", "/", nil))
	if w2.Header().Get("request-id") == rid {
		t.Error("two requests got the same request-id")
	}
	w3 := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("client-request-id", "my-id-1")
	setRequestIDs(w3, r)
	if got := w3.Header().Get("client-request-id"); got != "my-id-1" {
		t.Errorf("client-request-id %q, want the client's", got)
	}
}

// TestErrorTable checks that every domain code has a row for both
// families, with a status, a Graph code and a default message.
func TestErrorTable(t *testing.T) {
	t.Parallel()
	codes := []contactgraph.Code{
		contactgraph.EInvalid, contactgraph.EMalformedID, contactgraph.EUnsupported, contactgraph.EBadToken,
		contactgraph.EUnauthenticated, contactgraph.EForbidden, contactgraph.ENotFound, contactgraph.EUserNotFound,
		contactgraph.EConflict, contactgraph.EFolderExists, contactgraph.EPrecondition, contactgraph.ETooLarge, contactgraph.EUnsupportedMedia,
		contactgraph.ESyncStateExpired, contactgraph.EResyncRequired, contactgraph.EThrottled, contactgraph.EUnavailable,
		contactgraph.EInternal,
	}
	for _, c := range codes {
		row, ok := errorTable[c]
		if !ok {
			t.Errorf("code %s has no row", c)
			continue
		}
		for f, gc := range row {
			if gc.status < 400 || gc.code == "" || gc.message == "" {
				t.Errorf("code %s family %d: %+v", c, f, gc)
			}
		}
	}
}

func TestWriteError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err    error
		family family
		status int
		code   string
		msg    string
	}{
		{contactgraph.Errorf(contactgraph.ENotFound, "The specified contact was not found in the store."), outlook, 404, "ErrorItemNotFound", "The specified contact was not found in the store."},
		{contactgraph.ErrNotFound, outlook, 404, "ErrorItemNotFound", "The specified object was not found in the store."},
		{contactgraph.ErrNotFound, directory, 404, "Request_ResourceNotFound", "Resource does not exist or one of its queried reference-property objects are not present."},
		// Store errors carry a subject and no words: the table words them per family.
		{contactgraph.About(contactgraph.ENotFound, "id-1"), outlook, 404, "ErrorItemNotFound", "The specified object was not found in the store."},
		{contactgraph.About(contactgraph.ENotFound, "id-1"), directory, 404, "Request_ResourceNotFound", "Resource 'id-1' does not exist or one of its queried reference-property objects are not present."},
		{contactgraph.About(contactgraph.EUserNotFound, "ghost@contoso.com"), outlook, 404, "ErrorInvalidUser", "The requested user 'ghost@contoso.com' is invalid."},
		{contactgraph.About(contactgraph.EUserNotFound, "u-2"), directory, 404, "Request_ResourceNotFound", "Resource 'u-2' does not exist or one of its queried reference-property objects are not present."},
		{contactgraph.About(contactgraph.EFolderExists, "Work"), outlook, 409, "ErrorFolderExists", "A folder with the specified name 'Work' already exists."},
		{contactgraph.About(contactgraph.EConflict, "userPrincipalName"), directory, 400, "Request_BadRequest", "Another object with the same value for property userPrincipalName already exists."},
		{contactgraph.About(contactgraph.EConflict, "userPrincipalName"), outlook, 409, "ErrorConflict", "The object conflicts with an existing one."},
		{&contactgraph.Error{Code: contactgraph.EUserNotFound}, outlook, 404, "ErrorInvalidUser", "The requested user is invalid."},
		{forbidden(outlook), outlook, 403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."},
		{forbidden(directory), directory, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."},
		{contactgraph.Errorf(contactgraph.EMalformedID, "Id is malformed."), outlook, 400, "ErrorInvalidIdMalformed", "Id is malformed."},
		{contactgraph.Errorf(contactgraph.EUnsupported, "x"), outlook, 400, "ErrorInvalidUrlQuery", "x"},
		{contactgraph.Errorf(contactgraph.EUnsupported, "x"), directory, 400, "Request_UnsupportedQuery", "x"},
		{contactgraph.ErrSyncStateExpired, outlook, 410, "SyncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again."},
		{contactgraph.ErrSyncStateExpired, directory, 400, "syncStateNotFound", "The sync state generation is not found. The delta token is expired and data must be synchronized again."},
		{&contactgraph.Error{Code: contactgraph.EResyncRequired}, outlook, 410, "resyncRequired", "The delta token is no longer valid, and the app must reset the sync state."},
		{contactgraph.Errorf(contactgraph.EBadToken, "Badly formed token."), outlook, 400, "BadRequest", "Badly formed token."},
		{contactgraph.ErrPreconditionFails, outlook, 412, "ErrorIrresolvableConflict", "The change key passed in the request does not match the current change key for the item."},
		{contactgraph.Errorf(contactgraph.EFolderExists, "dup"), outlook, 409, "ErrorFolderExists", "dup"},
		{contactgraph.Errorf(contactgraph.ETooLarge, "big"), outlook, 413, "RequestEntityTooLarge", "big"},
		{contactgraph.Errorf(contactgraph.EUnauthenticated, "Access token is empty."), directory, 401, "InvalidAuthenticationToken", "Access token is empty."},
		{contactgraph.Errorf(contactgraph.EUnavailable, ""), outlook, 503, "serviceNotAvailable", "The service is temporarily unavailable. Please retry later."},
		{fmt.Errorf("wrapped: %w", contactgraph.Errorf(contactgraph.EInvalid, "bad")), directory, 400, "Request_BadRequest", "bad"},
		{contactgraph.Errorf("no-such-code", "secret detail"), outlook, 500, "generalException", "An internal server error occurred."},
		{&contactgraph.Error{Code: contactgraph.EInternal, Message: "secret detail"}, outlook, 500, "generalException", "An internal server error occurred."},
	}
	for _, tt := range tests {
		var logs bytes.Buffer
		s := newBareServer(&logs)
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/v1.0/me/contacts", nil)
		r.Header.Set("client-request-id", "client-7")
		setRequestIDs(w, r)
		s.writeError(w, withFamily(r, tt.family), tt.err)
		if w.Code != tt.status {
			t.Errorf("%v: status %d, want %d", tt.err, w.Code, tt.status)
		}
		e := checkEnvelope(t, w.Result().Header, w.Body.Bytes())
		if e.Error.Code != tt.code || e.Error.Message != tt.msg {
			t.Errorf("%v: %s %q, want %s %q", tt.err, e.Error.Code, e.Error.Message, tt.code, tt.msg)
		}
		if e.Error.InnerError.Date != "2026-11-24T10:00:00" || e.Error.InnerError.ClientRequestID != "client-7" {
			t.Errorf("innerError %+v", e.Error.InnerError)
		}
		if tt.status == 500 && !strings.Contains(logs.String(), w.Header().Get("request-id")) {
			t.Errorf("500 not logged with its request-id: %s", logs.String())
		}
	}
}

// checkEnvelope checks the shape of a Graph error answer and returns it:
// the content type, the members in Graph's order, a non-empty message and
// the innerError date and ids.
func checkEnvelope(t *testing.T, h interface{ Get(string) string }, body []byte) errorBody {
	t.Helper()
	if ct := h.Get("Content-Type"); ct != contentTypeJSON {
		t.Errorf("Content-Type %q", ct)
	}
	var e errorBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if !regexp.MustCompile(`^\{"error":\{"code":"[^"]+","message":".+","innerError":\{"date":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d","request-id":"[^"]+","client-request-id":"[^"]+"\}\}\}$`).Match(body) {
		t.Errorf("error body shape: %s", body)
	}
	if e.Error.Message == "" || e.Error.InnerError.RequestID != h.Get("request-id") || e.Error.InnerError.ClientRequestID != h.Get("client-request-id") {
		t.Errorf("error body %s vs headers request-id %q client-request-id %q", body, h.Get("request-id"), h.Get("client-request-id"))
	}
	return e
}

type retryErr struct{ d time.Duration }

func (e retryErr) Error() string             { return "slow down" }
func (e retryErr) RetryAfter() time.Duration { return e.d }
func (e retryErr) Unwrap() error {
	return contactgraph.Errorf(contactgraph.EThrottled, "Please retry again later.")
}

func TestWriteErrorRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want string
	}{
		{contactgraph.Errorf(contactgraph.EThrottled, "Please retry again later."), "1"},
		{retryErr{2500 * time.Millisecond}, "3"},
		{contactgraph.Errorf(contactgraph.EUnavailable, "down"), "1"},
	} {
		s := newBareServer(&bytes.Buffer{})
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/v1.0/me/contacts", nil)
		setRequestIDs(w, r)
		s.writeError(w, r, tt.err)
		if got := w.Header().Get("Retry-After"); got != tt.want {
			t.Errorf("%v: Retry-After %q, want %q", tt.err, got, tt.want)
		}
	}
}
