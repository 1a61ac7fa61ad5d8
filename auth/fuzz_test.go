package auth

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
)

// FuzzAuthenticate feeds arbitrary strings to Local.Authenticate. It must
// never panic, must refuse with an EUnauthenticated error that has a
// message, and must accept only the tokens Mint made, byte for byte: no
// re-encoding, padding, white space or changed bit of a token gets through.
func FuzzAuthenticate(f *testing.F) {
	l := newLocal(f, LocalOptions{})
	minted := map[string]bool{}
	for _, o := range []MintOptions{
		adaOpts,
		syncOpts,
		{TenantName: "fabrikam", UPN: "bob@fabrikam.com", AppName: "crm", Scopes: []string{"Contacts.Read"}, Roles: []string{"Admin"}},
	} {
		tok := mint(f, l, o)
		minted[tok] = true
		f.Add(tok)
		last := len(tok) - 1
		f.Add(tok + "=")
		f.Add(tok[:last] + "\n" + tok[last:])
		f.Add(tok[:last] + string(tok[last]^1))
		f.Add(strings.Replace(tok, ".", "..", 1))
		parts := strings.Split(tok, ".")
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add(b64(`{"alg":"none","kid":"`+l.kid+`"}`) + "." + parts[1] + ".")
		f.Add(b64(`{"alg":"HS256","kid":"`+l.kid+`"}`) + "." + parts[1] + "." + parts[2])
	}
	for _, s := range []string{"", ".", "..", "a.b.c", "e30.e30.e30", "garbage", "\x00.\xff.\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := l.Authenticate(context.Background(), s)
		if err != nil {
			var e *contactgraph.Error
			if !errors.As(err, &e) || e.Code != contactgraph.EUnauthenticated || e.Message == "" {
				t.Fatalf("refusal %v is not an EUnauthenticated error with a message", err)
			}
			return
		}
		if !minted[s] {
			t.Fatalf("accepted a token that was never minted: %q as %+v", s, p)
		}
		if p.TenantID == "" || (p.UserID == "" && len(p.Roles) == 0) {
			t.Fatalf("accepted %q as an incomplete principal %+v", s, p)
		}
	})
}
