package postgres_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/storetest"
)

// TestConcurrentMirrorReplicas is the delta engine's concurrency mirror
// test at store level on PostgreSQL, as a deployment runs it: three
// replicas (three pools on one schema) serve the writes and the delta
// pages in turn, so a round started on one replica continues on another,
// and two mailboxes are written and read at once. Every reader's mirror,
// built only from delta pages, must end equal to the folder.
func TestConcurrentMirrorReplicas(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	s := &replicas{Store: e.db, all: []contactgraph.Store{e.db, e.open(t, nil), e.open(t, nil)}}
	for _, upn := range []string{"alice@contoso.com", "bob@contoso.com"} {
		mb := mailbox(t, s, upn)
		t.Run(upn, func(t *testing.T) {
			t.Parallel()
			storetest.ConcurrentMirror(t, s, mb, 6, 4, 200)
		})
	}
}

// replicas spreads contact writes and delta pages over several stores on
// one database, in turn; every other method goes to the first.
type replicas struct {
	contactgraph.Store
	all []contactgraph.Store
	n   atomic.Uint64
}

func (r *replicas) next() contactgraph.Store { return r.all[r.n.Add(1)%uint64(len(r.all))] }

func (r *replicas) CreateContact(ctx context.Context, mb contactgraph.Mailbox, folderID string, in contactgraph.ContactInput) (*contactgraph.Contact, error) {
	return r.next().CreateContact(ctx, mb, folderID, in)
}

func (r *replicas) UpdateContact(ctx context.Context, mb contactgraph.Mailbox, id string, in contactgraph.ContactInput, ifMatch string) (*contactgraph.Contact, error) {
	return r.next().UpdateContact(ctx, mb, id, in, ifMatch)
}

func (r *replicas) DeleteContact(ctx context.Context, mb contactgraph.Mailbox, id string, ifMatch string) error {
	return r.next().DeleteContact(ctx, mb, id, ifMatch)
}

func (r *replicas) ContactChanges(ctx context.Context, mb contactgraph.Mailbox, folderID string, q contactgraph.ChangeQuery) (contactgraph.ChangePage[contactgraph.ContactChange], error) {
	return r.next().ContactChanges(ctx, mb, folderID, q)
}
