package auth

import (
	"context"
	"errors"

	"github.com/contactgraph/contactgraph"
)

// Chain tries each authenticator in order and returns the principal of the
// first that accepts the token.
//
// When all refuse it, Chain returns the most specific error: the first one
// that does not merely say "no key of mine matches the token" (so a
// token signed with the local key but expired reports its expiry, whatever
// the order), or the first error when every authenticator said that. An
// empty Chain refuses every token.
type Chain []Authenticator

var _ Authenticator = Chain(nil)

// Authenticate implements Authenticator.
func (c Chain) Authenticate(ctx context.Context, bearer string) (contactgraph.Principal, error) {
	var first, specific error
	for _, a := range c {
		p, err := a.Authenticate(ctx, bearer)
		if err == nil {
			return p, nil
		}
		if first == nil {
			first = err
		}
		if specific == nil && !errors.Is(err, errUnknownKey) {
			specific = err
		}
	}
	switch {
	case specific != nil:
		return contactgraph.Principal{}, specific
	case first != nil:
		return contactgraph.Principal{}, first
	}
	return contactgraph.Principal{}, unauthenticated(msgInvalid, errors.New("auth: no authenticator configured"))
}
