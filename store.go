package contactgraph

import (
	"context"
	"time"
)

// Page asks for one page of a list, ordered by id: the items whose id is
// greater than After, at most Limit of them.
type Page struct {
	After string
	Limit int
}

// ChangeQuery asks for one page of a delta round over a collection.
//
// A round reads the changes with Since < revision <= Until in revision
// order. Since is 0 for a first round, which returns the current objects
// and no tombstones. Until is the round's upper bound: zero on the round's
// first page, where the store fills it in with the collection owner's
// current revision, read in the same transaction as the page; the caller
// carries it in every following link so that the round always ends and a
// change made while a client pages lands in the next round. After is the
// keyset position inside the round (the revision of the last change
// returned, or Since).
type ChangeQuery struct {
	Since int64
	Until int64
	After int64
	Limit int
}

// ContactChange is one entry of a contact delta page: the contact at its
// latest state, or a tombstone (Removed) when it was deleted or moved out of
// the collection.
type ContactChange struct {
	ID      string
	Rev     int64
	Removed bool
	Contact *Contact // nil when Removed
}

// Reasons an org contact left a delta collection.
const (
	RemovedDeleted = "deleted" // permanently deleted or purged
	RemovedChanged = "changed" // soft-deleted: restorable from deleted items
)

// OrgContactChange is one entry of an org contact delta page.
type OrgContactChange struct {
	ID      string
	Rev     int64
	Removed string      // "" for a live contact, else RemovedDeleted or RemovedChanged
	Contact *OrgContact // nil when Removed
}

// FolderChange is one entry of a folder delta page.
type FolderChange struct {
	ID      string
	Rev     int64
	Removed bool
	Folder  *Folder // nil when Removed
}

// ChangePage is one page of a delta round.
//
// A round's range may hold an object more than once (it changed again while
// the round ran); a page carries each object once, at its current state
// relative to the collection, and Last is the revision to continue after.
type ChangePage[T any] struct {
	Changes []T
	Until   int64 // the round's upper bound (as given, or filled in on a first page)
	Last    int64 // revision of the last log entry read; 0 when none was
	More    bool  // entries remain in (Last, Until]
}

// Store is the storage of contactgraph. The sqlite and postgres packages
// implement it; storetest holds the one conformance suite both must pass.
//
// Every method is scoped by tenant and mailbox: an object of another scope
// is ErrNotFound, so ids reveal nothing. Errors carry the codes of this
// package; any other error is an internal failure.
type Store interface {
	// Secret returns the secret named name, creating it with gen on first
	// use. Every process sharing the storage sees the same value.
	Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error)
	// Secrets returns the secrets whose names begin with prefix, by name.
	Secrets(ctx context.Context, prefix string) (map[string][]byte, error)
	// DeleteSecret deletes the secret named name. ENotFound.
	DeleteSecret(ctx context.Context, name string) error

	// CreateUser creates a user. Its id is UserID(tenantID, u.UPN) when
	// u.ID is empty. EConflict when the UPN or id is taken.
	CreateUser(ctx context.Context, tenantID string, u User) (User, error)
	// User finds a user by id or userPrincipalName. ENotFound.
	User(ctx context.Context, tenantID, idOrUPN string) (User, error)
	// ListUsers lists a tenant's users by id.
	ListUsers(ctx context.Context, tenantID string, p Page) ([]User, error)
	// DeleteUser deletes a user with its mailbox and its app passwords
	// (the secrets named AppPasswordPrefix+id whose record is the user's).
	// ENotFound.
	DeleteUser(ctx context.Context, tenantID, id string) error

	// EnsureMailbox returns the mailbox of a signed-in user, creating the
	// user and its default folder on first access.
	EnsureMailbox(ctx context.Context, tenantID, userID, upn string) (Mailbox, error)
	// Mailbox returns the mailbox of an existing user, creating its default
	// folder if the user has none yet. ENotFound when the user does not exist.
	Mailbox(ctx context.Context, tenantID, userID string) (Mailbox, error)

	// CreateFolder creates a folder under parentID (the root when empty).
	// ENotFound for an unknown parent, EFolderExists for a duplicate name.
	CreateFolder(ctx context.Context, mb Mailbox, parentID string, in FolderInput) (*Folder, error)
	// Folder returns a folder, the root included. ENotFound.
	Folder(ctx context.Context, mb Mailbox, id string) (*Folder, error)
	// ListFolders lists the direct children of parentID (the root when empty).
	ListFolders(ctx context.Context, mb Mailbox, parentID string, p Page) ([]*Folder, error)
	// CountFolders counts the direct children of parentID (the root when empty).
	CountFolders(ctx context.Context, mb Mailbox, parentID string) (int, error)
	// UpdateFolder renames or moves a folder. ENotFound, EFolderExists,
	// EInvalid for a move under itself or a change to the root.
	UpdateFolder(ctx context.Context, mb Mailbox, id string, in FolderInput) (*Folder, error)
	// DeleteFolder deletes a folder with its contacts and child folders.
	DeleteFolder(ctx context.Context, mb Mailbox, id string) error

	// CreateContact creates a contact in folderID, with the open
	// extensions and extended properties of in. ENotFound for the folder;
	// EConflict for two extensions of one name.
	CreateContact(ctx context.Context, mb Mailbox, folderID string, in ContactInput) (*Contact, error)
	// Contact returns a contact of any folder of the mailbox. ENotFound.
	Contact(ctx context.Context, mb Mailbox, id string) (*Contact, error)
	// ListContacts lists the contacts of a folder by id.
	ListContacts(ctx context.Context, mb Mailbox, folderID string, p Page) ([]*Contact, error)
	// QueryContacts reads one page of the contacts of a folder that q.Filter
	// holds for, in q's order (see ListQuery). A filter that is an
	// emailAddresses/any(…) test, alone or and-ed with others, reads an
	// index of the addresses, and a singleValueExtendedProperties/any(ep:
	// ep/id eq '…' and ep/value eq '…') test (see ParseExtendedFilter) an
	// index of the mailbox's property values: it costs O(log n + matches),
	// not a scan of the folder. ENotFound for the folder; EInvalidFilter for a node of
	// the tree the store cannot answer; EInvalid for a cursor that does not
	// fit q.OrderBy.
	QueryContacts(ctx context.Context, mb Mailbox, folderID string, q ListQuery) (ListPage[*Contact], error)
	// CountContacts counts the contacts of a folder.
	CountContacts(ctx context.Context, mb Mailbox, folderID string) (int, error)
	// UpdateContact applies in to a contact; a parentFolderId in it moves the
	// contact, and its extended properties are set or (Remove) removed, the
	// others kept. in.Extensions is EInvalid: an existing contact's open
	// extensions are written through ContactPartStore. When ifMatch is not
	// empty it must equal the contact's etag or changeKey, else EPrecondition.
	UpdateContact(ctx context.Context, mb Mailbox, id string, in ContactInput, ifMatch string) (*Contact, error)
	// DeleteContact deletes a contact with its photo, extensions and
	// extended properties, leaving a tombstone. ENotFound, EPrecondition.
	DeleteContact(ctx context.Context, mb Mailbox, id string, ifMatch string) error

	// ContactChanges reads a page of a delta round over the contacts of a
	// folder. ENotFound when the folder is gone; ErrSyncStateExpired when
	// q.Since is older than the history kept for the folder.
	ContactChanges(ctx context.Context, mb Mailbox, folderID string, q ChangeQuery) (ChangePage[ContactChange], error)
	// FolderChanges reads a page of a delta round over the folders of the
	// mailbox: all of them, flat, when parentID is empty, else the direct
	// children of parentID. Errors as ContactChanges.
	FolderChanges(ctx context.Context, mb Mailbox, parentID string, q ChangeQuery) (ChangePage[FolderChange], error)

	// CreateOrgContact creates an org contact in a tenant.
	CreateOrgContact(ctx context.Context, tenantID string, in OrgContactInput) (*OrgContact, error)
	// OrgContact returns a live org contact. ENotFound, also when it is in
	// deleted items.
	OrgContact(ctx context.Context, tenantID, id string) (*OrgContact, error)
	// ListOrgContacts lists a tenant's live org contacts by id.
	ListOrgContacts(ctx context.Context, tenantID string, p Page) ([]*OrgContact, error)
	// QueryOrgContacts reads one page of a tenant's live org contacts, as
	// QueryContacts does for a folder. Errors as QueryContacts, without
	// ENotFound.
	QueryOrgContacts(ctx context.Context, tenantID string, q ListQuery) (ListPage[*OrgContact], error)
	// CountOrgContacts counts a tenant's live org contacts.
	CountOrgContacts(ctx context.Context, tenantID string) (int, error)
	// UpdateOrgContact applies in to a live org contact. ENotFound.
	UpdateOrgContact(ctx context.Context, tenantID, id string, in OrgContactInput) (*OrgContact, error)
	// DeleteOrgContact moves a live org contact to deleted items (a soft
	// delete: delta reports it removed with reason "changed"). ENotFound.
	DeleteOrgContact(ctx context.Context, tenantID, id string) error
	// DeletedOrgContacts lists a tenant's soft-deleted org contacts by id.
	DeletedOrgContacts(ctx context.Context, tenantID string, p Page) ([]*OrgContact, error)
	// DeletedOrgContact returns a soft-deleted org contact. ENotFound.
	DeletedOrgContact(ctx context.Context, tenantID, id string) (*OrgContact, error)
	// RestoreOrgContact brings a soft-deleted org contact back. ENotFound.
	RestoreOrgContact(ctx context.Context, tenantID, id string) (*OrgContact, error)
	// PurgeOrgContact permanently deletes a soft-deleted org contact (delta
	// reports it removed with reason "deleted"). ENotFound.
	PurgeOrgContact(ctx context.Context, tenantID, id string) error
	// OrgContactChanges reads a page of a delta round over a tenant's org
	// contacts, restricted to ids when it is not empty.
	// ErrSyncStateExpired when q.Since is older than the kept history.
	OrgContactChanges(ctx context.Context, tenantID string, ids []string, q ChangeQuery) (ChangePage[OrgContactChange], error)

	// ImportContacts creates many contacts in folderID in one transaction,
	// for seeding large data sets. It returns how many it created.
	ImportContacts(ctx context.Context, mb Mailbox, folderID string, in []ContactInput) (int, error)
	// ImportOrgContacts creates many org contacts in one transaction.
	ImportOrgContacts(ctx context.Context, tenantID string, in []OrgContactInput) (int, error)

	// ResetTenant deletes everything of a tenant: users, mailboxes, app
	// passwords, org contacts and their change history. Positions of the tenant's
	// collections start over, so old delta tokens are refused.
	ResetTenant(ctx context.Context, tenantID string) error

	// Prune removes what the retention rules let go and raises the oldest
	// answerable position of each collection it touched. It returns the
	// number of tombstones removed and of org contacts purged.
	Prune(ctx context.Context, r Retention) (int, error)

	SubscriptionStore
	ContactPartStore
	CardStore

	// Ready reports whether the store can serve: its database answers and
	// holds the schema version this build migrates to. Any other state is
	// EUnavailable. It returns when ctx ends: readiness probes bound it.
	Ready(ctx context.Context) error

	Close() error
}

// Retention says what Prune may remove: tombstones of Outlook items older
// than Items, tombstones of directory objects older than Directory,
// superseded log entries older than Superseded (only rounds that started
// before then may still need them, and those are refused), and
// soft-deleted org contacts deleted before PurgeDeleted (which leave a
// "deleted" tombstone). A zero time removes nothing of its kind.
type Retention struct {
	Items        time.Time
	Directory    time.Time
	Superseded   time.Time
	PurgeDeleted time.Time
}

// AppPasswordPrefix begins the names of the secrets that hold app
// passwords (auth.AppPasswords): "app-password:<id>", whose value is a
// JSON object with the tenant id in "tid" and the user id in "oid". The
// store reads those two to delete a user's or a tenant's app passwords
// with it.
const AppPasswordPrefix = "app-password:"
