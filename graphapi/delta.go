package graphapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/delta"
)

// deltaState is the server's delta machinery.
type deltaState struct {
	engine *delta.Engine
}

func (s *Server) initDelta() error {
	e, err := delta.NewEngine(context.Background(), s.cfg.Store)
	if err != nil {
		return err
	}
	e.Now, e.Retention, e.DirectoryRetention, e.RoundLifetime = s.cfg.Now, s.cfg.DeltaRetention, s.cfg.DirectoryRetention, s.cfg.RoundLifetime
	s.delta.engine = e
	return nil
}

// deltaSpec is what differs between the delta collections on the wire.
type deltaSpec struct {
	schema      *contactgraph.Schema
	context     string   // @odata.context fragment
	defaultPage int      // page size without Prefer: odata.maxpagesize
	unsupported []string // OData options refused with a 400
	filter      bool     // $filter=id eq '…' (or …) and $deltatoken=latest
	minimal     bool     // Prefer: return=minimal
}

var (
	contactDeltaSpec = deltaSpec{schema: contactgraph.ContactSchema, context: "Collection(contact)", defaultPage: 10,
		unsupported: []string{optFilter, optOrderBy, optTop, optSkip, optSearch, optExpand, optCount}}
	folderDeltaSpec = deltaSpec{schema: contactgraph.FolderSchema, context: "Collection(contactFolder)", defaultPage: 10,
		unsupported: []string{optFilter, optOrderBy, optTop, optSkip, optSearch, optExpand, optCount}}
	orgDeltaSpec = deltaSpec{schema: contactgraph.OrgContactSchema, context: "contacts", defaultPage: 200,
		unsupported: []string{optOrderBy, optTop, optSkip, optSearch, optExpand, optCount}, filter: true, minimal: true}
)

// serveDelta answers one delta call: it checks the query (options live in
// the token: $select and $filter count only on a round's first call), reads
// Prefer on every call, runs the engine and writes the page with exactly
// one of @odata.nextLink and @odata.deltaLink. The query and the
// principal are the ones route parsed into c.
func (s *Server) serveDelta(w http.ResponseWriter, r *http.Request, c *call, req delta.Request, spec deltaSpec) {
	q := c.q
	var err error
	for _, opt := range spec.unsupported {
		if q.Has(opt) {
			s.writeError(w, r, contactgraph.Errorf(contactgraph.EUnsupported,
				"The query parameter '%s' is not supported with change tracking over the '%s' resource. Use the Prefer: odata.maxpagesize header to set the page size.",
				opt, strings.TrimPrefix(spec.schema.Type, "microsoft.graph.")))
			return
		}
	}
	for name := range q {
		// A token without its "$" would be ignored as a custom parameter
		// and silently start a full round: refuse it, as Graph does.
		if n := strings.ToLower(name); n == "deltatoken" || n == "skiptoken" {
			s.writeError(w, r, contactgraph.Errorf(eBadRequest,
				"The query parameter '%s' is not a query option: the token of a delta link goes in '$%s'. Use the link exactly as the server returned it.", name, n))
			return
		}
	}
	badToken := func() {
		err := contactgraph.Errorf(contactgraph.EBadToken, "Badly formed token.")
		s.observeDelta(req.Collection, delta.Page{}, false, err)
		s.writeError(w, r, err)
	}
	if q.Has(optSkipToken) && q.Has(optDeltaTok) {
		badToken()
		return
	}
	req.Token = q.Get(optSkipToken) + q.Get(optDeltaTok)
	req.TokenIsSkip = q.Has(optSkipToken)
	if (q.Has(optSkipToken) || q.Has(optDeltaTok)) && req.Token == "" {
		badToken()
		return
	}
	if req.Token == delta.LatestToken && (!spec.filter || q.Has(optSkipToken)) {
		badToken()
		return
	}
	first := req.Token == "" || req.Token == delta.LatestToken
	if first && q.Has(optSelect) {
		if req.Select, err = spec.schema.Select(strings.Split(q.Get(optSelect), ",")); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if first && spec.filter && q.Has(optFilter) {
		if req.Filter, err = delta.ParseIDFilter(q.Get(optFilter)); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	req.Caller = delta.CallerOf(c.p)
	pref := parsePrefer(r.Header)
	req.PageSize = min(spec.defaultPage, s.cfg.DeltaMaxPageSize)
	if pref.MaxPageSize > 0 {
		req.PageSize = min(pref.MaxPageSize, s.cfg.DeltaMaxPageSize)
	}
	req.Minimal = spec.minimal && pref.ReturnMinimal
	var page delta.Page
	switch req.Collection {
	case delta.Contacts:
		page, err = s.delta.engine.Contacts(r.Context(), req)
	case delta.Folders:
		page, err = s.delta.engine.Folders(r.Context(), req)
	default:
		page, err = s.delta.engine.OrgContacts(r.Context(), req)
	}
	if err != nil && len(c.t.folders) > 0 && !errors.Is(err, contactgraph.ErrNotFound) {
		// A missing folder is the answer whatever else is wrong with the
		// request (a token the engine refused before reading the store):
		// only then is the folder read here.
		if _, ferr := s.cfg.Store.Folder(r.Context(), c.mb, c.lastFolderID()); errors.Is(ferr, contactgraph.ErrNotFound) {
			err = ferr
		}
	}
	s.observeDelta(req.Collection, page, !req.TokenIsSkip, err)
	if err != nil {
		if contactgraph.ErrorCode(err) == contactgraph.EResyncRequired {
			// Graph's reset answer names where to start over: the delta
			// URL without a token.
			w.Header().Set("Location", s.linkBase(r))
		}
		s.writeError(w, r, err)
		return
	}
	var b bytes.Buffer
	page.AppendJSON(&b, s.contextURL(r, spec.context), s.linkBase(r))
	var applied []string
	if pref.MaxPageSize > 0 {
		applied = append(applied, "odata.maxpagesize="+strconv.Itoa(req.PageSize))
	}
	if req.Minimal && page.Incremental { // a first round returns whole objects: minimal does nothing there
		applied = append(applied, "return=minimal")
	}
	for _, a := range applied {
		addPreferenceApplied(w.Header(), a)
	}
	s.writeJSON(w, r, http.StatusOK, b.Bytes())
}
