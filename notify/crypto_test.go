package notify_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/client"
	"github.com/contactgraph/contactgraph/notify"
)

// selfSigned returns a self-signed certificate for pub, signed with priv.
func selfSigned(t testing.TB, pub, priv any) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "notifications"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatalf("create certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	return cert
}

// rsaKeys are generated once per size: 4096 bits takes a while.
var rsaKeys sync.Map // int -> *rsa.PrivateKey

func rsaCert(t testing.TB, bits int) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	k, ok := rsaKeys.Load(bits)
	if !ok {
		key, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatalf("generate RSA-%d: %v", bits, err)
		}
		k, _ = rsaKeys.LoadOrStore(bits, key)
	}
	key := k.(*rsa.PrivateKey)
	return key, selfSigned(t, &key.PublicKey, key)
}

func b64(cert *x509.Certificate) string { return base64.StdEncoding.EncodeToString(cert.Raw) }

func TestParseEncryptionCertificate(t *testing.T) {
	_, c1024 := rsaCert(t, 1024)
	_, c2048 := rsaCert(t, 2048)
	_, c4096 := rsaCert(t, 4096)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cEC := selfSigned(t, &ec.PublicKey, ec)
	const (
		notB64  = "encryptionCertificate is not valid base64."
		notCert = "encryptionCertificate is not an X.509 certificate."
		notRSA  = "encryptionCertificate must hold an RSA public key of 2048 to 4096 bits."
	)
	wrapped := b64(c2048)
	var lines strings.Builder
	for i := 0; i < len(wrapped); i += 64 {
		lines.WriteString(wrapped[i:min(i+64, len(wrapped))] + "\r\n")
	}
	tests := []struct {
		name string
		in   string
		want string // the 400 message; "" for success
	}{
		{"not base64", "MIIB!not*base64", notB64},
		{"url-safe alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(b64(c2048)) + "-_", notB64},
		{"empty", "", notCert},
		{"base64 of text", base64.StdEncoding.EncodeToString([]byte("hello, world")), notCert},
		{"truncated DER", b64(c2048)[:400], notCert},
		{"ECDSA", b64(cEC), notRSA},
		{"RSA 1024", b64(c1024), notRSA},
		{"RSA 2048", b64(c2048), ""},
		{"RSA 2048 with line breaks", lines.String(), ""},
		{"RSA 4096", b64(c4096), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := notify.ParseEncryptionCertificate(tt.in)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if cert == nil || cert.PublicKey.(*rsa.PublicKey).N.BitLen() < 2048 {
					t.Fatalf("cert = %v", cert)
				}
				return
			}
			if cert != nil {
				t.Errorf("cert = %v, want nil", cert)
			}
			if code := contactgraph.ErrorCode(err); code != contactgraph.EInvalid {
				t.Errorf("code = %q, want %q (err %v)", code, contactgraph.EInvalid, err)
			}
			if msg := contactgraph.ErrorMessage(err); msg != tt.want {
				t.Errorf("message = %q, want %q", msg, tt.want)
			}
		})
	}
}

func TestThumbprint(t *testing.T) {
	_, cert := rsaCert(t, 2048)
	sum := sha1.Sum(cert.Raw)
	want := strings.ToUpper(hex.EncodeToString(sum[:]))
	got := notify.Thumbprint(cert)
	if got != want {
		t.Fatalf("Thumbprint = %q, want %q", got, want)
	}
	if len(got) != 40 || strings.ToUpper(got) != got {
		t.Fatalf("Thumbprint %q is not 40 upper-case hex digits", got)
	}
}

// TestEncryptFollowsGraphFormat decrypts by hand, with the standard library
// only, step by step as Graph's documentation tells receivers to, so that
// the format is checked and not just the symmetry with client.Decrypt.
func TestEncryptFollowsGraphFormat(t *testing.T) {
	key, cert := rsaCert(t, 2048)
	for _, plaintext := range []string{
		``,
		`{}`,
		`{"id":"AAMk","displayName":"Ada Lovelace"}`, // 42 bytes
		strings.Repeat("x", 16),                      // a whole block: a full block of padding
		strings.Repeat("é", 1000),
	} {
		ec, err := notify.Encrypt(rand.Reader, cert, "cert-7", []byte(plaintext))
		if err != nil {
			t.Fatal(err)
		}
		if ec.EncryptionCertificateID != "cert-7" || ec.EncryptionCertificateThumbprint != notify.Thumbprint(cert) {
			t.Errorf("id, thumbprint = %q, %q", ec.EncryptionCertificateID, ec.EncryptionCertificateThumbprint)
		}
		// 1. dataKey: base64, RSA-OAEP with SHA-1 (OAEPWithSHA1AndMGF1Padding), no label.
		wrapped, err := base64.StdEncoding.DecodeString(ec.DataKey)
		if err != nil {
			t.Fatalf("dataKey base64: %v", err)
		}
		if len(wrapped) != 256 {
			t.Errorf("dataKey is %d bytes, want the 256 of an RSA-2048 block", len(wrapped))
		}
		symKey, err := rsa.DecryptOAEP(sha1.New(), nil, key, wrapped, nil)
		if err != nil {
			t.Fatalf("dataKey OAEP-SHA1: %v", err)
		}
		if len(symKey) != 32 {
			t.Fatalf("symmetric key is %d bytes, want 32 (AES-256)", len(symKey))
		}
		// 2. dataSignature: HMAC-SHA256 over the decoded data bytes, keyed with the symmetric key.
		data, err := base64.StdEncoding.DecodeString(ec.Data)
		if err != nil {
			t.Fatalf("data base64: %v", err)
		}
		mac := hmac.New(sha256.New, symKey)
		mac.Write(data)
		if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); ec.DataSignature != want {
			t.Errorf("dataSignature = %q, want %q", ec.DataSignature, want)
		}
		// 3. data: AES-CBC, IV = the first 16 bytes of the key, PKCS7 padding.
		wantLen := (len(plaintext)/16 + 1) * 16
		if len(data) != wantLen {
			t.Fatalf("data is %d bytes, want %d", len(data), wantLen)
		}
		block, err := aes.NewCipher(symKey)
		if err != nil {
			t.Fatal(err)
		}
		plain := make([]byte, len(data))
		cipher.NewCBCDecrypter(block, symKey[:16]).CryptBlocks(plain, data)
		n := int(plain[len(plain)-1])
		if n < 1 || n > 16 || !bytes.Equal(plain[len(plain)-n:], bytes.Repeat([]byte{byte(n)}, n)) {
			t.Fatalf("padding %x is not PKCS7", plain[len(plain)-16:])
		}
		if got := string(plain[:len(plain)-n]); got != plaintext {
			t.Fatalf("plaintext = %q, want %q", got, plaintext)
		}
	}
}

// TestEncryptUsesFreshKeys checks that two calls use two keys, from rand.
func TestEncryptUsesFreshKeys(t *testing.T) {
	key, cert := rsaCert(t, 2048)
	plaintext := []byte(`{"id":"1"}`)
	a, err := notify.Encrypt(rand.Reader, cert, "c", plaintext)
	if err != nil {
		t.Fatal(err)
	}
	b, err := notify.Encrypt(rand.Reader, cert, "c", plaintext)
	if err != nil {
		t.Fatal(err)
	}
	ka, kb := unwrap(t, key, a.DataKey), unwrap(t, key, b.DataKey)
	if bytes.Equal(ka, kb) || a.Data == b.Data {
		t.Fatal("two calls used the same key")
	}
	// The key is the first 32 bytes rand yields.
	fixed := bytes.Repeat([]byte{0x42}, 32)
	c, err := notify.Encrypt(bytes.NewReader(append(fixed, make([]byte, 1024)...)), cert, "c", plaintext)
	if err != nil {
		t.Fatal(err)
	}
	if kc := unwrap(t, key, c.DataKey); !bytes.Equal(kc, fixed) {
		t.Fatalf("key = %x, want the bytes read from rand", kc)
	}
}

func TestEncryptErrors(t *testing.T) {
	_, cert := rsaCert(t, 2048)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cEC := selfSigned(t, &ec.PublicKey, ec)
	boom := errors.New("no entropy")
	if _, err := notify.Encrypt(iotest.ErrReader(boom), cert, "c", nil); !errors.Is(err, boom) {
		t.Errorf("failing rand: err = %v, want it wrapped", err)
	}
	if _, err := notify.Encrypt(rand.Reader, cEC, "c", nil); err == nil {
		t.Error("ECDSA certificate: no error")
	}
	if _, err := notify.Encrypt(rand.Reader, nil, "c", nil); err == nil {
		t.Error("nil certificate: no error")
	}
}

// unwrap returns the AES key of a dataKey.
func unwrap(t *testing.T, key *rsa.PrivateKey, dataKey string) []byte {
	t.Helper()
	k, err := rsa.DecryptOAEP(sha1.New(), nil, key, mustB64(t, dataKey), nil)
	if err != nil {
		t.Fatalf("dataKey: %v", err)
	}
	return k
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestClientDecrypts round-trips through the receiver's Decrypt, over the
// JSON a notification carries, for both ends of the allowed key sizes.
func TestClientDecrypts(t *testing.T) {
	for _, bits := range []int{2048, 4096} {
		key, cert := rsaCert(t, bits)
		plaintext := []byte(`{"@odata.type":"#Microsoft.Graph.Contact","id":"AAMk","givenName":"Ada"}`)
		ec, err := notify.Encrypt(rand.Reader, cert, "cert-1", plaintext)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(ec)
		if err != nil {
			t.Fatal(err)
		}
		var got client.EncryptedContent
		if err := json.Unmarshal(raw, &got); err != nil {
			t.Fatal(err)
		}
		if got.EncryptionCertificateID != "cert-1" || got.EncryptionCertificateThumbprint != notify.Thumbprint(cert) {
			t.Errorf("RSA-%d: JSON names differ: %s", bits, raw)
		}
		out, err := client.Decrypt(key, got)
		if err != nil {
			t.Fatalf("RSA-%d: Decrypt: %v", bits, err)
		}
		if !bytes.Equal(out, plaintext) {
			t.Fatalf("RSA-%d: Decrypt = %s, want %s", bits, out, plaintext)
		}
	}
}

func TestEncryptedContentJSONNames(t *testing.T) {
	raw, err := json.Marshal(notify.EncryptedContent{Data: "d", DataSignature: "s", DataKey: "k",
		EncryptionCertificateID: "i", EncryptionCertificateThumbprint: "t"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"data":"d","dataSignature":"s","dataKey":"k","encryptionCertificateId":"i","encryptionCertificateThumbprint":"t"}`
	if string(raw) != want {
		t.Fatalf("JSON = %s, want %s", raw, want)
	}
}

// TestTamperingIsDetected alters each member of a real encryptedContent and
// checks that client.Decrypt refuses it with the right error.
func TestTamperingIsDetected(t *testing.T) {
	key, cert := rsaCert(t, 2048)
	ec, err := notify.Encrypt(rand.Reader, cert, "c", []byte(`{"id":"1","displayName":"Ada"}`))
	if err != nil {
		t.Fatal(err)
	}
	otherKey, otherCert := rsaCert(t, 4096)
	forOther, err := notify.Encrypt(rand.Reader, otherCert, "c", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(s string, i int) string {
		b := mustB64(t, s)
		b[i] ^= 0x01
		return base64.StdEncoding.EncodeToString(b)
	}
	tests := []struct {
		name   string
		key    *rsa.PrivateKey
		mutate func(*client.EncryptedContent)
		check  func(error) bool
	}{
		{"bit flipped in data", key, func(e *client.EncryptedContent) { e.Data = flip(e.Data, 3) },
			func(err error) bool { return errors.Is(err, client.ErrBadSignature) }},
		{"last block dropped", key, func(e *client.EncryptedContent) {
			b := mustB64(t, e.Data)
			e.Data = base64.StdEncoding.EncodeToString(b[:len(b)-16])
		}, func(err error) bool { return errors.Is(err, client.ErrBadSignature) }},
		{"bit flipped in dataSignature", key, func(e *client.EncryptedContent) { e.DataSignature = flip(e.DataSignature, 0) },
			func(err error) bool { return errors.Is(err, client.ErrBadSignature) }},
		{"signature of other content", key, func(e *client.EncryptedContent) { e.DataSignature = forOther.DataSignature },
			func(err error) bool { return errors.Is(err, client.ErrBadSignature) }},
		{"bit flipped in dataKey", key, func(e *client.EncryptedContent) { e.DataKey = flip(e.DataKey, 10) },
			func(err error) bool { return errors.Is(err, rsa.ErrDecryption) }},
		{"wrong private key", otherKey, func(e *client.EncryptedContent) {},
			func(err error) bool { return errors.Is(err, rsa.ErrDecryption) }},
		{"dataKey not base64", key, func(e *client.EncryptedContent) { e.DataKey = "%%%" },
			func(err error) bool { _, ok := errors.AsType[base64.CorruptInputError](err); return ok }},
		{"data not base64", key, func(e *client.EncryptedContent) { e.Data = e.Data[:len(e.Data)-1] + "!" },
			func(err error) bool { _, ok := errors.AsType[base64.CorruptInputError](err); return ok }},
		{"dataSignature not base64", key, func(e *client.EncryptedContent) { e.DataSignature = "a" },
			func(err error) bool { _, ok := errors.AsType[base64.CorruptInputError](err); return ok }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := client.EncryptedContent(ec)
			tt.mutate(&e)
			out, err := client.Decrypt(tt.key, e)
			if out != nil || !tt.check(err) {
				t.Fatalf("Decrypt = %q, %v", out, err)
			}
		})
	}
	if _, err := client.Decrypt(key, client.EncryptedContent(ec)); err != nil {
		t.Fatalf("untouched content: %v", err)
	}
}
