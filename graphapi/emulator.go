package graphapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/fakedata"
)

// The emulator controls are an extension for testing Graph clients: they
// make the server misbehave on purpose, the way Microsoft Graph does now
// and then. They exist only when Config.Emulator is set, need the
// permission Emulator.Control (a role, or a delegated scope), and act on
// the caller's tenant only. Their state lives in the process: with several
// replicas, send them to each.
//
//	POST   /emulator/faults        queue error answers: {"status":429|503, "count":N, "retryAfter":seconds, "path":"/me/contacts/delta", "method":"GET"}
//	DELETE /emulator/faults        clear the queue
//	POST   /emulator/resync        every delta token issued before now: 410 resyncRequired (with Location)
//	POST   /emulator/expire-tokens every access token issued before this instant: 401, expired (see expired)
//	POST   /emulator/reset         delete everything of the tenant
//	POST   /emulator/seed          generate data: {"user":"upn", "folder":"name", "contacts":N, "orgContacts":N, "seed":S}
//	POST   /emulator/deliveries    the next N notification POSTs (to "url", or "" for any) of the tenant's subscriptions
//	                               misbehave: {"url":"…", "count":N, and one of "fail":400-599 | "timeout":true |
//	                               "delayMs":1-60000 | "duplicate":true}; needs Config.Deliveries (the sender's faults)
//	DELETE /emulator/deliveries    clear the tenant's delivery faults
//	POST   /emulator/lifecycle     send a lifecycle notification now: {"subscriptionId":"…", "event":"missed" |
//	                               "subscriptionRemoved" (also ends the subscription) | "reauthorizationRequired"}
//
// Delivery faults live in the process whose senders consult them, like the
// other controls; lifecycle notifications are recorded in the store and
// delivered by any replica.
type emulator struct {
	mu           sync.Mutex
	faults       map[string][]*fault  // by tenant
	resyncBefore map[string]time.Time // by tenant
	tokensBefore map[string]time.Time // by tenant: the instant of the last expire-tokens, to the microsecond
}

// FaultHeader marks an answer the emulator made up: injected faults carry
// it, so a client test can tell them from real failures.
const FaultHeader = "x-contactgraph-fault"

// fault is a queued error answer.
type fault struct {
	Status     int     `json:"status"`
	Count      int     `json:"count"`
	RetryAfter float64 `json:"retryAfter"`
	Path       string  `json:"path"`   // matches request paths (after /v1.0) that start with it, in any case; "" matches all
	Method     string  `json:"method"` // "" matches all
}

func newEmulator() *emulator {
	return &emulator{faults: map[string][]*fault{}, resyncBefore: map[string]time.Time{}, tokensBefore: map[string]time.Time{}}
}

// take returns the error of the first queued fault of the tenant that
// matches the request, using it up; nil when none does.
func (e *emulator) take(tenant, method, path string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	q := e.faults[tenant]
	for i, f := range q {
		if (f.Method != "" && !strings.EqualFold(f.Method, method)) || !hasPrefixFold(path, f.Path) {
			continue
		}
		f.Count--
		if f.Count <= 0 {
			e.faults[tenant] = append(q[:i:i], q[i+1:]...)
		}
		code := contactgraph.EThrottled
		msg := "Please retry again later."
		if f.Status == http.StatusServiceUnavailable {
			code, msg = contactgraph.EUnavailable, "The service is temporarily unavailable. Please retry later."
		}
		return &retryError{err: contactgraph.Errorf(code, "%s", msg), after: time.Duration(f.RetryAfter * float64(time.Second))}
	}
	return nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// retryError is an error answer that says when to retry.
type retryError struct {
	err   error
	after time.Duration
}

func (e *retryError) Error() string             { return e.err.Error() }
func (e *retryError) Unwrap() error             { return e.err }
func (e *retryError) RetryAfter() time.Duration { return e.after }

// expired reports whether a principal's token was issued before the
// tenant's last expire-tokens call, exactly: a token minted before the call,
// in the same second too, is expired; one minted after it, in the same
// second too, is not. Local tokens say when they were issued to the
// microsecond (auth's sub-second iat claim); a token that says it in whole
// seconds only (iat, as external issuers write it) is expired when issued
// in the call's second or before, since it may predate the call. A token
// without iat is expired. The exemption of the controls is exempt's.
func (e *emulator) expired(p contactgraph.Principal) bool {
	e.mu.Lock()
	at, ok := e.tokensBefore[p.TenantID]
	e.mu.Unlock()
	if !ok {
		return false
	}
	if p.IssuedAt.Equal(p.IssuedAt.Truncate(time.Second)) {
		// Whole seconds: the sub-second part is unknown.
		at = at.Truncate(time.Second).Add(time.Second)
	}
	return p.IssuedAt.Before(at)
}

// exempt reports whether an expired token is still accepted: by the
// emulator controls, for a token with Emulator.Control, so that the test
// harness that called expire-tokens keeps its controls. On Graph routes
// such a token is expired like any other.
func (e *emulator) exempt(r *http.Request, p contactgraph.Principal) bool {
	return hasPrefixFold(r.URL.EscapedPath(), emulatorPrefix) && p.Has(contactgraph.PermEmulatorControl)
}

// resync is the delta engine's hook: the tenant's forced resync time.
func (e *emulator) resync(tenant string) time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.resyncBefore[tenant]
}

// serveEmulator answers /emulator/... requests of an authenticated principal.
func (s *Server) serveEmulator(w http.ResponseWriter, r *http.Request, p contactgraph.Principal, action string) {
	if !p.Has(contactgraph.PermEmulatorControl) {
		s.writeError(w, r, contactgraph.Errorf(contactgraph.EForbidden, "The emulator controls need the permission Emulator.Control."))
		return
	}
	e, tenant := s.emu, p.TenantID
	now := s.cfg.Now()
	switch {
	case action == "faults" && r.Method == http.MethodPost:
		var f fault
		if err := s.readJSON(r, &f); err != nil {
			s.writeError(w, r, err)
			return
		}
		if (f.Status != http.StatusTooManyRequests && f.Status != http.StatusServiceUnavailable) || f.Count < 1 || f.Count > 1_000_000 || f.RetryAfter < 0 || f.RetryAfter > 3600 {
			s.writeError(w, r, contactgraph.Errorf(contactgraph.EInvalid, "A fault needs status 429 or 503, a count from 1 to 1000000 and a retryAfter from 0 to 3600 seconds."))
			return
		}
		e.mu.Lock()
		e.faults[tenant] = append(e.faults[tenant], &f)
		e.mu.Unlock()
		body, _ := json.Marshal(f)
		s.writeJSON(w, r, http.StatusCreated, body)
	case action == "faults" && r.Method == http.MethodDelete:
		e.mu.Lock()
		delete(e.faults, tenant)
		e.mu.Unlock()
		s.writeNoContent(w)
	case action == "resync" && r.Method == http.MethodPost:
		e.mu.Lock()
		e.resyncBefore[tenant] = now.Truncate(time.Millisecond) // tokens carry milliseconds
		e.mu.Unlock()
		s.writeNoContent(w)
	case action == "expire-tokens" && r.Method == http.MethodPost:
		e.mu.Lock()
		// The wall clock, not Config.Now: tokens are minted on it. Local
		// tokens carry their issue time to the microsecond.
		e.tokensBefore[tenant] = time.Now().Truncate(time.Microsecond)
		e.mu.Unlock()
		s.writeNoContent(w)
	case action == "reset" && r.Method == http.MethodPost:
		if err := s.cfg.Store.ResetTenant(r.Context(), tenant); err != nil {
			s.writeError(w, r, err)
			return
		}
		e.mu.Lock()
		delete(e.faults, tenant)
		delete(e.resyncBefore, tenant)
		e.mu.Unlock()
		s.cfg.Deliveries.Clear(tenant)
		s.writeNoContent(w)
	case action == "seed" && r.Method == http.MethodPost:
		s.emulatorSeed(w, r, tenant)
	case action == "deliveries" && r.Method == http.MethodPost:
		s.emulatorDeliveries(w, r, tenant)
	case action == "deliveries" && r.Method == http.MethodDelete:
		s.cfg.Deliveries.Clear(tenant) // nil-safe
		s.writeNoContent(w)
	case action == "lifecycle" && r.Method == http.MethodPost:
		s.emulatorLifecycle(w, r, tenant, now)
	default:
		s.writeError(w, r, contactgraph.Errorf(eBadRequest, "Unknown emulator control '%s %s'.", r.Method, action))
	}
}

// maxSeed bounds one seed request.
const maxSeed = 1_000_000

func (s *Server) emulatorSeed(w http.ResponseWriter, r *http.Request, tenant string) {
	var in struct {
		User        string `json:"user"`
		Folder      string `json:"folder"`
		Contacts    int    `json:"contacts"`
		OrgContacts int    `json:"orgContacts"`
		Seed        uint64 `json:"seed"`
	}
	if err := s.readJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Contacts < 0 || in.OrgContacts < 0 || in.Contacts > maxSeed || in.OrgContacts > maxSeed || (in.Contacts > 0 && !validUPN(in.User)) {
		s.writeError(w, r, contactgraph.Errorf(contactgraph.EInvalid, "Seed at most %d contacts for a user (a user principal name) and %d org contacts.", maxSeed, maxSeed))
		return
	}
	ctx, st := r.Context(), s.cfg.Store
	gen := fakedata.New(in.Seed)
	out := map[string]any{"contacts": in.Contacts, "orgContacts": in.OrgContacts}
	const batch = 5000
	if in.Contacts > 0 {
		mb, err := st.EnsureMailbox(ctx, tenant, contactgraph.UserID(tenant, in.User), in.User)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		folder := mb.RootID
		if in.Folder != "" {
			f, err := st.CreateFolder(ctx, mb, "", contactgraph.FolderInput{DisplayName: &in.Folder})
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			folder = f.ID
		}
		out["folderId"] = folder
		for done := 0; done < in.Contacts; done += batch {
			xs := make([]contactgraph.ContactInput, min(batch, in.Contacts-done))
			for i := range xs {
				xs[i] = gen.Contact()
			}
			if _, err := st.ImportContacts(ctx, mb, folder, xs); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
	}
	for done := 0; done < in.OrgContacts; done += batch {
		xs := make([]contactgraph.OrgContactInput, min(batch, in.OrgContacts-done))
		for i := range xs {
			xs[i] = gen.OrgContact()
		}
		if _, err := st.ImportOrgContacts(ctx, tenant, xs); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	body, _ := json.Marshal(out)
	s.writeJSON(w, r, http.StatusCreated, body)
}

// readJSON reads a request body into v, refusing unknown fields, repeated
// member names and trailing data.
func (s *Server) readJSON(r *http.Request, v any) error {
	body, err := s.readBody(r)
	if err != nil {
		return err
	}
	if err := contactgraph.CheckJSONObject(body); err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return contactgraph.Errorf(contactgraph.EInvalid, "The request body is not valid: %s.", contactgraph.Truncate(strings.TrimPrefix(err.Error(), "json: "), 256))
	}
	return nil
}
