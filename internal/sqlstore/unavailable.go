package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"

	"github.com/contactgraph/contactgraph"
)

// An outage of the database (PostgreSQL stopped or unreachable, a SQLite
// file on a full or read-only disk) must not hold requests nor look like a
// bug: every Store method is one operation, bounded by Store.Timeout, and
// its error is classified on the way out. Errors that say the database
// cannot serve now but may later become contactgraph.EUnavailable (503
// with Retry-After); the driver's own error stays wrapped inside, for the
// log. The classification goes by error codes and types only (the
// Dialect's IsUnavailable, context.DeadlineExceeded, driver.ErrBadConn),
// never by message text.
//
// Transactions: database/sql rolls a transaction back when its context
// ends, and a failed commit leaves nothing behind (both drivers roll back
// a transaction whose COMMIT failed), so an operation that times out or
// hits a full disk writes nothing. The group commit of the SQLite store
// re-runs the other writes of a transaction that one write's failure may
// have ended (see batcher.run).

// unavailableMessage is the client-safe message of EUnavailable errors.
const unavailableMessage = "The service is temporarily unavailable. Please retry later."

// bound returns ctx bounded by s.Timeout (ctx itself when there is no
// timeout) and the function that releases its timer.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.Timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.Timeout)
}

// op starts a store operation outside a transaction (single statements on
// a pool, rq and wq): it returns ctx bounded by s.Timeout, to run the
// statements under, and the function that ends the operation, which
// releases the bound and returns the operation's error classified. The
// statements' rows must be read before end is called.
func (s *Store) op(ctx context.Context) (octx context.Context, end func(error) error) {
	octx, cancel := s.bound(ctx)
	return octx, func(err error) error {
		cancel()
		return s.classify(ctx, err)
	}
}

// Classify is classify, for the statements an engine runs on its own
// driver (postgres's COPY import).
func (s *Store) Classify(ctx context.Context, err error) error { return s.classify(ctx, err) }

// classify returns err, or for an error that says the database cannot
// serve now an *contactgraph.Error with code EUnavailable wrapping it. ctx
// is the caller's context, before the store's bound: when the caller has
// gone away (ctx cancelled) the error is returned as it is, since nobody
// waits for the answer. An error that already has a code keeps it.
func (s *Store) classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var coded *contactgraph.Error
	if errors.As(err, &coded) {
		return err
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, driver.ErrBadConn) || s.Dialect.IsUnavailable(err) {
		return &contactgraph.Error{Code: contactgraph.EUnavailable, Message: unavailableMessage, Err: err}
	}
	return err
}
