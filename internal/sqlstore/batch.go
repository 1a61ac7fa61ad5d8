package sqlstore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/contactgraph/contactgraph"
)

// batcher is group commit for a single-writer database (SQLite): writes
// that arrive while one is committing queue up, and the next transaction
// runs all of them, each inside its own savepoint (a write that fails
// rolls back alone), then commits once. Every write is answered after the
// commit that made it durable, so an acknowledged write survives a crash
// exactly as before; what is shared is the commit and the WAL frames of
// the pages several writes touch (the mailbox counter, the log's last
// leaf, an index's leaf).
type batcher struct {
	s     *Store
	jobs  chan *job
	stop  chan struct{}
	once  sync.Once
	done  sync.WaitGroup
	limit int
}

// job is one write transaction's work.
type job struct {
	ctx  context.Context
	fn   func(tx *conn) error
	errc chan error
	// state is jobQueued until the loop starts the job (jobStarted) or the
	// caller, its context done, gives up on it first (jobAbandoned).
	state atomic.Int32
}

// States of a job.
const (
	jobQueued int32 = iota
	jobStarted
	jobAbandoned
)

// start marks the job started unless its caller abandoned it, and reports
// whether it may run. A job runs at most once.
func (j *job) start() bool { return j.state.CompareAndSwap(jobQueued, jobStarted) }

// maxBatch bounds one group commit, so that a long queue still commits
// often and no single transaction grows large.
const maxBatch = 64

func newBatcher(s *Store) *batcher {
	b := &batcher{s: s, jobs: make(chan *job, 1024), stop: make(chan struct{}), limit: maxBatch}
	b.done.Add(1)
	go b.loop()
	return b
}

// do runs fn in a group-committed transaction and returns its error, or
// the commit's. It returns ctx's error if ctx ends before fn started: a
// write that waits in the queue past its deadline is never run. Once fn
// has started, do waits for its outcome, which ctx bounds too (fn's
// statements run under it, see savepoint).
func (b *batcher) do(ctx context.Context, fn func(tx *conn) error) error {
	j := &job{ctx: ctx, fn: fn, errc: make(chan error, 1)}
	select {
	case b.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.stop:
		return fmt.Errorf("store closed")
	}
	select {
	case err := <-j.errc: // always answered: the loop drains the queue before it ends
		return err
	case <-ctx.Done():
		if j.state.CompareAndSwap(jobQueued, jobAbandoned) {
			return ctx.Err()
		}
		return <-j.errc
	}
}

func (b *batcher) close() {
	b.once.Do(func() { close(b.stop) })
	b.done.Wait()
}

func (b *batcher) loop() {
	defer b.done.Done()
	for {
		var batch []*job
		select {
		case j := <-b.jobs:
			batch = append(batch, j)
		case <-b.stop:
			for {
				select {
				case j := <-b.jobs:
					j.errc <- fmt.Errorf("store closed")
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < b.limit {
			select {
			case j := <-b.jobs:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		b.run(batch)
	}
}

// run executes a batch and answers every job, in as few transactions as
// the jobs allow: usually one.
//
// A job that fails with an error without a domain code (a driver error:
// disk full, I/O error, a statement interrupted when its context ended, or
// a panic) may have ended the whole transaction: SQLite rolls back a
// transaction on such errors, and the savepoints of the jobs after it
// would then run, and commit, in autocommit mode, each on its own, while
// the batch's COMMIT fails. So such a job ends its transaction instead: it
// is rolled back whole, the failed job gets its error, the jobs that ran
// before it in the transaction get EUnavailable (rolled back with it: the
// client may retry), and the jobs after it, not started, run in the next
// transaction. A job's function runs at most once. Every transaction
// settles at least one job, so run ends.
func (b *batcher) run(batch []*job) {
	for len(batch) > 0 {
		batch = b.runTx(batch)
	}
}

// runTx runs the jobs of batch in one transaction, answers those it
// settles and returns those to run again.
func (b *batcher) runTx(batch []*job) (again []*job) {
	errs := make([]error, len(batch))
	ran := make([]bool, len(batch))
	broken := -1 // the job whose failure ended the transaction
	ctx, cancel := b.s.bound(context.Background())
	defer cancel()
	alone := len(batch) == 1 // no savepoint: a failure rolls the transaction back
	err := b.s.runTx(ctx, b.s.writeStmts, false, func(tx *conn) error {
		for i, j := range batch {
			if !j.start() {
				continue // abandoned by its caller: never run
			}
			if err := j.ctx.Err(); err != nil {
				errs[i] = err
				continue
			}
			errs[i], ran[i] = b.savepoint(tx, j, alone), true
			if breaksTx(errs[i]) {
				broken = i
				return errs[i]
			}
			if alone && errs[i] != nil {
				return errs[i]
			}
		}
		return nil
	})
	for i, j := range batch {
		switch {
		case j.state.Load() == jobAbandoned:
			// its caller has returned
		case broken >= 0 && i > broken:
			again = append(again, j) // not started
		case broken >= 0 && i < broken && ran[i] && errs[i] == nil:
			j.errc <- &contactgraph.Error{Code: contactgraph.EUnavailable, Message: unavailableMessage,
				Err: fmt.Errorf("rolled back with another write of its transaction, which failed: %w", errs[broken])}
		case errs[i] != nil:
			j.errc <- errs[i]
		default:
			j.errc <- err // the commit's error, if any
		}
	}
	return again
}

// breaksTx reports whether a job's error may have ended the transaction
// it ran in: any error but a domain one (not found, conflict, ...), which
// the job's own statements decided on.
func breaksTx(err error) bool {
	if err == nil {
		return false
	}
	c := contactgraph.ErrorCode(err)
	return c == contactgraph.EInternal || c == contactgraph.EUnavailable
}

// savepoint runs one job inside a savepoint, rolling back to it when the
// job fails (or panics: the panic is the job's error, not the server's).
// The job's statements run under the job's context. A failure that may
// have ended the transaction (breaksTx) is returned as it is: the caller
// rolls the whole transaction back. A job alone in its transaction runs
// without a savepoint (two statements fewer per sequential write): the
// caller rolls the transaction back on any failure.
func (b *batcher) savepoint(tx *conn, j *job, alone bool) (err error) {
	ctx, outer := j.ctx, tx.ctx
	tx.ctx = ctx
	defer func() { tx.ctx = outer }()
	if !alone {
		if _, err := tx.tx.ExecContext(ctx, "SAVEPOINT job"); err != nil {
			return fmt.Errorf("savepoint: %w", err)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write panicked: %v", r)
		}
		if alone || breaksTx(err) {
			return
		}
		if err != nil {
			if _, rerr := tx.tx.ExecContext(context.Background(), "ROLLBACK TO job"); rerr != nil {
				err = fmt.Errorf("%w (and rollback to savepoint: %v)", err, rerr)
			}
		}
		if _, rerr := tx.tx.ExecContext(context.Background(), "RELEASE job"); rerr != nil && err == nil {
			err = fmt.Errorf("release savepoint: %w", rerr)
		}
	}()
	return j.fn(tx)
}
