package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

func orgIn(t *testing.T, body string) contactgraph.OrgContactInput {
	t.Helper()
	return must(contactgraph.ParseOrgContactInput([]byte(body)))
}

// orgRound runs a whole org contact round and returns the changes and the position.
func orgRound(t *testing.T, s contactgraph.Store, ids []string, since int64, limit int) ([]contactgraph.OrgContactChange, int64) {
	t.Helper()
	q := contactgraph.ChangeQuery{Since: since, After: since, Limit: limit}
	var out []contactgraph.OrgContactChange
	for {
		p := must(s.OrgContactChanges(ctx(), tenant, ids, q))
		out = append(out, p.Changes...)
		q.Until, q.After = p.Until, max(q.After, p.Last)
		if !p.More {
			return out, p.Until
		}
	}
}

func testOrgContacts(t *testing.T, s contactgraph.Store, clock *Clock) {
	o := must(s.CreateOrgContact(ctx(), tenant, orgIn(t, `{"displayName":"Ann","mail":"ann@fabrikam.com","jobTitle":"CFO"}`)))
	if !contactgraph.IsGUID(o.ID) {
		t.Fatalf("org contact id %q is not a GUID", o.ID)
	}
	got := must(s.OrgContact(ctx(), tenant, o.ID))
	if string(got.Props["mail"]) != `"ann@fabrikam.com"` || got.PropRevs["mail"] != o.Rev {
		t.Fatalf("read back %+v", got)
	}
	if _, set := got.Props["surname"]; set {
		t.Fatal("a property never set must be absent")
	}
	clock.Advance(time.Minute)
	up := must(s.UpdateOrgContact(ctx(), tenant, o.ID, orgIn(t, `{"jobTitle":null,"mail":"ann@fabrikam.com","displayName":"Ann B"}`)))
	if up.PropRevs["mail"] != o.Rev || up.PropRevs["jobTitle"] != up.Rev || up.PropRevs["displayName"] != up.Rev {
		t.Fatalf("property revisions after update: %v (create at %d, update at %d)", up.PropRevs, o.Rev, up.Rev)
	}
	if string(up.Props["jobTitle"]) != "null" {
		t.Fatalf("a cleared property stays as null: %s", up.Props["jobTitle"])
	}
	if n := must(s.CountOrgContacts(ctx(), tenant)); n != 1 {
		t.Fatalf("count = %d", n)
	}
	// Soft delete, list deleted, restore, delete again and purge.
	if err := s.DeleteOrgContact(ctx(), tenant, o.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.OrgContact(ctx(), tenant, o.ID)
	wantCode(t, err, contactgraph.ENotFound)
	del := must(s.DeletedOrgContacts(ctx(), tenant, contactgraph.Page{Limit: 10}))
	if len(del) != 1 || del[0].ID != o.ID || del[0].Deleted.IsZero() {
		t.Fatalf("deleted items: %+v", del)
	}
	if n := must(s.CountOrgContacts(ctx(), tenant)); n != 0 {
		t.Fatalf("count after delete = %d", n)
	}
	back := must(s.RestoreOrgContact(ctx(), tenant, o.ID))
	if !back.Deleted.IsZero() || back.PropRevs["mail"] != back.Rev {
		t.Fatalf("restored %+v: every property must count as changed", back)
	}
	_, err = s.RestoreOrgContact(ctx(), tenant, o.ID)
	wantCode(t, err, contactgraph.ENotFound)
	wantCode(t, s.PurgeOrgContact(ctx(), tenant, o.ID), contactgraph.ENotFound) // only from deleted items
	if err := s.DeleteOrgContact(ctx(), tenant, o.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.PurgeOrgContact(ctx(), tenant, o.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.DeletedOrgContact(ctx(), tenant, o.ID)
	wantCode(t, err, contactgraph.ENotFound)
	// Another tenant sees nothing.
	o2 := must(s.CreateOrgContact(ctx(), tenant, orgIn(t, `{"displayName":"Bo"}`)))
	_, err = s.OrgContact(ctx(), contactgraph.TenantID("fabrikam"), o2.ID)
	wantCode(t, err, contactgraph.ENotFound)
	if l := must(s.ListOrgContacts(ctx(), contactgraph.TenantID("fabrikam"), contactgraph.Page{Limit: 10})); len(l) != 0 {
		t.Fatalf("another tenant lists %v", l)
	}
	_, err = contactgraph.ParseOrgContactInput([]byte(`{"mail":"not an address"}`))
	wantCode(t, err, contactgraph.EInvalid)
	_, err = contactgraph.ParseOrgContactInput([]byte(`{"phones":[{"number":"1","type":"satellite"}]}`))
	wantCode(t, err, contactgraph.EInvalid)
}

func testOrgDelta(t *testing.T, s contactgraph.Store, _ *Clock) {
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, must(s.CreateOrgContact(ctx(), tenant, orgIn(t, fmt.Sprintf(`{"displayName":"C%d"}`, i)))).ID)
	}
	first, pos := orgRound(t, s, nil, 0, 2)
	if len(first) != 5 {
		t.Fatalf("first round has %d changes, want 5", len(first))
	}
	must(s.UpdateOrgContact(ctx(), tenant, ids[0], orgIn(t, `{"jobTitle":"x"}`)))
	must(s.UpdateOrgContact(ctx(), tenant, ids[0], orgIn(t, `{"jobTitle":"y"}`)))
	if err := s.DeleteOrgContact(ctx(), tenant, ids[1]); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOrgContact(ctx(), tenant, ids[2]); err != nil {
		t.Fatal(err)
	}
	if err := s.PurgeOrgContact(ctx(), tenant, ids[2]); err != nil {
		t.Fatal(err)
	}
	changes, pos2 := orgRound(t, s, nil, pos, 2)
	got := map[string]string{}
	for _, ch := range changes {
		got[ch.ID] = ch.Removed
		if ch.Removed == "" && ch.ID == ids[0] && string(ch.Contact.Props["jobTitle"]) != `"y"` {
			t.Fatalf("updated contact at an old state: %s", ch.Contact.Props["jobTitle"])
		}
	}
	want := map[string]string{ids[0]: "", ids[1]: contactgraph.RemovedChanged, ids[2]: contactgraph.RemovedDeleted}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("later round = %v, want %v", got, want)
	}
	// A restore reappears as a normal item.
	must(s.RestoreOrgContact(ctx(), tenant, ids[1]))
	changes, _ = orgRound(t, s, nil, pos2, 10)
	if len(changes) != 1 || changes[0].ID != ids[1] || changes[0].Removed != "" {
		t.Fatalf("after restore: %+v", changes)
	}
	// An id filter restricts the round, first and later.
	f, fpos := orgRound(t, s, []string{ids[3], ids[4]}, 0, 1)
	if len(f) != 2 {
		t.Fatalf("filtered first round: %d changes", len(f))
	}
	must(s.UpdateOrgContact(ctx(), tenant, ids[0], orgIn(t, `{"jobTitle":"z"}`)))
	must(s.UpdateOrgContact(ctx(), tenant, ids[4], orgIn(t, `{"jobTitle":"z"}`)))
	f, _ = orgRound(t, s, []string{ids[3], ids[4]}, fpos, 1)
	if len(f) != 1 || f[0].ID != ids[4] {
		t.Fatalf("filtered later round: %+v", f)
	}
}

func testOrgPrune(t *testing.T, s contactgraph.Store, clock *Clock) {
	a := must(s.CreateOrgContact(ctx(), tenant, orgIn(t, `{"displayName":"A"}`)))
	b := must(s.CreateOrgContact(ctx(), tenant, orgIn(t, `{"displayName":"B"}`)))
	_, old := orgRound(t, s, nil, 0, 10)
	if err := s.DeleteOrgContact(ctx(), tenant, a.ID); err != nil {
		t.Fatal(err)
	}
	clock.Advance(31 * 24 * time.Hour)
	if err := s.DeleteOrgContact(ctx(), tenant, b.ID); err != nil {
		t.Fatal(err)
	}
	_, mid := orgRound(t, s, nil, 0, 10)
	// Purge what was deleted more than 30 days ago: a, not b.
	must(s.Prune(ctx(), contactgraph.Retention{PurgeDeleted: clock.Now().Add(-30 * 24 * time.Hour)}))
	_, err := s.DeletedOrgContact(ctx(), tenant, a.ID)
	wantCode(t, err, contactgraph.ENotFound)
	must(s.DeletedOrgContact(ctx(), tenant, b.ID))
	changes, _ := orgRound(t, s, nil, mid, 10)
	if len(changes) != 1 || changes[0].ID != a.ID || changes[0].Removed != contactgraph.RemovedDeleted {
		t.Fatalf("purge must leave a deleted tombstone: %+v", changes)
	}
	// Directory tombstones older than 7 days go; a position before them expires.
	clock.Advance(8 * 24 * time.Hour)
	n := must(s.Prune(ctx(), contactgraph.Retention{Directory: clock.Now().Add(-7 * 24 * time.Hour)}))
	if n < 2 {
		t.Fatalf("pruned %d tombstones, want at least 2", n)
	}
	_, err = s.OrgContactChanges(ctx(), tenant, nil, contactgraph.ChangeQuery{Since: old, After: old, Limit: 10})
	wantCode(t, err, contactgraph.ESyncStateExpired)
}

// testOrgPruneAtOnce checks one Prune with every retention set: it purges
// and removes old tombstones in the same call, and counts both.
func testOrgPruneAtOnce(t *testing.T, s contactgraph.Store, clock *Clock) {
	a := must(s.CreateOrgContact(ctx(), tenant, orgIn(t, `{"displayName":"A"}`)))
	b := must(s.CreateOrgContact(ctx(), tenant, orgIn(t, `{"displayName":"B"}`)))
	_, old := orgRound(t, s, nil, 0, 10)
	if err := s.DeleteOrgContact(ctx(), tenant, a.ID); err != nil {
		t.Fatal(err)
	}
	clock.Advance(23 * 24 * time.Hour)
	if err := s.DeleteOrgContact(ctx(), tenant, b.ID); err != nil {
		t.Fatal(err)
	}
	clock.Advance(8 * 24 * time.Hour) // a was deleted 31 days ago, b 8
	n := must(s.Prune(ctx(), contactgraph.Retention{
		PurgeDeleted: clock.Now().Add(-30 * 24 * time.Hour),
		Directory:    clock.Now().Add(-7 * 24 * time.Hour),
	}))
	_, err := s.DeletedOrgContact(ctx(), tenant, a.ID)
	wantCode(t, err, contactgraph.ENotFound)
	must(s.DeletedOrgContact(ctx(), tenant, b.ID))
	if n < 2 {
		t.Fatalf("pruned %d, want the purged contact and the old tombstones", n)
	}
	_, err = s.OrgContactChanges(ctx(), tenant, nil, contactgraph.ChangeQuery{Since: old, After: old, Limit: 10})
	wantCode(t, err, contactgraph.ESyncStateExpired)
}

// orgMirror applies org contact changes to a mirror of property maps.
// With minimal, only the returned properties are applied.
func orgApply(m map[string]map[string]json.RawMessage, ch contactgraph.OrgContactChange, since int64, minimal bool) {
	if ch.Removed != "" {
		delete(m, ch.ID)
		return
	}
	cur, ok := m[ch.ID]
	if !ok || !minimal {
		cur = map[string]json.RawMessage{}
		m[ch.ID] = cur
	}
	for k, v := range ch.Contact.Props {
		if !minimal || ch.Contact.PropRevs[k] > since {
			cur[k] = v
		}
	}
}

// testOrgConcurrentMirror: writers change org contacts while readers run
// rounds, half of them applying only the properties changed since their
// position (return=minimal). Every mirror must end equal to the tenant.
func testOrgConcurrentMirror(t *testing.T, s contactgraph.Store, _ *Clock) {
	const writers, readers, ops = 3, 4, 120
	done := make(chan struct{})
	errs := make(chan error, writers+readers)
	var ids [writers][]string
	wdone := make(chan struct{}, writers)
	for w := 0; w < writers; w++ {
		go func(w int) {
			defer func() { wdone <- struct{}{} }()
			for i := 0; i < ops; i++ {
				var err error
				mine := ids[w]
				switch {
				case len(mine) == 0 || i%5 == 0:
					var o *contactgraph.OrgContact
					in, _ := contactgraph.ParseOrgContactInput([]byte(fmt.Sprintf(`{"displayName":"w%d-%d","mail":"w%d@x.com"}`, w, i, w)))
					if o, err = s.CreateOrgContact(ctx(), tenant, in); err == nil {
						ids[w] = append(ids[w], o.ID)
					}
				case i%7 == 0:
					id := mine[i%len(mine)]
					if err = s.DeleteOrgContact(ctx(), tenant, id); err == nil && i%2 == 0 {
						_, err = s.RestoreOrgContact(ctx(), tenant, id)
					} else if err == nil {
						err = s.PurgeOrgContact(ctx(), tenant, id)
						ids[w] = append(mine[:i%len(mine)], mine[i%len(mine)+1:]...)
					}
				default:
					id := mine[i%len(mine)]
					body := fmt.Sprintf(`{"jobTitle":"t%d"}`, i)
					if i%3 == 0 {
						body = `{"jobTitle":null,"department":"d"}`
					}
					in, _ := contactgraph.ParseOrgContactInput([]byte(body))
					_, err = s.UpdateOrgContact(ctx(), tenant, id, in)
				}
				if err != nil {
					errs <- fmt.Errorf("writer %d op %d: %w", w, i, err)
					return
				}
			}
		}(w)
	}
	type result struct {
		m   map[string]map[string]json.RawMessage
		pos int64
	}
	results := make(chan result, readers)
	for r := 0; r < readers; r++ {
		go func(r int) {
			minimal := r%2 == 1
			m := map[string]map[string]json.RawMessage{}
			var pos int64
			for {
				q := contactgraph.ChangeQuery{Since: pos, After: pos, Limit: 1 + r}
				for {
					p, err := s.OrgContactChanges(ctx(), tenant, nil, q)
					if err != nil {
						errs <- err
						results <- result{m, pos}
						return
					}
					for _, ch := range p.Changes {
						orgApply(m, ch, pos, minimal && pos > 0)
					}
					q.Until, q.After = p.Until, max(q.After, p.Last)
					if !p.More {
						break
					}
				}
				pos = q.Until
				select {
				case <-done:
					results <- result{m, pos}
					return
				default:
				}
			}
		}(r)
	}
	for w := 0; w < writers; w++ {
		<-wdone
	}
	close(done)
	truthMap := map[string]map[string]json.RawMessage{}
	for _, o := range must(s.ListOrgContacts(ctx(), tenant, contactgraph.Page{Limit: 100000})) {
		truthMap[o.ID] = o.Props
	}
	for r := 0; r < readers; r++ {
		res := <-results
		// A final round after the writers stopped.
		changes, _ := orgRound(t, s, nil, res.pos, 7)
		for _, ch := range changes {
			orgApply(res.m, ch, res.pos, res.pos > 0 && r%2 == 1)
		}
		if len(res.m) != len(truthMap) {
			t.Fatalf("reader mirror has %d org contacts, the tenant %d", len(res.m), len(truthMap))
		}
		for id, props := range truthMap {
			if fmt.Sprint(res.m[id]) != fmt.Sprint(props) {
				t.Fatalf("org contact %s: mirror %s, tenant %s", id, fmtProps(res.m[id]), fmtProps(props))
			}
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func fmtProps(m map[string]json.RawMessage) string {
	b, _ := json.Marshal(m)
	return string(b)
}
