package graphapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/notify"
)

// Subscriptions (change notifications). A subscription watches the
// collection its resource names: the contacts of a mailbox's default
// folder or of one folder, a mailbox's folders, or (an extension) the
// tenant's org contacts. Creating one needs the permission to read that
// resource; reading, renewing and deleting one needs only to be its
// creator: the same application, and for a delegated token the same user.

// Limits of subscriptions, as Graph documents them for Outlook contacts;
// org contacts use the directory's limit.
const (
	DefaultSubscriptionLifetime     = 10080 * time.Minute
	DefaultRichSubscriptionLifetime = 1440 * time.Minute
	orgSubscriptionLifetime         = 41760 * time.Minute
	DefaultValidationTimeout        = 10 * time.Second
	maxClientState                  = 128
	maxCertificateID                = 128
	maxNotificationURL              = 2048
	subscriptionPageSize            = 100
)

// subscriptionTime is the layout of expirationDateTime in answers.
const subscriptionTime = "2006-01-02T15:04:05.0000000Z"

// subscriptionInput is the body of POST and PATCH /subscriptions. Pointer
// fields tell absent from given.
type subscriptionInput struct {
	ODataType                *string `json:"@odata.type"`
	ChangeType               *string `json:"changeType"`
	NotificationURL          *string `json:"notificationUrl"`
	Resource                 *string `json:"resource"`
	ExpirationDateTime       *string `json:"expirationDateTime"`
	ClientState              *string `json:"clientState"`
	LifecycleNotificationURL *string `json:"lifecycleNotificationUrl"`
	LatestSupportedTLS       *string `json:"latestSupportedTlsVersion"`
	IncludeResourceData      *bool   `json:"includeResourceData"`
	EncryptionCertificate    *string `json:"encryptionCertificate"`
	EncryptionCertificateID  *string `json:"encryptionCertificateId"`
	NotificationURLAppID     *string `json:"notificationUrlAppId"`
	NotificationQueryOptions *string `json:"notificationQueryOptions"`
	NotificationContentType  *string `json:"notificationContentType"`
}

func invalidRequest(format string, args ...any) error {
	return contactgraph.Errorf(eInvalidRequest, format, args...)
}

// subscriptionErr gives store errors about subscriptions their Graph
// codes: an unknown subscription is ResourceNotFound, bad input InvalidRequest.
func subscriptionErr(err error) error {
	switch contactgraph.ErrorCode(err) {
	case contactgraph.ENotFound:
		return &contactgraph.Error{Code: eSubscriptionNotFound}
	case contactgraph.EInvalid:
		return invalidRequest("%s", contactgraph.ErrorMessage(err))
	}
	return err
}

// parseChangeTypes parses a comma list of created, updated, deleted.
func parseChangeTypes(v string) (contactgraph.ChangeType, error) {
	var ct contactgraph.ChangeType
	for _, w := range strings.Split(v, ",") {
		switch strings.TrimSpace(w) {
		case "created":
			ct |= contactgraph.ChangeCreated
		case "updated":
			ct |= contactgraph.ChangeUpdated
		case "deleted":
			ct |= contactgraph.ChangeDeleted
		default:
			return 0, invalidRequest("'%s' is not a valid changeType; use a comma-separated list of created, updated, deleted.", contactgraph.Truncate(strings.TrimSpace(w), 64))
		}
	}
	return ct, nil
}

// changeTypeString renders a change set as Graph does: "created,updated,deleted".
func changeTypeString(ct contactgraph.ChangeType) string {
	var words []string
	for _, c := range []struct {
		bit  contactgraph.ChangeType
		word string
	}{{contactgraph.ChangeCreated, "created"}, {contactgraph.ChangeUpdated, "updated"}, {contactgraph.ChangeDeleted, "deleted"}} {
		if ct&c.bit != 0 {
			words = append(words, c.word)
		}
	}
	return strings.Join(words, ",")
}

// checkNotificationURL validates a notificationUrl or
// lifecycleNotificationUrl: absolute, https unless http is allowed, no
// credentials or fragment, and not an address literal the server may not
// call. name is the property's name as Graph spells it in messages.
func (s *Server) checkNotificationURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return invalidRequest("%s '%s' is not an absolute URL.", name, contactgraph.Truncate(raw, 256))
	}
	if len(raw) > maxNotificationURL {
		return invalidRequest("%s is longer than %d characters.", name, maxNotificationURL)
	}
	switch scheme := strings.ToLower(u.Scheme); {
	case scheme == "https":
	case scheme == "http" && s.cfg.AllowHTTPNotifications:
	default:
		return invalidRequest("%s scheme='%s' is not supported.", name, u.Scheme)
	}
	if u.User != nil || u.Fragment != "" {
		return invalidRequest("%s must not carry credentials or a fragment.", name)
	}
	return nil
}

// resolvedResource is what a subscription's resource names.
type resolvedResource struct {
	watched contactgraph.Watched
	sel     []string
	perms   []string
	fam     family
}

// parseResource parses and resolves a subscription's resource for p: the
// path (me/…, users/{id|upn}/…, contacts), optional $select, the mailbox
// and folder it names, and the permission it needs.
func (s *Server) parseResource(r *http.Request, p contactgraph.Principal, raw string) (resolvedResource, error) {
	var rr resolvedResource
	unsupported := func() error {
		return invalidRequest("The resource '%s' is not supported for subscriptions. Use me/contacts, users/{id}/contacts, users/{id}/contactFolders/{id}/contacts, users/{id}/contactFolders or contacts.", contactgraph.Truncate(raw, 256))
	}
	path, query, _ := strings.Cut(strings.TrimPrefix(raw, "/"), "?")
	if path == "" || strings.Contains(path, "://") {
		return rr, unsupported()
	}
	segs, err := splitPath("v1.0/" + path)
	if err != nil {
		return rr, unsupported()
	}
	t, err := parseTarget(segs)
	if err != nil {
		return rr, unsupported()
	}
	var schema *contactgraph.Schema
	switch {
	case t.kind == kContacts:
		schema, rr.perms, rr.fam = contactgraph.ContactSchema, permContactsRead, outlook
	case t.kind == kFolders && len(t.folders) == 0:
		schema, rr.perms, rr.fam = contactgraph.FolderSchema, permContactsRead, outlook
	case t.kind == kOrgContacts:
		schema, rr.perms, rr.fam = contactgraph.OrgContactSchema, permOrgRead, directory
	default:
		return rr, unsupported()
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return rr, invalidRequest("The query of the resource '%s' is not valid.", contactgraph.Truncate(raw, 256))
	}
	for name := range q {
		if name != optSelect {
			return rr, invalidRequest("The query option '%s' is not supported in a subscription's resource; only $select is.", contactgraph.Truncate(name, 64))
		}
	}
	if rr.sel, err = parseSelect(q, schema); err != nil {
		return rr, invalidRequest("%s", contactgraph.ErrorMessage(err))
	}
	if err := t.checkIDs(); err != nil {
		return rr, err
	}
	if t.kind == kOrgContacts {
		if !p.Has(rr.perms...) {
			return rr, forbidden(directory)
		}
		rr.watched = contactgraph.Watched{Collection: "orgContacts", Mailbox: contactgraph.Mailbox{TenantID: p.TenantID}}
		return rr, nil
	}
	c := &call{p: p, t: t}
	if err := s.openMailbox(r, c, rr.perms); err != nil {
		return rr, err
	}
	if t.kind == kFolders {
		rr.watched = contactgraph.Watched{Collection: "folders", Mailbox: c.mb}
		return rr, nil
	}
	if len(t.folders) == 1 { // openMailbox checks the chain of nested paths only
		if _, err := s.cfg.Store.Folder(r.Context(), c.mb, t.folders[0]); err != nil {
			return rr, err
		}
	}
	rr.watched = contactgraph.Watched{Collection: "contacts", Mailbox: c.mb, FolderID: c.folderID()}
	return rr, nil
}

// maxLifetime is how far ahead a subscription of w may expire.
func (s *Server) maxLifetime(w contactgraph.Watched, rich bool) time.Duration {
	switch {
	case rich:
		return s.cfg.RichSubscriptionLifetime
	case w.Collection == "orgContacts":
		return max(s.cfg.SubscriptionLifetime, orgSubscriptionLifetime)
	}
	return s.cfg.SubscriptionLifetime
}

// parseExpiration checks expirationDateTime: a date-time in the future,
// at most limit ahead of the server's clock.
func (s *Server) parseExpiration(v *string, limit time.Duration) (time.Time, error) {
	if v == nil {
		return time.Time{}, invalidRequest("expirationDateTime is a required property for subscription creation.")
	}
	t, err := time.Parse(time.RFC3339Nano, *v)
	if err != nil {
		return t, invalidRequest("expirationDateTime '%s' is not a valid date and time.", contactgraph.Truncate(*v, 64))
	}
	now := s.cfg.Now()
	if !t.After(now) {
		return t, invalidRequest("Subscription expiration must be in the future.")
	}
	if t.Sub(now) > limit {
		return t, invalidRequest("Subscription expiration can only be %d minutes in the future.", int(limit/time.Minute))
	}
	return t.UTC(), nil
}

// createSubscription serves POST /subscriptions: it validates the body and
// the resource, runs the validation handshake with each URL, and stores
// the subscription.
func (s *Server) createSubscription(w http.ResponseWriter, r *http.Request, c *call) {
	var in subscriptionInput
	if err := s.readJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	sub, fam, err := s.newSubscription(r, c.p, in)
	if err != nil {
		s.writeError(w, withFamily(r, fam), err)
		return
	}
	urls := []string{sub.NotificationURL}
	if sub.LifecycleURL != "" {
		urls = append(urls, sub.LifecycleURL)
	}
	for _, u := range urls {
		if err := s.validateEndpoint(r, u); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if sub, err = s.cfg.Store.CreateSubscription(r.Context(), sub); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeSubscription(w, r, http.StatusCreated, sub)
}

// newSubscription builds a subscription from a create body, checking
// every property and the resource. The family is that of the resource, for
// the codes of its permission and lookup errors.
func (s *Server) newSubscription(r *http.Request, p contactgraph.Principal, in subscriptionInput) (contactgraph.Subscription, family, error) {
	sub, res, err := s.subscriptionOf(r, p, in)
	return sub, res.fam, err
}

func (s *Server) subscriptionOf(r *http.Request, p contactgraph.Principal, in subscriptionInput) (contactgraph.Subscription, resolvedResource, error) {
	var sub contactgraph.Subscription
	var res resolvedResource
	required := func(name string, v *string) error {
		if v == nil || *v == "" {
			return invalidRequest("%s is a required property for subscription creation.", name)
		}
		return nil
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"changeType", in.ChangeType}, {"notificationUrl", in.NotificationURL}, {"resource", in.Resource}} {
		if err := required(f.name, f.v); err != nil {
			return sub, res, err
		}
	}
	if in.NotificationQueryOptions != nil || (in.NotificationContentType != nil && *in.NotificationContentType != "application/json") {
		return sub, res, invalidRequest("notificationQueryOptions and notificationContentType are not supported for contacts.")
	}
	if in.NotificationURLAppID != nil && *in.NotificationURLAppID != "" {
		return sub, res, invalidRequest("notificationUrlAppId is not supported.")
	}
	changes, err := parseChangeTypes(*in.ChangeType)
	if err != nil {
		return sub, res, err
	}
	if err := s.checkNotificationURL("NotificationUrl", *in.NotificationURL); err != nil {
		return sub, res, err
	}
	if in.LifecycleNotificationURL != nil && *in.LifecycleNotificationURL != "" {
		if err := s.checkNotificationURL("LifecycleNotificationUrl", *in.LifecycleNotificationURL); err != nil {
			return sub, res, err
		}
		sub.LifecycleURL = *in.LifecycleNotificationURL
	}
	if in.ClientState != nil {
		if n := len([]rune(*in.ClientState)); n > maxClientState {
			return sub, res, invalidRequest("clientState must be at most %d characters; it has %d.", maxClientState, n)
		}
		sub.ClientState = *in.ClientState
	}
	sub.LatestTLSVersion = "v1_2"
	if in.LatestSupportedTLS != nil {
		switch v := *in.LatestSupportedTLS; v {
		case "v1_0", "v1_1", "v1_2", "v1_3":
			sub.LatestTLSVersion = v
		default:
			return sub, res, invalidRequest("latestSupportedTlsVersion '%s' is not one of v1_0, v1_1, v1_2, v1_3.", contactgraph.Truncate(v, 16))
		}
	}
	res, err = s.parseResource(r, p, *in.Resource)
	if err != nil {
		return sub, res, err
	}
	rich := in.IncludeResourceData != nil && *in.IncludeResourceData
	if err := checkRich(rich, in, res); err != nil {
		return sub, res, err
	}
	expires, err := s.parseExpiration(in.ExpirationDateTime, s.maxLifetime(res.watched, rich))
	if err != nil {
		return sub, res, err
	}
	creator := p.AppID
	if p.Delegated() {
		creator = p.UserID
	}
	sub = contactgraph.Subscription{
		ID: contactgraph.NewGUID(), TenantID: p.TenantID, AppID: p.AppID, CreatorID: creator, UserID: p.UserID,
		Watched: res.watched, Resource: *in.Resource, Changes: changes,
		NotificationURL: *in.NotificationURL, LifecycleURL: sub.LifecycleURL, ClientState: sub.ClientState,
		Expires: expires, TokenExpires: p.ExpiresAt, Created: s.cfg.Now().UTC(), LatestTLSVersion: sub.LatestTLSVersion,
		IncludeResourceData: rich, Select: res.sel,
	}
	if rich {
		sub.EncryptionCertificate, sub.EncryptionCertificateID = *in.EncryptionCertificate, *in.EncryptionCertificateID
	}
	return sub, res, nil
}

// checkRich checks the properties of a rich subscription: a certificate
// with an RSA public key, its id, and $select in the resource.
func checkRich(rich bool, in subscriptionInput, res resolvedResource) error {
	if !rich {
		if in.EncryptionCertificate != nil && *in.EncryptionCertificate != "" {
			return invalidRequest("encryptionCertificate is only used with includeResourceData set to true.")
		}
		return nil
	}
	if in.EncryptionCertificate == nil || *in.EncryptionCertificate == "" {
		return invalidRequest("encryptionCertificate is required when includeResourceData is true.")
	}
	if in.EncryptionCertificateID == nil || *in.EncryptionCertificateID == "" {
		return invalidRequest("encryptionCertificateId is required when includeResourceData is true.")
	}
	if len(*in.EncryptionCertificateID) > maxCertificateID {
		return invalidRequest("encryptionCertificateId must be at most %d characters.", maxCertificateID)
	}
	if _, err := notify.ParseEncryptionCertificate(*in.EncryptionCertificate); err != nil {
		return invalidRequest("%s", contactgraph.ErrorMessage(err))
	}
	if len(res.sel) == 0 {
		return invalidRequest("A subscription with includeResourceData needs $select in its resource, such as me/contacts?$select=displayName,emailAddresses.")
	}
	return nil
}

// validationToken is the opaque token of a validation request, in the
// form Graph sends: it needs URL encoding (spaces, colons), so a receiver
// that echoes it undecoded fails as it would against Graph.
func validationToken() string {
	return "Validation: Testing client application reachability for subscription Request-Id: " + contactgraph.NewGUID()
}

// validateEndpoint runs the validation handshake with a receiver URL:
// POST url?validationToken=… with text/plain, to be answered within
// Config.ValidationTimeout with 200, text/plain and the decoded token.
// Any other outcome is 400 InvalidRequest with Graph's message.
func (s *Server) validateEndpoint(r *http.Request, raw string) error {
	token := validationToken()
	u, _ := url.Parse(raw) // checked by checkNotificationURL
	q := u.Query()
	q.Set("validationToken", token)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ValidationTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return invalidRequest("Subscription validation request failed. The notification URL is not valid.")
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := s.outbound.Do(req)
	if err != nil {
		var refused *notify.ErrAddressNotAllowed
		var timeout net.Error
		switch {
		case errors.As(err, &refused):
			return invalidRequest("Subscription validation request failed. The notification URL's address %s is not allowed.", refused.Addr)
		case ctx.Err() != nil, errors.As(err, &timeout) && timeout.Timeout():
			return invalidRequest("Subscription validation request timed out.")
		}
		return invalidRequest("Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.")
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var timeout net.Error
	switch {
	case ctx.Err() != nil, errors.As(err, &timeout) && timeout.Timeout():
		return invalidRequest("Subscription validation request timed out.")
	case resp.StatusCode != http.StatusOK || err != nil:
		return invalidRequest("Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.")
	case !strings.HasPrefix(strings.ToLower(resp.Header.Get("Content-Type")), "text/plain"):
		return invalidRequest("Subscription validation request failed. Response must be text/plain.")
	case string(body) != token:
		return invalidRequest("Subscription validation request failed. Response must exactly match validationToken query parameter.")
	}
	return nil
}

// ownSubscription reads a subscription of the caller: of its tenant, made
// by its application and, for a delegated caller, by its user. Any other
// is ResourceNotFound, so ids reveal nothing.
func (s *Server) ownSubscription(r *http.Request, p contactgraph.Principal, id string) (contactgraph.Subscription, error) {
	if !contactgraph.IsGUID(id) {
		return contactgraph.Subscription{}, subscriptionErr(contactgraph.Errorf(contactgraph.ENotFound, ""))
	}
	sub, err := s.cfg.Store.Subscription(r.Context(), p.TenantID, id)
	if err != nil {
		return sub, subscriptionErr(err)
	}
	if sub.AppID != p.AppID || (p.Delegated() && sub.UserID != p.UserID) {
		return sub, subscriptionErr(contactgraph.Errorf(contactgraph.ENotFound, ""))
	}
	return sub, nil
}

// mayRead reports whether p may still read what sub watches: renewing
// and reauthorizing check the permission again, as Graph does.
func mayRead(p contactgraph.Principal, sub contactgraph.Subscription) error {
	if sub.Watched.Collection == "orgContacts" {
		if !p.Has(permOrgRead...) {
			return forbidden(directory)
		}
		return nil
	}
	if !p.Has(permContactsRead...) || (p.Delegated() && sub.Watched.Mailbox.UserID != p.UserID) {
		return forbidden(outlook)
	}
	return nil
}

// getSubscription serves GET /subscriptions/{id}.
func (s *Server) getSubscription(w http.ResponseWriter, r *http.Request, c *call) {
	sub, err := s.ownSubscription(r, c.p, c.t.item)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeSubscription(w, r, http.StatusOK, sub)
}

// listSubscriptions serves GET /subscriptions: the caller application's
// subscriptions, only the signed-in user's for a delegated caller, by id.
func (s *Server) listSubscriptions(w http.ResponseWriter, r *http.Request, c *call) {
	var after string
	if tok := c.q.Get(optSkipToken); tok != "" {
		var err error
		if after, err = decodeSkipToken(tok, contactgraph.IsGUID); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	subs, err := s.cfg.Store.ListSubscriptions(r.Context(), c.p.TenantID, c.p.AppID, c.p.UserID, contactgraph.Page{After: after, Limit: subscriptionPageSize + 1})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	next := ""
	if len(subs) > subscriptionPageSize {
		subs = subs[:subscriptionPageSize]
		next = s.linkBase(r) + "?" + optSkipToken + "=" + encodeSkipToken(subs[len(subs)-1].ID)
	}
	s.writeList(w, r, s.contextURL(r, "subscriptions"), len(subs), func(b *bytes.Buffer, i int) error {
		return renderSubscription(b, "", subs[i])
	}, next)
}

// updateSubscription serves PATCH /subscriptions/{id}: a new
// expirationDateTime renews the subscription and reauthorizes it with the
// caller's token. Other properties cannot change.
func (s *Server) updateSubscription(w http.ResponseWriter, r *http.Request, c *call) {
	var in subscriptionInput
	if err := s.readJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	sub, err := s.ownSubscription(r, c.p, c.t.item)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkPatch(in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := mayRead(c.p, sub); err != nil {
		s.writeError(w, r, err)
		return
	}
	expires, err := s.parseExpiration(in.ExpirationDateTime, s.maxLifetime(sub.Watched, sub.IncludeResourceData))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if sub, err = s.cfg.Store.RenewSubscription(r.Context(), c.p.TenantID, sub.ID, expires, c.p.ExpiresAt); err != nil {
		s.writeError(w, r, subscriptionErr(err))
		return
	}
	s.writeSubscription(w, r, http.StatusOK, sub)
}

// checkPatch refuses a PATCH body that changes anything but the expiry.
func checkPatch(in subscriptionInput) error {
	if in.LifecycleNotificationURL != nil {
		return invalidRequest("lifecycleNotificationUrl cannot be added or changed; delete the subscription and create it again.")
	}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"changeType", in.ChangeType != nil}, {"notificationUrl", in.NotificationURL != nil}, {"resource", in.Resource != nil},
		{"clientState", in.ClientState != nil}, {"latestSupportedTlsVersion", in.LatestSupportedTLS != nil},
		{"includeResourceData", in.IncludeResourceData != nil}, {"encryptionCertificate", in.EncryptionCertificate != nil},
		{"encryptionCertificateId", in.EncryptionCertificateID != nil}, {"notificationUrlAppId", in.NotificationURLAppID != nil},
		{"notificationQueryOptions", in.NotificationQueryOptions != nil}, {"notificationContentType", in.NotificationContentType != nil},
	} {
		if f.set {
			return invalidRequest("%s cannot be changed; only expirationDateTime can. Delete the subscription and create it again.", f.name)
		}
	}
	if in.ExpirationDateTime == nil {
		return invalidRequest("expirationDateTime is required to renew a subscription.")
	}
	return nil
}

// reauthorizeSubscription serves POST /subscriptions/{id}/reauthorize: the
// subscription's token expiry becomes the caller's, its expiry stays.
func (s *Server) reauthorizeSubscription(w http.ResponseWriter, r *http.Request, c *call) {
	sub, err := s.ownSubscription(r, c.p, c.t.item)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := mayRead(c.p, sub); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.cfg.Store.RenewSubscription(r.Context(), c.p.TenantID, sub.ID, time.Time{}, c.p.ExpiresAt); err != nil {
		s.writeError(w, r, subscriptionErr(err))
		return
	}
	s.writeNoContent(w)
}

// deleteSubscription serves DELETE /subscriptions/{id}.
func (s *Server) deleteSubscription(w http.ResponseWriter, r *http.Request, c *call) {
	sub, err := s.ownSubscription(r, c.p, c.t.item)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.cfg.Store.DeleteSubscription(r.Context(), c.p.TenantID, sub.ID); err != nil {
		s.writeError(w, r, subscriptionErr(err))
		return
	}
	s.writeNoContent(w)
}

// writeSubscription answers one subscription with its entity context.
func (s *Server) writeSubscription(w http.ResponseWriter, r *http.Request, status int, sub contactgraph.Subscription) {
	var b bytes.Buffer
	if err := renderSubscription(&b, s.contextURL(r, "subscriptions/$entity"), sub); err != nil {
		s.writeError(w, r, err)
		return
	}
	if status == http.StatusCreated {
		s.writeCreated(w, r, s.baseURL(r)+"/subscriptions/"+sub.ID, b.Bytes())
		return
	}
	s.writeJSON(w, r, status, b.Bytes())
}

// subscriptionDoc is a subscription as Graph answers it: every property,
// null when unset; clientState is never returned.
type subscriptionDoc struct {
	Context                  string  `json:"@odata.context,omitempty"`
	ID                       string  `json:"id"`
	Resource                 string  `json:"resource"`
	ApplicationID            string  `json:"applicationId"`
	ChangeType               string  `json:"changeType"`
	ClientState              *string `json:"clientState"`
	NotificationURL          string  `json:"notificationUrl"`
	NotificationQueryOptions *string `json:"notificationQueryOptions"`
	LifecycleNotificationURL *string `json:"lifecycleNotificationUrl"`
	ExpirationDateTime       string  `json:"expirationDateTime"`
	CreatorID                string  `json:"creatorId"`
	IncludeResourceData      *bool   `json:"includeResourceData"`
	LatestSupportedTLS       string  `json:"latestSupportedTlsVersion"`
	EncryptionCertificate    *string `json:"encryptionCertificate"`
	EncryptionCertificateID  *string `json:"encryptionCertificateId"`
	NotificationURLAppID     *string `json:"notificationUrlAppId"`
	NotificationContentType  *string `json:"notificationContentType"`
}

func renderSubscription(b *bytes.Buffer, ctxURL string, sub contactgraph.Subscription) error {
	opt := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	d := subscriptionDoc{
		Context: ctxURL, ID: sub.ID, Resource: sub.Resource, ApplicationID: sub.AppID,
		ChangeType: changeTypeString(sub.Changes), NotificationURL: sub.NotificationURL,
		LifecycleNotificationURL: opt(sub.LifecycleURL), ExpirationDateTime: sub.Expires.UTC().Format(subscriptionTime),
		CreatorID: sub.CreatorID, LatestSupportedTLS: sub.LatestTLSVersion,
		EncryptionCertificate: opt(sub.EncryptionCertificate), EncryptionCertificateID: opt(sub.EncryptionCertificateID),
	}
	if sub.IncludeResourceData {
		d.IncludeResourceData = &sub.IncludeResourceData
	}
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

// listSubscriptionDeliveries serves GET /subscriptions/{id}/deliveries, an
// extension: the latest attempts of this process's senders to deliver the
// subscription's notifications, newest first (status delivered, failed or
// dropped, the attempt number, the error), so that a client can see why its
// receiver gets nothing.
func (s *Server) listSubscriptionDeliveries(w http.ResponseWriter, r *http.Request, c *call) {
	sub, err := s.ownSubscription(r, c.p, c.t.item)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ds := s.cfg.DeliveryLog.Deliveries(sub.ID) // nil-safe
	if ds == nil {
		ds = []notify.Delivery{}
	}
	body, err := json.Marshal(struct {
		Context string            `json:"@odata.context"`
		Value   []notify.Delivery `json:"value"`
	}{s.contextURL(r, "subscriptions('"+sub.ID+"')/deliveries"), ds})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, r, http.StatusOK, body)
}
