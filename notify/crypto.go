package notify

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/contactgraph/contactgraph"
)

// EncryptedContent is the encryptedContent member of a rich change
// notification (includeResourceData), with Graph's JSON names.
type EncryptedContent struct {
	Data                            string `json:"data"`
	DataSignature                   string `json:"dataSignature"`
	DataKey                         string `json:"dataKey"`
	EncryptionCertificateID         string `json:"encryptionCertificateId"`
	EncryptionCertificateThumbprint string `json:"encryptionCertificateThumbprint"`
}

// Key sizes Graph accepts for an encryptionCertificate.
const (
	minKeyBits = 2048
	maxKeyBits = 4096
)

// ParseEncryptionCertificate decodes a subscription's encryptionCertificate:
// base64 (standard encoding, line breaks ignored) of a DER X.509 certificate
// holding an RSA public key of 2,048 to 4,096 bits.
//
// Every error is a *contactgraph.Error with code EInvalid whose Message is a
// sentence fit for a Graph 400 answer:
//   - "encryptionCertificate is not valid base64."
//   - "encryptionCertificate is not an X.509 certificate."
//   - "encryptionCertificate must hold an RSA public key of 2048 to 4096 bits."
//
// The underlying cause, if any, is wrapped for logs. The certificate's
// validity period and issuer are not checked: Graph uses the certificate
// only as a carrier of the public key.
func ParseEncryptionCertificate(b64 string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, &contactgraph.Error{Code: contactgraph.EInvalid,
			Message: "encryptionCertificate is not valid base64.", Err: err}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, &contactgraph.Error{Code: contactgraph.EInvalid,
			Message: "encryptionCertificate is not an X.509 certificate.", Err: err}
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || pub.N.BitLen() < minKeyBits || pub.N.BitLen() > maxKeyBits {
		return nil, contactgraph.Errorf(contactgraph.EInvalid,
			"encryptionCertificate must hold an RSA public key of %d to %d bits.", minKeyBits, maxKeyBits)
	}
	return cert, nil
}

// Thumbprint is the certificate's SHA-1 thumbprint as Graph writes it in
// encryptionCertificateThumbprint: the hex of SHA-1 over the DER, upper case.
func Thumbprint(cert *x509.Certificate) string {
	return fmt.Sprintf("%X", sha1.Sum(cert.Raw))
}

// Encrypt encrypts plaintext (the item's JSON) for cert as Graph does:
//   - a fresh random 32-byte AES key per call, read from rand;
//   - DataKey = base64 of the key encrypted with RSA-OAEP (SHA-1, no label)
//     to cert's public key;
//   - Data = base64 of plaintext encrypted with AES-256-CBC, PKCS7 padding,
//     IV = the first 16 bytes of the key;
//   - DataSignature = base64 of HMAC-SHA256 over the encrypted data bytes
//     (not their base64), keyed with the AES key.
//
// All base64 is the standard encoding with padding. EncryptionCertificateID
// is certID as given; EncryptionCertificateThumbprint is Thumbprint(cert).
// rand is crypto/rand.Reader in production; it also feeds the OAEP padding.
// Encrypt fails if cert holds no RSA key or rand fails; it does not check
// the key size, which ParseEncryptionCertificate did when the subscription
// was made.
func Encrypt(rand io.Reader, cert *x509.Certificate, certID string, plaintext []byte) (EncryptedContent, error) {
	if cert == nil {
		return EncryptedContent{}, errors.New("encrypt: no certificate")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return EncryptedContent{}, fmt.Errorf("encrypt: certificate holds a %T, not an RSA key", cert.PublicKey)
	}
	key := make([]byte, 32)
	if _, err := io.ReadFull(rand, key); err != nil {
		return EncryptedContent{}, fmt.Errorf("encrypt: read key: %w", err)
	}
	dataKey, err := rsa.EncryptOAEP(sha1.New(), rand, pub, key, nil)
	if err != nil {
		return EncryptedContent{}, fmt.Errorf("encrypt: wrap key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return EncryptedContent{}, fmt.Errorf("encrypt: %w", err)
	}
	data := pad(plaintext, aes.BlockSize)
	cipher.NewCBCEncrypter(block, key[:aes.BlockSize]).CryptBlocks(data, data)
	mac := hmac.New(sha256.New, key)
	mac.Write(data)
	return EncryptedContent{
		Data:                            base64.StdEncoding.EncodeToString(data),
		DataSignature:                   base64.StdEncoding.EncodeToString(mac.Sum(nil)),
		DataKey:                         base64.StdEncoding.EncodeToString(dataKey),
		EncryptionCertificateID:         certID,
		EncryptionCertificateThumbprint: Thumbprint(cert),
	}, nil
}

// pad returns a new slice holding b with PKCS7 padding to a multiple of
// size: 1 to size bytes, each equal to their count.
func pad(b []byte, size int) []byte {
	n := size - len(b)%size
	out := make([]byte, len(b)+n)
	copy(out, b)
	for i := len(b); i < len(out); i++ {
		out[i] = byte(n)
	}
	return out
}
