// Package carddav serves the contacts of the store over CardDAV (RFC 6352)
// with collection synchronization (RFC 6578), beside graphapi and through
// the same contactgraph.Store and delta engine.
//
// Layout, for the signed-in user U (its user id):
//
//	/.well-known/carddav          redirect to /dav/
//	/dav/                         the service root: current-user-principal
//	/dav/U/                       the principal: addressbook-home-set
//	/dav/U/contacts/              the home set: one address book per contact folder
//	/dav/U/contacts/F/            the address book of folder F
//	/dav/U/contacts/F/NAME        a card: NAME is "<contact id>.vcf" for a contact
//	                              made over Graph, else the name its client chose
//
// A card's ETag is the contact's changeKey, so a Graph PATCH changes it; a
// PUT goes through the store's CreateContact or UpdateContact, so it is a
// Graph change with its delta entry and notifications. A sync-token is a
// signed delta position (delta.Engine): sync-collection answers exactly the
// changes since it, removed cards as 404 responses, and refuses a bad or
// expired one with 403 DAV:valid-sync-token, after which clients resync.
//
// Sign-in is HTTP Basic with the UPN and an app password (auth.AppPasswords),
// or a bearer token; a principal reaches only its own mailbox.
package carddav
