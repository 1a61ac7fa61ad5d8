package delta

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/contactgraph/contactgraph"
)

// Engine runs delta rounds.
type Engine struct {
	Store     contactgraph.Store
	Codec     *Codec
	Now       func() time.Time // nil for time.Now
	Retention time.Duration    // how long a position stays answerable (Outlook items)
	// DirectoryRetention is how long an org contact position stays answerable.
	DirectoryRetention time.Duration
	// RoundLifetime is how long a round may take: a nextLink older than
	// this is refused, so superseded log entries can be pruned after it.
	RoundLifetime time.Duration
	// ResyncBefore, when set, returns a time before which every token of
	// the tenant is refused with EResyncRequired: a server-forced resync.
	ResyncBefore func(tenant string) time.Time

	// naive drops the round's upper bound and takes the next position from
	// a separate read after the last page: the classic design that loses
	// changes. Only tests set it, to show that the concurrency test catches it.
	naive bool
}

// Request is one delta call.
type Request struct {
	Collection Collection
	Tenant     string               // the tenant of an org contact round
	Mailbox    contactgraph.Mailbox // the mailbox of a contact or folder round
	Scope      string               // folder id; "" for every folder of the mailbox
	Caller     string               // the principal's binding, see CallerOf
	Select     []string             // validated $select of a first request (nil: every property)
	Token      string               // the $skiptoken or $deltatoken, "" for a first request
	// TokenIsSkip says the token came as $skiptoken: a nextLink's token
	// must come back as one, a deltaLink's as $deltatoken.
	TokenIsSkip bool
	PageSize    int
	Filter      []string // org contacts: ids of a first request's $filter
	Minimal     bool     // org contacts: Prefer: return=minimal
}

// tenant returns the tenant the request is in.
func (r Request) tenant() string {
	if r.Mailbox.TenantID != "" {
		return r.Mailbox.TenantID
	}
	return r.Tenant
}

// Page is one answer of a round: rendered items, and either the token of
// the next page or the token of the next round.
type Page struct {
	Items     []json.RawMessage
	SkipToken string
	DeltaTok  string
	// Incremental says the page belongs to a round from a deltaLink (a
	// start position after the beginning); only such rounds report changes
	// rather than state, so only they honour Prefer: return=minimal.
	Incremental bool
}

// CallerOf returns the token binding of a principal: its user for a
// delegated token, its application otherwise.
func CallerOf(p contactgraph.Principal) string {
	if p.Delegated() {
		return "u:" + p.UserID
	}
	return "a:" + p.AppID
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// bindScope is the scope a token is bound to. The contacts of a mailbox's
// default folder bind to the mailbox, not to the folder's id: a mailbox
// deleted and created again gets a new default folder, and an old
// /me/contacts/delta link must then be refused as expired (410, resync),
// which the store does, not as malformed.
func bindScope(req Request) string {
	if req.Collection == Contacts && req.Scope == req.Mailbox.RootID {
		return "default"
	}
	return req.Scope
}

// badToken is the error for a token that cannot be used here.
func badToken() error {
	return contactgraph.Errorf(contactgraph.EBadToken, "Badly formed token.")
}

// start decodes and checks a request's token, returning the round state to
// continue from. A request without a token starts a first round.
func (e *Engine) start(req Request, owner string, retention time.Duration) (Token, error) {
	now := e.now()
	bind := Bind(req.Collection, req.tenant(), owner, bindScope(req), req.Caller)
	if req.Token == "" {
		return Token{Skip: true, Collection: req.Collection, Binding: bind, Issued: now, Select: req.Select, Filter: req.Filter}, nil
	}
	t, err := e.Codec.Decode(req.Token)
	if errors.Is(err, ErrForeignKey) {
		return t, &contactgraph.Error{Code: contactgraph.EResyncRequired} // graphapi words it
	}
	if err != nil {
		return t, badToken()
	}
	if t.Collection != req.Collection || t.Binding != bind || t.Skip != req.TokenIsSkip {
		return t, badToken()
	}
	if e.ResyncBefore != nil && t.Issued.Before(e.ResyncBefore(req.tenant())) {
		return t, &contactgraph.Error{Code: contactgraph.EResyncRequired} // graphapi words it
	}
	if retention > 0 && now.Sub(t.Issued) > retention {
		return t, expired()
	}
	if t.Skip && e.RoundLifetime > 0 && now.Sub(t.Issued) > e.RoundLifetime {
		return t, contactgraph.Errorf(contactgraph.ESyncStateExpired,
			"The sync state generation is not found. The round of this link started more than %s ago; start again from the last deltaLink.", e.RoundLifetime)
	}
	if !t.Skip {
		// A deltaLink starts a new round at its position.
		t.Skip, t.Until, t.After, t.Issued = true, 0, t.Since, now
	}
	return t, nil
}

func expired() error {
	return &contactgraph.Error{Code: contactgraph.ESyncStateExpired,
		Message: "The sync state generation is not found. The delta token is expired and data must be synchronized again."}
}

// page turns one store page into an answer, minting the next token.
func (e *Engine) page(t Token, until int64, more bool, lastRev int64, items []json.RawMessage) Page {
	p := Page{Items: items, Incremental: t.Since > 0}
	if more {
		t.Until, t.After = until, lastRev
		p.SkipToken = e.Codec.Encode(t)
		return p
	}
	t.Skip, t.Since, t.Until, t.After = false, until, 0, until
	p.DeltaTok = e.Codec.Encode(t)
	return p
}

// query builds the store query of a round state.
func (e *Engine) query(t Token, limit int) contactgraph.ChangeQuery {
	q := contactgraph.ChangeQuery{Since: t.Since, Until: t.Until, After: t.After, Limit: limit}
	if e.naive {
		q.Until = math.MaxInt64
	}
	return q
}

// round answers one call of a round: it checks the token, reads one store
// page with read and renders each change with render, then mints the next
// token. Contacts, folders and org contacts share it.
func round[T any](ctx context.Context, e *Engine, req Request, owner string, retention time.Duration,
	read func(t Token, q contactgraph.ChangeQuery) (contactgraph.ChangePage[T], error), render func(t Token, ch T) json.RawMessage) (Page, error) {
	t, err := e.start(req, owner, retention)
	if err != nil {
		return Page{}, err
	}
	sp, err := read(t, e.query(t, req.PageSize))
	if err != nil {
		return Page{}, mapExpired(err)
	}
	items := make([]json.RawMessage, 0, len(sp.Changes))
	for _, ch := range sp.Changes {
		items = append(items, render(t, ch))
	}
	until := sp.Until
	if e.naive && !sp.More {
		// The broken design: the next position is the head read after the page.
		head, err := read(t, contactgraph.ChangeQuery{Limit: 0})
		if err != nil {
			return Page{}, err
		}
		until = head.Until
	}
	return e.page(t, until, sp.More, max(sp.Last, t.After), items), nil
}

// Contacts answers one call of a contact delta round over the folder req.Scope.
func (e *Engine) Contacts(ctx context.Context, req Request) (Page, error) {
	return round(ctx, e, req, req.Mailbox.UserID, e.Retention,
		func(_ Token, q contactgraph.ChangeQuery) (contactgraph.ChangePage[contactgraph.ContactChange], error) {
			return e.Store.ContactChanges(ctx, req.Mailbox, req.Scope, q)
		},
		func(t Token, ch contactgraph.ContactChange) json.RawMessage {
			if ch.Removed {
				return tombstone(contactType, ch.ID)
			}
			return RenderContact(ch.Contact, t.Select)
		})
}

// Folders answers one call of a folder delta round: every folder of the
// mailbox when req.Scope is empty, else the children of that folder.
func (e *Engine) Folders(ctx context.Context, req Request) (Page, error) {
	return round(ctx, e, req, req.Mailbox.UserID, e.Retention,
		func(_ Token, q contactgraph.ChangeQuery) (contactgraph.ChangePage[contactgraph.FolderChange], error) {
			return e.Store.FolderChanges(ctx, req.Mailbox, req.Scope, q)
		},
		func(t Token, ch contactgraph.FolderChange) json.RawMessage {
			if ch.Removed {
				return tombstone(folderType, ch.ID)
			}
			return RenderFolder(ch.Folder, t.Select)
		})
}

// mapExpired gives the store's expired-position error Graph's message.
func mapExpired(err error) error {
	if errors.Is(err, contactgraph.ErrSyncStateExpired) {
		return expired()
	}
	return err
}

const (
	contactType = "#microsoft.graph.contact"
	folderType  = "#microsoft.graph.contactFolder"
)

// tombstone renders a removed Outlook item.
func tombstone(typ, id string) json.RawMessage {
	var b bytes.Buffer
	b.WriteString(`{"@odata.type":"`)
	b.WriteString(typ)
	b.WriteString(`","id":`)
	writeString(&b, id)
	b.WriteString(`,"@removed":{"reason":"deleted"}}`)
	return b.Bytes()
}

// RenderContact renders a contact as a delta or list item: its annotations
// and either its whole document or the selected properties (which always
// include id).
func RenderContact(c *contactgraph.Contact, sel []string) json.RawMessage {
	var b bytes.Buffer
	b.Grow(len(c.Doc) + 96)
	b.WriteString(`{"@odata.type":"` + contactType + `","@odata.etag":`)
	writeString(&b, c.ETag())
	writeMembers(&b, c.Doc, sel)
	return b.Bytes()
}

// RenderFolder renders a folder as a delta or list item.
func RenderFolder(f *contactgraph.Folder, sel []string) json.RawMessage {
	var b bytes.Buffer
	b.WriteString(`{"@odata.type":"` + folderType + `"`)
	writeMembers(&b, f.Doc(), sel)
	return b.Bytes()
}

// writeMembers appends ,"name":value for the members of doc (a JSON
// object) and closes the object: all of them when sel is nil, else those
// named in sel, in sel's order.
func writeMembers(b *bytes.Buffer, doc json.RawMessage, sel []string) {
	if sel == nil {
		if len(doc) > 2 {
			b.WriteByte(',')
			b.Write(doc[1:])
		} else {
			b.WriteByte('}')
		}
		return
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(doc, &m)
	for _, name := range sel {
		v, ok := m[name]
		if !ok {
			continue
		}
		b.WriteByte(',')
		writeString(b, name)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
}

func writeString(b *bytes.Buffer, s string) {
	v, _ := json.Marshal(s)
	b.Write(v)
}

// AppendJSON appends the page as a Graph delta response body:
// @odata.context, exactly one of @odata.nextLink and @odata.deltaLink
// (link followed by the page's token), and value.
func (p Page) AppendJSON(b *bytes.Buffer, contextURL, link string) {
	n := 64 + 2*len(contextURL) + 2*len(link) + len(p.SkipToken) + len(p.DeltaTok) + len(p.Items)
	for _, it := range p.Items {
		n += len(it)
	}
	b.Grow(n)
	b.WriteString(`{"@odata.context":`)
	writeString(b, contextURL)
	if p.SkipToken != "" {
		b.WriteString(`,"@odata.nextLink":`)
		writeString(b, link+"?$skiptoken="+p.SkipToken)
	} else {
		b.WriteString(`,"@odata.deltaLink":`)
		writeString(b, link+"?$deltatoken="+p.DeltaTok)
	}
	b.WriteString(`,"value":[`)
	for i, it := range p.Items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(it)
	}
	b.WriteString(`]}`)
}

// TokenKeySecret names the store secret that signs delta tokens: kept in
// the store, so that a restarted server and every replica on the same
// database accept the same tokens.
const TokenKeySecret = "delta-token-key"

// NewEngine returns an engine on store whose codec signs with the store's
// token key (TokenKeySecret), made on first use. The caller sets Now, the
// retentions and the other options.
func NewEngine(ctx context.Context, store contactgraph.Store) (*Engine, error) {
	key, err := store.Secret(ctx, TokenKeySecret, func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return []byte(hex.EncodeToString(b)), err
	})
	if err != nil {
		return nil, fmt.Errorf("delta token key: %w", err)
	}
	codec, err := NewCodec(key)
	if err != nil {
		return nil, err
	}
	return &Engine{Store: store, Codec: codec}, nil
}
