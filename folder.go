package contactgraph

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
)

// FolderSchema is the property set of microsoft.graph.contactFolder.
var FolderSchema = NewSchema("microsoft.graph.contactFolder", []Property{
	{Name: "id", Kind: KString, ReadOnly: true},
	{Name: "displayName", Kind: KString, MaxLen: 255},
	{Name: "parentFolderId", Kind: KString},
})

// RootFolderName is the display name of a mailbox's default contact folder.
const RootFolderName = "Contacts"

// Folder is a contact folder of a mailbox. Each mailbox has one root folder,
// the default "Contacts" folder: unlisted, the parent of top-level folders
// and the home of /me/contacts.
type Folder struct {
	ID          string
	ParentID    string // empty for the root
	DisplayName string
	Rev         int64 // revision of the last change
}

// IsRoot reports whether f is the mailbox's default folder.
func (f *Folder) IsRoot() bool { return f.ParentID == "" }

// Doc renders the folder's Graph representation. The default folder's
// parentFolderId is its mailbox's message folder root, as in Outlook
// (RootParentID), never empty.
func (f *Folder) Doc() json.RawMessage {
	parent := f.ParentID
	if f.IsRoot() {
		parent = RootParentID(f.ID)
	}
	return renderDoc(FolderSchema, map[string]json.RawMessage{
		"id":             marshal(f.ID),
		"displayName":    marshal(f.DisplayName),
		"parentFolderId": marshal(parent),
	})
}

// RootParentID returns the id that stands for the message folder root
// (Outlook's msgfolderroot), the parent of the default contact folder
// rootID: stable, of the shape of an id, and not a contact folder (reading
// it as one is ENotFound).
func RootParentID(rootID string) string {
	h := sha256.Sum256([]byte("contactgraph:msgfolderroot:" + rootID))
	return base64.RawURLEncoding.EncodeToString(h[:24])
}

// FolderInput is a validated folder create or update body.
type FolderInput struct {
	DisplayName *string
	ParentID    *string
}

// ParseFolderInput validates a JSON body against FolderSchema.
func ParseFolderInput(body []byte) (FolderInput, error) {
	props, err := ParseObject(FolderSchema, body)
	if err != nil {
		return FolderInput{}, err
	}
	var in FolderInput
	if raw, ok := props["displayName"]; ok {
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" {
			return in, Errorf(EInvalid, "The property 'displayName' must be a non-empty string.")
		}
		in.DisplayName = &s
	}
	if raw, ok := props["parentFolderId"]; ok {
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" {
			return in, Errorf(EInvalid, "The property 'parentFolderId' must be a non-empty string.")
		}
		in.ParentID = &s
	}
	return in, nil
}
