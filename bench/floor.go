package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/delta"
	"github.com/contactgraph/contactgraph/postgres"
	"github.com/contactgraph/contactgraph/sqlite"
)

// floor measures the same first round inside this process, without HTTP:
// the delta engine on the same database, pages of 200 rendered into the
// same JSON page the server writes. No server design can beat it.
func (b *bench) floor(ctx context.Context, name, folder string, n, reps int) error {
	store, err := b.openStore(ctx, b.database(name))
	if err != nil {
		return err
	}
	defer store.Close()
	f, err := newFloorRound(ctx, store, tenant, userFor(name), folder)
	if err != nil {
		return err
	}
	b.logf("floor over %d contacts, %d times", n, reps)
	var took []time.Duration
	items := 0
	m := startMeter()
	for range reps {
		start := time.Now()
		got, _, err := f.round(ctx)
		if err != nil {
			return err
		}
		took = append(took, time.Since(start))
		items = got
	}
	rate := perSecond(items, median(took))
	b.report.addMeasured(Record{Name: recFloor, Workload: wFloor, Backend: b.backend, Size: n, Value: round3(rate), Unit: "contacts/s", Samples: len(took),
		Note: fmt.Sprintf("delta.Engine.Contacts on the same database in one process, pages of %d encoded as the server does, no HTTP; median %s per round of %d items", pageSize, median(took).Round(time.Millisecond), items)}, m)
	b.logf("floor over %d: %.0f contacts/s", items, rate)
	return nil
}

// openStore opens the store the server of a database uses.
func (b *bench) openStore(ctx context.Context, db string) (contactgraph.Store, error) {
	if b.backend == "postgres" {
		return postgres.Open(ctx, db, postgres.Options{})
	}
	return sqlite.Open(ctx, db, sqlite.Options{})
}

// floorRound is a first round without HTTP.
type floorRound struct {
	engine *delta.Engine
	req    delta.Request
	base   string // stands for the server's base URL in links
	link   string
}

func newFloorRound(ctx context.Context, store contactgraph.Store, tenantName, upn, folder string) (*floorRound, error) {
	engine, err := delta.NewEngine(ctx, store) // the token key graphapi signs with
	if err != nil {
		return nil, err
	}
	tid := contactgraph.TenantID(tenantName)
	uid := contactgraph.UserID(tid, upn)
	mb, err := store.EnsureMailbox(ctx, tid, uid, upn)
	if err != nil {
		return nil, err
	}
	p := contactgraph.Principal{TenantID: tid, UserID: uid, UPN: upn, Scopes: []string{contactgraph.PermContactsReadWrite}}
	base := "http://127.0.0.1:8080/v1.0"
	return &floorRound{
		engine: engine,
		req:    delta.Request{Collection: delta.Contacts, Mailbox: mb, Scope: folder, Caller: delta.CallerOf(p), PageSize: pageSize},
		base:   base,
		link:   base + "/me/contactFolders/" + folder + "/contacts/delta",
	}, nil
}

// round runs a whole first round and returns the items and the bytes of
// the pages it encoded.
func (f *floorRound) round(ctx context.Context) (items, size int, err error) {
	req := f.req
	for {
		page, err := f.engine.Contacts(ctx, req)
		if err != nil {
			return 0, 0, err
		}
		var body bytes.Buffer
		page.AppendJSON(&body, f.base+"/$metadata#Collection(contact)", f.link)
		items += len(page.Items)
		size += body.Len()
		if page.SkipToken == "" {
			return items, size, nil
		}
		req.Token, req.TokenIsSkip = page.SkipToken, true
	}
}
