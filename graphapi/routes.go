package graphapi

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/contactgraph/contactgraph"
)

// kind is the shape of a resource path.
type kind int

const (
	kUsers                   kind = iota + 1 // /users
	kUser                                    // /users/{id|upn}
	kFolders                                 // {mailbox}/contactFolders, …/contactFolders/{id}/childFolders
	kFolder                                  // {mailbox}/contactFolders/{id}, …/childFolders/{id}
	kFolderDelta                             // {mailbox}/contactFolders/delta, …/childFolders/delta
	kContacts                                // {mailbox}/contacts, …/contactFolders/{id}/contacts
	kContact                                 // {mailbox}/contacts/{id}, …/contactFolders/{id}/contacts/{id}
	kContactDelta                            // {mailbox}/contacts/delta, …/contactFolders/{id}/contacts/delta
	kOrgContacts                             // /contacts
	kOrgContact                              // /contacts/{id}
	kOrgDelta                                // /contacts/delta
	kDeletedOrgContacts                      // /directory/deletedItems/microsoft.graph.orgContact
	kDeletedItem                             // /directory/deletedItems/{id}
	kDeletedItemRestore                      // /directory/deletedItems/{id}/restore
	kFoldersCount                            // {mailbox}/contactFolders/$count, …/childFolders/$count
	kContactsCount                           // {mailbox}/contacts/$count, …/contactFolders/{id}/contacts/$count
	kOrgCount                                // /contacts/$count
	kMe                                      // /me (and /users/me-token-to-replace)
	kSubscriptions                           // /subscriptions
	kSubscription                            // /subscriptions/{id}
	kSubscriptionReauthorize                 // /subscriptions/{id}/reauthorize
	kSubscriptionDeliveries                  // /subscriptions/{id}/deliveries (an extension)
	kBatch                                   // /$batch
	kContactPhoto                            // {contact}/photo: the photo's metadata
	kContactPhotoValue                       // {contact}/photo/$value: its bytes
	kContactExtensions                       // {contact}/extensions
	kContactExtension                        // {contact}/extensions/{extensionId}
	kContactPermanentDelete                  // {contact}/permanentDelete
	kFolderPermanentDelete                   // {folder}/permanentDelete
)

// contactItem reports whether k addresses a contact or a part of one: its
// target's item is a contact id.
func (k kind) contactItem() bool {
	switch k {
	case kContact, kContactPhoto, kContactPhotoValue, kContactExtensions, kContactExtension, kContactPermanentDelete:
		return true
	}
	return false
}

// Permission sets of the routes: a principal needs any one of them.
var (
	permContactsRead  = []string{contactgraph.PermContactsRead, contactgraph.PermContactsReadWrite}
	permContactsWrite = []string{contactgraph.PermContactsReadWrite}
	permUsersRead     = []string{contactgraph.PermUserRead, contactgraph.PermUserReadBasic, contactgraph.PermUserReadWrite,
		contactgraph.PermDirectoryRead, contactgraph.PermDirectoryReadWrite}
	permUsersWrite = []string{contactgraph.PermUserReadWrite, contactgraph.PermDirectoryReadWrite}
	// permMe reads the signed-in user: User.Read, or any permission that
	// reads users.
	permMe = append([]string{contactgraph.PermUserReadSelf, contactgraph.PermUserReadWriteSelf}, permUsersRead...)
)

// Query options a route accepts, besides the parameters that do not start
// with "$" (ignored). Any other known OData option is EUnsupported.
var (
	optsNone = []string{}
	optsItem = []string{optSelect}
	optsList = []string{optSelect, optTop, optSkipToken, optCount}
	// optsContact: a contact item also takes $expand of its extensions and
	// extended properties.
	optsContact = []string{optSelect, optExpand}
	// optsContactList: contact lists also filter, sort, skip and expand.
	optsContactList = []string{optSelect, optTop, optSkipToken, optCount, optFilter, optOrderBy, optSkip, optExpand}
	// optsOrgList: /contacts filters, sorts and searches; the directory has no $skip.
	optsOrgList = []string{optSelect, optTop, optSkipToken, optCount, optFilter, optOrderBy, optSearch}
	// optsListNoCount: deleted items support no $count.
	optsListNoCount = []string{optSelect, optTop, optSkipToken}
	optsDelta       []string // nil: the delta handler checks its options itself
	// optsPaging: GET /subscriptions takes no option but the $skiptoken of its own nextLinks.
	optsPaging = []string{optSkipToken}
)

// permAny marks a route any authenticated principal may call; the
// handler scopes what it answers to the caller.
var permAny = []string{}

// route is one row of the route table.
type route struct {
	kind    kind
	method  string
	perms   []string // any one of these
	options []string
	handle  func(s *Server, w http.ResponseWriter, r *http.Request, c *call)
}

// routes is the route table: every resource shape and method the server
// answers. A shape with no row for a method is 405; a path that parses to
// no shape is 400 "Resource not found for the segment".
var routes = []route{
	{kUsers, http.MethodGet, permUsersRead, optsList, (*Server).listUsers},
	{kUsers, http.MethodPost, permUsersWrite, optsNone, (*Server).createUser},
	{kUser, http.MethodGet, permUsersRead, optsItem, (*Server).getUser},
	{kUser, http.MethodDelete, permUsersWrite, optsNone, (*Server).deleteUser},
	{kMe, http.MethodGet, permMe, optsItem, (*Server).getMe},

	{kFolders, http.MethodGet, permContactsRead, optsList, (*Server).listFolders},
	{kFolders, http.MethodPost, permContactsWrite, optsNone, (*Server).createFolder},
	{kFolder, http.MethodGet, permContactsRead, optsItem, (*Server).getFolder},
	{kFolder, http.MethodPatch, permContactsWrite, optsNone, (*Server).updateFolder},
	{kFolder, http.MethodDelete, permContactsWrite, optsNone, (*Server).deleteFolder},
	{kFolderPermanentDelete, http.MethodPost, permContactsWrite, optsNone, (*Server).permanentDeleteFolder},
	{kFolderDelta, http.MethodGet, permContactsRead, optsDelta, (*Server).folderDelta},

	{kContacts, http.MethodGet, permContactsRead, optsContactList, (*Server).listContacts},
	{kContacts, http.MethodPost, permContactsWrite, optsNone, (*Server).createContact},
	{kContact, http.MethodGet, permContactsRead, optsContact, (*Server).getContact},
	{kContact, http.MethodPatch, permContactsWrite, optsNone, (*Server).updateContact},
	{kContact, http.MethodDelete, permContactsWrite, optsNone, (*Server).deleteContact},
	{kContactPermanentDelete, http.MethodPost, permContactsWrite, optsNone, (*Server).permanentDeleteContact},
	{kContactDelta, http.MethodGet, permContactsRead, optsDelta, (*Server).contactDelta},

	{kContactPhoto, http.MethodGet, permContactsRead, optsNone, (*Server).getContactPhoto},
	{kContactPhotoValue, http.MethodGet, permContactsRead, optsNone, (*Server).getContactPhotoValue},
	{kContactPhotoValue, http.MethodPut, permContactsWrite, optsNone, (*Server).putContactPhoto},
	{kContactPhotoValue, http.MethodPatch, permContactsWrite, optsNone, (*Server).putContactPhoto},
	{kContactPhotoValue, http.MethodDelete, permContactsWrite, optsNone, (*Server).deleteContactPhoto},
	{kContactExtensions, http.MethodGet, permContactsRead, optsNone, (*Server).listContactExtensions},
	{kContactExtensions, http.MethodPost, permContactsWrite, optsNone, (*Server).createContactExtension},
	{kContactExtension, http.MethodGet, permContactsRead, optsNone, (*Server).getContactExtension},
	{kContactExtension, http.MethodPatch, permContactsWrite, optsNone, (*Server).updateContactExtension},
	{kContactExtension, http.MethodDelete, permContactsWrite, optsNone, (*Server).deleteContactExtension},

	{kFoldersCount, http.MethodGet, permContactsRead, optsNone, (*Server).countFolders},
	{kContactsCount, http.MethodGet, permContactsRead, optsNone, (*Server).countContacts},
	{kOrgCount, http.MethodGet, permOrgRead, optsNone, (*Server).countOrgContacts},

	{kOrgContacts, http.MethodGet, permOrgRead, optsOrgList, (*Server).listOrgContacts},
	{kOrgContacts, http.MethodPost, permOrgWrite, optsNone, (*Server).createOrgContact},
	{kOrgContact, http.MethodGet, permOrgRead, optsItem, (*Server).getOrgContact},
	{kOrgContact, http.MethodPatch, permOrgWrite, optsNone, (*Server).updateOrgContact},
	{kOrgContact, http.MethodDelete, permOrgWrite, optsNone, (*Server).deleteOrgContact},
	{kOrgDelta, http.MethodGet, permOrgRead, optsDelta, (*Server).orgContactDelta},
	{kDeletedOrgContacts, http.MethodGet, permOrgRead, optsListNoCount, (*Server).listDeletedOrgContacts},
	{kDeletedItem, http.MethodGet, permOrgRead, optsItem, (*Server).getDeletedItem},
	{kDeletedItem, http.MethodDelete, permOrgWrite, optsNone, (*Server).purgeDeletedItem},
	{kDeletedItemRestore, http.MethodPost, permOrgWrite, optsNone, (*Server).restoreDeletedItem},

	{kSubscriptions, http.MethodGet, permAny, optsPaging, (*Server).listSubscriptions},
	{kSubscriptions, http.MethodPost, permAny, optsNone, (*Server).createSubscription},
	{kSubscription, http.MethodGet, permAny, optsNone, (*Server).getSubscription},
	{kSubscription, http.MethodPatch, permAny, optsNone, (*Server).updateSubscription},
	{kSubscription, http.MethodDelete, permAny, optsNone, (*Server).deleteSubscription},
	{kSubscriptionReauthorize, http.MethodPost, permAny, optsNone, (*Server).reauthorizeSubscription},
	{kSubscriptionDeliveries, http.MethodGet, permAny, optsNone, (*Server).listSubscriptionDeliveries},

	// Each inner request of a batch goes through this table on its own (batch.go).
	{kBatch, http.MethodPost, permAny, optsNone, (*Server).serveBatch},
}

// family returns the API family of a shape: directory for /users and org
// contacts, Outlook for mailbox paths.
func (k kind) family() family {
	switch k {
	case kUsers, kUser, kMe, kOrgCount, kOrgContacts, kOrgContact, kOrgDelta, kDeletedOrgContacts, kDeletedItem, kDeletedItemRestore:
		return directory
	}
	return outlook
}

// subscription reports whether k is a /subscriptions shape: Outlook's
// error codes, but no mailbox in the path.
func (k kind) subscription() bool {
	return k == kSubscriptions || k == kSubscription || k == kSubscriptionReauthorize || k == kSubscriptionDeliveries
}

// ownScope reports whether the handler of k, not the router, scopes what
// the caller may do (the permAny rows): subscriptions, and $batch, whose
// inner requests each go through the router with their own permissions.
func (k kind) ownScope() bool {
	return k.subscription() || k == kBatch
}

// lookupRoute returns the row for k and method, or the methods k allows.
func lookupRoute(k kind, method string) (route, []string, bool) {
	var allowed []string
	for _, rt := range routes {
		if rt.kind != k {
			continue
		}
		if rt.method == method {
			return rt, nil, true
		}
		allowed = append(allowed, rt.method)
	}
	return route{}, allowed, false
}

// target is a parsed resource path.
type target struct {
	kind    kind
	me      bool     // /me, or /users/me-token-to-replace (the Go SDK without its middleware)
	user    string   // {id|upn} of /users/{x}; "" for /me and /users
	folders []string // folder ids along contactFolders/{id}/childFolders/{id}/…
	item    string   // the contact id of kContact and the contact part kinds
	ext     string   // the extension name of kContactExtension
}

// call is what a handler receives: the request's principal and parsed path
// and query, and for mailbox routes the resolved mailbox and folder.
type call struct {
	p  contactgraph.Principal
	t  target
	q  url.Values
	mb contactgraph.Mailbox
	// folder is the last folder of t.folders once fetched by the router
	// (when the path nests folders, or for delta), else nil.
	folder *contactgraph.Folder
}

// folderID returns the folder the path addresses: the last of t.folders,
// or the mailbox's default folder.
func (c *call) folderID() string {
	if n := len(c.t.folders); n > 0 {
		return c.t.folders[n-1]
	}
	return c.mb.RootID
}

// meAlias is the user id the Go SDK puts in /users/{id} for Me() when its
// URL-replacing middleware is off.
const meAlias = "me-token-to-replace"

// splitPath splits an escaped request path into its percent-decoded
// segments after /v1.0. A segment is decoded on its own, so an encoded
// slash stays inside it. Key-in-parentheses segments such as
// contactFolders('id') become two segments. A path outside /v1.0 or a
// segment that does not decode is eBadRequest.
func splitPath(escaped string) ([]string, error) {
	escaped = strings.TrimPrefix(escaped, "/")
	parts := strings.Split(escaped, "/")
	if len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1] // a trailing slash
	}
	if !strings.EqualFold(parts[0], "v1.0") {
		v, _ := url.PathUnescape(parts[0])
		return nil, contactgraph.Errorf(eBadRequest, "Invalid version: '%s'. This server serves v1.0.", v)
	}
	segs := make([]string, 0, len(parts))
	for _, p := range parts[1:] {
		seg, err := url.PathUnescape(p)
		if err != nil {
			return nil, contactgraph.Errorf(eBadRequest, "The path segment '%s' is not correctly percent-encoded.", p)
		}
		if name, key, ok := splitKey(seg); ok {
			segs = append(segs, name, key)
			continue
		}
		segs = append(segs, seg)
	}
	return segs, nil
}

// keyedSegments are the navigation names that take a key in parentheses.
var keyedSegments = []string{"users", "contactFolders", "childFolders", "contacts", "subscriptions", "extensions"}

// splitKey splits name('key') or name(key) for a keyed navigation name.
// Quotes around the key are removed and doubled quotes inside undone.
func splitKey(seg string) (name, key string, ok bool) {
	open := strings.IndexByte(seg, '(')
	if open <= 0 || !strings.HasSuffix(seg, ")") {
		return "", "", false
	}
	name, key = seg[:open], seg[open+1:len(seg)-1]
	if !slices.ContainsFunc(keyedSegments, func(k string) bool { return strings.EqualFold(k, name) }) || key == "" {
		return "", "", false
	}
	if len(key) >= 2 && key[0] == '\'' && key[len(key)-1] == '\'' {
		key = strings.ReplaceAll(key[1:len(key)-1], "''", "'")
	}
	return name, key, true
}

// isDelta reports whether seg names the delta function in any spelling
// clients send: delta, delta(), microsoft.graph.delta, microsoft.graph.delta().
func isDelta(seg string) bool {
	seg = strings.TrimSuffix(seg, "()")
	return strings.EqualFold(seg, "delta") || strings.EqualFold(seg, "microsoft.graph.delta")
}

func is(seg, name string) bool { return strings.EqualFold(seg, name) }

// noSegment is the error for a path segment the server does not know.
func noSegment(seg string) error {
	return contactgraph.Errorf(eBadRequest, "Resource not found for the segment '%s'.", seg)
}

// parseTarget parses the segments after /v1.0 into a target.
func parseTarget(segs []string) (target, error) {
	var t target
	if len(segs) == 0 {
		return t, contactgraph.Errorf(eBadRequest, "Resource not found for the segment 'v1.0'.")
	}
	var rest []string
	switch {
	case is(segs[0], "me"):
		t.me, rest = true, segs[1:]
		if len(rest) == 0 {
			t.kind = kMe
			return t, nil
		}
	case is(segs[0], "users"):
		switch {
		case len(segs) == 1:
			t.kind = kUsers
			return t, nil
		case is(segs[1], meAlias):
			t.me = true
		default:
			t.user = segs[1]
		}
		rest = segs[2:]
		if len(rest) == 0 {
			t.kind = kUser
			if t.me {
				t.kind = kMe
			}
			return t, nil
		}
	case is(segs[0], "contacts"):
		return parseOrgContacts(t, segs[1:])
	case is(segs[0], "directory"):
		return parseDirectory(t, segs[1:])
	case is(segs[0], "subscriptions"):
		return parseSubscriptions(t, segs[1:])
	case is(segs[0], "$batch"):
		if len(segs) > 1 {
			return t, noSegment(segs[1])
		}
		t.kind = kBatch
		return t, nil
	default:
		return t, noSegment(segs[0])
	}
	return parseMailboxPath(t, rest)
}

// parseOrgContacts parses what follows the top-level contacts segment:
// the tenant's org contacts.
func parseOrgContacts(t target, segs []string) (target, error) {
	return parseCollection(t, segs, kOrgContacts, kOrgContact, kOrgDelta, kOrgCount)
}

// parseDirectory parses /directory/deletedItems/... for org contacts.
// The type cast segment is accepted as microsoft.graph.orgContact and as
// graph.orgContact (the spelling Kiota SDKs send).
func parseDirectory(t target, segs []string) (target, error) {
	if len(segs) == 0 {
		return t, noSegment("directory")
	}
	if !is(segs[0], "deletedItems") {
		return t, noSegment(segs[0])
	}
	segs = segs[1:]
	switch {
	case len(segs) == 0:
		return t, noSegment("deletedItems")
	case is(segs[0], "microsoft.graph.orgContact") || is(segs[0], "graph.orgContact"):
		if len(segs) > 1 {
			return t, noSegment(segs[1])
		}
		t.kind = kDeletedOrgContacts
	case len(segs) == 1:
		t.kind, t.item = kDeletedItem, segs[0]
	case len(segs) == 2 && (is(segs[1], "restore") || is(segs[1], "microsoft.graph.restore")):
		t.kind, t.item = kDeletedItemRestore, segs[0]
	default:
		return t, noSegment(segs[len(segs)-1])
	}
	return t, nil
}

// parseSubscriptions parses what follows /subscriptions.
func parseSubscriptions(t target, segs []string) (target, error) {
	switch {
	case len(segs) == 0:
		t.kind = kSubscriptions
	case len(segs) == 1:
		t.kind, t.item = kSubscription, segs[0]
	case len(segs) == 2 && (is(segs[1], "reauthorize") || is(segs[1], "microsoft.graph.reauthorize")):
		t.kind, t.item = kSubscriptionReauthorize, segs[0]
	case len(segs) == 2 && is(segs[1], "deliveries"):
		t.kind, t.item = kSubscriptionDeliveries, segs[0]
	default:
		return t, noSegment(segs[len(segs)-1])
	}
	return t, nil
}

// parseMailboxPath parses the part of a path below a mailbox (/me or
// /users/{x}): contacts, contactFolders and their nesting.
func parseMailboxPath(t target, segs []string) (target, error) {
	switch {
	case is(segs[0], "contacts"):
		return parseContacts(t, segs[1:])
	case !is(segs[0], "contactFolders"):
		return t, noSegment(segs[0])
	}
	// contactFolders, then {id} (childFolders {id})* and a tail.
	segs = segs[1:]
	for {
		switch {
		case len(segs) == 0:
			t.kind = kFolders
			return t, nil
		case isDelta(segs[0]):
			if len(segs) > 1 {
				return t, noSegment(segs[1])
			}
			t.kind = kFolderDelta
			return t, nil
		case segs[0] == "$count":
			if len(segs) > 1 {
				return t, noSegment(segs[1])
			}
			t.kind = kFoldersCount
			return t, nil
		}
		t.folders = append(t.folders, segs[0])
		segs = segs[1:]
		switch {
		case len(segs) == 0:
			t.kind = kFolder
			return t, nil
		case is(segs[0], "contacts"):
			return parseContacts(t, segs[1:])
		case is(segs[0], "childFolders"):
			segs = segs[1:]
		case isAction(segs[0], "permanentDelete") && len(segs) == 1:
			t.kind = kFolderPermanentDelete
			return t, nil
		default:
			return t, noSegment(segs[0])
		}
	}
}

// isAction reports whether seg names the bound action name, bare or
// namespaced (microsoft.graph.name), in any case.
func isAction(seg, name string) bool {
	return is(seg, name) || is(seg, "microsoft.graph."+name)
}

// parseContacts parses what follows a contacts segment: the collection,
// or an item and what follows it.
func parseContacts(t target, segs []string) (target, error) {
	if len(segs) > 1 && !isDelta(segs[0]) && segs[0] != "$count" {
		t.item = segs[0]
		return parseContactPart(t, segs[1:])
	}
	return parseCollection(t, segs, kContacts, kContact, kContactDelta, kContactsCount)
}

// parseContactPart parses what follows a contact item: photo,
// photo/$value, extensions or extensions/{extensionId}.
func parseContactPart(t target, segs []string) (target, error) {
	switch {
	case is(segs[0], "photo") && len(segs) == 1:
		t.kind = kContactPhoto
	case is(segs[0], "photo") && len(segs) == 2 && is(segs[1], "$value"):
		t.kind = kContactPhotoValue
	case is(segs[0], "extensions") && len(segs) == 1:
		t.kind = kContactExtensions
	case is(segs[0], "extensions") && len(segs) == 2:
		t.kind, t.ext = kContactExtension, segs[1]
	case isAction(segs[0], "permanentDelete") && len(segs) == 1:
		t.kind = kContactPermanentDelete
	case is(segs[0], "photo") && !is(segs[1], "$value"):
		return t, noSegment(segs[1])
	case is(segs[0], "photo") || is(segs[0], "extensions"):
		return t, noSegment(segs[2])
	default:
		return t, noSegment(segs[0])
	}
	return t, nil
}

// parseCollection parses what follows a collection segment: nothing (the
// list), delta in any spelling, $count, or one item id.
func parseCollection(t target, segs []string, list, item, delta, count kind) (target, error) {
	switch {
	case len(segs) == 0:
		t.kind = list
	case len(segs) > 1:
		return t, noSegment(segs[1])
	case isDelta(segs[0]):
		t.kind = delta
	case segs[0] == "$count":
		t.kind = count
	default:
		t.kind, t.item = item, segs[0]
	}
	return t, nil
}

// checkIDs validates the ids of a target before any store call: folder and
// contact ids must have the shape of our ids (EMalformedID), and a user
// must be a GUID or a user principal name (an unknown user otherwise).
func (t target) checkIDs() error {
	if t.user != "" && !contactgraph.IsGUID(t.user) && !validUPN(t.user) {
		if t.kind == kUser {
			return contactgraph.About(contactgraph.ENotFound, t.user)
		}
		return invalidUser(t.user)
	}
	for _, id := range t.folders {
		if !contactgraph.ValidID(id) {
			return contactgraph.Errorf(contactgraph.EMalformedID, "Id is malformed.")
		}
	}
	if t.kind.contactItem() && !contactgraph.ValidID(t.item) {
		return contactgraph.Errorf(contactgraph.EMalformedID, "Id is malformed.")
	}
	if t.kind == kContactExtension {
		if _, err := contactgraph.ExtensionName(t.ext); err != nil {
			return err
		}
	}
	switch t.kind {
	case kOrgContact, kDeletedItem, kDeletedItemRestore:
		if !validOrgID(t.item) {
			return contactgraph.Errorf(contactgraph.EMalformedID, "Invalid object identifier '%s'.", t.item)
		}
	}
	return nil
}

// route parses the path, finds its route and serves it. Checks run in
// this order: path shape (400), method (405), query syntax and the route's
// options (400), id shapes (400, or 404 for a user that cannot exist), then
// for mailbox routes /me with an app token (400), permission (403), the
// mailbox (403 for another user's, 404 for an unknown user) and the folder
// chain (404); for /users routes the permission (403).
func (s *Server) route(w http.ResponseWriter, r *http.Request, p contactgraph.Principal, segs []string) {
	t, err := parseTarget(segs)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	noteRoute(r, t.kind)
	r = withFamily(r, t.kind.family())
	rt, allowed, ok := lookupRoute(t.kind, r.Method)
	if !ok {
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
		}
		s.writeError(w, r, contactgraph.Errorf(eMethodNotAllowed, "The HTTP method '%s' is not allowed on this resource.", r.Method))
		return
	}
	c := &call{p: p, t: t}
	if c.q, err = queryOptions(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkOptions(c.q, rt.options); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := t.checkIDs(); err != nil {
		s.writeError(w, r, err)
		return
	}
	if t.kind.family() == outlook && !t.kind.ownScope() {
		// Our ids never change when a contact moves, so they are
		// immutable ids already: the preference is honoured as it is.
		if id := parsePrefer(r.Header).IDType; id != "" {
			addPreferenceApplied(w.Header(), "IdType="+id) // as Graph answers it, unquoted
		}
		if err := s.openMailbox(r, c, rt.perms); err != nil {
			s.writeError(w, r, err)
			return
		}
	} else if len(rt.perms) > 0 && !p.Has(rt.perms...) {
		s.writeError(w, r, forbidden(directory))
		return
	}
	s.serveRoute(rt, w, r, c) // rt.handle, under the throttling limits when on
}

// checkOptions refuses the OData options a route does not take. allowed
// nil accepts every option.
func checkOptions(q url.Values, allowed []string) error {
	if allowed == nil {
		return nil
	}
	for name := range q {
		if strings.HasPrefix(name, "$") && !slices.Contains(allowed, name) {
			return contactgraph.Errorf(contactgraph.EUnsupported, "The query option '%s' is not supported on this resource.", name)
		}
	}
	return nil
}
