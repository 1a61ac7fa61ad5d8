package graphapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/auth"
)

// hook is a real webhook receiver on loopback. It answers validation
// requests according to its mode and records notification items.
type hook struct {
	srv  *httptest.Server
	mu   sync.Mutex
	mode string // "ok", "encoded", "status", "late", "html"
	// validations are the decoded tokens of the validation requests it got.
	validations []string
	items       []map[string]any
	arrived     chan struct{}
}

func newHook(t *testing.T, mode string) *hook {
	h := &hook{mode: mode, arrived: make(chan struct{}, 1000)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			t.Errorf("receiver got %s", r.Method)
		}
		if tok, ok := r.URL.Query()["validationToken"]; ok {
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("validation request with Content-Type %q", ct)
			}
			h.mu.Lock()
			h.validations = append(h.validations, tok[0])
			mode := h.mode
			h.mu.Unlock()
			switch mode {
			case "status":
				w.WriteHeader(http.StatusInternalServerError)
				return
			case "late":
				<-r.Context().Done() // answers only after the server gave up
				return
			case "html":
				w.Header().Set("Content-Type", "text/html")
				io.WriteString(w, tok[0])
				return
			case "encoded":
				w.Header().Set("Content-Type", "text/plain")
				io.WriteString(w, url.QueryEscape(tok[0]))
				return
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, tok[0])
			return
		}
		var body struct{ Value []map[string]any }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("notification body: %v", err)
		}
		h.mu.Lock()
		h.items = append(h.items, body.Value...)
		h.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		for range body.Value {
			h.arrived <- struct{}{}
		}
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) url() string { return h.srv.URL + "/hook?app=1" }

func (h *hook) tokens() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.validations...)
}

// subBody is a valid create body for resource, delivered to h.
func subBody(h *hook, resource string, expires time.Time) map[string]any {
	return map[string]any{
		"changeType":         "created,updated,deleted",
		"notificationUrl":    h.url(),
		"resource":           resource,
		"expirationDateTime": expires.UTC().Format(time.RFC3339Nano),
		"clientState":        "secretClientValue",
	}
}

// emulatorEnv is a server that accepts receivers on loopback over http.
func emulatorEnv(t *testing.T, opts ...func(*Config)) *env {
	return newEnv(t, append([]func(*Config){func(c *Config) { c.Emulator = true; c.ValidationTimeout = time.Second }}, opts...)...)
}

func TestSubscriptionLifecycleOverHTTP(t *testing.T) {
	e := emulatorEnv(t)
	h := newHook(t, "ok")
	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsRead)
	exp := testNow.Add(48 * time.Hour)

	res := e.do(t, "POST", "/v1.0/subscriptions", ada.token, subBody(h, "me/contacts", exp))
	m := ok(t, res, http.StatusCreated)
	id := str(t, m, "id")
	if !contactgraph.IsGUID(id) {
		t.Fatalf("id %q", id)
	}
	if got := str(t, m, "@odata.context"); !strings.HasSuffix(got, "/v1.0/$metadata#subscriptions/$entity") {
		t.Errorf("@odata.context %q", got)
	}
	if loc := res.header.Get("Location"); !strings.HasSuffix(loc, "/v1.0/subscriptions/"+id) {
		t.Errorf("Location %q", loc)
	}
	for key, want := range map[string]any{
		"resource": "me/contacts", "changeType": "created,updated,deleted", "notificationUrl": h.url(),
		"clientState": nil, "lifecycleNotificationUrl": nil, "includeResourceData": nil, "encryptionCertificate": nil,
		"encryptionCertificateId": nil, "notificationUrlAppId": nil, "notificationQueryOptions": nil,
		"latestSupportedTlsVersion": "v1_2", "creatorId": ada.id, "expirationDateTime": exp.UTC().Format(subscriptionTime),
	} {
		if got, present := m[key]; !present || got != want {
			t.Errorf("%s = %v (present %v), want %v", key, got, present, want)
		}
	}
	if str(t, m, "applicationId") == "" {
		t.Error("no applicationId")
	}
	if toks := h.tokens(); len(toks) != 1 || !strings.Contains(toks[0], " ") {
		t.Errorf("validation tokens %q: want one, with characters that need encoding", toks)
	}

	got := ok(t, e.do(t, "GET", "/v1.0/subscriptions/"+id, ada.token, nil), http.StatusOK)
	if got["id"] != id || got["clientState"] != nil {
		t.Errorf("GET: %v", got)
	}
	list := values(t, ok(t, e.do(t, "GET", "/v1.0/subscriptions", ada.token, nil), http.StatusOK))
	if len(list) != 1 || list[0]["id"] != id {
		t.Errorf("list: %v", list)
	}

	later := testNow.Add(72 * time.Hour)
	m = ok(t, e.do(t, "PATCH", "/v1.0/subscriptions/"+id, ada.token, map[string]any{"expirationDateTime": later.Format(time.RFC3339Nano)}), http.StatusOK)
	if m["expirationDateTime"] != later.UTC().Format(subscriptionTime) {
		t.Errorf("renewed to %v", m["expirationDateTime"])
	}
	ok(t, e.do(t, "POST", "/v1.0/subscriptions/"+id+"/reauthorize", ada.token, nil), http.StatusNoContent)
	if sub, err := e.store.Subscription(t.Context(), ada.tenant, id); err != nil || !sub.Expires.Equal(later) {
		t.Errorf("after reauthorize: %v %v", sub.Expires, err)
	}
	ok(t, e.do(t, "DELETE", "/v1.0/subscriptions/"+id, ada.token, nil), http.StatusNoContent)
	fails(t, e.do(t, "GET", "/v1.0/subscriptions/"+id, ada.token, nil), http.StatusNotFound, "ResourceNotFound")
	fails(t, e.do(t, "DELETE", "/v1.0/subscriptions/"+id, ada.token, nil), http.StatusNotFound, "ResourceNotFound")
	if n := len(values(t, ok(t, e.do(t, "GET", "/v1.0/subscriptions", ada.token, nil), http.StatusOK))); n != 0 {
		t.Errorf("%d subscriptions listed after delete", n)
	}
}

func TestSubscriptionHandshake(t *testing.T) {
	e := emulatorEnv(t, func(c *Config) { c.ValidationTimeout = 300 * time.Millisecond })
	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsRead)
	exp := testNow.Add(time.Hour)
	for _, tc := range []struct{ mode, msg string }{
		{"status", "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request."},
		{"encoded", "Subscription validation request failed. Response must exactly match validationToken query parameter."},
		{"html", "Subscription validation request failed. Response must be text/plain."},
		{"late", "Subscription validation request timed out."},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			h := newHook(t, tc.mode)
			got := fails(t, e.do(t, "POST", "/v1.0/subscriptions", ada.token, subBody(h, "me/contacts", exp)), http.StatusBadRequest, "InvalidRequest")
			if got.Message != tc.msg {
				t.Errorf("message %q, want %q", got.Message, tc.msg)
			}
			if len(h.tokens()) != 1 {
				t.Errorf("%d validation requests", len(h.tokens()))
			}
		})
	}

	// The lifecycle URL is validated too: a good notification URL with a
	// failing lifecycle URL creates nothing. The same URL twice gets two requests.
	good, bad := newHook(t, "ok"), newHook(t, "status")
	b := subBody(good, "me/contacts", exp)
	b["lifecycleNotificationUrl"] = bad.url()
	fails(t, e.do(t, "POST", "/v1.0/subscriptions", ada.token, b), http.StatusBadRequest, "InvalidRequest")
	if n := len(values(t, ok(t, e.do(t, "GET", "/v1.0/subscriptions", ada.token, nil), http.StatusOK))); n != 0 {
		t.Errorf("%d subscriptions after a failed lifecycle validation", n)
	}
	b["lifecycleNotificationUrl"] = good.url()
	m := ok(t, e.do(t, "POST", "/v1.0/subscriptions", ada.token, b), http.StatusCreated)
	if m["lifecycleNotificationUrl"] != good.url() || len(good.tokens()) != 3 {
		t.Errorf("lifecycle URL %v, %d validation requests (want 1 failed create + 2)", m["lifecycleNotificationUrl"], len(good.tokens()))
	}
}

func TestSubscriptionBadInput(t *testing.T) {
	e := emulatorEnv(t)
	h := newHook(t, "ok")
	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsRead)
	exp := testNow.Add(time.Hour)
	with := func(k string, v any) map[string]any {
		b := subBody(h, "me/contacts", exp)
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	folder := e.newFolderID(t, ada)
	for _, tc := range []struct {
		name   string
		body   map[string]any
		status int
		code   string
		msg    string // a part of the message
	}{
		{"no changeType", with("changeType", nil), 400, "InvalidRequest", "changeType is a required property"},
		{"no resource", with("resource", nil), 400, "InvalidRequest", "resource is a required property"},
		{"no notificationUrl", with("notificationUrl", nil), 400, "InvalidRequest", "notificationUrl is a required property"},
		{"no expiration", with("expirationDateTime", nil), 400, "InvalidRequest", "expirationDateTime is a required property for subscription creation."},
		{"bad changeType", with("changeType", "created,moved"), 400, "InvalidRequest", "'moved' is not a valid changeType"},
		{"empty changeType item", with("changeType", "created,"), 400, "InvalidRequest", "is not a valid changeType"},
		{"relative URL", with("notificationUrl", "/hook"), 400, "InvalidRequest", "is not an absolute URL"},
		{"ftp URL", with("notificationUrl", "ftp://example.com/x"), 400, "InvalidRequest", "NotificationUrl scheme='ftp' is not supported."},
		{"credentials in URL", with("notificationUrl", "https://u:p@example.com/x"), 400, "InvalidRequest", "must not carry credentials"},
		{"past expiry", with("expirationDateTime", testNow.Add(-time.Minute).Format(time.RFC3339)), 400, "InvalidRequest", "must be in the future"},
		{"too far", with("expirationDateTime", testNow.Add(10081*time.Minute).Format(time.RFC3339)), 400, "InvalidRequest", "can only be 10080 minutes in the future"},
		{"not a date", with("expirationDateTime", "tomorrow"), 400, "InvalidRequest", "is not a valid date and time"},
		{"long clientState", with("clientState", strings.Repeat("x", 129)), 400, "InvalidRequest", "at most 128 characters"},
		{"bad TLS version", with("latestSupportedTlsVersion", "v2_0"), 400, "InvalidRequest", "latestSupportedTlsVersion"},
		{"unknown property", with("color", "red"), 400, "ErrorInvalidRequest", "unknown field"},
		{"delta resource", with("resource", "me/contacts/delta"), 400, "InvalidRequest", "is not supported for subscriptions"},
		{"item resource", with("resource", "me/contacts/AAMkAG"), 400, "InvalidRequest", "is not supported for subscriptions"},
		{"events", with("resource", "me/events"), 400, "InvalidRequest", "is not supported for subscriptions"},
		{"child folders", with("resource", "me/contactFolders/"+folder+"/childFolders"), 400, "InvalidRequest", "is not supported for subscriptions"},
		{"absolute resource", with("resource", "https://graph.microsoft.com/v1.0/me/contacts"), 400, "InvalidRequest", "is not supported for subscriptions"},
		{"$top in resource", with("resource", "me/contacts?$top=5"), 400, "InvalidRequest", "'$top' is not supported in a subscription's resource"},
		{"unknown $select", with("resource", "me/contacts?$select=shoeSize"), 400, "InvalidRequest", "shoeSize"},
		{"rich without certificate", with("includeResourceData", true), 400, "InvalidRequest", "encryptionCertificate is required"},
		{"certificate without rich", with("encryptionCertificate", "MIIB"), 400, "InvalidRequest", "only used with includeResourceData"},
		{"unknown folder", with("resource", "me/contactFolders/"+contactgraph.NewID()+"/contacts"), 404, "ErrorItemNotFound", ""},
		{"universal print options", with("notificationQueryOptions", "x"), 400, "InvalidRequest", "not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.tokens())
			got := fails(t, e.do(t, "POST", "/v1.0/subscriptions", ada.token, tc.body), tc.status, tc.code)
			if !strings.Contains(got.Message, tc.msg) {
				t.Errorf("message %q lacks %q", got.Message, tc.msg)
			}
			if len(h.tokens()) != before {
				t.Error("a refused subscription was validated with the receiver")
			}
		})
	}

	// PATCH changes the expiry only.
	id := str(t, ok(t, e.do(t, "POST", "/v1.0/subscriptions", ada.token, subBody(h, "me/contacts", exp)), http.StatusCreated), "id")
	for _, tc := range []struct {
		body map[string]any
		msg  string
	}{
		{map[string]any{"lifecycleNotificationUrl": h.url()}, "lifecycleNotificationUrl cannot be added or changed"},
		{map[string]any{"expirationDateTime": exp.Format(time.RFC3339), "resource": "me/contactFolders"}, "resource cannot be changed"},
		{map[string]any{}, "expirationDateTime is required to renew"},
		{map[string]any{"expirationDateTime": testNow.Add(8 * 24 * time.Hour).Format(time.RFC3339)}, "can only be 10080 minutes"},
	} {
		got := fails(t, e.do(t, "PATCH", "/v1.0/subscriptions/"+id, ada.token, tc.body), http.StatusBadRequest, "InvalidRequest")
		if !strings.Contains(got.Message, tc.msg) {
			t.Errorf("PATCH %v: message %q lacks %q", tc.body, got.Message, tc.msg)
		}
	}
	fails(t, e.do(t, "GET", "/v1.0/subscriptions?$top=1", ada.token, nil), http.StatusBadRequest, "ErrorInvalidUrlQuery")
	fails(t, e.do(t, "GET", "/v1.0/subscriptions/not-a-guid", ada.token, nil), http.StatusNotFound, "ResourceNotFound")
	fails(t, e.do(t, "PUT", "/v1.0/subscriptions/"+id, ada.token, nil), http.StatusMethodNotAllowed, "BadRequest")
}

// newFolderID creates a folder in u's mailbox and returns its id.
func (e *env) newFolderID(t *testing.T, u user) string {
	t.Helper()
	mb, err := e.store.EnsureMailbox(t.Context(), u.tenant, u.id, u.upn)
	if err != nil {
		t.Fatal(err)
	}
	f, err := e.store.CreateFolder(t.Context(), mb, "", contactgraph.FolderInput{DisplayName: ptr("Folder " + contactgraph.NewGUID()[:8])})
	if err != nil {
		t.Fatal(err)
	}
	return f.ID
}

func ptr[T any](v T) *T { return &v }

func TestSubscriptionScoping(t *testing.T) {
	e := emulatorEnv(t)
	h := newHook(t, "ok")
	exp := testNow.Add(time.Hour)
	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsRead)
	bob := e.newUser("contoso", "bob@contoso.com", contactgraph.PermContactsReadWrite)
	e.rootID(t, bob) // bob's mailbox exists
	adaOtherApp := e.tokens.mint(authMint("contoso", "ada@contoso.com", "other-app", contactgraph.PermContactsRead))
	noScope := e.newUser("contoso", "cy@contoso.com", contactgraph.PermUserRead)
	daemon := e.tokens.app("contoso", "daemon", contactgraph.PermContactsRead)
	orgReader := e.tokens.app("contoso", "directory-app", contactgraph.PermOrgContactRead)

	id := str(t, ok(t, e.do(t, "POST", "/v1.0/subscriptions", ada.token, subBody(h, "me/contacts", exp)), http.StatusCreated), "id")
	for name, tok := range map[string]string{"another user": bob.token, "another app": adaOtherApp, "an app token": daemon} {
		fails(t, e.do(t, "GET", "/v1.0/subscriptions/"+id, tok, nil), http.StatusNotFound, "ResourceNotFound")
		fails(t, e.do(t, "PATCH", "/v1.0/subscriptions/"+id, tok, map[string]any{"expirationDateTime": exp.Format(time.RFC3339)}), http.StatusNotFound, "ResourceNotFound")
		fails(t, e.do(t, "DELETE", "/v1.0/subscriptions/"+id, tok, nil), http.StatusNotFound, "ResourceNotFound")
		fails(t, e.do(t, "POST", "/v1.0/subscriptions/"+id+"/reauthorize", tok, nil), http.StatusNotFound, "ResourceNotFound")
		if n := len(values(t, ok(t, e.do(t, "GET", "/v1.0/subscriptions", tok, nil), http.StatusOK))); n != 0 {
			t.Errorf("%s lists %d subscriptions", name, n)
		}
	}
	other := e.newUser("fabrikam", "ada@fabrikam.com", contactgraph.PermContactsRead)
	fails(t, e.do(t, "GET", "/v1.0/subscriptions/"+id, other.token, nil), http.StatusNotFound, "ResourceNotFound")
	fails(t, e.do(t, "DELETE", "/v1.0/subscriptions/"+id, other.token, nil), http.StatusNotFound, "ResourceNotFound")
	if sub, err := e.store.Subscription(t.Context(), ada.tenant, id); err != nil || sub.ID != id {
		t.Fatalf("the subscription did not survive the others' attempts: %v", err)
	}

	// Creating needs the permission to read the resource, and a delegated
	// caller reaches only its own mailbox.
	fails(t, e.do(t, "POST", "/v1.0/subscriptions", noScope.token, subBody(h, "me/contacts", exp)), http.StatusForbidden, "ErrorAccessDenied")
	fails(t, e.do(t, "POST", "/v1.0/subscriptions", ada.token, subBody(h, "users/bob@contoso.com/contacts", exp)), http.StatusForbidden, "ErrorAccessDenied")
	fails(t, e.do(t, "POST", "/v1.0/subscriptions", daemon, subBody(h, "me/contacts", exp)), http.StatusBadRequest, "BadRequest")
	fails(t, e.do(t, "POST", "/v1.0/subscriptions", daemon, subBody(h, "users/nobody@contoso.com/contacts", exp)), http.StatusNotFound, "ErrorInvalidUser")
	fails(t, e.do(t, "POST", "/v1.0/subscriptions", ada.token, subBody(h, "contacts", exp)), http.StatusForbidden, "Authorization_RequestDenied")
	m := ok(t, e.do(t, "POST", "/v1.0/subscriptions", daemon, subBody(h, "users/bob@contoso.com/contacts", exp)), http.StatusCreated)
	if m["creatorId"] != m["applicationId"] {
		t.Errorf("app-only creatorId %v, applicationId %v", m["creatorId"], m["applicationId"])
	}
	ok(t, e.do(t, "POST", "/v1.0/subscriptions", orgReader, subBody(h, "contacts", testNow.Add(20*24*time.Hour))), http.StatusCreated)
	ok(t, e.do(t, "POST", "/v1.0/subscriptions", ada.token, subBody(h, "/me/contactFolders", exp)), http.StatusCreated)
	ok(t, e.do(t, "POST", "/v1.0/subscriptions", bob.token, subBody(h, "users/"+bob.id+"/contactFolders/"+e.newFolderID(t, bob)+"/contacts", exp)), http.StatusCreated)
}

func TestSubscriptionAddresses(t *testing.T) {
	// Without the emulator, receivers on loopback are refused unless
	// allowed, and http needs its own switch.
	h := newHook(t, "ok")
	exp := testNow.Add(time.Hour)
	strict := newEnv(t)
	ada := strict.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsRead)
	got := fails(t, strict.do(t, "POST", "/v1.0/subscriptions", ada.token, subBody(h, "me/contacts", exp)), http.StatusBadRequest, "InvalidRequest")
	if got.Message != "NotificationUrl scheme='http' is not supported." {
		t.Errorf("message %q", got.Message)
	}
	httpOnly := newEnv(t, func(c *Config) { c.AllowHTTPNotifications = true })
	ada = httpOnly.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsRead)
	got = fails(t, httpOnly.do(t, "POST", "/v1.0/subscriptions", ada.token, subBody(h, "me/contacts", exp)), http.StatusBadRequest, "InvalidRequest")
	if !strings.Contains(got.Message, "address 127.0.0.1 is not allowed") {
		t.Errorf("message %q", got.Message)
	}
	if len(h.tokens()) != 0 {
		t.Error("the refused address got a request")
	}
	// Link-local is refused even by the emulator.
	emu := emulatorEnv(t)
	ada = emu.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsRead)
	b := subBody(h, "me/contacts", exp)
	b["notificationUrl"] = "http://169.254.169.254/latest/meta-data"
	got = fails(t, emu.do(t, "POST", "/v1.0/subscriptions", ada.token, b), http.StatusBadRequest, "InvalidRequest")
	if !strings.Contains(got.Message, "address 169.254.169.254 is not allowed") {
		t.Errorf("message %q", got.Message)
	}
}

// authMint are the options of a delegated token of app.
func authMint(tenant, upn, app string, scopes ...string) auth.MintOptions {
	return auth.MintOptions{TenantName: tenant, UPN: upn, AppName: app, Scopes: scopes}
}
