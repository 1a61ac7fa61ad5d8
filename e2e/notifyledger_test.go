package e2e

import (
	"maps"
)

// What the ledger says the torture run's subscriptions must have been
// sent. The store derives a notification's change type from the change
// log of the watched collection (internal/sqlstore/changes.go, recordAs):
// an object's first live row in the collection, or a live row after a
// tombstone, is "created"; a live row after a live one "updated"; a
// tombstone "deleted". So, for the subscriptions of a torture run:
//
//   - a contact created in a watched folder F: created for F's;
//     updated in F: updated for F's; moved from F to G: deleted for F's
//     and created for G's; deleted in F: deleted for F's. A contact
//     deleted with its folder leaves no change of its own (the folder's
//     rows go with it), and writers' folders are not watched anyway;
//   - a folder created, updated (renamed or moved) or deleted: created,
//     updated or deleted for the mailbox's folder subscription;
//   - an org contact created: created; updated: updated; soft-deleted:
//     deleted; restored: created (its last row was a soft tombstone);
//     purged: deleted.
//
// Only acknowledged writes are required. A write of unknown outcome may
// have made its notifications (they explain duplicates, never missing
// ones), and it leaves the object's state unsure: the next acknowledged
// write requires only the notifications it makes from every state the
// object may have been in (a contact whose unknown move may have taken it
// elsewhere: its next update requires nothing of the folders, as it was
// an update or a move). The payload has no revision, so notifications are
// counted by (subscription, object, change type): a lost update hidden by
// a duplicate of another update of the same object is not seen.

// Contact states in the expectation: a folder id, or one of these.
const (
	stGone = ""  // deleted
	stAny  = "*" // anywhere or gone: a move of unknown outcome whose target the ledger dropped
)

// expectation is what the receivers must have got, and what they may
// have got on top.
type expectation struct {
	want      map[noteKey]int // made by acknowledged writes: each must be delivered
	may       map[noteKey]int // writes of unknown outcome may have made these
	anyOf     map[string]bool // objects whose any notification may be of a write of unknown outcome
	known     map[string]kind // every object of the ledger
	writes    int             // acknowledged writes that require a notification
	unchecked int             // acknowledged writes whose notifications the ledger cannot tell
}

func (x *expectation) require(ks []noteKey) {
	if len(ks) > 0 {
		x.writes++
	}
	for _, k := range ks {
		x.want[k]++
	}
}

func (x *expectation) allow(ks []noteKey) {
	for _, k := range ks {
		x.may[k]++
	}
}

// total is the number of notifications required.
func (x *expectation) total() int {
	n := 0
	for _, c := range x.want {
		n += c
	}
	return n
}

// The change types of a folder's and an org contact's writes, by the
// ledger's names of the operations.
var (
	folderChanges = map[string]string{"create": "created", "update": "updated", "delete": "deleted"}
	orgChanges    = map[string]string{"create": "created", "update": "updated", "soft delete": "deleted", "restore": "created", "purge": "deleted"}
)

// expect derives the expectation from the ledger's writes acknowledged
// after the subscriptions were made.
func (n *notifications) expect(l *ledger) *expectation {
	l.mu.Lock()
	defer l.mu.Unlock()
	x := &expectation{want: map[noteKey]int{}, may: map[noteKey]int{}, anyOf: map[string]bool{}, known: map[string]kind{}}
	for id, r := range l.recs {
		x.known[id] = r.kind
		switch r.kind {
		case kContact:
			n.expectContact(x, r)
		case kFolder:
			n.expectFixed(x, r, n.folders, folderChanges)
		case kOrg:
			n.expectFixed(x, r, n.org, orgChanges)
		}
	}
	return x
}

// expectFixed adds the notifications of an object whose every write makes
// one of a fixed change type, by op, for w.
func (n *notifications) expectFixed(x *expectation, r *record, w *watch, changes map[string]string) {
	for i := range r.events {
		e := &r.events[i]
		ks := []noteKey{{w.id, changes[e.op], r.id}}
		switch {
		case e.outcome == acked && e.seq > n.start:
			x.require(ks)
		case e.uncertain():
			x.allow(ks)
		}
	}
}

// contactNotes returns the notifications of a contact's write that took
// it from folder from to folder to (either stGone): for the watched
// folders only.
func (n *notifications) contactNotes(id, from, to string) []noteKey {
	var out []noteKey
	add := func(folder, change string) {
		if w := n.byFolder[folder]; w != nil {
			out = append(out, noteKey{w.id, change, id})
		}
	}
	switch {
	case from == to:
		if to != stGone {
			add(to, "updated")
		}
	default:
		if from != stGone {
			add(from, "deleted")
		}
		if to != stGone {
			add(to, "created")
		}
	}
	return out
}

// contactAfter returns where a write leaves a contact that was in folder
// s when applied.
func contactAfter(s string, e *event) string {
	switch {
	case e.effect == gone:
		return stGone
	case s == stGone:
		return stGone // the write found nothing to change
	case e.outcome == acked && e.doc != nil && str(e.doc, "parentFolderId") != "":
		return str(e.doc, "parentFolderId")
	case e.op == "update":
		return s // contact updates carry no parentFolderId
	case e.patch != nil && str(e.patch, "parentFolderId") != "":
		return str(e.patch, "parentFolderId")
	}
	return stAny // a move whose target the ledger no longer keeps
}

// expectContact adds a contact's notifications, following the states it
// may be in through its writes.
func (n *notifications) expectContact(x *expectation, r *record) {
	poss := map[string]bool{}
	for i := range r.events {
		e := &r.events[i]
		if i == 0 { // its create, acknowledged (others have no record)
			to := str(e.doc, "parentFolderId")
			poss = map[string]bool{to: true}
			if e.seq > n.start {
				x.require(n.contactNotes(r.id, stGone, to))
			}
			continue
		}
		notes := func(s, to string) []noteKey {
			if e.op == "deleted with its folder" {
				return nil // its folder's delete records nothing of it
			}
			return n.contactNotes(r.id, s, to)
		}
		switch {
		case e.outcome == acked:
			to := stGone
			if e.effect != gone {
				to = str(e.doc, "parentFolderId") // acknowledged with the contact
				if to == "" {
					to = stAny
				}
			}
			if e.seq <= n.start {
				poss = map[string]bool{to: true}
				continue
			}
			sure := to != stAny
			var sets [][]noteKey
			for s := range poss {
				switch s {
				case stGone: // the write found the contact: it was not gone
				case stAny:
					sure = false
				default:
					sets = append(sets, notes(s, to))
				}
			}
			if !sure {
				x.unchecked++
				x.anyOf[r.id] = true
			} else if len(sets) > 0 {
				req := sets[0]
				for _, s := range sets[1:] {
					req = intersect(req, s)
				}
				x.require(req)
				for _, s := range sets {
					x.allow(minus(s, req))
				}
			}
			poss = map[string]bool{to: true}
		case e.uncertain():
			next := maps.Clone(poss)
			for s := range poss {
				to := contactAfter(s, e)
				next[to] = true
				if s == stAny || to == stAny {
					x.anyOf[r.id] = true
					continue
				}
				x.allow(notes(s, to))
			}
			poss = next
		}
	}
}

func intersect(a, b []noteKey) []noteKey {
	var out []noteKey
	for _, k := range a {
		for _, j := range b {
			if k == j {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

func minus(a, b []noteKey) []noteKey {
	var out []noteKey
	for _, k := range a {
		keep := true
		for _, j := range b {
			if k == j {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, k)
		}
	}
	return out
}

// deliveryAccount sorts what was delivered against an expectation.
type deliveryAccount struct {
	delivered  int          // items of POSTs answered 202
	duplicates int          // beyond what any write explains
	explained  int          // beyond the required, explained by writes of unknown outcome
	strays     map[kind]int // of objects the ledger does not know, by the subscription's kind
}

func (d deliveryAccount) strayTotal() int {
	n := 0
	for _, c := range d.strays {
		n += c
	}
	return n
}

// account sorts got, the delivered items by key.
func (x *expectation) account(got map[noteKey]int, kindOf func(sub string) kind) deliveryAccount {
	d := deliveryAccount{strays: map[kind]int{}}
	for k, c := range got {
		d.delivered += c
		extra := c - x.want[k]
		if extra <= 0 {
			continue
		}
		_, known := x.known[k.id]
		switch {
		case !known:
			d.strays[kindOf(k.sub)] += extra
		case x.anyOf[k.id]:
			d.explained += extra
		default:
			m := min(extra, x.may[k])
			d.explained += m
			d.duplicates += extra - m
		}
	}
	return d
}

// describe returns the writes of an object, for reports.
func (l *ledger) describe(id string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.recs[id]; r != nil {
		return r.history(-1)
	}
	return "(no writes)\n"
}

// lostCreates returns the number of creates of k of unknown outcome.
func (l *ledger) lostCreates(k kind) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost[k]
}
