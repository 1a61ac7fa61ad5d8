package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/client"
)

// deltaClient keeps a mirror of one collection with client.Client rounds,
// as a sync client does, with the habits of real ones: random page sizes,
// rounds abandoned half way, and rounds resumed from an older deltaLink it
// saved.
type deltaClient struct {
	name    string
	kind    kind     // the collection's objects
	initial string   // the first round's URL, $select included
	scope   string   // contacts: the folder; folders: the parent ("" for every folder)
	sel     []string // $select; nil for none (org contacts: the default set)
	c       *client.Client
	m       *client.MapMirror
	ledger  *ledger // checks every round of a contact mirror without $select; nil: no check
	rnd     *rand.Rand
	// mayAbandon lets the client abandon rounds half way and resume from
	// older deltaLinks.
	mayAbandon bool

	links    []string // saved deltaLinks, oldest first
	stats    clientStats
	requests atomic.Int64

	mu       sync.Mutex
	problems problemList
	reported map[string]bool // contacts already reported by the invariant check
}

// maxProblems bounds the problems a client keeps: once a mirror is wrong,
// every later round would report it again.
const maxProblems = 10

// problemList keeps what a test client saw that the server must not do: at
// most maxProblems lines, then only their count. Its owner serializes
// its use.
type problemList struct {
	list []string
	more int // problems past maxProblems, not kept
}

// add records a problem; prefix names the client.
func (p *problemList) add(prefix, format string, args ...any) {
	if len(p.list) >= maxProblems {
		p.more++
		return
	}
	p.list = append(p.list, prefix+fmt.Sprintf(format, args...))
}

// report fails t with every problem kept and the count of the others.
func (p *problemList) report(t *testing.T, name string) {
	t.Helper()
	for _, s := range p.list {
		t.Error(s)
	}
	if p.more > 0 {
		t.Errorf("%s: and %d more problems", name, p.more)
	}
}

// clientStats counts what a client did.
type clientStats struct {
	rounds, items, abandoned, resumedOld, resets, transient int
}

// maxLinks bounds the deltaLinks a client keeps.
const maxLinks = 8

// newDeltaClient returns a client of the collection at path (relative to
// a's base URL, with its query), with a's HTTP client and token.
func newDeltaClient(name string, k kind, a *api, path string, sel []string, seed uint64) *deltaClient {
	initial := a.base + path
	if sel != nil {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		initial += sep + "$select=" + url.QueryEscape(strings.Join(sel, ","))
	}
	dc := &deltaClient{name: name, kind: k, initial: initial, sel: sel, m: &client.MapMirror{}, rnd: rand.New(rand.NewPCG(seed, 7))}
	tok := a.token
	next := a.http.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc := &http.Client{Timeout: requestTimeout, Transport: pageChecker{next: next, dc: dc}}
	dc.c = &client.Client{HTTP: hc, Token: func(context.Context) (string, error) { return tok, nil }, MaxWait: 2 * time.Second}
	return dc
}

// pageChecker is an http.RoundTripper that counts a client's requests and
// checks every delta page on the wire: a JSON object with a "value" array
// and exactly one link, absolute on the base URL the request used (the
// replica's, which changes with every restart), at most the page size the
// client asked for, and Preference-Applied saying so.
type pageChecker struct {
	next http.RoundTripper
	dc   *deltaClient
}

func (c pageChecker) RoundTrip(r *http.Request) (*http.Response, error) {
	c.dc.requests.Add(1)
	resp, err := c.next.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		// A server killed in the middle of the body: a transport error,
		// not a page (handing on the bytes read would be a truncated page).
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if why := checkPage(r, resp, body); why != "" {
		c.dc.problem("%s %s: %s\n  < %s", r.Method, r.URL, why, clip(body))
	}
	return resp, nil
}

// checkPage explains what is wrong with a delta page, or returns "".
func checkPage(r *http.Request, resp *http.Response, body []byte) string {
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return "Content-Type " + ct
	}
	if resp.Header.Get("request-id") == "" {
		return "no request-id header"
	}
	var page map[string]json.RawMessage
	if err := json.Unmarshal(body, &page); err != nil {
		return "not a JSON object"
	}
	var value []json.RawMessage
	if v, ok := page["value"]; !ok || v[0] != '[' || json.Unmarshal(v, &value) != nil {
		return `"value" is not an array`
	}
	var links []string
	for _, k := range []string{"@odata.nextLink", "@odata.deltaLink"} {
		if v, ok := page[k]; ok {
			var link string
			if json.Unmarshal(v, &link) != nil || link == "" {
				return k + " is not a non-empty string"
			}
			links = append(links, link)
		}
	}
	if len(links) != 1 {
		return fmt.Sprintf("%d links, want exactly one", len(links))
	}
	if base := "http://" + resp.Request.Host + "/v1.0/"; !strings.HasPrefix(links[0], base) {
		return fmt.Sprintf("link %s is not on the base URL the request used (%s)", links[0], base)
	}
	var n int
	if _, err := fmt.Sscanf(r.Header.Get("Prefer"), "odata.maxpagesize=%d", &n); err == nil {
		if len(value) > n {
			return fmt.Sprintf("%d items, more than odata.maxpagesize=%d", len(value), n)
		}
		if !strings.Contains(resp.Header.Get("Preference-Applied"), fmt.Sprintf("odata.maxpagesize=%d", n)) {
			return "Preference-Applied " + resp.Header.Get("Preference-Applied") + fmt.Sprintf(", want odata.maxpagesize=%d", n)
		}
	}
	return ""
}

// problem records something the client saw that the server must not do.
func (dc *deltaClient) problem(format string, args ...any) {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	dc.problems.add(dc.name+": ", format, args...)
}

// transient reports whether err is a transport error (the server was down
// or killed), rather than an error answer or a page that breaks the
// protocol.
func transient(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errNoServer)
}

// countingMirror counts the items applied to a mirror and its resets (a
// full round: the first one, or a resynchronization).
type countingMirror struct {
	*client.MapMirror
	s *clientStats
}

func (m countingMirror) Reset() error {
	m.s.resets++
	return m.MapMirror.Reset()
}

func (m countingMirror) Apply(it client.Item) error {
	m.s.items++
	return m.MapMirror.Apply(it)
}

// step runs one round, or part of one. Transport errors are counted and
// tolerated (step reports them); error answers are problems.
func (dc *deltaClient) step(ctx context.Context) (failed bool) {
	dc.c.PageSize = 0 // the server's default
	if dc.rnd.IntN(4) > 0 {
		dc.c.PageSize = 1 + dc.rnd.IntN(25)
	}
	start := int64(0)
	if dc.ledger != nil {
		start = dc.ledger.position()
	}
	latest := ""
	if len(dc.links) > 0 {
		latest = dc.links[len(dc.links)-1]
	}
	var (
		next string
		err  error
	)
	switch x := dc.rnd.IntN(10); {
	case dc.mayAbandon && x == 0 && latest != "":
		var done bool
		dc.c.PageSize = 1 + dc.rnd.IntN(2) // small pages: a round of several
		next, done, err = dc.partial(ctx, latest, 1+dc.rnd.IntN(3))
		if err == nil && !done {
			dc.stats.abandoned++
			return false
		}
	case dc.mayAbandon && x == 1 && len(dc.links) > 1:
		dc.stats.resumedOld++
		next, err = dc.c.Sync(ctx, dc.initial, dc.links[dc.rnd.IntN(len(dc.links)-1)], dc.mirror())
	default:
		next, err = dc.c.Sync(ctx, dc.initial, latest, dc.mirror())
	}
	switch {
	case err == nil:
		dc.completed(next, start)
		return false
	case ctx.Err() != nil:
		return false
	case transient(err):
		dc.stats.transient++
		return true
	}
	dc.problem("round: %v", err)
	return false
}

func (dc *deltaClient) mirror() client.Mirror { return countingMirror{dc.m, &dc.stats} }

// partial follows a round from link for at most pages pages; done reports
// that it reached the round's end.
func (dc *deltaClient) partial(ctx context.Context, link string, pages int) (next string, done bool, err error) {
	for i := 0; i < pages; i++ {
		p, err := dc.c.Get(ctx, link)
		if err != nil {
			return "", false, err
		}
		for _, it := range p.Items {
			if err := dc.mirror().Apply(it); err != nil {
				return "", false, err
			}
		}
		if p.DeltaLink != "" {
			return p.DeltaLink, true, nil
		}
		link = p.NextLink
	}
	return "", false, nil
}

// completed saves a round's deltaLink and checks the mirror.
func (dc *deltaClient) completed(next string, start int64) {
	dc.stats.rounds++
	dc.links = append(dc.links, next)
	if len(dc.links) > maxLinks {
		dc.links = dc.links[1:]
	}
	if dc.ledger != nil && dc.kind == kContact && dc.sel == nil {
		if dc.reported == nil {
			dc.reported = map[string]bool{}
		}
		for _, p := range dc.ledger.checkContactRound(dc.scope, start, changeKeys(dc.m)) {
			if !dc.reported[p.id] {
				dc.reported[p.id] = true
				dc.problem("consistency invariant broken after round %d: %s", dc.stats.rounds, p.why)
			}
		}
	}
}

// run runs rounds until stop is closed or ctx ends; it pauses briefly
// after a transport error.
func (dc *deltaClient) run(ctx context.Context, stop <-chan struct{}) {
	repeat(ctx, stop, dc.rnd, 2*time.Millisecond, 250*time.Millisecond, func() bool { return dc.step(ctx) })
}

// catchUp runs complete rounds from the latest deltaLink until one
// succeeds, or the deadline passes.
func (dc *deltaClient) catchUp(ctx context.Context, deadline time.Time) error {
	for {
		dc.c.PageSize = 1 + dc.rnd.IntN(50)
		latest := ""
		if len(dc.links) > 0 {
			latest = dc.links[len(dc.links)-1]
		}
		start := int64(0)
		if dc.ledger != nil {
			start = dc.ledger.position()
		}
		next, err := dc.c.Sync(ctx, dc.initial, latest, dc.mirror())
		if err == nil {
			dc.completed(next, start)
			return nil
		}
		if !transient(err) || time.Now().After(deadline) {
			return fmt.Errorf("%s: final round: %w", dc.name, err)
		}
		time.Sleep(100 * time.Millisecond) // pacing, not synchronization
	}
}

// want returns what the client's mirror must hold when st is the state.
func (dc *deltaClient) want(st *state) map[string]object {
	switch dc.kind {
	case kContact:
		return st.contactsIn(dc.scope, dc.sel)
	case kFolder:
		return st.foldersUnder(dc.scope)
	}
	sel := dc.sel
	if sel == nil {
		sel = contactgraph.OrgContactDeltaDefault
	}
	return st.orgContacts(sel)
}

// diff compares the mirror with st, or returns "".
func (dc *deltaClient) diff(st *state) string {
	return diffObjects(mirrorObjects(dc.m, dc.kind == kOrg), dc.want(st))
}

// String summarizes what the client did.
func (dc *deltaClient) String() string {
	s := dc.stats
	return fmt.Sprintf("%s: %d rounds completed, %d abandoned half way, %d resumed from an older deltaLink, %d full (first or resync), %d requests, %d items applied, %d rounds failed on transport errors, %d objects mirrored",
		dc.name, s.rounds, s.abandoned, s.resumedOld, s.resets, dc.requests.Load(), s.items, s.transient, dc.m.Len())
}
