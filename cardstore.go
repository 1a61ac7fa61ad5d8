package contactgraph

import (
	"context"
	"time"
)

// Position is a collection's place in its change log: the revision of its
// latest change (or the lowest revision it can still answer from, when
// that is higher) and when that change was made (zero when there is none).
type Position struct {
	Rev int64
	At  time.Time
}

// CardStore keeps what the CardDAV adapter needs beside the contacts: the
// names (hrefs) clients gave the cards they created, and collection
// positions that move only with the collection.
//
// A card name belongs to one folder and one contact. It outlives the
// contact: after a delete, CardNames still reports it until the contact's
// tombstone in that folder is pruned (so a sync-collection reports the
// removal under the name the client knows), and a new card may then take
// the name over. Deleting the folder, the user or the tenant deletes its
// names.
type CardStore interface {
	// CreateNamedContact creates a contact as CreateContact does and names
	// it name in folderID, in the same transaction. EConflict when a live
	// contact of the folder has that name (two concurrent creates of one
	// name: one wins, the other is EConflict); the errors of CreateContact.
	CreateNamedContact(ctx context.Context, mb Mailbox, folderID, name string, in ContactInput) (*Contact, error)
	// NamedContact returns the live contact named name in folderID.
	// ENotFound, also when the named contact was deleted or moved away.
	NamedContact(ctx context.Context, mb Mailbox, folderID, name string) (*Contact, error)
	// CardNames returns the names in folderID of the contacts ids, deleted
	// ones included until their tombstones are pruned; ids without a name
	// there are absent from the map.
	CardNames(ctx context.Context, mb Mailbox, folderID string, ids []string) (map[string]string, error)
	// ContactsPosition returns the position of the contacts of folderID,
	// counting only changes with a revision <= atOrBelow (every change
	// when atOrBelow is 0). It moves only when the folder's contacts
	// change, and ContactChanges answers from it (Since = Rev). Because
	// the revisions of a mailbox commit in order, the position at or below
	// a round's Until, read after the round, misses no change of the
	// round's range. ENotFound when the folder is gone.
	ContactsPosition(ctx context.Context, mb Mailbox, folderID string, atOrBelow int64) (Position, error)

	// CreateNamedFolder creates a folder as CreateFolder does and gives it
	// name, the URL segment a CardDAV client chose for the address book,
	// in the same transaction. A name belongs to one folder of the mailbox
	// and goes with it (DeleteFolder, DeleteUser, ResetTenant). EConflict
	// when the mailbox has a folder of that name; the errors of
	// CreateFolder.
	CreateNamedFolder(ctx context.Context, mb Mailbox, parentID, name string, in FolderInput) (*Folder, error)
	// NamedFolder returns the id of the folder named name. ENotFound.
	NamedFolder(ctx context.Context, mb Mailbox, name string) (string, error)
	// FolderNames returns the names of the mailbox's named folders, by
	// folder id.
	FolderNames(ctx context.Context, mb Mailbox) (map[string]string, error)
}
