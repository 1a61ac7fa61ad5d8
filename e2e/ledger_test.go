package e2e

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// kind is the kind of an object the writers write.
type kind string

const (
	kContact kind = "contact"
	kFolder  kind = "folder"
	kOrg     kind = "org contact"
)

// outcome is what a write's sender knows of it.
type outcome int

const (
	pending  outcome = iota // sent, no answer yet
	acked                   // answered 2xx: applied, and must survive
	rejected                // answered 4xx: not applied
	unsent                  // no server was up: not sent
	unknown                 // transport error or 5xx: maybe applied
	numOutcomes
)

// effect is what a write leaves of its object when applied.
type effect int

const (
	present     effect = iota // exists: contacts in a folder, org contacts live
	softDeleted               // org contacts in the directory's deleted items
	gone                      // deleted, purged, or deleted with its folder
)

func (e effect) String() string {
	return [...]string{"present", "soft-deleted", "gone"}[e]
}

// event is one write of an object, in the order its one writer sent them.
type event struct {
	op      string // for reports
	effect  effect
	patch   object // members the object carries after the write (nil: none known)
	outcome outcome
	seq     int64  // the ledger's sequence number at acknowledgement
	doc     object // the object as an acked write answered it (nil for 204)
	req     string // the exchange, for reports
}

// uncertain reports whether the write may or may not have been applied.
func (e *event) uncertain() bool { return e.outcome == pending || e.outcome == unknown }

// record is the write history of one object. Each object is written by
// one writer only, so its events are in the order the server applied
// the acknowledged ones.
type record struct {
	kind   kind
	id     string
	events []event
}

// ledger records every write the writers send and what became of it: the
// acknowledged writes are the ones the server must never lose. It checks
// delta mirrors after each round against the consistency invariant and
// the final state against every acknowledged write. It is safe for
// concurrent use.
type ledger struct {
	mu        sync.Mutex
	seq       int64 // counts acknowledgements
	recs      map[string]*record
	live      map[string]*record // contacts whose last acknowledged write is not a delete
	creating  map[kind]int       // creates sent and not answered yet
	lost      map[kind]int       // creates of unknown outcome (no id known)
	anomalies []string
	ops       map[string]*[numOutcomes]int // "<kind> <op>" -> counts by outcome
	slowest   time.Duration                // the longest write exchange
	slow      string                       // and what it was
}

func newLedger() *ledger {
	return &ledger{recs: map[string]*record{}, live: map[string]*record{}, creating: map[kind]int{}, lost: map[kind]int{}, ops: map[string]*[numOutcomes]int{}}
}

var outcomeNames = [...]string{"pending", "acked", "rejected", "unsent", "unknown"}

// position returns the current acknowledgement sequence number: every
// write acknowledged so far has a seq at most this.
func (l *ledger) position() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq
}

// beginCreate notes that a create of k is being sent.
func (l *ledger) beginCreate(k kind) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.creating[k]++
}

// endCreate records the outcome of a create; an acked one starts the
// record of the object doc describes.
func (l *ledger) endCreate(k kind, o outcome, doc object, patch object, req string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.creating[k]--
	l.count(string(k)+" create", o)
	id := str(doc, "id")
	switch {
	case o == unknown, o == acked && id == "": // no id: the writer reported the answer
		l.lost[k]++
	case o == acked:
		l.seq++
		r := &record{kind: k, id: id, events: []event{{op: "create", effect: present, patch: patch, outcome: acked, seq: l.seq, doc: doc, req: req}}}
		l.recs[id] = r
		if k == kContact {
			l.live[id] = r
		}
		return id
	}
	return ""
}

// begin notes that a write of object id is being sent and returns its
// index for end.
func (l *ledger) begin(id, op string, eff effect, patch object) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.recs[id]
	r.events = append(r.events, event{op: op, effect: eff, patch: patch, outcome: pending})
	return len(r.events) - 1
}

// end records the outcome of write i of object id; doc is the answered
// object of an acked write with a body.
func (l *ledger) end(id string, i int, o outcome, doc object, req string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.recs[id]
	e := &r.events[i]
	e.outcome, e.doc, e.req = o, doc, req
	if o == acked {
		l.seq++
		e.seq = l.seq
		if doc != nil {
			r.compact(i)
		}
		if e.effect == gone && i == len(r.events)-1 {
			delete(l.live, id)
		}
	}
	l.count(string(r.kind)+" "+e.op, o)
}

func (l *ledger) count(what string, o outcome) {
	c := l.ops[what]
	if c == nil {
		c = new([numOutcomes]int)
		l.ops[what] = c
	}
	c[o]++
}

// compact keeps of the events before event i, acknowledged with the
// object's new state, only what the checks need (changeKey and folder),
// so that a long run's ledger holds about one document per object.
func (r *record) compact(i int) {
	for j := 0; j < i; j++ {
		e := &r.events[j]
		if e.doc != nil {
			small := object{}
			for _, k := range []string{"id", "changeKey", "parentFolderId"} {
				if v, ok := e.doc[k]; ok {
					small[k] = v
				}
			}
			e.doc = small
		}
		e.patch, e.req = nil, ""
	}
}

// definite reports whether the state of object id is known: no write
// since its last acknowledged one may have been applied. A writer asks
// before it sends its next write of the object.
func (l *ledger) definite(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.recs[id]
	for i := len(r.events) - 1; i >= 0; i-- {
		switch e := &r.events[i]; {
		case e.outcome == acked:
			return true
		case e.outcome == unknown:
			return false
		}
	}
	return true
}

// took notes how long a write exchange took.
func (l *ledger) took(d time.Duration, r reply) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d > l.slowest {
		l.slowest, l.slow = d, r.summary()
	}
}

// slowestWrite describes the longest write exchange.
func (l *ledger) slowestWrite() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%v (%s)", l.slowest.Round(time.Millisecond), l.slow)
}

// anomaly records something the server must not do, such as refusing a
// write of an object that must exist, or a 5xx answer.
func (l *ledger) anomaly(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.anomalies = append(l.anomalies, fmt.Sprintf(format, args...))
}

// problems returns the anomalies recorded so far.
func (l *ledger) problems() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.anomalies...)
}

// summary counts the writes by kind and operation: acknowledged, of
// unknown outcome, refused and not sent (no server was up).
func (l *ledger) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := make([]string, 0, len(l.ops))
	for k := range l.ops {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, k := range names {
		if i > 0 {
			b.WriteString("; ")
		}
		c := l.ops[k]
		fmt.Fprintf(&b, "%s %d/%d/%d/%d", k, c[acked], c[unknown], c[rejected], c[unsent])
	}
	return b.String()
}

// totals returns the number of writes acknowledged and of unknown outcome.
func (l *ledger) totals() (ack, unk int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.ops {
		ack += c[acked]
		unk += c[unknown]
	}
	return ack, unk
}

// checkContactRound checks a contact mirror of folder after a complete
// round that started when the ledger's position was start, against the
// consistency invariant: every contact whose last acknowledged write
// before the round put it in the folder is in the mirror at that state or
// newer, and every contact it removed from the folder is absent unless a
// later write brought it back. mirror maps ids to changeKeys.
func (l *ledger) checkContactRound(folder string, start int64, mirror map[string]string) []violation {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []violation
	for id, key := range mirror {
		r, ok := l.recs[id]
		switch {
		case !ok || r.kind != kContact:
			if l.creating[kContact] == 0 && l.lost[kContact] == 0 {
				out = append(out, violation{id, fmt.Sprintf("contact %s is in the mirror of folder %s, but no writer created it", id, folder)})
			}
		default:
			if why := r.roundProblem(folder, start, true, key); why != "" {
				out = append(out, violation{id, why})
			}
		}
	}
	// A contact whose last acknowledged write deleted it may be absent.
	for id, r := range l.live {
		if _, in := mirror[id]; !in {
			if why := r.roundProblem(folder, start, false, ""); why != "" {
				out = append(out, violation{id, why})
			}
		}
	}
	return out
}

// violation is a contact a mirror holds in a state the consistency
// invariant does not admit.
type violation struct {
	id  string
	why string
}

// roundProblem explains why a mirror's view of r after a round is
// inadmissible, or returns "".
func (r *record) roundProblem(folder string, start int64, in bool, key string) string {
	i0 := -1 // the last write acknowledged before the round started
	for i := range r.events {
		if e := &r.events[i]; e.outcome == acked && e.seq <= start {
			i0 = i
		}
	}
	inFolder := func(e *event) bool {
		return e.doc != nil && e.effect == present && str(e.doc, "parentFolderId") == folder
	}
	if in {
		for j := max(i0, 0); j < len(r.events); j++ {
			e := &r.events[j]
			switch {
			case e.outcome == acked && inFolder(e) && str(e.doc, "changeKey") == key:
				return ""
			case e.uncertain() && e.effect == present && (e.patch["parentFolderId"] == nil || str(e.patch, "parentFolderId") == folder) && !r.ackedKey(key):
				return ""
			}
		}
		return fmt.Sprintf("contact %s is in the mirror of folder %s with changeKey %s, but it was acknowledged as\n%s",
			r.id, folder, key, r.history(i0))
	}
	if i0 < 0 || !inFolder(&r.events[i0]) {
		return ""
	}
	for j := i0 + 1; j < len(r.events); j++ {
		e := &r.events[j]
		switch {
		case e.outcome == acked && !inFolder(e):
			return ""
		case e.uncertain() && (e.effect != present || (e.patch["parentFolderId"] != nil && str(e.patch, "parentFolderId") != folder)):
			return ""
		}
	}
	return fmt.Sprintf("contact %s is missing from the mirror of folder %s after a round that started after this write was acknowledged:\n%s",
		r.id, folder, r.history(i0))
}

// ackedKey reports whether key is the changeKey of an acknowledged write.
func (r *record) ackedKey(key string) bool {
	for i := range r.events {
		if e := &r.events[i]; e.outcome == acked && e.doc != nil && str(e.doc, "changeKey") == key {
			return true
		}
	}
	return false
}

// history describes r's writes from index from (all when from < 0).
func (r *record) history(from int) string {
	var b strings.Builder
	for i := max(from, 0); i < len(r.events); i++ {
		e := &r.events[i]
		fmt.Fprintf(&b, "  #%d %s (%s, seq %d)", i, e.op, outcomeNames[e.outcome], e.seq)
		if e.doc != nil {
			fmt.Fprintf(&b, " changeKey=%s parentFolderId=%s", str(e.doc, "changeKey"), str(e.doc, "parentFolderId"))
		}
		if e.req != "" {
			fmt.Fprintf(&b, "\n    %s", strings.ReplaceAll(e.req, "\n", "\n    "))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// observed is an object as the final state shows it.
type observed struct {
	effect effect
	doc    object // nil when gone
}

// verify checks the final state against the ledger: every object is at
// the state of its last acknowledged write, or at a state one of the
// writes after it (of unknown outcome) may have left; objects no writer
// knows of are at most the creates of unknown outcome. look returns an
// object's final state; all lists every object id of a kind in it.
func (l *ledger) verify(look func(kind, string) observed, all func(kind) []string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, k := range []kind{kContact, kFolder, kOrg} {
		strays := 0
		for _, id := range all(k) {
			if r, ok := l.recs[id]; !ok || r.kind != k {
				strays++
			}
		}
		if strays > l.lost[k] {
			out = append(out, fmt.Sprintf("%d %ss exist that no acknowledged create made (only %d creates had an unknown outcome)", strays, k, l.lost[k]))
		}
	}
	ids := make([]string, 0, len(l.recs))
	for id := range l.recs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := l.recs[id]
		if why := r.finalProblem(look(r.kind, id)); why != "" {
			out = append(out, why)
		}
	}
	return out
}

// finalProblem explains why obs is not a state r's writes may have left.
func (r *record) finalProblem(obs observed) string {
	// The state after the last acknowledged write, and the writes after it.
	var (
		eff      effect
		doc      object
		docKnown bool
		last     = -1
		trailing []*event
	)
	for i := range r.events {
		e := &r.events[i]
		switch e.outcome {
		case acked:
			eff, last = e.effect, i
			if e.doc != nil {
				doc, docKnown = e.doc, true
			} else if len(trailing) > 0 {
				docKnown = false // a write of unknown outcome may have changed it first
			}
			trailing = trailing[:0]
		case unknown, pending:
			trailing = append(trailing, e)
		}
	}
	if obs.effect == eff && (eff == gone || !docKnown || sameDoc(obs.doc, doc)) {
		return ""
	}
	for _, e := range trailing {
		if obs.effect != e.effect {
			continue
		}
		if obs.effect == gone || obs.effect == softDeleted {
			return ""
		}
		if hasMembers(obs.doc, e.patch) && (r.kind != kContact || !r.ackedKey(str(obs.doc, "changeKey"))) {
			return ""
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: the last acknowledged write (#%d) left it %s", r.kind, r.id, last, eff)
	if docKnown && eff != gone {
		fmt.Fprintf(&b, " as %s", compact(doc))
	}
	fmt.Fprintf(&b, "; %d later writes had an unknown outcome; the server now has it %s", len(trailing), obs.effect)
	if obs.doc != nil {
		fmt.Fprintf(&b, " as %s", compact(obs.doc))
	}
	b.WriteString("\nwrites:\n")
	b.WriteString(r.history(-1))
	return b.String()
}

// sameDoc compares two renderings of an object, ignoring annotations and
// deletedDateTime (set by a soft delete).
func sameDoc(a, b object) bool {
	strip := func(o object) map[string]any {
		m := map[string]any{}
		for k, v := range o {
			if strings.Contains(k, "@") || k == "deletedDateTime" {
				continue
			}
			var x any
			json.Unmarshal(v, &x)
			m[k] = x
		}
		return m
	}
	return reflect.DeepEqual(strip(a), strip(b))
}

// hasMembers reports whether o carries every member of patch, by value.
func hasMembers(o, patch object) bool {
	for k, v := range patch {
		if !jsonEqual(o[k], v) {
			return false
		}
	}
	return true
}

// jsonEqual compares two JSON values by meaning; an absent value is null.
func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if len(a) > 0 && json.Unmarshal(a, &x) != nil {
		return false
	}
	if len(b) > 0 && json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// compact renders an object on one line with its members sorted, without
// annotations.
func compact(o object) string {
	keys := make([]string, 0, len(o))
	for k := range o {
		if !strings.Contains(k, "@") {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", k, o[k])
	}
	b.WriteByte('}')
	return b.String()
}
