package client

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// ChangeNotification is one item of a notification POST. A change
// notification carries ChangeType ("created", "updated", "deleted"),
// Resource, ResourceData and, for a rich notification, EncryptedContent. A
// lifecycle notification carries LifecycleEvent ("reauthorizationRequired",
// "subscriptionRemoved", "missed") and no resource. ClientState is nil when
// Graph sent null or nothing.
type ChangeNotification struct {
	ID                             string            `json:"id,omitempty"`
	SubscriptionID                 string            `json:"subscriptionId"`
	SubscriptionExpirationDateTime time.Time         `json:"subscriptionExpirationDateTime,omitzero"`
	ClientState                    *string           `json:"clientState"`
	ChangeType                     string            `json:"changeType,omitempty"`
	Resource                       string            `json:"resource,omitempty"`
	TenantID                       string            `json:"tenantId,omitempty"`
	LifecycleEvent                 string            `json:"lifecycleEvent,omitempty"`
	ResourceData                   *ResourceData     `json:"resourceData,omitempty"`
	EncryptedContent               *EncryptedContent `json:"encryptedContent,omitempty"`
}

// ResourceData identifies the changed item of a change notification.
type ResourceData struct {
	ODataType string `json:"@odata.type"`
	ODataID   string `json:"@odata.id"`
	ETag      string `json:"@odata.etag"`
	ID        string `json:"id"`
}

// EncryptedContent is the encryptedContent member of a rich change
// notification; Decrypt turns it back into the item's JSON.
type EncryptedContent struct {
	Data                            string `json:"data"`
	DataSignature                   string `json:"dataSignature"`
	DataKey                         string `json:"dataKey"`
	EncryptionCertificateID         string `json:"encryptionCertificateId"`
	EncryptionCertificateThumbprint string `json:"encryptionCertificateThumbprint"`
}

// Notifications is the body of a notification POST. ValidationTokens, sent
// with rich notifications, holds one JWT per app and tenant in the batch.
type Notifications struct {
	Value            []ChangeNotification `json:"value"`
	ValidationTokens []string             `json:"validationTokens,omitempty"`
}

// ErrBadSignature is returned by Decrypt when dataSignature does not match
// the data: the content was altered or was not made with the key.
var ErrBadSignature = errors.New("notification: dataSignature does not match data")

// errBadPadding is returned by Decrypt when the decrypted data does not end
// in valid PKCS7 padding.
var errBadPadding = errors.New("bad PKCS7 padding")

// Decrypt recovers the item's JSON from a rich notification's content:
//  1. the AES key is dataKey decrypted with key (RSA-OAEP, SHA-1, no label);
//  2. dataSignature must equal HMAC-SHA256 of the base64-decoded data, keyed
//     with the AES key, compared in constant time, else ErrBadSignature;
//  3. data is decrypted with AES-CBC, IV = the first 16 bytes of the AES
//     key, and its PKCS7 padding removed, checked strictly.
//
// Bad base64 in any member, a dataKey that key cannot decrypt (wrapping
// rsa.ErrDecryption) and bad padding or block length are wrapped errors.
// The signature is checked before anything is decrypted with the AES key.
func Decrypt(key *rsa.PrivateKey, ec EncryptedContent) ([]byte, error) {
	wrapped, err := base64.StdEncoding.DecodeString(ec.DataKey)
	if err != nil {
		return nil, fmt.Errorf("decrypt: dataKey: %w", err)
	}
	data, err := base64.StdEncoding.DecodeString(ec.Data)
	if err != nil {
		return nil, fmt.Errorf("decrypt: data: %w", err)
	}
	sig, err := base64.StdEncoding.DecodeString(ec.DataSignature)
	if err != nil {
		return nil, fmt.Errorf("decrypt: dataSignature: %w", err)
	}
	aesKey, err := rsa.DecryptOAEP(sha1.New(), nil, key, wrapped, nil)
	if err != nil {
		return nil, fmt.Errorf("decrypt: dataKey: %w", err)
	}
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return nil, fmt.Errorf("decrypt: dataKey holds no AES key: %w", err)
	}
	mac := hmac.New(sha256.New, aesKey)
	mac.Write(data)
	if !hmac.Equal(mac.Sum(nil), sig) {
		return nil, ErrBadSignature
	}
	if len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("decrypt: data is %d bytes, not whole AES blocks", len(data))
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, aesKey[:aes.BlockSize]).CryptBlocks(plain, data)
	n := int(plain[len(plain)-1])
	if n == 0 || n > aes.BlockSize {
		return nil, fmt.Errorf("decrypt: %w", errBadPadding)
	}
	for _, b := range plain[len(plain)-n:] {
		if int(b) != n {
			return nil, fmt.Errorf("decrypt: %w", errBadPadding)
		}
	}
	return plain[:len(plain)-n], nil
}

// maxNotificationBody bounds the body of a notification POST.
const maxNotificationBody = 4 << 20

// Receiver is an http.Handler for a subscription's notificationUrl and
// lifecycleNotificationUrl. It answers:
//   - a POST with a validationToken query parameter (the subscription
//     handshake): 200, Content-Type text/plain; charset=utf-8, with the token
//     as decoded from the query as the body, at once, without calling Handle;
//   - any other POST: its body must be Notifications JSON with a value array,
//     at most 4 MiB, else 400. If ClientState is set, items whose clientState
//     differs (or is null) are dropped and counted in Rejected. Handle gets
//     the rest, unless none is left; the answer is 202 when Handle returns
//     nil (or is not called) and 500 when it returns an error, so that Graph
//     delivers again. The error text is not echoed;
//   - any other method: 405.
//
// Handle runs within the request: Graph waits 3 seconds for an answer, so
// it should persist the notifications and return, not process them. A nil
// Handle accepts and discards. A Receiver must not be copied after first
// use.
type Receiver struct {
	// ClientState, when not empty, is the clientState of the subscriptions
	// this URL serves; it is compared in constant time.
	ClientState string
	// Handle receives the notifications that passed the clientState check.
	Handle func(ctx context.Context, n Notifications) error
	// Rejected counts items dropped for a wrong clientState.
	Rejected atomic.Int64
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if q := r.URL.Query(); q.Has("validationToken") {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, q.Get("validationToken"))
		return
	}
	n, err := readNotifications(w, r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n.Value = rc.filter(n.Value)
	if len(n.Value) > 0 && rc.Handle != nil {
		if err := rc.Handle(r.Context(), n); err != nil {
			http.Error(w, "notifications not processed", http.StatusInternalServerError)
			return
		}
	}
	w.WriteHeader(http.StatusAccepted)
}

// readNotifications decodes the body of r; its error is safe to answer.
func readNotifications(w http.ResponseWriter, r *http.Request) (Notifications, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxNotificationBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return Notifications{}, errors.New("body over 4 MiB")
		}
		return Notifications{}, errors.New("body not read")
	}
	var n Notifications
	if err := json.Unmarshal(body, &n); err != nil {
		return Notifications{}, errors.New("body is not notification JSON")
	}
	if n.Value == nil {
		return Notifications{}, errors.New("body has no value array")
	}
	return n, nil
}

// filter keeps the items whose clientState equals rc.ClientState, counting
// the others in Rejected; with no ClientState it keeps all.
func (rc *Receiver) filter(items []ChangeNotification) []ChangeNotification {
	if rc.ClientState == "" {
		return items
	}
	kept := items[:0]
	for _, it := range items {
		if it.ClientState != nil && subtle.ConstantTimeCompare([]byte(*it.ClientState), []byte(rc.ClientState)) == 1 {
			kept = append(kept, it)
		} else {
			rc.Rejected.Add(1)
		}
	}
	return kept
}
