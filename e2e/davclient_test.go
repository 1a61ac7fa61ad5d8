package e2e

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// davClient sends CardDAV requests signed in one way: HTTP Basic with a
// UPN and an app password, or a bearer token.
type davClient struct {
	http *http.Client
	base string // scheme://host of the server; the balancer picks the replica
	auth []string
}

func basicDAV(a *api, upn, password string) *davClient {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(upn+":"+password))
	return &davClient{http: a.http, base: strings.TrimSuffix(a.base, "/v1.0"), auth: []string{"Authorization", basic}}
}

func bearerDAV(a *api) *davClient {
	return &davClient{http: a.http, base: strings.TrimSuffix(a.base, "/v1.0"), auth: []string{"Authorization", "Bearer " + a.token}}
}

// do sends one request to path (under /dav/) with body and the header
// pairs hdr. An error is a transport error, as for api.do.
func (d *davClient) do(ctx context.Context, method, path, body string, hdr ...string) (reply, error) {
	rp := reply{method: method, url: d.base + path, reqBody: []byte(body)}
	return exchange(ctx, d.http, rp, strings.NewReader(body), append(slices.Clone(d.auth), hdr...)...)
}

// multistatus is a 207 answer: its responses and sync-token.
type multistatus struct {
	Responses []struct {
		Href     string `xml:"DAV: href"`
		Status   string `xml:"DAV: status"`
		Propstat []struct {
			Status string `xml:"DAV: status"`
			Prop   struct {
				ETag string `xml:"DAV: getetag"`
				Data string `xml:"urn:ietf:params:xml:ns:carddav address-data"`
			} `xml:"DAV: prop"`
		} `xml:"DAV: propstat"`
	} `xml:"DAV: response"`
	Token string `xml:"DAV: sync-token"`
}

// davEntry is one response of a multistatus: a card's href with its
// status (from the response, or its first propstat's), ETag and data.
type davEntry struct {
	href       string
	status     int
	etag, data string
}

// entries decodes a 207 answer.
func (r reply) entries() ([]davEntry, string, error) {
	if r.status != http.StatusMultiStatus {
		return nil, "", fmt.Errorf("want status 207: %s", r)
	}
	var ms multistatus
	if err := xml.Unmarshal(r.body, &ms); err != nil {
		return nil, "", fmt.Errorf("%s: not a multistatus: %v", r, err)
	}
	out := make([]davEntry, 0, len(ms.Responses))
	for _, resp := range ms.Responses {
		e := davEntry{href: strings.TrimSpace(resp.Href)}
		st := resp.Status
		if len(resp.Propstat) > 0 {
			st = resp.Propstat[0].Status
			e.etag, e.data = strings.TrimSpace(resp.Propstat[0].Prop.ETag), resp.Propstat[0].Prop.Data
		}
		if _, err := fmt.Sscanf(st, "HTTP/1.1 %d", &e.status); err != nil {
			return nil, "", fmt.Errorf("%s: response %s has status %q", r, e.href, st)
		}
		out = append(out, e)
	}
	return out, strings.TrimSpace(ms.Token), nil
}

// davCard is a card of a mirror.
type davCard struct {
	etag, data string
}

// davMirror keeps a mirror of one address book with sync-collection
// rounds, as a CardDAV client does: a round follows 507 truncations with
// the token it returned, then fetches the bodies of the changed cards with
// addressbook-multiget. With forges it sends a forged or garbled token now
// and then, which must be refused with 403 DAV:valid-sync-token, and then
// resyncs in full; without, it runs incremental rounds only after its
// first, so its final state shows every deletion the server reported.
type davMirror struct {
	name   string
	d      *davClient
	book   string // the address book's path
	folder string
	limit  int // DAV:nresults of every report (0: none)
	rnd    *rand.Rand
	// forges makes about one round in twelve start with a forged token;
	// others are mirrors of other books, whose tokens it forges with.
	forges bool
	others []*davMirror

	pending *davRound // a round that failed on a transport error

	mu     sync.Mutex
	token  string
	cards  map[string]davCard // href -> card
	stats  davStats
	issues problemList
	last   string // the last transient failure, for the summary
}

// davStats counts what a mirror did.
type davStats struct {
	rounds, reports, truncated, multigets, forged, resyncs, transient, resumed int
}

func newDAVMirror(name string, d *davClient, book, folder string, limit int, seed uint64) *davMirror {
	return &davMirror{name: name, d: d, book: book, folder: folder, limit: limit, rnd: rand.New(rand.NewPCG(seed, 11)), cards: map[string]davCard{}}
}

func (m *davMirror) problem(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.issues.add(m.name+": ", format, args...)
}

// errTransient marks a round that failed on a transport error (a server
// killed or down) or a 5xx answer.
var errTransient = errors.New("transient")

func (m *davMirror) send(ctx context.Context, method, path, body string, hdr ...string) (reply, error) {
	r, err := m.d.do(ctx, method, path, body, hdr...)
	if err != nil && ctx.Err() == nil {
		return r, fmt.Errorf("%w: %v", errTransient, err) // a server killed or down
	}
	return r, err
}

// syncReport is the body of a sync-collection REPORT.
func syncReport(token string, limit int) string {
	l := ""
	if limit > 0 {
		l = fmt.Sprintf("<D:limit><D:nresults>%d</D:nresults></D:limit>", limit)
	}
	return `<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>` + xmlText(token) +
		`</D:sync-token><D:sync-level>1</D:sync-level>` + l + `<D:prop><D:getetag/></D:prop></D:sync-collection>`
}

func xmlText(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// forge returns a sync-token the server must refuse: garbage, one of
// another scheme, a real one with a character changed, or the token of
// another address book.
func (m *davMirror) forge(real string) string {
	switch m.rnd.IntN(4) {
	case 0:
		return "urn:x-contactgraph:sync:d:" + fmt.Sprint(m.rnd.Uint64())
	case 1:
		return "http://example.com/sync/" + fmt.Sprint(m.rnd.Uint64())
	case 2:
		// Not the last character: in base64 it may carry unused bits only.
		if prefix := len("urn:x-contactgraph:sync:d:"); len(real) > prefix+8 {
			i := prefix + m.rnd.IntN(len(real)-prefix-1)
			c := byte('A')
			if real[i] == 'A' {
				c = 'B'
			}
			return real[:i] + string(c) + real[i+1:]
		}
	case 3:
		for _, o := range m.others {
			o.mu.Lock()
			tok := o.token
			o.mu.Unlock()
			if tok != "" {
				return tok
			}
		}
	}
	return "urn:x-contactgraph:sync:s:forged"
}

// validSyncToken reports whether r is the 403 DAV:valid-sync-token answer.
func validSyncToken(r reply) bool {
	return r.status == http.StatusForbidden && strings.Contains(string(r.body), "valid-sync-token")
}

// davRound is a round under way: the token of its next report and the
// changes reported so far, by href (a later response wins).
type davRound struct {
	token   string
	full    bool              // from no token: the mirror is what the round lists
	ended   bool              // a report was not truncated: later ones are incremental
	changed map[string]string // href -> ETag
	removed map[string]bool
}

// round runs one complete round from the mirror's token (all cards when it
// has none) and applies it. A forged token, when sent, must be refused;
// the round then starts over without a token, as a client resyncs. A round
// that failed on a transport error is kept, and the next round continues
// it half the time (from the token of its last report: a 507's, or the
// round's end before the multiget failed), as a client resumes.
func (m *davMirror) round(ctx context.Context) error {
	rd := m.pending
	m.pending = nil
	if rd != nil && m.rnd.IntN(2) == 0 {
		m.stats.resumed++
	} else {
		var err error
		if rd, err = m.start(ctx); err != nil {
			return err
		}
	}
	err := m.follow(ctx, rd)
	if errors.Is(err, errTransient) {
		m.pending = rd
	}
	return err
}

// start begins a round from the mirror's token, or from none after a
// forged one.
func (m *davMirror) start(ctx context.Context) (*davRound, error) {
	m.mu.Lock()
	token := m.token
	m.mu.Unlock()
	if m.forges && token != "" && m.rnd.IntN(12) == 0 {
		forged := m.forge(token)
		r, err := m.send(ctx, "REPORT", m.book, syncReport(forged, m.limit), "Content-Type", "application/xml", "Depth", "1")
		if err != nil {
			return nil, err
		}
		if r.status >= 500 {
			return nil, fmt.Errorf("%w: %s", errTransient, r.summary())
		}
		m.stats.forged++
		if !validSyncToken(r) {
			m.problem("a forged sync-token %q was not refused with 403 DAV:valid-sync-token:\n%s", forged, r)
		}
		token = ""
	}
	if token == "" {
		m.stats.resyncs++
	}
	return &davRound{token: token, full: token == "", changed: map[string]string{}, removed: map[string]bool{}}, nil
}

// follow runs the reports of rd until one is not truncated, fetches the
// changed cards and applies the round.
func (m *davMirror) follow(ctx context.Context, rd *davRound) error {
	for pages := 0; ; pages++ {
		if pages > 10000 {
			return fmt.Errorf("a sync-collection round of more than %d reports", pages)
		}
		r, err := m.send(ctx, "REPORT", m.book, syncReport(rd.token, m.limit), "Content-Type", "application/xml", "Depth", "1")
		if err != nil {
			return err
		}
		m.stats.reports++
		switch {
		case r.status >= 500:
			return fmt.Errorf("%w: %s", errTransient, r.summary())
		case validSyncToken(r):
			// The server keeps every change the test makes: no token of
			// its own may be refused.
			return fmt.Errorf("the server's own sync-token %q was refused:\n%s", rd.token, r)
		}
		es, next, err := r.entries()
		if err != nil {
			return err
		}
		if next == "" {
			return fmt.Errorf("no sync-token in %s", r)
		}
		if m.limit > 0 && len(es) > m.limit+1 {
			return fmt.Errorf("%d responses for DAV:nresults %d: %s", len(es), m.limit, r)
		}
		truncated := false
		for _, e := range es {
			switch {
			case hrefPath(e.href) == m.book:
				if e.status != http.StatusInsufficientStorage {
					return fmt.Errorf("the address book itself answered %d in %s", e.status, r)
				}
				truncated = true
			case e.status == http.StatusNotFound:
				if rd.full && !rd.ended {
					return fmt.Errorf("a first round reports removed card %s: %s", e.href, r)
				}
				delete(rd.changed, e.href)
				rd.removed[e.href] = true
			case e.status == http.StatusOK && e.etag != "":
				rd.changed[e.href] = e.etag
				delete(rd.removed, e.href)
			default:
				return fmt.Errorf("response %s with status %d and ETag %q: %s", e.href, e.status, e.etag, r)
			}
		}
		rd.token = next
		if !truncated {
			rd.ended = true
			break
		}
		m.stats.truncated++
	}
	bodies, err := m.multiget(ctx, rd.changed)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if rd.full {
		for href := range m.cards {
			if _, ok := rd.changed[href]; !ok {
				delete(m.cards, href)
			}
		}
	}
	for href := range rd.removed {
		delete(m.cards, href)
	}
	for href, c := range bodies {
		if c == nil {
			delete(m.cards, href) // gone since the report
			continue
		}
		m.cards[href] = *c
	}
	m.token = rd.token
	m.stats.rounds++
	return nil
}

// multiget fetches the cards whose ETag in changed differs from the
// mirror's, a few at a time; a card gone since the report maps to nil.
func (m *davMirror) multiget(ctx context.Context, changed map[string]string) (map[string]*davCard, error) {
	var hrefs []string
	m.mu.Lock()
	for href, etag := range changed {
		if m.cards[href].etag != etag {
			hrefs = append(hrefs, href)
		}
	}
	m.mu.Unlock()
	slices.Sort(hrefs)
	out := map[string]*davCard{}
	for len(hrefs) > 0 {
		n := min(len(hrefs), 1+m.rnd.IntN(20))
		batch := hrefs[:n]
		hrefs = hrefs[n:]
		var b strings.Builder
		b.WriteString(`<?xml version="1.0" encoding="utf-8"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop>`)
		for _, h := range batch {
			b.WriteString("<D:href>" + xmlText(h) + "</D:href>")
		}
		b.WriteString("</C:addressbook-multiget>")
		r, err := m.send(ctx, "REPORT", m.book, b.String(), "Content-Type", "application/xml", "Depth", "1")
		if err != nil {
			return nil, err
		}
		if r.status >= 500 {
			return nil, fmt.Errorf("%w: %s", errTransient, r.summary())
		}
		m.stats.multigets++
		es, _, err := r.entries()
		if err != nil {
			return nil, err
		}
		got := map[string]bool{}
		for _, e := range es {
			got[e.href] = true
			switch {
			case e.status == http.StatusNotFound:
				out[e.href] = nil
			case e.status == http.StatusOK && e.etag != "" && strings.HasPrefix(e.data, "BEGIN:VCARD"):
				out[e.href] = &davCard{etag: e.etag, data: e.data}
			default:
				return nil, fmt.Errorf("multiget response %s: status %d, ETag %q, data %q", e.href, e.status, e.etag, clip([]byte(e.data)))
			}
		}
		for _, h := range batch {
			if !got[h] {
				return nil, fmt.Errorf("multiget did not answer %s: %s", h, r)
			}
		}
	}
	return out, nil
}

// step runs one round; a transient failure is counted and reported.
func (m *davMirror) step(ctx context.Context) (failed bool) {
	err := m.round(ctx)
	switch {
	case err == nil, ctx.Err() != nil:
		return false
	case errors.Is(err, errTransient):
		m.stats.transient++
		m.last = err.Error()
		return true
	}
	m.problem("round: %v", err)
	return false
}

func (m *davMirror) run(ctx context.Context, stop <-chan struct{}) {
	repeat(ctx, stop, m.rnd, 5*time.Millisecond, 250*time.Millisecond, func() bool { return m.step(ctx) })
}

// catchUp runs rounds until one completes, or the deadline passes.
func (m *davMirror) catchUp(ctx context.Context, deadline time.Time) error {
	for {
		err := m.round(ctx)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errTransient) || time.Now().After(deadline) {
			return fmt.Errorf("%s: final round: %w", m.name, err)
		}
		time.Sleep(100 * time.Millisecond) // pacing, not synchronization
	}
}

func (m *davMirror) String() string {
	s := m.stats
	return fmt.Sprintf("%s: %d rounds completed (%d full), %d reports, %d truncated (507), %d multigets, %d forged tokens refused, %d rounds failed on transport errors (%d resumed; the last: %s), %d cards mirrored",
		m.name, s.rounds, s.resyncs, s.reports, s.truncated, s.multigets, s.forged, s.transient, s.resumed, m.last, len(m.cards))
}

// hrefPath is the path of an href, absolute or not.
func hrefPath(href string) string {
	if u, err := url.Parse(href); err == nil {
		return u.Path
	}
	return href
}

// cardLine returns the values of a card's content lines named name
// (without parameters), unfolded.
func cardLines(data, name string) []string {
	data = strings.NewReplacer("\r\n ", "", "\r\n\t", "", "\n ", "").Replace(data)
	re := regexp.MustCompile(`(?mi)^` + regexp.QuoteMeta(name) + `(;[^:\r\n]*)?:(.*?)\r?$`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(data, -1) {
		out = append(out, m[2])
	}
	return out
}
