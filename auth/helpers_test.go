package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/golang-jwt/jwt/v5"
)

// t0 is the clock of most tests.
var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func at(t time.Time) func() time.Time { return func() time.Time { return t } }

// memSecrets is an in-memory SecretStore.
type memSecrets struct {
	mu   sync.Mutex
	m    map[string][]byte
	gens int // calls of a generator
}

func (s *memSecrets) Secret(_ context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[name]; ok {
		return v, nil
	}
	s.gens++
	v, err := gen()
	if err != nil {
		return nil, err
	}
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[name] = v
	return v, nil
}

func (s *memSecrets) Secrets(_ context.Context, prefix string) (map[string][]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]byte{}
	for k, v := range s.m {
		if strings.HasPrefix(k, prefix) {
			out[k] = v
		}
	}
	return out, nil
}

func (s *memSecrets) DeleteSecret(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[name]; !ok {
		return contactgraph.Errorf(contactgraph.ENotFound, "no secret %s", name)
	}
	delete(s.m, name)
	return nil
}

// failingSecrets is a SecretStore whose storage is down.
type failingSecrets struct{}

func (failingSecrets) Secret(context.Context, string, func() ([]byte, error)) ([]byte, error) {
	return nil, errors.New("storage is down")
}

func (failingSecrets) Secrets(context.Context, string) (map[string][]byte, error) {
	return nil, errors.New("storage is down")
}

func (failingSecrets) DeleteSecret(context.Context, string) error {
	return errors.New("storage is down")
}

// fixedSecrets returns a store that holds the test signing key of
// testdata, so that tests need not generate one and minted tokens are
// reproducible.
func fixedSecrets(t testing.TB) *memSecrets {
	t.Helper()
	b, err := os.ReadFile("testdata/signing-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	return &memSecrets{m: map[string][]byte{SigningKeySecret: b}}
}

// newLocal returns a Local on the test key whose clock stands at t0 unless
// opts says otherwise.
func newLocal(t testing.TB, opts LocalOptions) *Local {
	t.Helper()
	if opts.Now == nil {
		opts.Now = at(t0)
	}
	l, err := NewLocal(context.Background(), fixedSecrets(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// otherKey is an RSA key that no Local has.
var otherKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// mint mints a token or fails the test.
func mint(t testing.TB, l *Local, o MintOptions) string {
	t.Helper()
	tok, err := l.Mint(o)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// mintClaims returns the claims Mint would sign for o, for a test to change.
func mintClaims(t testing.TB, l *Local, o MintOptions) *claims {
	t.Helper()
	c, err := l.claims(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sign signs c with method and key, with kid in the header when not empty.
func sign(t testing.TB, method jwt.SigningMethod, key any, kid string, c jwt.Claims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wantRefused checks that err is EUnauthenticated with message msg.
func wantRefused(t testing.TB, err error, msg string) {
	t.Helper()
	var e *contactgraph.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T), want a *contactgraph.Error", err, err)
	}
	if e.Code != contactgraph.EUnauthenticated || e.Message != msg {
		t.Fatalf("error %s %q, want %s %q", e.Code, e.Message, contactgraph.EUnauthenticated, msg)
	}
}

func errorsIsUnknownKey(err error) bool { return errors.Is(err, errUnknownKey) }
