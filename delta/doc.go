// Package delta runs Graph delta rounds over a contactgraph.Store: it
// checks and mints the opaque state tokens of @odata.nextLink and
// @odata.deltaLink, reads one page of changes per call, and renders items
// and tombstones with $select applied. It knows nothing of HTTP: graphapi
// parses the request, calls an Engine and writes the page.
//
// A round is one or more calls. The first page of a round captures the
// round's upper bound (the collection owner's current revision) and every
// nextLink carries it, so a round always ends and a change made while a
// client pages lands in the next round. The deltaLink's position is that
// bound. A first round (no token) reads from position 0 and carries no
// tombstones; later rounds read the changes after the token's position, and
// the same store code path serves both.
//
// Tokens are bound to their collection and caller: a token used on another
// collection, by another user or in another tenant is refused exactly like
// a garbled one. A token whose position is older than the kept history is
// ErrSyncStateExpired, never a partial answer.
package delta
