package ops

import (
	"context"
	"errors"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/prometheus/client_golang/prometheus"
)

// Store is a contactgraph.Store that times every call of the Store it
// wraps: contactgraph_store_operation_duration_seconds, by operation (the
// method's name) and result ("ok", "canceled" for an ended context, else
// the error's contactgraph code). It changes nothing else: arguments,
// results and errors pass through as they are.
//
// It embeds the wrapped Store, so that a method added to the interface
// later still compiles and passes through, untimed, until it gets its
// wrapper here (TestStoreWrapsEveryMethod fails meanwhile). A type
// assertion on a Store sees the decorator, not the engine below: use
// Unwrap to reach it (the sender's wake-ups do).
type Store struct {
	contactgraph.Store
	seconds *prometheus.HistogramVec
}

var _ contactgraph.Store = (*Store)(nil)

// Unwrap returns the wrapped Store.
func (s *Store) Unwrap() contactgraph.Store { return s.Store }

// Unwrap returns the store below every decorator of this package (any
// Store with an Unwrap() contactgraph.Store method), or s itself.
func Unwrap(s contactgraph.Store) contactgraph.Store {
	for {
		u, ok := s.(interface{ Unwrap() contactgraph.Store })
		if !ok {
			return s
		}
		s = u.Unwrap()
	}
}

// observe records one call of op that started at start and ended with *err.
func (s *Store) observe(op string, start time.Time, err *error) {
	s.seconds.WithLabelValues(op, result(*err)).Observe(time.Since(start).Seconds())
}

// result is the result label of an error: a bounded set of words, never
// the error's text.
func result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return string(contactgraph.ErrorCode(err))
}

// Close implements contactgraph.Store; it is not timed.
func (s *Store) Close() error { return s.Store.Close() }

// AckNotifications implements contactgraph.Store.
func (s *Store) AckNotifications(ctx context.Context, owner string, keys []contactgraph.NotificationKey) (err error) {
	defer s.observe("AckNotifications", time.Now(), &err)
	return s.Store.AckNotifications(ctx, owner, keys)
}

// ClaimNotifications implements contactgraph.Store.
func (s *Store) ClaimNotifications(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) (v []contactgraph.Notification, err error) {
	defer s.observe("ClaimNotifications", time.Now(), &err)
	return s.Store.ClaimNotifications(ctx, owner, now, lease, limit)
}

// Contact implements contactgraph.Store.
func (s *Store) Contact(ctx context.Context, mb contactgraph.Mailbox, id string) (v *contactgraph.Contact, err error) {
	defer s.observe("Contact", time.Now(), &err)
	return s.Store.Contact(ctx, mb, id)
}

// ContactChanges implements contactgraph.Store.
func (s *Store) ContactChanges(ctx context.Context, mb contactgraph.Mailbox, folderID string, q contactgraph.ChangeQuery) (v contactgraph.ChangePage[contactgraph.ContactChange], err error) {
	defer s.observe("ContactChanges", time.Now(), &err)
	return s.Store.ContactChanges(ctx, mb, folderID, q)
}

// ContactExtension implements contactgraph.Store.
func (s *Store) ContactExtension(ctx context.Context, mb contactgraph.Mailbox, id, name string) (v *contactgraph.Extension, err error) {
	defer s.observe("ContactExtension", time.Now(), &err)
	return s.Store.ContactExtension(ctx, mb, id, name)
}

// ContactExtensions implements contactgraph.Store.
func (s *Store) ContactExtensions(ctx context.Context, mb contactgraph.Mailbox, id string) (v []contactgraph.Extension, err error) {
	defer s.observe("ContactExtensions", time.Now(), &err)
	return s.Store.ContactExtensions(ctx, mb, id)
}

// ContactParts implements contactgraph.Store.
func (s *Store) ContactParts(ctx context.Context, mb contactgraph.Mailbox, ids []string, q contactgraph.PartsQuery) (v map[string]*contactgraph.ContactParts, err error) {
	defer s.observe("ContactParts", time.Now(), &err)
	return s.Store.ContactParts(ctx, mb, ids, q)
}

// ContactPhoto implements contactgraph.Store.
func (s *Store) ContactPhoto(ctx context.Context, mb contactgraph.Mailbox, id string, withData bool) (v *contactgraph.Photo, err error) {
	defer s.observe("ContactPhoto", time.Now(), &err)
	return s.Store.ContactPhoto(ctx, mb, id, withData)
}

// ContactsByExtendedProperty implements contactgraph.Store.
func (s *Store) ContactsByExtendedProperty(ctx context.Context, mb contactgraph.Mailbox, folderID, propID, value string, p contactgraph.Page) (v []*contactgraph.Contact, err error) {
	defer s.observe("ContactsByExtendedProperty", time.Now(), &err)
	return s.Store.ContactsByExtendedProperty(ctx, mb, folderID, propID, value, p)
}

// CountContacts implements contactgraph.Store.
func (s *Store) CountContacts(ctx context.Context, mb contactgraph.Mailbox, folderID string) (v int, err error) {
	defer s.observe("CountContacts", time.Now(), &err)
	return s.Store.CountContacts(ctx, mb, folderID)
}

// CountFolders implements contactgraph.Store.
func (s *Store) CountFolders(ctx context.Context, mb contactgraph.Mailbox, parentID string) (v int, err error) {
	defer s.observe("CountFolders", time.Now(), &err)
	return s.Store.CountFolders(ctx, mb, parentID)
}

// CountOrgContacts implements contactgraph.Store.
func (s *Store) CountOrgContacts(ctx context.Context, tenantID string) (v int, err error) {
	defer s.observe("CountOrgContacts", time.Now(), &err)
	return s.Store.CountOrgContacts(ctx, tenantID)
}

// CreateContact implements contactgraph.Store.
func (s *Store) CreateContact(ctx context.Context, mb contactgraph.Mailbox, folderID string, in contactgraph.ContactInput) (v *contactgraph.Contact, err error) {
	defer s.observe("CreateContact", time.Now(), &err)
	return s.Store.CreateContact(ctx, mb, folderID, in)
}

// CreateContactExtension implements contactgraph.Store.
func (s *Store) CreateContactExtension(ctx context.Context, mb contactgraph.Mailbox, id string, e contactgraph.Extension, ifMatch string) (v *contactgraph.Extension, err error) {
	defer s.observe("CreateContactExtension", time.Now(), &err)
	return s.Store.CreateContactExtension(ctx, mb, id, e, ifMatch)
}

// CreateFolder implements contactgraph.Store.
func (s *Store) CreateFolder(ctx context.Context, mb contactgraph.Mailbox, parentID string, in contactgraph.FolderInput) (v *contactgraph.Folder, err error) {
	defer s.observe("CreateFolder", time.Now(), &err)
	return s.Store.CreateFolder(ctx, mb, parentID, in)
}

// CreateOrgContact implements contactgraph.Store.
func (s *Store) CreateOrgContact(ctx context.Context, tenantID string, in contactgraph.OrgContactInput) (v *contactgraph.OrgContact, err error) {
	defer s.observe("CreateOrgContact", time.Now(), &err)
	return s.Store.CreateOrgContact(ctx, tenantID, in)
}

// CreateSubscription implements contactgraph.Store.
func (s *Store) CreateSubscription(ctx context.Context, sub contactgraph.Subscription) (v contactgraph.Subscription, err error) {
	defer s.observe("CreateSubscription", time.Now(), &err)
	return s.Store.CreateSubscription(ctx, sub)
}

// CreateUser implements contactgraph.Store.
func (s *Store) CreateUser(ctx context.Context, tenantID string, u contactgraph.User) (v contactgraph.User, err error) {
	defer s.observe("CreateUser", time.Now(), &err)
	return s.Store.CreateUser(ctx, tenantID, u)
}

// DeleteContact implements contactgraph.Store.
func (s *Store) DeleteContact(ctx context.Context, mb contactgraph.Mailbox, id string, ifMatch string) (err error) {
	defer s.observe("DeleteContact", time.Now(), &err)
	return s.Store.DeleteContact(ctx, mb, id, ifMatch)
}

// DeleteContactExtension implements contactgraph.Store.
func (s *Store) DeleteContactExtension(ctx context.Context, mb contactgraph.Mailbox, id, name, ifMatch string) (err error) {
	defer s.observe("DeleteContactExtension", time.Now(), &err)
	return s.Store.DeleteContactExtension(ctx, mb, id, name, ifMatch)
}

// DeleteContactPhoto implements contactgraph.Store.
func (s *Store) DeleteContactPhoto(ctx context.Context, mb contactgraph.Mailbox, id, ifMatch string) (v *contactgraph.Contact, err error) {
	defer s.observe("DeleteContactPhoto", time.Now(), &err)
	return s.Store.DeleteContactPhoto(ctx, mb, id, ifMatch)
}

// DeleteFolder implements contactgraph.Store.
func (s *Store) DeleteFolder(ctx context.Context, mb contactgraph.Mailbox, id string) (err error) {
	defer s.observe("DeleteFolder", time.Now(), &err)
	return s.Store.DeleteFolder(ctx, mb, id)
}

// DeleteOrgContact implements contactgraph.Store.
func (s *Store) DeleteOrgContact(ctx context.Context, tenantID, id string) (err error) {
	defer s.observe("DeleteOrgContact", time.Now(), &err)
	return s.Store.DeleteOrgContact(ctx, tenantID, id)
}

// DeleteSubscription implements contactgraph.Store.
func (s *Store) DeleteSubscription(ctx context.Context, tenantID, id string) (err error) {
	defer s.observe("DeleteSubscription", time.Now(), &err)
	return s.Store.DeleteSubscription(ctx, tenantID, id)
}

// DeleteUser implements contactgraph.Store.
func (s *Store) DeleteUser(ctx context.Context, tenantID, id string) (err error) {
	defer s.observe("DeleteUser", time.Now(), &err)
	return s.Store.DeleteUser(ctx, tenantID, id)
}

// DeletedOrgContact implements contactgraph.Store.
func (s *Store) DeletedOrgContact(ctx context.Context, tenantID, id string) (v *contactgraph.OrgContact, err error) {
	defer s.observe("DeletedOrgContact", time.Now(), &err)
	return s.Store.DeletedOrgContact(ctx, tenantID, id)
}

// DeletedOrgContacts implements contactgraph.Store.
func (s *Store) DeletedOrgContacts(ctx context.Context, tenantID string, p contactgraph.Page) (v []*contactgraph.OrgContact, err error) {
	defer s.observe("DeletedOrgContacts", time.Now(), &err)
	return s.Store.DeletedOrgContacts(ctx, tenantID, p)
}

// DropNotifications implements contactgraph.Store.
func (s *Store) DropNotifications(ctx context.Context, owner string, keys []contactgraph.NotificationKey, now time.Time) (err error) {
	defer s.observe("DropNotifications", time.Now(), &err)
	return s.Store.DropNotifications(ctx, owner, keys, now)
}

// EnqueueLifecycle implements contactgraph.Store.
func (s *Store) EnqueueLifecycle(ctx context.Context, tenantID, subscriptionID, event string, now time.Time) (err error) {
	defer s.observe("EnqueueLifecycle", time.Now(), &err)
	return s.Store.EnqueueLifecycle(ctx, tenantID, subscriptionID, event, now)
}

// EnsureMailbox implements contactgraph.Store.
func (s *Store) EnsureMailbox(ctx context.Context, tenantID, userID, upn string) (v contactgraph.Mailbox, err error) {
	defer s.observe("EnsureMailbox", time.Now(), &err)
	return s.Store.EnsureMailbox(ctx, tenantID, userID, upn)
}

// Folder implements contactgraph.Store.
func (s *Store) Folder(ctx context.Context, mb contactgraph.Mailbox, id string) (v *contactgraph.Folder, err error) {
	defer s.observe("Folder", time.Now(), &err)
	return s.Store.Folder(ctx, mb, id)
}

// FolderChanges implements contactgraph.Store.
func (s *Store) FolderChanges(ctx context.Context, mb contactgraph.Mailbox, parentID string, q contactgraph.ChangeQuery) (v contactgraph.ChangePage[contactgraph.FolderChange], err error) {
	defer s.observe("FolderChanges", time.Now(), &err)
	return s.Store.FolderChanges(ctx, mb, parentID, q)
}

// ImportContacts implements contactgraph.Store.
func (s *Store) ImportContacts(ctx context.Context, mb contactgraph.Mailbox, folderID string, in []contactgraph.ContactInput) (v int, err error) {
	defer s.observe("ImportContacts", time.Now(), &err)
	return s.Store.ImportContacts(ctx, mb, folderID, in)
}

// ImportOrgContacts implements contactgraph.Store.
func (s *Store) ImportOrgContacts(ctx context.Context, tenantID string, in []contactgraph.OrgContactInput) (v int, err error) {
	defer s.observe("ImportOrgContacts", time.Now(), &err)
	return s.Store.ImportOrgContacts(ctx, tenantID, in)
}

// ListContacts implements contactgraph.Store.
func (s *Store) ListContacts(ctx context.Context, mb contactgraph.Mailbox, folderID string, p contactgraph.Page) (v []*contactgraph.Contact, err error) {
	defer s.observe("ListContacts", time.Now(), &err)
	return s.Store.ListContacts(ctx, mb, folderID, p)
}

// ListFolders implements contactgraph.Store.
func (s *Store) ListFolders(ctx context.Context, mb contactgraph.Mailbox, parentID string, p contactgraph.Page) (v []*contactgraph.Folder, err error) {
	defer s.observe("ListFolders", time.Now(), &err)
	return s.Store.ListFolders(ctx, mb, parentID, p)
}

// ListOrgContacts implements contactgraph.Store.
func (s *Store) ListOrgContacts(ctx context.Context, tenantID string, p contactgraph.Page) (v []*contactgraph.OrgContact, err error) {
	defer s.observe("ListOrgContacts", time.Now(), &err)
	return s.Store.ListOrgContacts(ctx, tenantID, p)
}

// ListSubscriptions implements contactgraph.Store.
func (s *Store) ListSubscriptions(ctx context.Context, tenantID, appID, userID string, p contactgraph.Page) (v []contactgraph.Subscription, err error) {
	defer s.observe("ListSubscriptions", time.Now(), &err)
	return s.Store.ListSubscriptions(ctx, tenantID, appID, userID, p)
}

// ListUsers implements contactgraph.Store.
func (s *Store) ListUsers(ctx context.Context, tenantID string, p contactgraph.Page) (v []contactgraph.User, err error) {
	defer s.observe("ListUsers", time.Now(), &err)
	return s.Store.ListUsers(ctx, tenantID, p)
}

// Mailbox implements contactgraph.Store.
func (s *Store) Mailbox(ctx context.Context, tenantID, userID string) (v contactgraph.Mailbox, err error) {
	defer s.observe("Mailbox", time.Now(), &err)
	return s.Store.Mailbox(ctx, tenantID, userID)
}

// OrgContact implements contactgraph.Store.
func (s *Store) OrgContact(ctx context.Context, tenantID, id string) (v *contactgraph.OrgContact, err error) {
	defer s.observe("OrgContact", time.Now(), &err)
	return s.Store.OrgContact(ctx, tenantID, id)
}

// OrgContactChanges implements contactgraph.Store.
func (s *Store) OrgContactChanges(ctx context.Context, tenantID string, ids []string, q contactgraph.ChangeQuery) (v contactgraph.ChangePage[contactgraph.OrgContactChange], err error) {
	defer s.observe("OrgContactChanges", time.Now(), &err)
	return s.Store.OrgContactChanges(ctx, tenantID, ids, q)
}

// OutboxDepth implements contactgraph.Store.
func (s *Store) OutboxDepth(ctx context.Context) (v int, err error) {
	defer s.observe("OutboxDepth", time.Now(), &err)
	return s.Store.OutboxDepth(ctx)
}

// Prune implements contactgraph.Store.
func (s *Store) Prune(ctx context.Context, r contactgraph.Retention) (v int, err error) {
	defer s.observe("Prune", time.Now(), &err)
	return s.Store.Prune(ctx, r)
}

// PurgeOrgContact implements contactgraph.Store.
func (s *Store) PurgeOrgContact(ctx context.Context, tenantID, id string) (err error) {
	defer s.observe("PurgeOrgContact", time.Now(), &err)
	return s.Store.PurgeOrgContact(ctx, tenantID, id)
}

// Ready implements contactgraph.Store.
func (s *Store) Ready(ctx context.Context) (err error) {
	defer s.observe("Ready", time.Now(), &err)
	return s.Store.Ready(ctx)
}

// RemoveExpiredSubscriptions implements contactgraph.Store.
func (s *Store) RemoveExpiredSubscriptions(ctx context.Context, now time.Time) (v int, err error) {
	defer s.observe("RemoveExpiredSubscriptions", time.Now(), &err)
	return s.Store.RemoveExpiredSubscriptions(ctx, now)
}

// RenewSubscription implements contactgraph.Store.
func (s *Store) RenewSubscription(ctx context.Context, tenantID, id string, expires, tokenExpires time.Time) (v contactgraph.Subscription, err error) {
	defer s.observe("RenewSubscription", time.Now(), &err)
	return s.Store.RenewSubscription(ctx, tenantID, id, expires, tokenExpires)
}

// RequestReauthorization implements contactgraph.Store.
func (s *Store) RequestReauthorization(ctx context.Context, now time.Time, lead, every time.Duration) (v int, err error) {
	defer s.observe("RequestReauthorization", time.Now(), &err)
	return s.Store.RequestReauthorization(ctx, now, lead, every)
}

// ResetTenant implements contactgraph.Store.
func (s *Store) ResetTenant(ctx context.Context, tenantID string) (err error) {
	defer s.observe("ResetTenant", time.Now(), &err)
	return s.Store.ResetTenant(ctx, tenantID)
}

// RestoreOrgContact implements contactgraph.Store.
func (s *Store) RestoreOrgContact(ctx context.Context, tenantID, id string) (v *contactgraph.OrgContact, err error) {
	defer s.observe("RestoreOrgContact", time.Now(), &err)
	return s.Store.RestoreOrgContact(ctx, tenantID, id)
}

// RetryNotifications implements contactgraph.Store.
func (s *Store) RetryNotifications(ctx context.Context, owner string, keys []contactgraph.NotificationKey, due time.Time) (err error) {
	defer s.observe("RetryNotifications", time.Now(), &err)
	return s.Store.RetryNotifications(ctx, owner, keys, due)
}

// Secret implements contactgraph.Store.
func (s *Store) Secret(ctx context.Context, name string, gen func() ([]byte, error)) (v []byte, err error) {
	defer s.observe("Secret", time.Now(), &err)
	return s.Store.Secret(ctx, name, gen)
}

// SetContactPhoto implements contactgraph.Store.
func (s *Store) SetContactPhoto(ctx context.Context, mb contactgraph.Mailbox, id, contentType string, data []byte, ifMatch string) (v *contactgraph.Contact, err error) {
	defer s.observe("SetContactPhoto", time.Now(), &err)
	return s.Store.SetContactPhoto(ctx, mb, id, contentType, data, ifMatch)
}

// Subscription implements contactgraph.Store.
func (s *Store) Subscription(ctx context.Context, tenantID, id string) (v contactgraph.Subscription, err error) {
	defer s.observe("Subscription", time.Now(), &err)
	return s.Store.Subscription(ctx, tenantID, id)
}

// UpdateContact implements contactgraph.Store.
func (s *Store) UpdateContact(ctx context.Context, mb contactgraph.Mailbox, id string, in contactgraph.ContactInput, ifMatch string) (v *contactgraph.Contact, err error) {
	defer s.observe("UpdateContact", time.Now(), &err)
	return s.Store.UpdateContact(ctx, mb, id, in, ifMatch)
}

// UpdateContactExtension implements contactgraph.Store.
func (s *Store) UpdateContactExtension(ctx context.Context, mb contactgraph.Mailbox, id, name string, e contactgraph.Extension, ifMatch string) (v *contactgraph.Extension, err error) {
	defer s.observe("UpdateContactExtension", time.Now(), &err)
	return s.Store.UpdateContactExtension(ctx, mb, id, name, e, ifMatch)
}

// UpdateFolder implements contactgraph.Store.
func (s *Store) UpdateFolder(ctx context.Context, mb contactgraph.Mailbox, id string, in contactgraph.FolderInput) (v *contactgraph.Folder, err error) {
	defer s.observe("UpdateFolder", time.Now(), &err)
	return s.Store.UpdateFolder(ctx, mb, id, in)
}

// UpdateOrgContact implements contactgraph.Store.
func (s *Store) UpdateOrgContact(ctx context.Context, tenantID, id string, in contactgraph.OrgContactInput) (v *contactgraph.OrgContact, err error) {
	defer s.observe("UpdateOrgContact", time.Now(), &err)
	return s.Store.UpdateOrgContact(ctx, tenantID, id, in)
}

// User implements contactgraph.Store.
func (s *Store) User(ctx context.Context, tenantID, idOrUPN string) (v contactgraph.User, err error) {
	defer s.observe("User", time.Now(), &err)
	return s.Store.User(ctx, tenantID, idOrUPN)
}

// QueryContacts implements contactgraph.Store.
func (s *Store) QueryContacts(ctx context.Context, mb contactgraph.Mailbox, folderID string, q contactgraph.ListQuery) (v contactgraph.ListPage[*contactgraph.Contact], err error) {
	defer s.observe("QueryContacts", time.Now(), &err)
	return s.Store.QueryContacts(ctx, mb, folderID, q)
}

// QueryOrgContacts implements contactgraph.Store.
func (s *Store) QueryOrgContacts(ctx context.Context, tenantID string, q contactgraph.ListQuery) (v contactgraph.ListPage[*contactgraph.OrgContact], err error) {
	defer s.observe("QueryOrgContacts", time.Now(), &err)
	return s.Store.QueryOrgContacts(ctx, tenantID, q)
}

// CreateNamedContact implements contactgraph.Store.
func (s *Store) CreateNamedContact(ctx context.Context, mb contactgraph.Mailbox, folderID, name string, in contactgraph.ContactInput) (v *contactgraph.Contact, err error) {
	defer s.observe("CreateNamedContact", time.Now(), &err)
	return s.Store.CreateNamedContact(ctx, mb, folderID, name, in)
}

// NamedContact implements contactgraph.Store.
func (s *Store) NamedContact(ctx context.Context, mb contactgraph.Mailbox, folderID, name string) (v *contactgraph.Contact, err error) {
	defer s.observe("NamedContact", time.Now(), &err)
	return s.Store.NamedContact(ctx, mb, folderID, name)
}

// CardNames implements contactgraph.Store.
func (s *Store) CardNames(ctx context.Context, mb contactgraph.Mailbox, folderID string, ids []string) (v map[string]string, err error) {
	defer s.observe("CardNames", time.Now(), &err)
	return s.Store.CardNames(ctx, mb, folderID, ids)
}

// ContactsPosition implements contactgraph.Store.
func (s *Store) ContactsPosition(ctx context.Context, mb contactgraph.Mailbox, folderID string, atOrBelow int64) (v contactgraph.Position, err error) {
	defer s.observe("ContactsPosition", time.Now(), &err)
	return s.Store.ContactsPosition(ctx, mb, folderID, atOrBelow)
}

// CreateNamedFolder implements contactgraph.Store.
func (s *Store) CreateNamedFolder(ctx context.Context, mb contactgraph.Mailbox, parentID, name string, in contactgraph.FolderInput) (v *contactgraph.Folder, err error) {
	defer s.observe("CreateNamedFolder", time.Now(), &err)
	return s.Store.CreateNamedFolder(ctx, mb, parentID, name, in)
}

// NamedFolder implements contactgraph.Store.
func (s *Store) NamedFolder(ctx context.Context, mb contactgraph.Mailbox, name string) (v string, err error) {
	defer s.observe("NamedFolder", time.Now(), &err)
	return s.Store.NamedFolder(ctx, mb, name)
}

// FolderNames implements contactgraph.Store.
func (s *Store) FolderNames(ctx context.Context, mb contactgraph.Mailbox) (v map[string]string, err error) {
	defer s.observe("FolderNames", time.Now(), &err)
	return s.Store.FolderNames(ctx, mb)
}

// Secrets implements contactgraph.Store.
func (s *Store) Secrets(ctx context.Context, prefix string) (v map[string][]byte, err error) {
	defer s.observe("Secrets", time.Now(), &err)
	return s.Store.Secrets(ctx, prefix)
}

// DeleteSecret implements contactgraph.Store.
func (s *Store) DeleteSecret(ctx context.Context, name string) (err error) {
	defer s.observe("DeleteSecret", time.Now(), &err)
	return s.Store.DeleteSecret(ctx, name)
}
