package delta

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// Collection names the kind of collection a token tracks.
type Collection byte

// Collections.
const (
	Contacts    Collection = 1 // the contacts of one folder
	Folders     Collection = 2 // the folders of a mailbox, or the children of one folder
	OrgContacts Collection = 3 // the org contacts of a tenant
)

// Token is the state a delta link carries. Every field is covered by the
// token's signature.
type Token struct {
	Skip       bool       // a nextLink inside a round (else a deltaLink)
	Collection Collection // what is tracked
	Binding    Binding    // whose collection, for whom: see Bind
	Since      int64      // the round's lower bound (exclusive)
	Until      int64      // the round's upper bound (inclusive); 0 in a deltaLink
	After      int64      // the keyset position inside the round
	Issued     time.Time  // when the round's lower bound was taken: expiry runs from here
	Select     []string   // the $select of the first request, validated
	Filter     []string   // org contacts: ids of the $filter
}

// Binding is a digest of what a token is bound to: the collection, the
// tenant, the mailbox, the folder and the caller. Tokens carry the digest,
// not the ids, so they are short and reveal nothing.
type Binding [16]byte

// Bind returns the binding of a collection to a caller.
func Bind(c Collection, tenant, owner, scope, caller string) Binding {
	h := sha256.New()
	h.Write([]byte{byte(c)})
	for _, s := range []string{tenant, owner, scope, caller} {
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	var b Binding
	copy(b[:], h.Sum(nil))
	return b
}

const (
	tokenVersion = 2
	tagLen       = 16 // bytes of HMAC-SHA256 kept
	keyIDLen     = 4  // bytes naming the key that signed the token
	nonceLen     = 4  // random bytes: two tokens are never equal
	maxTokenLen  = 8192
)

// Errors of Decode.
var (
	// ErrMalformed: the token is garbled, tampered with or truncated.
	ErrMalformed = errors.New("delta: badly formed token")
	// ErrForeignKey: the token is well formed but was signed with another
	// key, so it comes from another database (a restored backup, a
	// different deployment): the client must resynchronize.
	ErrForeignKey = errors.New("delta: token signed by another key")
)

// Codec signs and checks tokens with one key.
type Codec struct {
	key   []byte
	keyID [keyIDLen]byte
	nonce func([]byte) // fills a token's nonce; crypto/rand unless a test sets it
}

// NewCodec returns a codec for key (at least 32 bytes).
func NewCodec(key []byte) (*Codec, error) {
	if len(key) < 32 {
		return nil, errors.New("delta: token key shorter than 32 bytes")
	}
	c := &Codec{key: append([]byte(nil), key...)}
	sum := sha256.Sum256(append([]byte("contactgraph key id:"), key...))
	copy(c.keyID[:], sum[:])
	return c, nil
}

// Encode returns t as an opaque, URL-safe string (unpadded base64url: no
// '&', '#', '+' or '/').
func (c *Codec) Encode(t Token) string {
	var nonce [nonceLen]byte
	if c.nonce != nil {
		c.nonce(nonce[:])
	} else {
		_, _ = rand.Read(nonce[:])
	}
	return c.encode(t, nonce)
}

// EncodeStable returns t as Encode does but without the random nonce:
// equal tokens give equal strings. It is for positions a client compares
// (a CardDAV sync-token in PROPFIND), where a string that changes on every
// call would make the client think the collection changed.
func (c *Codec) EncodeStable(t Token) string {
	return c.encode(t, [nonceLen]byte{})
}

func (c *Codec) encode(t Token, nonce [nonceLen]byte) string {
	b := make([]byte, 0, 128)
	b = append(b, tokenVersion)
	b = append(b, c.keyID[:]...)
	b = append(b, nonce[:]...)
	flags := byte(0)
	if t.Skip {
		flags |= 1
	}
	b = append(b, flags, byte(t.Collection))
	b = append(b, t.Binding[:]...)
	for _, n := range []int64{t.Since, t.Until, t.After, t.Issued.UnixMilli()} {
		b = binary.AppendVarint(b, n)
	}
	for _, list := range [][]string{t.Select, t.Filter} {
		b = binary.AppendUvarint(b, uint64(len(list)))
		for _, s := range list {
			b = appendString(b, s)
		}
	}
	b = append(b, c.tag(b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (c *Codec) tag(payload []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(payload)
	return m.Sum(nil)[:tagLen]
}

// Decode checks s and returns its token. It returns ErrMalformed for a
// garbled, truncated or tampered token and ErrForeignKey for a well-formed
// token of another key. It never panics.
func (c *Codec) Decode(s string) (Token, error) {
	var t Token
	if len(s) == 0 || len(s) > maxTokenLen {
		return t, ErrMalformed
	}
	for i := 0; i < len(s); i++ {
		// The decoder skips \r and \n even when strict: refuse every
		// character outside the alphabet first.
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return t, ErrMalformed
		}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) < 1+keyIDLen+nonceLen+2+tagLen || b[0] != tokenVersion {
		return t, ErrMalformed
	}
	payload, tag := b[:len(b)-tagLen], b[len(b)-tagLen:]
	if !hmac.Equal(tag, c.tag(payload)) {
		if !hmac.Equal(b[1:1+keyIDLen], c.keyID[:]) {
			return t, ErrForeignKey
		}
		return t, ErrMalformed
	}
	r := reader{b: payload[1+keyIDLen+nonceLen:]}
	flags, coll := r.byte(), r.byte()
	t.Skip, t.Collection = flags&1 == 1, Collection(coll)
	copy(t.Binding[:], r.bytes(len(t.Binding)))
	t.Since, t.Until, t.After = r.varint(), r.varint(), r.varint()
	t.Issued = time.UnixMilli(r.varint()).UTC()
	t.Select, t.Filter = r.list(), r.list()
	if r.bad || len(r.b) != 0 || flags > 1 || t.Collection < Contacts || t.Collection > OrgContacts ||
		t.Since < 0 || t.Until < 0 || t.After < t.Since || (t.Until > 0 && t.After > t.Until) {
		// Signed by us, so this is a bug; refuse it all the same.
		return Token{}, ErrMalformed
	}
	return t, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// reader decodes the payload; any overrun sets bad instead of panicking.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if len(r.b) < n {
		r.bad = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)-k) {
		r.bad = true
		return ""
	}
	s := string(r.b[k : k+int(n)])
	r.b = r.b[k+int(n):]
	return s
}

func (r *reader) list() []string {
	n, k := binary.Uvarint(r.b)
	if k <= 0 || n > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	r.b = r.b[k:]
	var out []string
	for i := uint64(0); i < n && !r.bad; i++ {
		out = append(out, r.string())
	}
	return out
}
