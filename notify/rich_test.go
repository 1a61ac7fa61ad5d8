package notify_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/auth"
	"github.com/contactgraph/contactgraph/client"
	"github.com/contactgraph/contactgraph/graphapi"
	"github.com/contactgraph/contactgraph/notify"
	"github.com/contactgraph/contactgraph/sqlite"
	"github.com/contactgraph/contactgraph/storetest"
	"github.com/golang-jwt/jwt/v5"
)

// richEnv is the whole path of a rich notification, every part real: a
// SQLite store on a fake clock, the server's signing key, the Graph server
// (which renders resource data and publishes the key set) on loopback, and
// a receiver on loopback.
type richEnv struct {
	store *sqlite.DB
	path  string // of the store's file
	clock *storetest.Clock
	mb    contactgraph.Mailbox
	local *auth.Local
	api   *graphapi.Server
	graph *httptest.Server
	rcv   *rawReceiver
}

// rawReceiver records the bodies it is posted and answers 202.
type rawReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func (r *rawReceiver) posts() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.bodies)
}

func newRichEnv(t *testing.T) *richEnv {
	t.Helper()
	ctx := context.Background()
	e := &richEnv{clock: storetest.NewClock()}
	e.path = filepath.Join(t.TempDir(), "cg.db")
	db, err := sqlite.Open(ctx, e.path, sqlite.Options{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e.store = db
	tenant := contactgraph.TenantID("contoso")
	if e.mb, err = db.EnsureMailbox(ctx, tenant, contactgraph.UserID(tenant, "ada@contoso.com"), "ada@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if e.local, err = auth.NewLocal(ctx, db, auth.LocalOptions{Now: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	jwks, err := e.local.PublicJWKS()
	if err != nil {
		t.Fatal(err)
	}
	if e.api, err = graphapi.New(graphapi.Config{Store: db, Auth: e.local, JWKS: jwks, Now: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	e.graph = httptest.NewServer(e.api)
	t.Cleanup(e.graph.Close)
	e.rcv = &rawReceiver{}
	e.rcv.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		e.rcv.mu.Lock()
		e.rcv.bodies = append(e.rcv.bodies, b)
		e.rcv.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(e.rcv.srv.Close)
	return e
}

// subscribe stores a subscription of the default folder's contacts that
// posts to the receiver; rich ones are encrypted for cert.
func (e *richEnv) subscribe(t *testing.T, id, appID string, rich bool, cert string, sel ...string) {
	t.Helper()
	sub := contactgraph.Subscription{ID: id, TenantID: e.mb.TenantID, AppID: appID, CreatorID: appID,
		Watched:  contactgraph.Watched{Collection: "contacts", Mailbox: e.mb, FolderID: e.mb.RootID},
		Resource: "me/contacts", Changes: contactgraph.ChangeCreated | contactgraph.ChangeUpdated | contactgraph.ChangeDeleted,
		NotificationURL: e.rcv.srv.URL, ClientState: "cs-" + id, Expires: e.clock.Now().Add(time.Hour), Created: e.clock.Now()}
	if rich {
		sub.IncludeResourceData, sub.EncryptionCertificate, sub.EncryptionCertificateID = true, cert, "cert-"+id
		sub.Select = sel
	}
	if _, err := e.store.CreateSubscription(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
}

func (e *richEnv) sender() *notify.Sender {
	return &notify.Sender{Store: e.store, Owner: "a", Now: e.clock.Now, Timeout: 5 * time.Second,
		ResourceData: e.api.ResourceData, ValidationToken: e.local.ValidationToken}
}

func (e *richEnv) createContact(t *testing.T, body string) *contactgraph.Contact {
	t.Helper()
	in, err := contactgraph.ParseContactInput([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.store.CreateContact(context.Background(), e.mb, e.mb.RootID, in)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// body is a notification POST as a receiver reads it.
type body struct {
	Value            []map[string]json.RawMessage `json:"value"`
	ValidationTokens []string                     `json:"validationTokens"`
	raw              map[string]json.RawMessage
}

func decodeBody(t *testing.T, b []byte) body {
	t.Helper()
	var out body
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("POST body %s: %v", b, err)
	}
	if err := json.Unmarshal(b, &out.raw); err != nil {
		t.Fatal(err)
	}
	return out
}

// str decodes a JSON string member.
func str(t *testing.T, m map[string]json.RawMessage, key string) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(m[key], &s); err != nil {
		t.Fatalf("%s is %s: %v", key, m[key], err)
	}
	return s
}

// openContent decrypts an encryptedContent with the standard library only,
// step by step as Graph's documentation tells receivers to.
func openContent(t *testing.T, key *rsa.PrivateKey, raw json.RawMessage) []byte {
	t.Helper()
	var ec struct{ Data, DataKey, DataSignature string }
	if err := json.Unmarshal(raw, &ec); err != nil {
		t.Fatal(err)
	}
	b64 := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("base64 %q: %v", s, err)
		}
		return b
	}
	// 1. The symmetric key: dataKey with RSA-OAEP, SHA-1.
	symKey, err := rsa.DecryptOAEP(sha1.New(), nil, key, b64(ec.DataKey), nil)
	if err != nil {
		t.Fatalf("dataKey: %v", err)
	}
	// 2. dataSignature: HMAC-SHA256 of the base64-decoded data.
	data := b64(ec.Data)
	mac := hmac.New(sha256.New, symKey)
	mac.Write(data)
	if !hmac.Equal(mac.Sum(nil), b64(ec.DataSignature)) {
		t.Fatal("dataSignature does not match data")
	}
	// 3. data: AES-CBC, IV = the first 16 bytes of the key, PKCS7 padding.
	block, err := aes.NewCipher(symKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || len(data)%aes.BlockSize != 0 {
		t.Fatalf("data is %d bytes", len(data))
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, symKey[:aes.BlockSize]).CryptBlocks(plain, data)
	n := int(plain[len(plain)-1])
	if n < 1 || n > aes.BlockSize || !bytes.Equal(plain[len(plain)-n:], bytes.Repeat([]byte{byte(n)}, n)) {
		t.Fatalf("padding %x is not PKCS7", plain[len(plain)-aes.BlockSize:])
	}
	return plain[:len(plain)-n]
}

// audience returns the aud of a token, read without verifying.
func audience(t *testing.T, tok string) []string {
	t.Helper()
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		t.Fatal(err)
	}
	return c.Audience
}

// TestRichNotificationEndToEnd sends one POST that mixes plain and rich
// notifications of two applications and checks what the receiver gets.
func TestRichNotificationEndToEnd(t *testing.T) {
	e := newRichEnv(t)
	ctx := context.Background()
	key, cert := rsaCert(t, 2048)
	e.subscribe(t, "sub-plain", "app-a", false, "")
	e.subscribe(t, "sub-rich", "app-a", true, b64(cert), "id", "birthday", "givenName")
	e.subscribe(t, "sub-rich-2", "app-a", true, b64(cert), "id", "jobTitle")
	e.subscribe(t, "sub-rich-b", "app-b", true, b64(cert), "id", "surname")
	c := e.createContact(t, `{"givenName":"Ada","surname":"Lovelace","jobTitle":"Analyst","birthday":"1815-12-10T00:00:00Z"}`)

	s := e.sender()
	if n, err := s.Once(ctx); err != nil || n != 4 {
		t.Fatalf("Once: %d, %v; want 4 claimed", n, err)
	}
	posts := e.rcv.posts()
	if len(posts) != 1 {
		t.Fatalf("%d POSTs, want the 4 notifications in one", len(posts))
	}
	got := decodeBody(t, posts[0])
	items := map[string]map[string]json.RawMessage{}
	for _, it := range got.Value {
		items[str(t, it, "subscriptionId")] = it
	}
	res := "Users/" + e.mb.UserID + "/Contacts/" + c.ID

	// The plain item is as without rich notifications.
	plain := items["sub-plain"]
	if _, has := plain["encryptedContent"]; has || str(t, plain, "resource") != res {
		t.Errorf("plain item: %v", plain)
	}

	// A rich item: resourceData as always, and the selected properties
	// of the contact, encrypted for the subscription's certificate.
	rich := items["sub-rich"]
	var rd map[string]string
	if err := json.Unmarshal(rich["resourceData"], &rd); err != nil {
		t.Fatal(err)
	}
	if rd["@odata.type"] != "#Microsoft.Graph.Contact" || rd["@odata.id"] != res || rd["id"] != c.ID || rd["@odata.etag"] != c.ETag() {
		t.Errorf("resourceData %v", rd)
	}
	var ec map[string]string
	if err := json.Unmarshal(rich["encryptedContent"], &ec); err != nil {
		t.Fatalf("no encryptedContent: %v", rich)
	}
	if ec["encryptionCertificateId"] != "cert-sub-rich" || ec["encryptionCertificateThumbprint"] != notify.Thumbprint(cert) {
		t.Errorf("encryptedContent names %q, %q", ec["encryptionCertificateId"], ec["encryptionCertificateThumbprint"])
	}
	var data map[string]any
	plainText := openContent(t, key, rich["encryptedContent"])
	if err := json.Unmarshal(plainText, &data); err != nil {
		t.Fatalf("decrypted %q: %v", plainText, err)
	}
	want := map[string]any{
		"@odata.type": "#Microsoft.Graph.Contact", "@odata.id": res, "@odata.etag": c.ETag(), "id": c.ID,
		"givenName": "Ada", "birthday": "1815-12-10T00:00:00Z", "birthday@odata.type": "#DateTimeOffset",
	}
	if len(data) != len(want) {
		t.Errorf("decrypted %s, want exactly %v", plainText, want)
	}
	for k, v := range want {
		if data[k] != v {
			t.Errorf("decrypted %s = %v, want %v", k, data[k], v)
		}
	}
	for _, unselected := range []string{"surname", "jobTitle", "displayName"} {
		if _, has := data[unselected]; has {
			t.Errorf("decrypted data holds unselected %s: %s", unselected, plainText)
		}
	}
	var other map[string]any
	if err := json.Unmarshal(openContent(t, key, items["sub-rich-b"]["encryptedContent"]), &other); err != nil || other["surname"] != "Lovelace" || other["givenName"] != nil {
		t.Errorf("the other app's data: %v, %v", other, err)
	}
	other = nil
	if err := json.Unmarshal(openContent(t, key, items["sub-rich-2"]["encryptedContent"]), &other); err != nil || other["jobTitle"] != "Analyst" || other["givenName"] != nil {
		t.Errorf("the other subscription's data: %v, %v", other, err)
	}

	// One validation token for each app of the rich items; each verifies
	// with the key set the server publishes and is for that app alone.
	if len(got.ValidationTokens) != 2 {
		t.Fatalf("%d validationTokens, want 2 (app-a with two subscriptions, app-b)", len(got.ValidationTokens))
	}
	keys, err := client.FetchValidationKeys(ctx, e.graph.Client(), e.graph.URL+"/common/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	var auds []string
	for i, tok := range got.ValidationTokens {
		aud := audience(t, tok)
		if len(aud) != 1 {
			t.Fatalf("token %d: aud %v, want one app", i, aud)
		}
		auds = append(auds, aud[0])
		if err := keys.Verify(tok, aud[0], e.clock.Now()); err != nil {
			t.Errorf("token %d does not verify for %s: %v", i, aud[0], err)
		}
		if err := keys.Verify(tok, "app-c", e.clock.Now()); !errors.Is(err, client.ErrBadValidationToken) {
			t.Errorf("token %d verifies for another app: %v", i, err)
		}
	}
	if slices.Sort(auds); !slices.Equal(auds, []string{"app-a", "app-b"}) {
		t.Errorf("tokens for %v, want app-a and app-b", auds)
	}

	// A POST of plain notifications only carries no validationTokens.
	if err := e.store.DeleteSubscription(ctx, e.mb.TenantID, "sub-rich"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"sub-rich-2", "sub-rich-b"} {
		if err := e.store.DeleteSubscription(ctx, e.mb.TenantID, id); err != nil {
			t.Fatal(err)
		}
	}
	e.createContact(t, `{"givenName":"Alan"}`)
	if _, err := s.Once(ctx); err != nil {
		t.Fatal(err)
	}
	posts = e.rcv.posts()
	if len(posts) != 2 {
		t.Fatalf("%d POSTs", len(posts))
	}
	if second := decodeBody(t, posts[1]); len(second.Value) != 1 || second.raw["validationTokens"] != nil || second.Value[0]["encryptedContent"] != nil {
		t.Errorf("plain POST: %s", posts[1])
	}
}

// A deleted contact has no data: its notifications, the "created" one
// included when it is sent after the delete, carry no encryptedContent,
// and the POST still carries the app's validation token.
func TestRichNotificationOfDeletedContact(t *testing.T) {
	e := newRichEnv(t)
	ctx := context.Background()
	_, cert := rsaCert(t, 2048)
	e.subscribe(t, "sub-rich", "app-a", true, b64(cert), "id", "givenName")
	c := e.createContact(t, `{"givenName":"Ada"}`)
	if err := e.store.DeleteContact(ctx, e.mb, c.ID, ""); err != nil {
		t.Fatal(err)
	}
	if n, err := e.sender().Once(ctx); err != nil || n != 2 {
		t.Fatalf("Once: %d, %v", n, err)
	}
	posts := e.rcv.posts()
	if len(posts) != 1 {
		t.Fatalf("%d POSTs", len(posts))
	}
	got := decodeBody(t, posts[0])
	if len(got.Value) != 2 || len(got.ValidationTokens) != 1 {
		t.Fatalf("POST %s", posts[0])
	}
	for _, it := range got.Value {
		if it["encryptedContent"] != nil || it["resourceData"] == nil {
			t.Errorf("item of a deleted contact: %v", it)
		}
	}
}

// A failure to build a rich notification fails its POST like a refused
// delivery: nothing is posted, the entries come back later.
func TestRichNotificationFailureIsRetried(t *testing.T) {
	e := newRichEnv(t)
	ctx := context.Background()
	key, cert := rsaCert(t, 2048)
	e.subscribe(t, "sub-rich", "app-a", true, b64(cert), "id", "givenName")
	e.createContact(t, `{"givenName":"Ada"}`)
	// A Graph server whose own handle on the database is closed cannot
	// read the contact.
	db, err := sqlite.Open(ctx, e.path, sqlite.Options{Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	down, err := graphapi.New(graphapi.Config{Store: db, Auth: e.local})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	s := e.sender()
	s.ResourceData = down.ResourceData
	if _, err := s.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if len(e.rcv.posts()) != 0 || s.Stats.Failed.Load() != 1 || s.Stats.Retried.Load() != 1 {
		t.Fatalf("after a failing render: %d POSTs, failed %d, retried %d", len(e.rcv.posts()), s.Stats.Failed.Load(), s.Stats.Retried.Load())
	}
	s.ResourceData = e.api.ResourceData
	e.clock.Advance(2 * time.Second) // past the first backoff, jitter included
	if n, err := s.Once(ctx); err != nil || n != 1 {
		t.Fatalf("retry: %d, %v", n, err)
	}
	posts := e.rcv.posts()
	if len(posts) != 1 {
		t.Fatalf("%d POSTs after the retry", len(posts))
	}
	got := decodeBody(t, posts[0])
	var data map[string]any
	if err := json.Unmarshal(openContent(t, key, got.Value[0]["encryptedContent"]), &data); err != nil || data["givenName"] != "Ada" {
		t.Fatalf("retried item: %v, %v", data, err)
	}

	// A damaged certificate fails the same way.
	e.subscribe(t, "sub-damaged", "app-a", true, "not base64!", "id")
	e.createContact(t, `{"givenName":"Alan"}`)
	failed := s.Stats.Failed.Load()
	if _, err := s.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Stats.Failed.Load() != failed+1 {
		t.Errorf("a damaged certificate did not fail the POST")
	}
}

// A Sender without ResourceData and ValidationToken sends rich
// subscriptions' notifications as plain ones.
func TestRichNotificationWithoutRenderer(t *testing.T) {
	e := newRichEnv(t)
	_, cert := rsaCert(t, 2048)
	e.subscribe(t, "sub-rich", "app-a", true, b64(cert), "id", "givenName")
	e.createContact(t, `{"givenName":"Ada"}`)
	s := e.sender()
	s.ResourceData, s.ValidationToken = nil, nil
	if _, err := s.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	posts := e.rcv.posts()
	if len(posts) != 1 {
		t.Fatalf("%d POSTs", len(posts))
	}
	if got := decodeBody(t, posts[0]); len(got.Value) != 1 || got.Value[0]["encryptedContent"] != nil || got.raw["validationTokens"] != nil {
		t.Errorf("POST %s", posts[0])
	}
}

// RichPayload is Payload plus encryptedContent after resourceData on the
// change items it has content for, and validationTokens after value;
// lifecycle items never carry content.
func TestRichPayloadShape(t *testing.T) {
	exp := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	sub := contactgraph.Subscription{ID: "s1", TenantID: "t1", Expires: exp, IncludeResourceData: true,
		Watched: contactgraph.Watched{Collection: "contacts", Mailbox: contactgraph.Mailbox{TenantID: "t1", UserID: "u1"}}}
	change := contactgraph.Notification{Key: contactgraph.NotificationKey{SubscriptionID: "s1", Rev: 1, ObjectID: "c1"},
		Subscription: sub, Change: contactgraph.ChangeUpdated, ObjectID: "c1", ETag: `W/"k"`}
	life := contactgraph.Notification{Key: contactgraph.NotificationKey{SubscriptionID: "s1", Rev: -1, ObjectID: "~missed"},
		Subscription: sub, Lifecycle: contactgraph.LifecycleMissed}
	ec := notify.EncryptedContent{Data: "d", DataSignature: "s", DataKey: "k", EncryptionCertificateID: "i", EncryptionCertificateThumbprint: "t"}
	ns := []contactgraph.Notification{change, life}
	got, err := notify.RichPayload(ns, notify.Rich{
		Content:          map[contactgraph.NotificationKey]notify.EncryptedContent{change.Key: ec, life.Key: ec},
		ValidationTokens: []string{"tok"},
	})
	if err != nil {
		t.Fatal(err)
	}
	item := `{"subscriptionId":"s1","subscriptionExpirationDateTime":"2026-11-25T10:00:00.0000000Z","clientState":null,"changeType":"updated",` +
		`"resource":"Users/u1/Contacts/c1","tenantId":"t1","resourceData":{"@odata.type":"#Microsoft.Graph.Contact","@odata.id":"Users/u1/Contacts/c1","@odata.etag":"W/\"k\"","id":"c1"}`
	lifecycle := `{"subscriptionId":"s1","subscriptionExpirationDateTime":"2026-11-25T10:00:00.0000000Z","clientState":null,"lifecycleEvent":"missed","tenantId":"t1"}`
	want := `{"value":[` + item + `,"encryptedContent":{"data":"d","dataSignature":"s","dataKey":"k","encryptionCertificateId":"i","encryptionCertificateThumbprint":"t"}},` +
		lifecycle + `],"validationTokens":["tok"]}`
	if string(got) != want {
		t.Errorf("RichPayload:\n got %s\nwant %s", got, want)
	}
	plain, err := notify.Payload(ns)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"value":[` + item + `},` + lifecycle + `]}`; string(plain) != want {
		t.Errorf("Payload:\n got %s\nwant %s", plain, want)
	}
}
