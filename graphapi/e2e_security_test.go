package graphapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"maps"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/auth"
	"github.com/contactgraph/contactgraph/sqlite"
	"github.com/contactgraph/contactgraph/storetest"
	"github.com/golang-jwt/jwt/v5"
)

// routeSamples holds, per route kind, path templates that parse to that
// kind. {mb} is the mailbox (/me or /users/{key}); {f} a folder, {f2} a
// child of it; {c} a contact of the default folder, {c2} one of {f}, {c3}
// one of {f2}; {o} a live org contact, {d} a deleted one; {u} a user.
// TestSecurityMatrix fails for a kind of the route table without a sample.
var routeSamples = map[kind][]string{
	kUsers:         {"/users"},
	kUser:          {"/users/{u}"},
	kFolders:       {"{mb}/contactFolders", "{mb}/contactFolders/{f}/childFolders"},
	kFolder:        {"{mb}/contactFolders/{f}", "{mb}/contactFolders/{f}/childFolders/{f2}"},
	kFolderDelta:   {"{mb}/contactFolders/delta", "{mb}/contactFolders/{f}/childFolders/delta()"},
	kFoldersCount:  {"{mb}/contactFolders/$count", "{mb}/contactFolders/{f}/childFolders/$count"},
	kContacts:      {"{mb}/contacts", "{mb}/contactFolders/{f}/contacts", "{mb}/contactFolders/{f}/childFolders/{f2}/contacts"},
	kContact:       {"{mb}/contacts/{c}", "{mb}/contactFolders/{f}/contacts/{c2}", "{mb}/contactFolders/{f}/childFolders/{f2}/contacts/{c3}"},
	kContactDelta:  {"{mb}/contacts/delta", "{mb}/contactFolders/{f}/contacts/microsoft.graph.delta()"},
	kContactsCount: {"{mb}/contacts/$count", "{mb}/contactFolders/{f}/contacts/$count"},
	kContactPhoto:  {"{mb}/contacts/{c}/photo", "{mb}/contactFolders/{f}/contacts/{c2}/photo", "{mb}/contactFolders/{f}/childFolders/{f2}/contacts/{c3}/photo"},
	kContactPhotoValue: {"{mb}/contacts/{c}/photo/$value", "{mb}/contactFolders/{f}/contacts/{c2}/photo/$value",
		"{mb}/contactFolders/{f}/childFolders/{f2}/contacts/{c3}/photo/$value"},
	kContactExtensions: {"{mb}/contacts/{c}/extensions", "{mb}/contactFolders/{f}/contacts/{c2}/extensions",
		"{mb}/contactFolders/{f}/childFolders/{f2}/contacts/{c3}/extensions"},
	kContactExtension: {"{mb}/contacts/{c}/extensions/" + secExtension, "{mb}/contactFolders/{f}/contacts/{c2}/extensions/" + contactgraph.ExtensionIDPrefix + secExtension,
		"{mb}/contactFolders/{f}/childFolders/{f2}/contacts/{c3}/extensions('" + secExtension + "')"},
	kContactPermanentDelete: {"{mb}/contacts/{c}/permanentDelete", "{mb}/contactFolders/{f}/contacts/{c2}/microsoft.graph.permanentDelete"},
	kFolderPermanentDelete:  {"{mb}/contactFolders/{f}/permanentDelete", "{mb}/contactFolders/{f}/childFolders/{f2}/permanentDelete"},
	kOrgContacts:            {"/contacts"},
	kOrgContact:             {"/contacts/{o}"},
	kOrgDelta:               {"/contacts/delta"},
	kOrgCount:               {"/contacts/$count"},
	kDeletedOrgContacts:     {"/directory/deletedItems/microsoft.graph.orgContact"},
	kDeletedItem:            {"/directory/deletedItems/{d}"},
	kDeletedItemRestore:     {"/directory/deletedItems/{d}/restore"},
}

// secExtension is the open extension every seeded contact of the matrix
// has; each also has a photo.
const secExtension = "Com.Contoso.Matrix"

// idSet fills the templates of routeSamples.
type idSet struct {
	user                      string // the key of {mb} = /users/{user}; "" for /me
	f, f2, c, c2, c3, o, d, u string
}

// path expands a template into a request path.
func (s idSet) path(tpl string) string {
	mb := "/me"
	if s.user != "" {
		mb = "/users/" + s.user
	}
	return "/v1.0" + strings.NewReplacer("{mb}", mb, "{f}", s.f, "{f2}", s.f2, "{c}", s.c, "{c2}", s.c2, "{c3}", s.c3,
		"{o}", s.o, "{d}", s.d, "{u}", s.u).Replace(tpl)
}

// placeholders maps each id of s to its template name, for normalising
// answers.
func (s idSet) placeholders() []string {
	return []string{s.user, "{user}", s.f2, "{f2}", s.f, "{f}", s.c3, "{c3}", s.c2, "{c2}", s.c, "{c}", s.o, "{o}", s.d, "{d}", s.u, "{u}"}
}

// ghostIDs returns ids of the right shape that name nothing.
func ghostIDs(user string) idSet {
	return idSet{user: user, f: contactgraph.NewID(), f2: contactgraph.NewID(), c: contactgraph.NewID(), c2: contactgraph.NewID(),
		c3: contactgraph.NewID(), o: contactgraph.NewGUID(), d: contactgraph.NewGUID(), u: contactgraph.NewGUID()}
}

// hasIDs reports whether a template names objects (beyond its mailbox).
func hasIDs(tpl string) bool { return strings.Contains(strings.ReplaceAll(tpl, "{mb}", ""), "{") }

// secPlan is what a scenario does on one route and template: the request
// and the answer it must get.
type secPlan struct {
	token  string
	ids    idSet
	status int
	code   string // Graph error code; "" for a success
	// ghost, when set, names nothing; the answer for it must be the same,
	// byte for byte once ids, dates and request ids are normalised.
	ghost *idSet
	// leakCheck: a success must not mention anything of tenant A.
	leakCheck bool
}

// secScenario is one row of the matrix: a kind of caller or token, tried
// on every route. plan returns false where it does not apply.
type secScenario struct {
	name string
	plan func(rt route, tpl string) (secPlan, bool)
}

// forger signs tokens with the server's own key, so that a test can change
// one claim at a time, and with other keys.
type forger struct {
	key    *rsa.PrivateKey
	kid    string
	claims map[string]any // the claims of a valid delegated token
}

func newForger(t *testing.T, e *env, valid string) *forger {
	t.Helper()
	pemBytes, err := e.store.Secret(context.Background(), auth.SigningKeySecret, func() ([]byte, error) {
		return nil, errors.New("the signing key must exist already")
	})
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatal("signing key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	f := &forger{key: k.(*rsa.PrivateKey), kid: e.tokens.local.KeyID(), claims: map[string]any{}}
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(valid, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(payload, &f.claims); err != nil {
		t.Fatal(err)
	}
	return f
}

// with returns the valid claims with some replaced (a nil value removes one).
func (f *forger) with(edits map[string]any) jwt.MapClaims {
	c := maps.Clone(f.claims)
	for k, v := range edits {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return jwt.MapClaims(c)
}

// sign signs claims with method and key under kid.
func (f *forger) sign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rs256 signs claims with the server's key.
func (f *forger) rs256(t *testing.T, claims jwt.MapClaims) string {
	return f.sign(t, jwt.SigningMethodRS256, f.key, f.kid, claims)
}

// unsigned returns an alg:none token of the valid claims.
func (f *forger) unsigned(t *testing.T) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT", "kid": f.kid})
	p, _ := json.Marshal(f.claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

// publicPEM returns the server's public key as PEM (PKIX), as a JWKS
// consumer would hold it.
func (f *forger) publicPEM(t *testing.T) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(&f.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// namedToken is a bearer token a test expects to be refused.
type namedToken struct{ name, token string }

// badTokens returns tokens that must all be refused with 401: missing,
// expired, signed by other keys or with other algorithms, or with a claim
// changed under the server's real key. Each would carry perms for u.
func badTokens(t *testing.T, e *env, u user, perms []string) []namedToken {
	t.Helper()
	valid := e.tokens.delegated("contoso", u.upn, perms...)
	fg := newForger(t, e, valid)
	if r := e.do(t, http.MethodGet, "/v1.0/me/contacts", fg.rs256(t, fg.with(nil)), nil); r.status != http.StatusOK {
		t.Fatalf("a re-signed valid token is refused (%d %s): the forged tokens would prove nothing", r.status, r.body)
	}
	otherDB, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "other.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { otherDB.Close() })
	otherLocal, err := auth.NewLocal(context.Background(), otherDB, auth.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	otherLocalTok, err := otherLocal.Mint(auth.MintOptions{TenantName: "contoso", UPN: u.upn, Scopes: perms})
	if err != nil {
		t.Fatal(err)
	}
	strangerKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	return []namedToken{
		{"no token", ""},
		{"expired token", e.tokens.expired("contoso", u.upn, perms...)},
		{"expired forged token", fg.rs256(t, fg.with(map[string]any{"exp": now.Add(-time.Hour).Unix(), "nbf": now.Add(-2 * time.Hour).Unix()}))},
		{"not yet valid", fg.rs256(t, fg.with(map[string]any{"nbf": now.Add(time.Hour).Unix()}))},
		{"without exp", fg.rs256(t, fg.with(map[string]any{"exp": nil}))},
		{"another Local's key", otherLocalTok},
		{"another key under our kid", fg.sign(t, jwt.SigningMethodRS256, strangerKey, fg.kid, fg.with(nil))},
		{"alg none", fg.unsigned(t)},
		{"HS256 with the public key PEM", fg.sign(t, jwt.SigningMethodHS256, fg.publicPEM(t), fg.kid, fg.with(nil))},
		{"HS256 with the public key DER", fg.sign(t, jwt.SigningMethodHS256, x509.MarshalPKCS1PublicKey(&fg.key.PublicKey), fg.kid, fg.with(nil))},
		{"wrong audience", fg.rs256(t, fg.with(map[string]any{"aud": "https://graph.windows.net"}))},
		{"audience list without Graph", fg.rs256(t, fg.with(map[string]any{"aud": []string{"api://other", "https://graph.microsoft.com.evil"}}))},
		{"wrong issuer", fg.rs256(t, fg.with(map[string]any{"iss": "https://login.microsoftonline.com/" + u.tenant + "/v2.0"}))},
		{"issuer of another tenant", fg.rs256(t, fg.with(map[string]any{"iss": e.tokens.local.Issuer(contactgraph.TenantID("fabrikam"))}))},
		{"tenant id not a GUID", fg.rs256(t, fg.with(map[string]any{"tid": "contoso", "iss": e.tokens.local.Issuer("contoso")}))},
	}
}

// allPerms is every permission a route of the table asks for.
func allPerms() []string {
	var out []string
	for _, rt := range routes {
		for _, p := range rt.perms {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

// without returns perms minus drop.
func without(perms, drop []string) []string {
	return slices.DeleteFunc(slices.Clone(perms), func(p string) bool { return slices.Contains(drop, p) })
}

// readPerms are the read-only permissions.
var readPerms = []string{contactgraph.PermContactsRead, contactgraph.PermOrgContactRead, contactgraph.PermDirectoryRead,
	contactgraph.PermUserRead, contactgraph.PermUserReadBasic}

// notFound returns the status and code of a missing object for a family.
func notFound(f family) (int, string) {
	if f == directory {
		return http.StatusNotFound, "Request_ResourceNotFound"
	}
	return http.StatusNotFound, "ErrorItemNotFound"
}

func forbiddenCode(f family) (int, string) {
	if f == directory {
		return http.StatusForbidden, "Authorization_RequestDenied"
	}
	return http.StatusForbidden, "ErrorAccessDenied"
}

// secBodies are valid bodies for the write routes, by kind.
var secBodies = map[kind]string{
	kUsers:             `{"userPrincipalName":"matrix@contoso.com"}`,
	kFolders:           `{"displayName":"Matrix"}`,
	kFolder:            `{"displayName":"Matrix renamed"}`,
	kContacts:          `{"givenName":"Matrix"}`,
	kContact:           `{"givenName":"Matrix changed"}`,
	kOrgContacts:       `{"displayName":"Matrix"}`,
	kOrgContact:        `{"displayName":"Matrix changed"}`,
	kContactExtensions: `{"extensionName":"Com.Contoso.New"}`,
	kContactExtension:  `{"extensionName":"` + secExtension + `","changed":true}`,
}

// secCall sends a matrix request.
func (e *env) secCall(t *testing.T, rt route, path, token string) result {
	t.Helper()
	c := rawCall{method: rt.method, target: path, token: token, hdr: []string{"ConsistencyLevel", "eventual"}}
	if rt.method == http.MethodPost || rt.method == http.MethodPatch {
		if b := secBodies[rt.kind]; b != "" {
			c.body = []byte(b)
		}
	}
	return e.rawDo(t, c)
}

var (
	innerDateRE = regexp.MustCompile(`"date":"[^"]*"`)
	innerIDsRE  = regexp.MustCompile(`"(request-id|client-request-id)":"[^"]*"`)
)

// normalise replaces, in an answer body, the innerError's date and ids and
// every id of sets by its template name.
func normalise(body []byte, sets ...idSet) []byte {
	s := innerDateRE.ReplaceAllString(string(body), `"date":"{date}"`)
	s = innerIDsRE.ReplaceAllString(s, `"$1":"{id}"`)
	var pairs []string
	for _, set := range sets {
		for p := range slices.Chunk(set.placeholders(), 2) {
			if p[0] != "" {
				pairs = append(pairs, p[0], p[1])
			}
		}
	}
	return []byte(strings.NewReplacer(pairs...).Replace(s))
}

// headersExcept returns the answer's headers without the per-request ones.
func headersExcept(h http.Header) http.Header {
	out := h.Clone()
	for _, k := range []string{"Date", "Request-Id", "Client-Request-Id"} {
		out.Del(k)
	}
	return out
}

// TestSecurityMatrix tries every route of the route table with every kind
// of bad or foreign credential and checks the exact refusal, and that a
// refusal about an object that exists elsewhere is the same, byte for byte,
// as the one about an object that does not exist.
func TestSecurityMatrix(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	everything := allPerms()

	// Tenant A (contoso): ada and bob with data; tenant B (fabrikam): bea.
	ada := e.newUser("contoso", "ada@contoso.com", everything...)
	bob := e.newUser("contoso", "bob@contoso.com", everything...)
	bea := e.newUser("fabrikam", "bea@fabrikam.com", everything...)
	appA := e.tokens.app("contoso", "matrix", everything...)
	appB := e.tokens.app("fabrikam", "matrix", everything...)

	seed := func(u user) idSet {
		s := idSet{u: u.id}
		s.f = str(t, e.post(t, "/v1.0/me/contactFolders", u.token, `{"displayName":"Secret folder of `+u.upn+`"}`), "id")
		s.f2 = str(t, e.post(t, "/v1.0/me/contactFolders/"+s.f+"/childFolders", u.token, `{"displayName":"Secret child of `+u.upn+`"}`), "id")
		s.c = str(t, e.post(t, "/v1.0/me/contacts", u.token, `{"givenName":"Secret contact of `+u.upn+`"}`), "id")
		s.c2 = str(t, e.post(t, "/v1.0/me/contactFolders/"+s.f+"/contacts", u.token, `{"givenName":"Secret contact in folder"}`), "id")
		s.c3 = str(t, e.post(t, "/v1.0/me/contactFolders/"+s.f2+"/contacts", u.token, `{"givenName":"Secret contact in child"}`), "id")
		for _, c := range []string{s.c, s.c2, s.c3} {
			ok200(t, e.do(t, http.MethodPut, "/v1.0/me/contacts/"+c+"/photo/$value", u.token, storetest.PNG(t, 3, 3), "Content-Type", "image/png"))
			e.post(t, "/v1.0/me/contacts/"+c+"/extensions", u.token, `{"extensionName":"`+secExtension+`","secret":"Secret extension"}`)
		}
		return s
	}
	a, b := seed(ada), seed(bob)
	a.o = str(t, e.post(t, "/v1.0/contacts", appA, `{"displayName":"Secret org contact","mail":"secret@contoso.com"}`), "id")
	a.d = str(t, e.post(t, "/v1.0/contacts", appA, `{"displayName":"Secret deleted org contact"}`), "id")
	ok(t, e.do(t, http.MethodDelete, "/v1.0/contacts/"+a.d, appA, nil), http.StatusNoContent)
	b.o, b.d = a.o, a.d
	seed(bea)
	// What nobody outside tenant A may ever see.
	secretsOfA := []string{ada.id, ada.upn, bob.id, bob.upn, a.f, a.f2, a.c, a.c2, a.c3, a.o, a.d, b.f, b.c,
		"Secret org contact", "Secret deleted org contact", "secret@contoso.com", "Secret extension"}

	var scenarios []secScenario
	for _, bt := range badTokens(t, e, ada, everything) {
		scenarios = append(scenarios, secScenario{name: bt.name, plan: func(rt route, tpl string) (secPlan, bool) {
			g := ghostIDs("")
			return secPlan{token: bt.token, ids: a, status: http.StatusUnauthorized, code: "InvalidAuthenticationToken", ghost: &g}, true
		}})
	}
	mailbox := func(s idSet, user string) idSet { s.user = user; return s }
	scenarios = append(scenarios,
		secScenario{name: "without the route's permission", plan: func(rt route, tpl string) (secPlan, bool) {
			perms := without(everything, rt.perms)
			st, code := forbiddenCode(rt.kind.family())
			g := ghostIDs("")
			if rt.kind.family() == outlook {
				return secPlan{token: e.tokens.delegated("contoso", ada.upn, perms...), ids: a, status: st, code: code, ghost: &g}, true
			}
			return secPlan{token: e.tokens.app("contoso", "matrix", perms...), ids: a, status: st, code: code, ghost: &g}, true
		}},
		secScenario{name: "app without the route's permission", plan: func(rt route, tpl string) (secPlan, bool) {
			perms := without(everything, rt.perms)
			st, code := forbiddenCode(rt.kind.family())
			g := ghostIDs(contactgraph.NewGUID())
			return secPlan{token: e.tokens.app("contoso", "matrix", perms...), ids: mailbox(a, ada.id), status: st, code: code, ghost: &g}, true
		}},
		secScenario{name: "read-only permissions", plan: func(rt route, tpl string) (secPlan, bool) {
			p := secPlan{token: e.tokens.delegated("contoso", ada.upn, readPerms...), ids: a, status: http.StatusOK}
			if rt.method != http.MethodGet {
				p.status, p.code = forbiddenCode(rt.kind.family())
				g := ghostIDs("")
				p.ghost = &g
			}
			return p, true
		}},
		secScenario{name: "app with read-only permissions", plan: func(rt route, tpl string) (secPlan, bool) {
			p := secPlan{token: e.tokens.app("contoso", "reader", readPerms...), ids: mailbox(a, ada.upn), status: http.StatusOK}
			if rt.method != http.MethodGet {
				p.status, p.code = forbiddenCode(rt.kind.family())
				g := ghostIDs("gho@contoso.com") // same length, no such user
				p.ghost = &g
			}
			return p, true
		}},
		secScenario{name: "another user's mailbox", plan: func(rt route, tpl string) (secPlan, bool) {
			if rt.kind.family() != outlook {
				return secPlan{}, false
			}
			g := ghostIDs(contactgraph.NewGUID())
			return secPlan{token: ada.token, ids: mailbox(b, bob.id), status: http.StatusForbidden, code: "ErrorAccessDenied", ghost: &g}, true
		}},
		secScenario{name: "another user's mailbox by upn", plan: func(rt route, tpl string) (secPlan, bool) {
			if rt.kind.family() != outlook {
				return secPlan{}, false
			}
			g := ghostIDs("bob@contoso.con") // same length, no such user
			return secPlan{token: ada.token, ids: mailbox(b, bob.upn), status: http.StatusForbidden, code: "ErrorAccessDenied", ghost: &g}, true
		}},
		secScenario{name: "another tenant's user, app token", plan: func(rt route, tpl string) (secPlan, bool) {
			if rt.kind.family() == outlook {
				g := ghostIDs(contactgraph.NewGUID())
				return secPlan{token: appB, ids: mailbox(a, ada.id), status: http.StatusNotFound, code: "ErrorInvalidUser", ghost: &g}, true
			}
			return crossTenantDirectory(rt, tpl, appB, a)
		}},
		secScenario{name: "another tenant's ids, app token", plan: func(rt route, tpl string) (secPlan, bool) {
			if rt.kind.family() == outlook {
				if !hasIDs(tpl) {
					return secPlan{}, false // bea's own mailbox
				}
				st, code := notFound(outlook)
				g := ghostIDs(bea.id)
				return secPlan{token: appB, ids: mailbox(a, bea.id), status: st, code: code, ghost: &g}, true
			}
			return crossTenantDirectory(rt, tpl, appB, a)
		}},
		secScenario{name: "another tenant's token on this tenant's ids", plan: func(rt route, tpl string) (secPlan, bool) {
			if rt.kind.family() == outlook {
				if !hasIDs(tpl) {
					return secPlan{}, false
				}
				st, code := notFound(outlook)
				g := ghostIDs("")
				return secPlan{token: bea.token, ids: a, status: st, code: code, ghost: &g}, true
			}
			return crossTenantDirectory(rt, tpl, bea.token, a)
		}},
		secScenario{name: "another tenant's token on this tenant's mailbox", plan: func(rt route, tpl string) (secPlan, bool) {
			if rt.kind.family() != outlook {
				return secPlan{}, false
			}
			g := ghostIDs(contactgraph.NewGUID())
			return secPlan{token: bea.token, ids: mailbox(a, ada.id), status: http.StatusForbidden, code: "ErrorAccessDenied", ghost: &g}, true
		}},
		secScenario{name: "app token on /me", plan: func(rt route, tpl string) (secPlan, bool) {
			if rt.kind.family() != outlook {
				return secPlan{}, false
			}
			g := ghostIDs("")
			return secPlan{token: appA, ids: a, status: http.StatusBadRequest, code: "BadRequest", ghost: &g}, true
		}},
	)

	// Every kind of the route table has samples, and each sample is of its
	// kind. Subscriptions and /me are outside the matrix: they have no
	// mailbox or object in the path (TestSubscriptionScoping and TestMe
	// check them against another user, app and tenant). So is $batch: its
	// inner requests are the routes of the matrix, each checked on its own
	// (TestBatchPermissions).
	for _, rt := range routes {
		if outsideMatrix(rt.kind) {
			continue
		}
		tpls := routeSamples[rt.kind]
		if len(tpls) == 0 {
			t.Fatalf("route kind %d (%s) has no sample path in routeSamples", rt.kind, rt.method)
		}
		for _, tpl := range tpls {
			segs, err := splitPath(a.path(tpl))
			if err != nil {
				t.Fatalf("sample %s: %v", tpl, err)
			}
			tg, err := parseTarget(segs)
			if err != nil || tg.kind != rt.kind {
				t.Fatalf("sample %s parses to kind %d (%v), want %d", tpl, tg.kind, err, rt.kind)
			}
		}
	}

	total := 0
	for _, sc := range scenarios {
		n := 0
		for _, rt := range routes {
			if outsideMatrix(rt.kind) {
				continue
			}
			for _, tpl := range routeSamples[rt.kind] {
				p, apply := sc.plan(rt, tpl)
				if !apply {
					continue
				}
				n++
				checkSecPlan(t, e, sc.name, rt, tpl, p, secretsOfA)
			}
		}
		if n == 0 {
			t.Errorf("%s: applies to no route", sc.name)
		}
		total += n
	}
	t.Logf("security matrix: %d scenarios × %d routes, %d checks", len(scenarios), len(routes), total)

	// Tenant A is intact: nothing above wrote anything.
	for _, s := range []struct {
		u   user
		ids idSet
	}{{ada, a}, {bob, b}} {
		for _, p := range []string{"/contacts/" + s.ids.c, "/contactFolders/" + s.ids.f, "/contactFolders/" + s.ids.f2 + "/contacts/" + s.ids.c3} {
			got := ok(t, e.do(t, http.MethodGet, "/v1.0/me"+p, s.u.token, nil), http.StatusOK)
			if name := got["displayName"]; !strings.HasPrefix(name.(string), "Secret") {
				t.Errorf("%s of %s changed: %v", p, s.u.upn, got)
			}
		}
		if vs := values(t, ok(t, e.do(t, http.MethodGet, "/v1.0/me/contacts", s.u.token, nil), http.StatusOK)); len(vs) != 1 {
			t.Errorf("%s has %d contacts in the default folder, want 1", s.u.upn, len(vs))
		}
	}
	if got := ok(t, e.do(t, http.MethodGet, "/v1.0/contacts/"+a.o, appA, nil), http.StatusOK); got["displayName"] != "Secret org contact" {
		t.Errorf("org contact changed: %v", got)
	}
	ok(t, e.do(t, http.MethodGet, "/v1.0/directory/deletedItems/"+a.d, appA, nil), http.StatusOK)
	if vs := values(t, ok(t, e.do(t, http.MethodGet, "/v1.0/users", appA, nil), http.StatusOK)); len(vs) != 2 {
		t.Errorf("tenant A has %d users, want 2", len(vs))
	}
}

// crossTenantDirectory plans a directory route called by another tenant's
// token on tenant A's ids: not found, like ids that do not exist; a route
// without ids reads the caller's own tenant and shows nothing of A.
func crossTenantDirectory(rt route, tpl, token string, a idSet) (secPlan, bool) {
	if !hasIDs(tpl) {
		if rt.method != http.MethodGet {
			return secPlan{}, false // would write in the caller's own tenant
		}
		return secPlan{token: token, ids: a, status: http.StatusOK, leakCheck: true}, true
	}
	st, code := notFound(directory)
	g := ghostIDs("")
	return secPlan{token: token, ids: a, status: st, code: code, ghost: &g}, true
}

// checkSecPlan runs one plan and checks its answer, and the ghost's.
func checkSecPlan(t *testing.T, e *env, scenario string, rt route, tpl string, p secPlan, secrets []string) {
	t.Helper()
	name := scenario + ": " + rt.method + " " + tpl
	r := e.secCall(t, rt, p.ids.path(tpl), p.token)
	if r.status != p.status {
		t.Errorf("%s: status %d, want %d: %s", name, r.status, p.status, short(string(r.body)))
		return
	}
	if p.code == "" {
		if p.leakCheck {
			for _, s := range secrets {
				if bytes.Contains(r.body, []byte(s)) {
					t.Errorf("%s: the answer shows %q of another tenant: %s", name, s, short(string(r.body)))
				}
			}
		}
		return
	}
	var er errorBody
	if err := json.Unmarshal(r.body, &er); err != nil || er.Error.Code != p.code || er.Error.Message == "" {
		t.Errorf("%s: %s, want code %s with a message", name, short(string(r.body)), p.code)
		return
	}
	checkEnvelope(t, r.header, r.body)
	if p.status == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("%s: 401 without WWW-Authenticate", name)
	}
	for _, s := range secrets {
		if bytes.Contains(r.body, []byte(s)) && !strings.Contains(p.ids.path(tpl), s) {
			t.Errorf("%s: the refusal shows %q, which the request did not: %s", name, s, r.body)
		}
	}
	if p.ghost == nil {
		return
	}
	g := e.secCall(t, rt, p.ghost.path(tpl), p.token)
	got, want := normalise(r.body, p.ids), normalise(g.body, *p.ghost)
	if r.status != g.status || !bytes.Equal(got, want) {
		t.Errorf("%s: the answer about existing objects differs from the one about none:\n exists %d %s\n  ghost %d %s", name, r.status, got, g.status, want)
	}
	if h1, h2 := headersExcept(r.header), headersExcept(g.header); !equalHeaders(h1, h2) {
		t.Errorf("%s: headers differ between existing and missing objects:\n exists %v\n  ghost %v", name, h1, h2)
	}
}

func equalHeaders(a, b http.Header) bool {
	return maps.EqualFunc(a, b, func(x, y []string) bool { return slices.Equal(x, y) })
}

// TestForeignIDsInBodies: ids of another mailbox or tenant sent in a body
// (parentFolderId) are not found, exactly like ids that do not exist.
func TestForeignIDsInBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	bob := e.newUser("contoso", "bob@contoso.com", contactgraph.PermContactsReadWrite)
	bea := e.newUser("fabrikam", "bea@fabrikam.com", contactgraph.PermContactsReadWrite)
	folder := str(t, e.post(t, "/v1.0/me/contactFolders", ada.token, `{"displayName":"Mine"}`), "id")
	contact := str(t, e.post(t, "/v1.0/me/contacts", ada.token, `{"givenName":"Mine"}`), "id")
	foreign := map[string]string{
		"another user's folder":   str(t, e.post(t, "/v1.0/me/contactFolders", bob.token, `{"displayName":"Bob's"}`), "id"),
		"another tenant's folder": str(t, e.post(t, "/v1.0/me/contactFolders", bea.token, `{"displayName":"Bea's"}`), "id"),
	}
	requests := []struct {
		method, path, body string
		status             int
		code               string
	}{
		{http.MethodPost, "/v1.0/me/contactFolders", `{"displayName":"x","parentFolderId":"{id}"}`, 404, "ErrorItemNotFound"},
		{http.MethodPatch, "/v1.0/me/contactFolders/" + folder, `{"parentFolderId":"{id}"}`, 404, "ErrorItemNotFound"},
		{http.MethodPatch, "/v1.0/me/contacts/" + contact, `{"parentFolderId":"{id}"}`, 404, "ErrorItemNotFound"},
		{http.MethodPost, "/v1.0/me/contactFolders/" + folder + "/childFolders", `{"displayName":"x","parentFolderId":"{id}"}`, 400, "ErrorInvalidRequest"},
		{http.MethodPost, "/v1.0/me/contacts", `{"givenName":"x","parentFolderId":"{id}"}`, 400, "ErrorInvalidRequest"},
	}
	for what, id := range foreign {
		for _, rq := range requests {
			ghost := contactgraph.NewID()
			r := e.do(t, rq.method, rq.path, ada.token, []byte(strings.ReplaceAll(rq.body, "{id}", id)))
			g := e.do(t, rq.method, rq.path, ada.token, []byte(strings.ReplaceAll(rq.body, "{id}", ghost)))
			fails(t, r, rq.status, rq.code)
			got := normalise(r.body, idSet{f: id})
			want := normalise(g.body, idSet{f: ghost})
			if r.status != g.status || !bytes.Equal(got, want) {
				t.Errorf("%s, %s %s: the answer differs from the one for a missing folder:\n%s\n%s", what, rq.method, rq.path, got, want)
			}
		}
	}
	if got := ok(t, e.do(t, http.MethodGet, "/v1.0/me/contacts/"+contact, ada.token, nil), http.StatusOK); got["parentFolderId"] != e.rootID(t, ada) {
		t.Errorf("contact moved: %v", got)
	}
}

// TestDeltaLinkAfterMailboxRecreated: a user deleted and created again has
// the same id, but none of the old mailbox's history; its old deltaLinks
// must be refused so that the client starts over, never answered with
// the new mailbox's changes only (the old objects' tombstones are gone).
func TestDeltaLinkAfterMailboxRecreated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	admin := e.tokens.app("contoso", "admin", contactgraph.PermUserReadWrite, contactgraph.PermContactsRead)
	e.post(t, "/v1.0/me/contactFolders", ada.token, `{"displayName":"Old"}`)
	e.post(t, "/v1.0/me/contacts", ada.token, `{"givenName":"Old"}`)
	_, folders := e.round(t, "/v1.0/me/contactFolders/delta", ada.token)
	_, contacts := e.round(t, "/v1.0/me/contacts/delta", ada.token)
	_, appContacts := e.round(t, "/v1.0/users/ada@contoso.com/contacts/delta", admin)

	ok(t, e.do(t, http.MethodDelete, "/v1.0/users/ada@contoso.com", admin, nil), http.StatusNoContent)
	fails(t, e.do(t, http.MethodGet, appContacts, admin, nil), 404, "ErrorInvalidUser")
	e.post(t, "/v1.0/me/contactFolders", ada.token, `{"displayName":"New"}`) // a new mailbox
	fails(t, e.do(t, http.MethodGet, folders, ada.token, nil), http.StatusGone, "SyncStateNotFound")
	fails(t, e.do(t, http.MethodGet, contacts, ada.token, nil), http.StatusGone, "SyncStateNotFound")
}

// TestEmulatorControlsSecurity: the emulator controls refuse what the
// Graph routes refuse, and act on the caller's tenant only.
func TestEmulatorControlsSecurity(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Emulator = true })
	everything := append(allPerms(), contactgraph.PermEmulatorControl)
	ada := e.newUser("contoso", "ada@contoso.com", everything...)
	controls := []struct{ method, path, body string }{
		{http.MethodPost, "/emulator/faults", `{"status":429,"count":1}`},
		{http.MethodDelete, "/emulator/faults", ``},
		{http.MethodPost, "/emulator/resync", ``},
		{http.MethodPost, "/emulator/expire-tokens", ``},
		{http.MethodPost, "/emulator/reset", ``},
		{http.MethodPost, "/emulator/seed", `{"orgContacts":1}`},
	}
	call := func(method, path, token, body string) result {
		c := rawCall{method: method, target: path, token: token}
		if body != "" {
			c.body = []byte(body)
		}
		return e.rawDo(t, c)
	}
	contact := str(t, e.post(t, "/v1.0/me/contacts", ada.token, `{"givenName":"Kept"}`), "id")
	_, dl := e.round(t, "/v1.0/me/contacts/delta", ada.token)

	noControl := e.tokens.app("contoso", "matrix", allPerms()...)
	bad := badTokens(t, e, ada, everything)
	for _, c := range controls {
		for _, bt := range bad {
			if r := call(c.method, c.path, bt.token, c.body); r.status != http.StatusUnauthorized {
				t.Errorf("%s %s with %s: %d %s", c.method, c.path, bt.name, r.status, r.body)
			} else {
				fails(t, r, http.StatusUnauthorized, "InvalidAuthenticationToken")
			}
		}
		fails(t, call(c.method, c.path, noControl, c.body), http.StatusForbidden, "ErrorAccessDenied")
	}

	// Another tenant's controls, all of them, leave tenant A alone.
	ctlB := e.tokens.app("fabrikam", "harness", contactgraph.PermEmulatorControl)
	for _, c := range controls {
		// expire-tokens leaves the controls to the token that called it.
		if r := call(c.method, c.path, ctlB, c.body); r.status >= 300 {
			t.Fatalf("tenant B: %s %s: %d %s", c.method, c.path, r.status, r.body)
		}
	}
	ok(t, e.do(t, http.MethodPost, "/emulator/faults", ctlB, []byte(`{"status":503,"count":100}`)), http.StatusCreated)
	ok(t, e.do(t, http.MethodGet, "/v1.0/me/contacts/"+contact, ada.token, nil), http.StatusOK)
	ok(t, e.do(t, http.MethodGet, dl, ada.token, nil), http.StatusOK)

	// A token the emulator expired is refused on every Graph route, and
	// on the controls unless it holds Emulator.Control.
	old := e.tokens.mint(auth.MintOptions{TenantName: "contoso", AppName: "old-harness", Now: time.Now().Add(-time.Minute),
		Roles: []string{contactgraph.PermEmulatorControl, contactgraph.PermContactsRead}})
	oldReader := e.tokens.mint(auth.MintOptions{TenantName: "contoso", AppName: "old-reader", Now: time.Now().Add(-time.Minute),
		Roles: []string{contactgraph.PermContactsRead}})
	ok(t, e.do(t, http.MethodPost, "/emulator/expire-tokens", e.tokens.app("contoso", "harness", contactgraph.PermEmulatorControl), nil), http.StatusNoContent)
	fails(t, e.do(t, http.MethodGet, "/v1.0/users/"+ada.upn+"/contacts", old, nil), http.StatusUnauthorized, "InvalidAuthenticationToken")
	ok(t, e.do(t, http.MethodPost, "/emulator/faults", old, []byte(`{"status":429,"count":1,"path":"/nowhere"}`)), http.StatusCreated)
	fails(t, e.do(t, http.MethodPost, "/emulator/faults", oldReader, []byte(`{"status":429,"count":1,"path":"/nowhere"}`)), http.StatusUnauthorized, "InvalidAuthenticationToken")
}

// outsideMatrix reports the route kinds the security matrix leaves to
// tests of their own.
func outsideMatrix(k kind) bool { return k.ownScope() || k == kMe }
