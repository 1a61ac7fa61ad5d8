// Package notify delivers change notifications: senders that lease the
// store's outbox and post it to receivers, and rich-notification
// encryption.
//
// No committed change is without its notification. A subscription watches
// one change-log collection; the store records a change's outbox entries
// in the same transaction as the change-log row, by one indexed
// INSERT … SELECT over the subscriptions of that collection. The change and
// its notifications therefore commit together or not at all. An entry
// leaves the outbox only when a sender acknowledges it after a receiver
// answered 2xx (delivered), or drops it after the retry period, which
// records a "missed" lifecycle entry in the same transaction. A sender
// holds an entry by a lease; if it dies (or its process is killed) before
// it acknowledges, the lease runs out and any sender claims the entry
// again. Delivery is therefore at least once: a receiver that answered but
// whose acknowledgement was lost sees the notification again.
//
// A subscription with includeResourceData gets rich notifications
// (rich.go): the object's JSON, read when the notification is sent and
// encrypted for the subscription's certificate, and validation tokens that
// the receiver verifies with the server's published key set.
//
// Senders wake on their process's own commits (the store's Wake hook) and
// otherwise look every Sender.Poll.
//
// On PostgreSQL, postgres.DB.Listen wakes them at every replica's commits
// too, so a commit anywhere starts delivery at once.
//
// Sender.Run also sweeps the subscriptions every Sender.SweepEvery
// (Sender.Sweep): expired ones go, and those whose token nears its expiry
// get reauthorizationRequired. While a subscription's token is expired its
// change notifications are held in the outbox, not dropped, until it is
// renewed (see contactgraph.SubscriptionStore.RequestReauthorization).
//
// Faults is the receiver side of the emulator: it makes the next deliveries
// to a URL fail, time out, wait or arrive twice, without a faulty receiver.
package notify
