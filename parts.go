package contactgraph

import "context"

// PartsQuery says which of the parts a contact holds beside its document a
// read returns, as $expand asks for them. Graph returns none of them
// unless asked, and extended properties only by id.
type PartsQuery struct {
	// Extensions asks for open extensions: all of them, or only those
	// named in ExtensionNames when it is not nil (compared without regard
	// to case).
	Extensions     bool
	ExtensionNames []string
	// Single and Multi are the keys (ExtendedPropertyKey) of the single-
	// and multi-value extended properties to return.
	Single []string
	Multi  []string
	// Photo asks for the photo, with its bytes.
	Photo bool
}

// Empty reports whether q asks for nothing.
func (q PartsQuery) Empty() bool {
	return !q.Extensions && len(q.Single) == 0 && len(q.Multi) == 0 && !q.Photo
}

// ContactParts is what a PartsQuery found on one contact: extensions by
// name (without regard to case), extended properties by key.
type ContactParts struct {
	Extensions []Extension
	Single     []ExtendedProperty
	Multi      []ExtendedProperty
	Photo      *Photo // nil when the contact has none
}

// ContactPartStore keeps what a contact holds beside its document: its
// photo, its open extensions and its extended properties (the latter are
// written with the contact, through ContactInput.Extended).
//
// Each write here is a change of the contact, as a PATCH of it is: it
// takes a new revision, gives the contact a new changeKey and
// lastModifiedDateTime, records the contact in its folder's change log (so
// the next delta round returns it) and an "updated" notification for the
// folder's subscriptions, all in one transaction. When ifMatch is not
// empty it must match the contact's etag or changeKey, else EPrecondition.
// The methods that take a contact id are ENotFound for a contact outside
// the mailbox, checked before anything else (then If-Match, then the
// input); deleting the contact (or its folder, user or tenant) deletes
// its parts.
type ContactPartStore interface {
	// ContactPhoto returns a contact's photo, with its bytes when
	// withData. ENotFound also when the contact has no photo.
	ContactPhoto(ctx context.Context, mb Mailbox, id string, withData bool) (*Photo, error)
	// SetContactPhoto sets or replaces a contact's photo with data, checked
	// by ParsePhoto against contentType (its errors, after ENotFound and
	// EPrecondition). ifMatch may also be the current photo's MediaETag.
	SetContactPhoto(ctx context.Context, mb Mailbox, id, contentType string, data []byte, ifMatch string) (*Contact, error)
	// DeleteContactPhoto removes a contact's photo. ENotFound when it has
	// none. ifMatch as SetContactPhoto.
	DeleteContactPhoto(ctx context.Context, mb Mailbox, id, ifMatch string) (*Contact, error)

	// ContactExtensions lists a contact's open extensions by name.
	ContactExtensions(ctx context.Context, mb Mailbox, id string) ([]Extension, error)
	// ContactExtension returns the open extension named name (without
	// regard to case). ENotFound.
	ContactExtension(ctx context.Context, mb Mailbox, id, name string) (*Extension, error)
	// CreateContactExtension adds an open extension to a contact. EInvalid
	// without a name or past MaxExtensions; EConflict when the contact has
	// an extension of that name.
	CreateContactExtension(ctx context.Context, mb Mailbox, id string, e Extension, ifMatch string) (*Extension, error)
	// UpdateContactExtension replaces the custom data of the extension
	// named name with e.Data. EInvalid when e.Name is set and names another
	// extension; ENotFound.
	UpdateContactExtension(ctx context.Context, mb Mailbox, id, name string, e Extension, ifMatch string) (*Extension, error)
	// DeleteContactExtension removes an open extension. ENotFound.
	DeleteContactExtension(ctx context.Context, mb Mailbox, id, name, ifMatch string) error

	// ContactParts reads what q asks for on the contacts ids of the
	// mailbox, in one snapshot; ids of other mailboxes, and contacts with
	// none of it, are absent from the map. Extensions come by name,
	// properties by key.
	ContactParts(ctx context.Context, mb Mailbox, ids []string, q PartsQuery) (map[string]*ContactParts, error)
	// ContactsByExtendedProperty lists by id, after p.After, the contacts
	// of a folder with the single-value extended property propID (any id
	// format ExtendedPropertyKey takes) equal to value without regard to
	// case (value in any form of the property's type: "012" finds an
	// Integer 12): Graph's $filter=singleValueExtendedProperties/any(ep:
	// ep/id eq '…' and ep/value eq '…'). It reads an index on (mailbox,
	// property, value), never the folder's contacts. ENotFound for the
	// folder; EInvalid for a malformed propID, an array type, or a value
	// not of the type (CanonicalExtendedValue).
	ContactsByExtendedProperty(ctx context.Context, mb Mailbox, folderID, propID, value string, p Page) ([]*Contact, error)
}
