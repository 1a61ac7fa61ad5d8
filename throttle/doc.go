// Package throttle reproduces Microsoft Graph's throttling of the two API
// families contactgraph serves, so that clients can be tested against it.
//
// Outlook (contacts and contact folders), as documented for the "personal
// contacts API":
//   - concurrent requests per app (Limits.Concurrency, 4), or per app and
//     mailbox with Limits.ConcurrencyPerMailbox; over it, 429
//     ApplicationThrottled "Application is over its MailboxConcurrency
//     limit." with Retry-After 1;
//   - requests per app and mailbox in a window (10,000 per 10 minutes);
//   - upload bytes (POST, PATCH, PUT bodies) per app and mailbox in a
//     window (150 MiB per 5 minutes).
//
// Directory (org contacts, users), the identity-and-access model: a token
// bucket of resource units per app and tenant (3,500 per 10 s, the
// quota of a small tenant), refilled continuously, and a write quota per
// app and tenant (3,000 per 150 s). The caller computes a request's cost
// (Graph's base costs and adjustments; see graphapi).
//
// A window starts with the first request after the previous one ended and
// lasts its length: its requests are refused from the one that would pass
// the limit until the window ends, and Retry-After says when. A refused
// request counts nowhere: what an earlier check of the same request took is
// given back.
//
// The state lives in Counters. Memory keeps it in the process, which is
// exact for one server; the postgres store implements Counters on shared
// tables, so that the limits hold across every replica on the database
// (postgres/throttle.go says how, and what it costs). Every method takes
// the time from the caller: the Limiter's clock, a fake one in tests.
//
// Not modelled: Graph's global and per-app (all tenants) limits, the
// x-ms-throttle-priority request header, the tenant-wide directory write
// quota, and 429s "under an important load".
package throttle
