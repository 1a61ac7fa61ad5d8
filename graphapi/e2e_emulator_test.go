package graphapi

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph/auth"
	"github.com/golang-jwt/jwt/v5"
)

func TestEmulatorControls(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Emulator = true; c.Now = time.Now })
	ctl := e.tokens.app("contoso", "test-harness", "Emulator.Control")
	u := e.newUser("contoso", "alice@contoso.com", "Contacts.ReadWrite")
	other := e.newUser("fabrikam", "bob@fabrikam.com", "Contacts.ReadWrite")

	// Faults: the next two matching requests get 429 with Retry-After, then it passes.
	ok(t, e.do(t, http.MethodPost, "/emulator/faults", ctl, []byte(`{"status":429,"count":2,"retryAfter":2.5,"path":"/me/contacts"}`)), http.StatusCreated)
	ok(t, e.do(t, http.MethodGet, "/v1.0/me/contactFolders", u.token, nil), http.StatusOK) // no match
	ok(t, e.do(t, http.MethodGet, "/v1.0/me/contacts", other.token, nil), http.StatusOK)   // another tenant
	for i := 0; i < 2; i++ {
		r := e.do(t, http.MethodGet, "/v1.0/me/contacts/delta()", u.token, nil)
		fails(t, r, 429, "TooManyRequests")
		if r.header.Get(FaultHeader) != "emulator" {
			t.Fatal("an injected fault carries the fault header")
		}
		if r.header.Get("Retry-After") != "2.5" && r.header.Get("Retry-After") != "3" {
			t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
		}
	}
	ok(t, e.do(t, http.MethodGet, "/v1.0/me/contacts", u.token, nil), http.StatusOK)
	ok(t, e.do(t, http.MethodPost, "/emulator/faults", ctl, []byte(`{"status":503,"count":5}`)), http.StatusCreated)
	fails(t, e.do(t, http.MethodGet, "/v1.0/me/contacts", u.token, nil), 503, "serviceNotAvailable")
	ok(t, e.do(t, http.MethodDelete, "/emulator/faults", ctl, nil), http.StatusNoContent)
	ok(t, e.do(t, http.MethodGet, "/v1.0/me/contacts", u.token, nil), http.StatusOK)
	fails(t, e.do(t, http.MethodPost, "/emulator/faults", ctl, []byte(`{"status":500,"count":1}`)), 400, "ErrorInvalidRequest")

	// Forced resync: tokens issued before are 410 resyncRequired with a Location.
	_, dl := e.round(t, "/v1.0/me/contacts/delta", u.token)
	time.Sleep(2 * time.Millisecond) // tokens carry milliseconds
	ok(t, e.do(t, http.MethodPost, "/emulator/resync", ctl, nil), http.StatusNoContent)
	r := e.do(t, http.MethodGet, dl, u.token, nil)
	fails(t, r, 410, "resyncRequired")
	if !strings.HasSuffix(r.header.Get("Location"), "/v1.0/me/contacts/delta") {
		t.Fatalf("Location = %q", r.header.Get("Location"))
	}
	time.Sleep(2 * time.Millisecond)
	_, dl = e.round(t, r.header.Get("Location"), u.token) // starting over works at once
	ok(t, e.do(t, http.MethodGet, dl, u.token, nil), http.StatusOK)

	// Seed and reset.
	m := ok(t, e.do(t, http.MethodPost, "/emulator/seed", ctl, []byte(`{"user":"alice@contoso.com","folder":"Big","contacts":120,"orgContacts":30,"seed":7}`)), http.StatusCreated)
	folder := str(t, m, "folderId")
	if n := e.do(t, http.MethodGet, "/v1.0/me/contactFolders/"+folder+"/contacts/$count", u.token, nil); string(n.body) != "120" {
		t.Fatalf("seeded folder holds %s contacts", n.body)
	}
	ok(t, e.do(t, http.MethodPost, "/emulator/reset", ctl, nil), http.StatusNoContent)
	fails(t, e.do(t, http.MethodGet, "/v1.0/me/contactFolders/"+folder, u.token, nil), 404, "ErrorItemNotFound")
	ok(t, e.do(t, http.MethodGet, "/v1.0/me/contacts", other.token, nil), http.StatusOK)

	// Without the permission, nothing.
	fails(t, e.do(t, http.MethodPost, "/emulator/reset", u.token, nil), 403, "ErrorAccessDenied")
	fails(t, e.do(t, http.MethodPost, "/emulator/reset", "", nil), 401, "InvalidAuthenticationToken")
}

// TestEmulatorExpireTokens: expiry is exact, in both directions: a token
// minted just before the call is refused as expired and one minted just
// after it works, in the same second. A token that says when it was issued
// in whole seconds only (iat, as an external issuer writes it) is expired
// when issued in the call's second, and works from the next one. The
// control token that called keeps the controls.
func TestEmulatorExpireTokens(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Emulator = true })
	ctl := e.tokens.app("contoso", "test-harness", "Emulator.Control")
	mint := func(now time.Time) string {
		return e.tokens.mint(auth.MintOptions{TenantName: "contoso", UPN: "alice@contoso.com", Scopes: []string{"Contacts.ReadWrite"}, Now: now})
	}
	var before, after time.Time
	for {
		before = time.Now()
		ok(t, e.do(t, http.MethodPost, "/emulator/expire-tokens", ctl, nil), http.StatusNoContent)
		after = time.Now()
		if before.Add(-time.Microsecond).Unix() == after.Add(time.Microsecond).Unix() {
			break // both tokens below fall in the call's second
		}
	}
	early, late := mint(before.Add(-time.Microsecond)), mint(after.Add(time.Microsecond))
	er := fails(t, e.do(t, http.MethodGet, "/v1.0/me/contacts", early, nil), 401, "InvalidAuthenticationToken")
	if !strings.Contains(er.Message, "expired") {
		t.Fatalf("message %q", er.Message)
	}
	ok(t, e.do(t, http.MethodGet, "/v1.0/me/contacts", late, nil), http.StatusOK)

	wholeSeconds := func(tok string, iat time.Time) string {
		return e.tokens.resignWith(jwt.SigningMethodRS256, tok, func(c jwt.MapClaims) {
			delete(c, "cg_iat_us")
			c["iat"], c["nbf"] = iat.Unix(), iat.Unix()
		})
	}
	callSecond := after.Truncate(time.Second)
	fails(t, e.do(t, http.MethodGet, "/v1.0/me/contacts", wholeSeconds(late, callSecond), nil), 401, "InvalidAuthenticationToken")
	ok(t, e.do(t, http.MethodGet, "/v1.0/me/contacts", wholeSeconds(late, callSecond.Add(time.Second)), nil), http.StatusOK)

	// The harness's next control call works: the README's sequence.
	ok(t, e.do(t, http.MethodPost, "/emulator/resync", ctl, nil), http.StatusNoContent)
	ok(t, e.do(t, http.MethodPost, "/emulator/expire-tokens", ctl, nil), http.StatusNoContent)
	fails(t, e.do(t, http.MethodGet, "/v1.0/me/contacts", late, nil), 401, "InvalidAuthenticationToken")
	fresh := e.newUser("contoso", "alice@contoso.com", "Contacts.ReadWrite")
	ok(t, e.do(t, http.MethodGet, "/v1.0/me/contacts", fresh.token, nil), http.StatusOK)
}

// TestEmulatorOff: without Config.Emulator the controls do not exist.
func TestEmulatorOff(t *testing.T) {
	e := newEnv(t)
	ctl := e.tokens.app("contoso", "test-harness", "Emulator.Control")
	fails(t, e.do(t, http.MethodPost, "/emulator/reset", ctl, nil), 400, "BadRequest")
}
