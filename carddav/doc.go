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
//	/dav/U/contacts/F/            the address book of folder F (F: the folder id,
//	                              or the name a client gave it in MKCOL)
//	/dav/U/contacts/F/NAME        a card: NAME is "<contact id>.vcf" for a contact
//	                              made over Graph, else the name its client chose
//	/dav/U/contacts/directory/    the tenant's org contacts, read-only (writes are
//	                              403 DAV:need-privileges); cards "<id>.vcf"
//
// A client's card names live in their own table (contactgraph.CardStore)
// and outlive the contact until its tombstone is pruned, so a card deleted
// over Graph leaves sync-collection under the name the client knows; of
// two PUTs racing to create one name, one creates and the other replaces
// (or is 412 under If-None-Match: *). An address book's getctag and
// sync-token are the folder's own position: they move with its contacts
// only, and the same string comes back (PROPFIND, or the end of a
// sync-collection) while nothing changed.
// A card's ETag is the contact's changeKey, so a Graph PATCH changes it; a
// PUT goes through the store's CreateContact or UpdateContact, so it is a
// Graph change with its delta entry and notifications. A sync-token is a
// signed delta position (delta.Engine): sync-collection answers exactly the
// changes since it, removed cards as 404 responses, and refuses a bad
// one, or one whose history was pruned, with 403 DAV:valid-sync-token,
// after which clients resync.
//
// REPORT addressbook-query (RFC 6352 §8.6) filters an address book's
// cards with prop-filters (text-match under i;unicode-casemap, the default,
// i;ascii-casemap or i;octet; equals, contains, starts-with, ends-with;
// negate-condition; is-not-defined; anyof or allof) and C:limit (a 507
// response for the collection when more match); param-filter is 403
// C:supported-filter. It evaluates the filter over every card of the
// folder as the vCard mapping renders it: fine for address books of
// thousands of cards, not pushed down to the store.
//
// Address books are contact folders: extended MKCOL (RFC 5689) on
// /dav/U/contacts/NAME/ makes a folder under the default one, named by the
// body's DAV:displayname (else NAME), and answers 201 with NAME's URL in
// Location: the book lives there (CardStore.CreateNamedFolder keeps NAME
// with the folder, and the home set lists it under NAME; its folder-id URL
// still answers too);
// PROPPATCH of DAV:displayname renames it (every other property is 403
// DAV:cannot-modify-protected-property, and then nothing changes); DELETE
// deletes the folder with its contacts and child folders. The default
// address book cannot be renamed or deleted (403).
//
// Sign-in is HTTP Basic with the UPN and an app password (auth.AppPasswords),
// or a bearer token; a principal reaches only its own mailbox. The server
// verifies app passwords through an auth.PasswordCache: a password it
// accepted is served from memory for auth.DefaultPasswordLifetime (30 s).
// Revoking a password, deleting its user or resetting its tenant in the
// same process refuses it at once; done by another process on the same
// database (the app-password command, another replica), it is refused
// here once the cached entry expires.
package carddav
