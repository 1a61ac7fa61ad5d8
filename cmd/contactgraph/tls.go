package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph"
)

const tlsSecret = "tls-self-signed"

// loadCertificate returns the certificate files given, or the self-signed
// certificate for localhost and 127.0.0.1 kept in the store, generating it
// on first use so that every restart and replica serves the same one.
func loadCertificate(ctx context.Context, store contactgraph.Store, certFile, keyFile string) (tls.Certificate, error) {
	if certFile != "" {
		return tls.LoadX509KeyPair(certFile, keyFile)
	}
	pair, err := store.Secret(ctx, tlsSecret, selfSigned)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("tls certificate: %w", err)
	}
	return tls.X509KeyPair(pair, pair)
}

// selfSigned makes a certificate and key for localhost, PEM-encoded together.
func selfSigned() ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"contactgraph"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})...), nil
}

// cert prints the self-signed certificate of serve --tls, so that clients
// can trust it (curl --cacert, NODE_EXTRA_CA_CERTS). A database that does
// not exist is refused unless --create.
func (m *Main) cert(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cert", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	db := fs.String("db", m.env("DB", "contactgraph.db"), "database (env CONTACTGRAPH_DB)")
	create := fs.Bool("create", m.envBool("CREATE"), "create the database if it does not exist (env CONTACTGRAPH_CREATE)")
	if err := m.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("cert: unexpected argument %q", fs.Arg(0))
	}
	store, err := openStoreWith(ctx, *db, slog.New(slog.NewTextHandler(m.Stderr, nil)), storeOptions{MustExist: !*create})
	if err != nil {
		return noDatabaseHint("cert", *db, err)
	}
	defer store.Close()
	pair, err := store.Secret(ctx, tlsSecret, selfSigned)
	if err != nil {
		return err
	}
	for rest := pair; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil
		}
		if strings.Contains(b.Type, "CERTIFICATE") {
			_, err := m.Stdout.Write(pem.EncodeToMemory(b))
			return err
		}
	}
}
