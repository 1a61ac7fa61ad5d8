package graphapi

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/auth"
	"github.com/contactgraph/contactgraph/client"
)

// encryptionCert makes an RSA key and a self-signed certificate of it,
// as an app that wants rich notifications does.
func encryptionCert(t *testing.T) (*rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rich receiver"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, base64.StdEncoding.EncodeToString(der)
}

// TestRichNotificationsOverHTTP: a subscription with includeResourceData
// and $select, created over HTTP, delivers the contact encrypted to the
// app's certificate, with validation tokens the server's published key
// set verifies.
func TestRichNotificationsOverHTTP(t *testing.T) {
	e := emulatorEnv(t, func(c *Config) {
		c.Now = time.Now
		l, err := auth.NewLocal(context.Background(), c.Store, auth.LocalOptions{}) // the key the token minter uses
		if err != nil {
			t.Fatal(err)
		}
		if c.JWKS, err = l.PublicJWKS(); err != nil {
			t.Fatal(err)
		}
	})
	s := startSender(t, e)
	s.ResourceData, s.ValidationToken = e.api.ResourceData, e.tokens.local.ValidationToken
	key, cert := encryptionCert(t)

	var mu sync.Mutex
	var got []client.Notifications
	arrived := make(chan struct{}, 10)
	hook := httptest.NewServer(&client.Receiver{ClientState: "rich", Handle: func(_ context.Context, n client.Notifications) error {
		mu.Lock()
		got = append(got, n)
		mu.Unlock()
		arrived <- struct{}{}
		return nil
	}})
	defer hook.Close()

	ada := e.newUser("contoso", "ada@contoso.com", contactgraph.PermContactsReadWrite)
	body := map[string]any{
		"changeType": "created", "notificationUrl": hook.URL, "resource": "me/contacts?$select=displayName,jobTitle",
		"expirationDateTime": time.Now().Add(2 * time.Hour).Format(time.RFC3339), "clientState": "rich",
		"includeResourceData": true, "encryptionCertificate": cert, "encryptionCertificateId": "cert-1",
	}
	// The rich limit is 1,440 minutes.
	body["expirationDateTime"] = time.Now().Add(1441 * time.Minute).Format(time.RFC3339)
	fails(t, e.do(t, "POST", "/v1.0/subscriptions", ada.token, body), http.StatusBadRequest, "InvalidRequest")
	body["expirationDateTime"] = time.Now().Add(2 * time.Hour).Format(time.RFC3339)
	bad := map[string]any{}
	for k, v := range body {
		bad[k] = v
	}
	bad["encryptionCertificate"] = base64.StdEncoding.EncodeToString([]byte("not a certificate"))
	fails(t, e.do(t, "POST", "/v1.0/subscriptions", ada.token, bad), http.StatusBadRequest, "InvalidRequest")
	bad["encryptionCertificate"], bad["resource"] = cert, "me/contacts"
	fails(t, e.do(t, "POST", "/v1.0/subscriptions", ada.token, bad), http.StatusBadRequest, "InvalidRequest")

	m := ok(t, e.do(t, "POST", "/v1.0/subscriptions", ada.token, body), http.StatusCreated)
	if m["includeResourceData"] != true || m["encryptionCertificateId"] != "cert-1" {
		t.Errorf("rich subscription answered %v", m)
	}
	c := ok(t, e.do(t, "POST", "/v1.0/me/contacts", ada.token, map[string]any{"displayName": "Grace", "jobTitle": "Admiral", "companyName": "Navy"}), http.StatusCreated)
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("no rich notification within 10 s")
	}
	mu.Lock()
	n := got[0]
	mu.Unlock()
	it := n.Value[0]
	if it.EncryptedContent == nil || it.EncryptedContent.EncryptionCertificateID != "cert-1" {
		t.Fatalf("item without encryptedContent: %+v", it)
	}
	plain, err := client.Decrypt(key, *it.EncryptedContent)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(plain, &doc); err != nil {
		t.Fatalf("decrypted %q: %v", plain, err)
	}
	if doc["id"] != c["id"] || doc["displayName"] != "Grace" || doc["jobTitle"] != "Admiral" {
		t.Errorf("decrypted resource %v", doc)
	}
	if _, has := doc["companyName"]; has {
		t.Errorf("decrypted resource has a property outside $select: %v", doc)
	}
	if len(n.ValidationTokens) != 1 {
		t.Fatalf("%d validation tokens", len(n.ValidationTokens))
	}
	keys, err := client.FetchValidationKeys(t.Context(), http.DefaultClient, e.srv.URL+"/common/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Verify(n.ValidationTokens[0], str(t, m, "applicationId"), time.Now()); err != nil {
		t.Errorf("validation token: %v", err)
	}
	if err := keys.Verify(n.ValidationTokens[0], contactgraph.NewGUID(), time.Now()); err == nil {
		t.Error("a validation token verified for another app")
	}
}
