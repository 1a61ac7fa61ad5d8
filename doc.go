// Package contactgraph holds the domain of the contactgraph server: the
// resources it serves (contacts, contact folders, org contacts, users), their
// property schemas, the Store interface that the storage adapters implement,
// the error codes every layer speaks, and the principal that travels in a
// request's context.
//
// The package imports no transport and no database driver. Adapters (sqlite,
// postgres, graphapi, auth) talk to each other only through the types here.
//
// Change tracking: every write gets a rising revision, allocated from a
// counter owned by the change scope's owner (a mailbox for contacts and
// folders, a tenant for org contacts), in the same transaction as the data.
// A delta position is such a revision, never a timestamp.
package contactgraph
