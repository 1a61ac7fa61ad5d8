package auth

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

func TestChain(t *testing.T) {
	t.Parallel()
	local := newLocal(t, LocalOptions{})
	other, err := NewLocal(context.Background(), &memSecrets{}, LocalOptions{Now: at(t0)})
	if err != nil {
		t.Fatal(err)
	}
	is := newIssuer(t)
	external := is.jwks(t, nil)
	expired := adaOpts
	expired.Now = t0.Add(-2 * time.Hour)

	tests := []struct {
		name  string
		chain Chain
		token string
		want  contactgraph.Principal
		msg   string
	}{
		{name: "first accepts", chain: Chain{local, external}, token: mint(t, local, adaOpts), want: ada},
		{name: "second accepts", chain: Chain{local, external}, token: mint(t, is.Local, syncOpts), want: syncApp},
		{name: "second accepts, other order", chain: Chain{external, local}, token: mint(t, local, syncOpts), want: syncApp},
		{name: "local expiry wins over a foreign unknown key", chain: Chain{other, local}, token: mint(t, local, expired), msg: msgExpired},
		{name: "external expiry wins over the local unknown key", chain: Chain{local, external}, token: mint(t, is.Local, expired), msg: msgExpired},
		{name: "nobody's key", chain: Chain{local, other}, token: mint(t, newIssuer(t).Local, adaOpts), msg: msgUnknownKey},
		{name: "garbled", chain: Chain{local, external}, token: "garbage", msg: msgNoDots},
		{name: "empty chain", chain: Chain{}, token: mint(t, local, adaOpts), msg: msgInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.chain.Authenticate(context.Background(), tt.token)
			if tt.msg != "" {
				wantRefused(t, err, tt.msg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p, issuedAtT0(tt.want)) {
				t.Errorf("principal\n got %+v\nwant %+v", p, tt.want)
			}
		})
	}
}

// issuedAtT0 is p as a token minted at t0 with the default lifetime maps
// to: with its issue and expiry times.
func issuedAtT0(p contactgraph.Principal) contactgraph.Principal {
	p.IssuedAt = t0.UTC()
	if p.ExpiresAt.IsZero() {
		p.ExpiresAt = t0.Add(DefaultTTL).UTC()
	}
	return p
}
