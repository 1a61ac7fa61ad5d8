package graphapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/contactgraph/contactgraph"
)

// userSchema is microsoft.graph.user's default property set, in Graph's
// order. The server keeps id, displayName, userPrincipalName and mail; the
// others are answered as Graph answers them when unset (null, and [] for
// businessPhones) and are read-only here.
var userSchema = contactgraph.NewSchema("microsoft.graph.user", []contactgraph.Property{
	{Name: "businessPhones", Kind: contactgraph.KStringList, ReadOnly: true},
	{Name: "displayName", Kind: contactgraph.KString, MaxLen: 256},
	{Name: "givenName", Kind: contactgraph.KString, ReadOnly: true},
	{Name: "jobTitle", Kind: contactgraph.KString, ReadOnly: true},
	{Name: "mail", Kind: contactgraph.KString, MaxLen: 256},
	{Name: "mobilePhone", Kind: contactgraph.KString, ReadOnly: true},
	{Name: "officeLocation", Kind: contactgraph.KString, ReadOnly: true},
	{Name: "preferredLanguage", Kind: contactgraph.KString, ReadOnly: true},
	{Name: "surname", Kind: contactgraph.KString, ReadOnly: true},
	{Name: "userPrincipalName", Kind: contactgraph.KString, MaxLen: 256},
	{Name: "id", Kind: contactgraph.KString, ReadOnly: true},
})

// validUserKey is the $skiptoken check of the user list: a printable id.
func validUserKey(s string) bool {
	if len(s) > 256 || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// listUsers serves GET /users: one page of the tenant's users by id.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, c *call) {
	lq, err := parseList(c.q, r.Header, userListSpec)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	us, err := s.cfg.Store.ListUsers(r.Context(), c.p.TenantID, lq.page())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	next := ""
	if len(us) > lq.top {
		us = us[:lq.top]
		next = s.nextLink(r, lq, us[len(us)-1].ID, nil)
	}
	preferenceApplied(w, lq)
	s.writeList(w, r, s.contextURL(r, "users"), len(us), func(b *bytes.Buffer, i int) error {
		return writeEntity(b, nil, userDoc(us[i]), lq.sel)
	}, next)
}

// getUser serves GET /users/{id|upn}.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request, c *call) {
	sel, err := parseSelect(c.q, userSchema)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.cfg.Store.User(r.Context(), c.p.TenantID, c.t.user)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeUser(w, r, http.StatusOK, u, sel)
}

// getMe serves GET /me: the signed-in user, created with its mailbox on
// first access like every delegated route. An app token has no /me.
func (s *Server) getMe(w http.ResponseWriter, r *http.Request, c *call) {
	if !c.p.Delegated() {
		s.writeError(w, r, contactgraph.Errorf(eBadRequest, "/me request is only valid with delegated authentication flow."))
		return
	}
	sel, err := parseSelect(c.q, userSchema)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.cfg.Store.EnsureMailbox(r.Context(), c.p.TenantID, c.p.UserID, c.p.UPN); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.cfg.Store.User(r.Context(), c.p.TenantID, c.p.UserID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeUser(w, r, http.StatusOK, u, sel)
}

// writeUser answers one user with its entity context.
func (s *Server) writeUser(w http.ResponseWriter, r *http.Request, status int, u contactgraph.User, sel []string) {
	var b bytes.Buffer
	ann := [][2]string{{"@odata.context", jsonValue(s.contextURL(r, "users/$entity"))}}
	if err := writeEntity(&b, ann, userDoc(u), sel); err != nil {
		s.writeError(w, r, err)
		return
	}
	if status == http.StatusCreated {
		s.writeCreated(w, r, s.baseURL(r)+"/users/"+url.PathEscape(u.ID), b.Bytes())
		return
	}
	s.writeJSON(w, r, status, b.Bytes())
}

// userInput reads a POST /users body: userPrincipalName (required, local@domain),
// displayName (default: the UPN's local part) and mail (default: the UPN),
// strings all. Other user properties that SDKs send (accountEnabled,
// mailNickname, passwordProfile, …) are accepted and ignored.
func (s *Server) userInput(r *http.Request) (contactgraph.User, error) {
	var u contactgraph.User
	body, err := s.readBody(r)
	if err != nil {
		return u, err
	}
	body = bytes.TrimSpace(body)
	if err := contactgraph.CheckJSONObject(body); err != nil {
		return u, err
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(body, &members) != nil {
		return u, contactgraph.Errorf(contactgraph.EInvalid, "The request body must be a JSON object.")
	}
	str := func(name string) (string, error) {
		raw, ok := members[name]
		if !ok {
			return "", nil
		}
		p, _ := userSchema.Lookup(name)
		v, err := userSchema.Canonical(p, raw)
		if err != nil {
			return "", err
		}
		var out string
		_ = json.Unmarshal(v, &out) // null stays ""
		return out, nil
	}
	if u.UPN, err = str("userPrincipalName"); err != nil {
		return u, err
	}
	if u.DisplayName, err = str("displayName"); err != nil {
		return u, err
	}
	if u.Mail, err = str("mail"); err != nil {
		return u, err
	}
	if !validUPN(u.UPN) {
		return u, contactgraph.Errorf(contactgraph.EInvalid, "Invalid value specified for property 'userPrincipalName' of resource 'User'.")
	}
	if u.Mail != "" && !validUPN(u.Mail) {
		return u, contactgraph.Errorf(contactgraph.EInvalid, "Invalid value specified for property 'mail' of resource 'User'.")
	}
	if u.DisplayName == "" {
		u.DisplayName, _, _ = strings.Cut(u.UPN, "@")
	}
	if u.Mail == "" {
		u.Mail = u.UPN
	}
	return u, nil
}

// createUser serves POST /users.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request, c *call) {
	in, err := s.userInput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.cfg.Store.CreateUser(r.Context(), c.p.TenantID, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeUser(w, r, http.StatusCreated, u, nil)
}

// deleteUser serves DELETE /users/{id|upn}, with the user's mailbox.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, c *call) {
	u, err := s.cfg.Store.User(r.Context(), c.p.TenantID, c.t.user)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Store.DeleteUser(r.Context(), c.p.TenantID, u.ID); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeNoContent(w)
}
