package delta

import (
	"context"
	"time"

	"github.com/contactgraph/contactgraph"
)

// ContactsPosition returns a deltaLink token at the position of the
// contacts of the folder req.Scope (contactgraph.CardStore.ContactsPosition,
// counting changes at or below atOrBelow, every change when 0), and that
// position. The token reports every change of the folder after it and
// nothing before, and it is the same string for as long as the folder's
// contacts do not change: it carries the folder's own position (not the
// mailbox's), no nonce (Codec.EncodeStable) and, as its issue time, the
// time of the position's change. It is the CardDAV sync-token: of a
// PROPFIND (atOrBelow 0) and of a finished sync-collection (atOrBelow the
// round's upper bound, read after the round, so that no change of the
// round's range is skipped). Such a token expires only when the history
// after it is pruned (the store's floors): an engine that mints them
// should leave Retention 0. ENotFound when the folder is gone.
func (e *Engine) ContactsPosition(ctx context.Context, req Request, atOrBelow int64) (string, contactgraph.Position, error) {
	req.Token = ""
	t, err := e.start(req, req.Mailbox.UserID, e.Retention)
	if err != nil {
		return "", contactgraph.Position{}, err
	}
	pos, err := e.Store.ContactsPosition(ctx, req.Mailbox, req.Scope, atOrBelow)
	if err != nil {
		return "", contactgraph.Position{}, mapExpired(err)
	}
	t.Skip, t.Since, t.Until, t.After = false, pos.Rev, 0, pos.Rev
	t.Issued = pos.At
	if t.Issued.IsZero() {
		t.Issued = time.UnixMilli(0).UTC()
	}
	return e.Codec.EncodeStable(t), pos, nil
}
