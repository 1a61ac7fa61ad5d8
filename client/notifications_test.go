package client

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver serves rc on loopback and records what Handle is given; Handle
// answers with fail when it is set.
type receiver struct {
	srv  *httptest.Server
	rc   *Receiver
	mu   sync.Mutex
	got  []Notifications
	fail error
}

func newReceiver(t *testing.T, clientState string) *receiver {
	t.Helper()
	r := &receiver{}
	r.rc = &Receiver{ClientState: clientState, Handle: func(ctx context.Context, n Notifications) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got = append(r.got, n)
		return r.fail
	}}
	r.srv = httptest.NewServer(r.rc)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) handled() []Notifications {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Notifications(nil), r.got...)
}

// send makes a request to the receiver and returns the status, the
// Content-Type and the body of the answer.
func (r *receiver) send(t *testing.T, method, query, contentType string, body io.Reader) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, r.srv.URL+"/notify"+query, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := r.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestReceiverHandshake(t *testing.T) {
	r := newReceiver(t, "secret")
	tests := []struct {
		name  string
		query string // as it appears in the URL
		want  string // the body: the decoded token
	}{
		{"needs decoding", "?validationToken=" + url.QueryEscape("a b+c/d%e:f"), "a b+c/d%e:f"},
		{"plus is a space", "?validationToken=Validation%3a+Testing+client+application", "Validation: Testing client application"},
		{"percent-encoded", "?validationToken=%E2%9C%93%26x%3Dy", "✓&x=y"},
		{"with other parameters", "?a=1&validationToken=tok&b=2", "tok"},
		{"empty token", "?validationToken=", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, ct, body := r.send(t, http.MethodPost, tt.query, "text/plain; charset=utf-8", nil)
			if status != http.StatusOK || ct != "text/plain; charset=utf-8" || body != tt.want {
				t.Fatalf("answer = %d %q %q, want 200 text/plain %q", status, ct, body, tt.want)
			}
		})
	}
	if got := r.handled(); len(got) != 0 {
		t.Fatalf("Handle called on a handshake: %v", got)
	}
}

const twoNotifications = `{
  "value": [
    {
      "id": "lsgTZMr9KwAAA",
      "subscriptionId": "sub-1",
      "subscriptionExpirationDateTime": "2016-03-19T22:11:09.952Z",
      "clientState": "secret",
      "changeType": "created",
      "resource": "Users/u1/Contacts/AAMk",
      "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95",
      "resourceData": {
        "@odata.type": "#Microsoft.Graph.Contact",
        "@odata.id": "Users/u1/Contacts/AAMk",
        "@odata.etag": "W/\"CQAAABYAAADk\"",
        "id": "AAMk"
      },
      "encryptedContent": {
        "data": "ZGF0YQ==", "dataSignature": "c2ln", "dataKey": "a2V5",
        "encryptionCertificateId": "cert-1", "encryptionCertificateThumbprint": "ABCDEF"
      }
    },
    {
      "lifecycleEvent": "missed",
      "subscriptionId": "sub-1",
      "subscriptionExpirationDateTime": "2016-03-19T22:11:09.952Z",
      "clientState": "secret",
      "tenantId": "84bd8158-6d4d-4958-8b9f-9d6445542f95"
    }
  ],
  "validationTokens": ["eyJ0eXAi.x.y"]
}`

func TestReceiverParsesNotifications(t *testing.T) {
	r := newReceiver(t, "secret")
	status, _, body := r.send(t, http.MethodPost, "", "application/json", strings.NewReader(twoNotifications))
	if status != http.StatusAccepted {
		t.Fatalf("status = %d %q, want 202", status, body)
	}
	got := r.handled()
	if len(got) != 1 || len(got[0].Value) != 2 {
		t.Fatalf("handled = %+v", got)
	}
	n := got[0]
	if len(n.ValidationTokens) != 1 || n.ValidationTokens[0] != "eyJ0eXAi.x.y" {
		t.Errorf("validationTokens = %q", n.ValidationTokens)
	}
	c, l := n.Value[0], n.Value[1]
	exp := time.Date(2016, 3, 19, 22, 11, 9, 952e6, time.UTC)
	if c.ID != "lsgTZMr9KwAAA" || c.SubscriptionID != "sub-1" || !c.SubscriptionExpirationDateTime.Equal(exp) ||
		c.ClientState == nil || *c.ClientState != "secret" || c.ChangeType != "created" ||
		c.Resource != "Users/u1/Contacts/AAMk" || c.TenantID != "84bd8158-6d4d-4958-8b9f-9d6445542f95" || c.LifecycleEvent != "" {
		t.Errorf("change notification = %+v", c)
	}
	if rd := c.ResourceData; rd == nil || *rd != (ResourceData{ODataType: "#Microsoft.Graph.Contact",
		ODataID: "Users/u1/Contacts/AAMk", ETag: `W/"CQAAABYAAADk"`, ID: "AAMk"}) {
		t.Errorf("resourceData = %+v", c.ResourceData)
	}
	if ec := c.EncryptedContent; ec == nil || *ec != (EncryptedContent{Data: "ZGF0YQ==", DataSignature: "c2ln",
		DataKey: "a2V5", EncryptionCertificateID: "cert-1", EncryptionCertificateThumbprint: "ABCDEF"}) {
		t.Errorf("encryptedContent = %+v", c.EncryptedContent)
	}
	if l.LifecycleEvent != "missed" || l.ChangeType != "" || l.ResourceData != nil || l.EncryptedContent != nil ||
		l.SubscriptionID != "sub-1" {
		t.Errorf("lifecycle notification = %+v", l)
	}
	if r.rc.Rejected.Load() != 0 {
		t.Errorf("Rejected = %d", r.rc.Rejected.Load())
	}
}

func TestReceiverClientState(t *testing.T) {
	const body = `{"value":[
	  {"subscriptionId":"good","clientState":"secret","changeType":"updated"},
	  {"subscriptionId":"wrong","clientState":"Secret","changeType":"updated"},
	  {"subscriptionId":"null","clientState":null,"changeType":"updated"},
	  {"subscriptionId":"absent","changeType":"updated"},
	  {"subscriptionId":"longer","clientState":"secret2","changeType":"updated"}]}`
	tests := []struct {
		name        string
		clientState string
		body        string
		wantSubs    []string // subscriptions handed to Handle; nil: Handle not called
		wantRejects int64
	}{
		{"filtered", "secret", body, []string{"good"}, 4},
		{"no filter", "", body, []string{"good", "wrong", "null", "absent", "longer"}, 0},
		{"all dropped", "other", body, nil, 5},
		{"empty value", "secret", `{"value":[]}`, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(t, tt.clientState)
			status, _, _ := r.send(t, http.MethodPost, "", "application/json", strings.NewReader(tt.body))
			if status != http.StatusAccepted {
				t.Fatalf("status = %d, want 202", status)
			}
			got := r.handled()
			var subs []string
			if len(got) > 0 {
				if len(got) != 1 {
					t.Fatalf("Handle called %d times", len(got))
				}
				subs = []string{}
				for _, n := range got[0].Value {
					subs = append(subs, n.SubscriptionID)
				}
			}
			if strings.Join(subs, ",") != strings.Join(tt.wantSubs, ",") || (subs == nil) != (tt.wantSubs == nil) {
				t.Errorf("handled %q, want %q", subs, tt.wantSubs)
			}
			if n := r.rc.Rejected.Load(); n != tt.wantRejects {
				t.Errorf("Rejected = %d, want %d", n, tt.wantRejects)
			}
		})
	}
}

func TestReceiverStatuses(t *testing.T) {
	valid := `{"value":[{"subscriptionId":"s","clientState":"secret","changeType":"deleted"}]}`
	big := `{"value":[{"subscriptionId":"` + strings.Repeat("x", 4<<20) + `"}]}`
	tests := []struct {
		name       string
		method     string
		body       string
		fail       error
		wantStatus int
		wantCalls  int
	}{
		{"handled", http.MethodPost, valid, nil, http.StatusAccepted, 1},
		{"handle fails", http.MethodPost, valid, errors.New("queue full"), http.StatusInternalServerError, 1},
		{"bad JSON", http.MethodPost, `{"value":[`, nil, http.StatusBadRequest, 0},
		{"trailing garbage", http.MethodPost, valid + `x`, nil, http.StatusBadRequest, 0},
		{"not an object", http.MethodPost, `[1,2]`, nil, http.StatusBadRequest, 0},
		{"no value", http.MethodPost, `{"values":[]}`, nil, http.StatusBadRequest, 0},
		{"null", http.MethodPost, `null`, nil, http.StatusBadRequest, 0},
		{"empty body", http.MethodPost, ``, nil, http.StatusBadRequest, 0},
		{"wrong type", http.MethodPost, `{"value":[{"subscriptionExpirationDateTime":"tomorrow"}]}`, nil, http.StatusBadRequest, 0},
		{"over 4 MiB", http.MethodPost, big, nil, http.StatusBadRequest, 0},
		{"GET", http.MethodGet, ``, nil, http.StatusMethodNotAllowed, 0},
		{"GET handshake", http.MethodGet + "?validationToken=t", ``, nil, http.StatusMethodNotAllowed, 0},
		{"PUT", http.MethodPut, valid, nil, http.StatusMethodNotAllowed, 0},
		{"DELETE", http.MethodDelete, ``, nil, http.StatusMethodNotAllowed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(t, "secret")
			r.fail = tt.fail
			method, query, _ := strings.Cut(tt.method, "?")
			if query != "" {
				query = "?" + query
			}
			status, _, body := r.send(t, method, query, "application/json", strings.NewReader(tt.body))
			if status != tt.wantStatus {
				t.Fatalf("status = %d %q, want %d", status, body, tt.wantStatus)
			}
			if n := len(r.handled()); n != tt.wantCalls {
				t.Errorf("Handle called %d times, want %d", n, tt.wantCalls)
			}
			if tt.fail != nil && strings.Contains(body, tt.fail.Error()) {
				t.Errorf("answer %q echoes the error", body)
			}
		})
	}
}

func TestReceiverAcceptsUpTo4MiB(t *testing.T) {
	r := newReceiver(t, "")
	head, tail := `{"value":[{"subscriptionId":"`, `"}]}`
	body := head + strings.Repeat("x", 4<<20-len(head)-len(tail)) + tail
	if status, _, _ := r.send(t, http.MethodPost, "", "application/json", strings.NewReader(body)); status != http.StatusAccepted {
		t.Fatalf("status = %d for a body of exactly 4 MiB", status)
	}
}

func TestReceiverWithoutHandle(t *testing.T) {
	srv := httptest.NewServer(&Receiver{})
	defer srv.Close()
	resp, err := srv.Client().Post(srv.URL, "application/json", strings.NewReader(`{"value":[{"subscriptionId":"s"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status = %d, want 202", resp.StatusCode)
	}
}

// seal builds an encryptedContent the way Graph does, but with the given
// padded plaintext, so that Decrypt's padding checks can be reached with a
// valid signature. keyLen is the AES key length.
func seal(t *testing.T, pub *rsa.PublicKey, keyLen int, padded []byte) EncryptedContent {
	t.Helper()
	key := make([]byte, keyLen)
	rand.Read(key)
	wrapped, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Clone(padded)
	if len(data) > 0 && len(data)%aes.BlockSize == 0 && keyLen >= aes.BlockSize {
		block, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		cipher.NewCBCEncrypter(block, key[:aes.BlockSize]).CryptBlocks(data, data)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(data)
	enc := base64.StdEncoding.EncodeToString
	return EncryptedContent{Data: enc(data), DataSignature: enc(mac.Sum(nil)), DataKey: enc(wrapped)}
}

func TestDecrypt(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte(`{"id":"AAMk"}`) // 13 bytes: 3 bytes of padding
	padded := append(bytes.Clone(msg), 3, 3, 3)
	block := bytes.Repeat([]byte{16}, 16)
	tests := []struct {
		name  string
		key   *rsa.PrivateKey
		ec    EncryptedContent
		want  []byte
		check func(error) bool // nil: success
	}{
		{"AES-256", key, seal(t, &key.PublicKey, 32, padded), msg, nil},
		{"AES-128 key", key, seal(t, &key.PublicKey, 16, padded), msg, nil},
		{"whole block of padding", key, seal(t, &key.PublicKey, 32, append(bytes.Clone(msg[:0]), block...)), []byte{}, nil},
		{"padding byte 0", key, seal(t, &key.PublicKey, 32, append(bytes.Clone(msg), 3, 3, 0)), nil,
			func(err error) bool { return errors.Is(err, errBadPadding) }},
		{"padding byte 17", key, seal(t, &key.PublicKey, 32, append(bytes.Clone(msg), 3, 3, 17)), nil,
			func(err error) bool { return errors.Is(err, errBadPadding) }},
		{"uneven padding", key, seal(t, &key.PublicKey, 32, append(bytes.Clone(msg), 3, 2, 3)), nil,
			func(err error) bool { return errors.Is(err, errBadPadding) }},
		{"data not whole blocks", key, seal(t, &key.PublicKey, 32, msg), nil,
			func(err error) bool { return err != nil && !errors.Is(err, ErrBadSignature) }},
		{"empty data", key, seal(t, &key.PublicKey, 32, nil), nil,
			func(err error) bool { return err != nil && !errors.Is(err, ErrBadSignature) }},
		{"key of 7 bytes", key, seal(t, &key.PublicKey, 7, padded), nil,
			func(err error) bool { _, ok := errors.AsType[aes.KeySizeError](err); return ok }},
		{"wrong private key", other, seal(t, &key.PublicKey, 32, padded), nil,
			func(err error) bool { return errors.Is(err, rsa.ErrDecryption) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decrypt(tt.key, tt.ec)
			if tt.check == nil {
				if err != nil || !bytes.Equal(got, tt.want) {
					t.Fatalf("Decrypt = %q, %v, want %q", got, err, tt.want)
				}
				return
			}
			if got != nil || !tt.check(err) {
				t.Fatalf("Decrypt = %q, %v", got, err)
			}
		})
	}
}

// TestDecryptChecksSignatureFirst: a tampered ciphertext with bad padding
// must be reported as a bad signature, never as bad padding (no padding
// oracle).
func TestDecryptChecksSignatureFirst(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec := seal(t, &key.PublicKey, 32, append([]byte(`{"id":"AAMk"}`), 3, 3, 3))
	enc := base64.StdEncoding
	for i := range 16 {
		data, _ := enc.DecodeString(ec.Data)
		data[i] ^= 0xff // garbles the padding of the single block
		bad := ec
		bad.Data = enc.EncodeToString(data)
		if _, err := Decrypt(key, bad); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("byte %d altered: err = %v, want ErrBadSignature", i, err)
		}
	}
	for _, member := range []string{"data", "dataKey", "dataSignature"} {
		bad := ec
		switch member {
		case "data":
			bad.Data = "not base64!"
		case "dataKey":
			bad.DataKey = "not base64!"
		case "dataSignature":
			bad.DataSignature = "not base64!"
		}
		_, err := Decrypt(key, bad)
		if _, ok := errors.AsType[base64.CorruptInputError](err); !ok || !strings.HasPrefix(err.Error(), "decrypt: "+member+":") {
			t.Errorf("%s not base64: err = %v", member, err)
		}
	}
}
