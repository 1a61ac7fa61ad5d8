package sqlstore

import (
	"context"
	"fmt"
	"sync"
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
}

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
// the commit's. It returns ctx's error if ctx ends before fn ran.
func (b *batcher) do(ctx context.Context, fn func(tx *conn) error) error {
	j := &job{ctx: ctx, fn: fn, errc: make(chan error, 1)}
	select {
	case b.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.stop:
		return fmt.Errorf("store closed")
	}
	return <-j.errc // always answered: the loop drains the queue before it ends
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

// run executes a batch in one transaction and answers every job.
func (b *batcher) run(batch []*job) {
	errs := make([]error, len(batch))
	err := b.s.tx(context.Background(), b.s.writeStmts, false, func(tx *conn) error {
		for i, j := range batch {
			if err := j.ctx.Err(); err != nil {
				errs[i] = err
				continue
			}
			errs[i] = b.savepoint(tx, j)
		}
		return nil
	})
	for i, j := range batch {
		if errs[i] == nil {
			errs[i] = err // the commit's error, if any
		}
		j.errc <- errs[i]
	}
}

// savepoint runs one job inside a savepoint, rolling back to it when the
// job fails (or panics: the panic is the job's error, not the server's).
func (b *batcher) savepoint(tx *conn, j *job) (err error) {
	ctx := j.ctx
	if _, err := tx.tx.ExecContext(ctx, "SAVEPOINT job"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("write panicked: %v", r)
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
