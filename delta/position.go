package delta

import (
	"context"

	"github.com/contactgraph/contactgraph"
)

// ContactsPosition returns a deltaLink token at the current position of
// the contacts of the folder req.Scope, and that position: a token that
// reports every change made after this call and nothing before it (the
// CardDAV sync-token of a PROPFIND). It reads one contact at most.
// ENotFound when the folder is gone.
func (e *Engine) ContactsPosition(ctx context.Context, req Request) (string, int64, error) {
	req.Token = ""
	t, err := e.start(req, req.Mailbox.UserID, e.Retention)
	if err != nil {
		return "", 0, err
	}
	sp, err := e.Store.ContactChanges(ctx, req.Mailbox, req.Scope, contactgraph.ChangeQuery{Limit: 1})
	if err != nil {
		return "", 0, mapExpired(err)
	}
	return e.page(t, sp.Until, false, sp.Until, nil).DeltaTok, sp.Until, nil
}
