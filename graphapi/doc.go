// Package graphapi is the HTTP layer of contactgraph: it speaks the
// Microsoft Graph v1.0 wire protocol for contacts, contact folders and the
// minimal users directory that owns them.
//
// A Server routes every request under /v1.0 through one route table
// (routes.go), authenticates the bearer token with an Authenticator and
// puts the principal in the request context, checks permissions, resolves
// the mailbox of /me or /users/{id|userPrincipalName}, and hands the parsed
// request to a thin handler that calls the Store and encodes the answer.
//
// Wire contract:
//   - every answer carries request-id (a new UUID) and client-request-id
//     (the client's, else the request-id); JSON answers carry Graph's
//     Content-Type with odata.metadata=minimal;
//   - every error is Graph's envelope {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}
//     with a non-empty message; errors carry a contactgraph.Code, and one
//     table (errors.go) maps the code and the API family of the route
//     (Outlook for mailbox routes, Directory for /users) to the HTTP
//     status and the Graph error code. An error without a code is a 500
//     with a generic message, logged with its request-id;
//   - links are absolute on the base URL the client used, as far as the
//     server can trust it (links.go): Config.PublicURL, a trusted
//     proxy's Forwarded or X-Forwarded-* headers, a Host naming the
//     connection's address, else that address;
//   - a request with both Content-Length and Transfer-Encoding, or a head
//     over Config.MaxHeaderBytes, is refused before anything else, with
//     Graph's envelope and a closed connection (framing.go);
//   - request bodies may be gzip-compressed and are limited in size before
//     and after decompression; a contact photo (binary, photos.go) has
//     its own limit, contactgraph.MaxPhotoBytes.
//
// A contact's photo (…/photo, …/photo/$value) and open extensions
// (…/extensions, extensions.go) have routes under every contact path;
// its extensions and extended properties come with a contact only when
// $expand asks (expand.go).
//
// Outside /v1.0, the server publishes its signing keys, unauthenticated,
// at Entra ID's /common/discovery/v2.0/keys (keys.go), and for notify's
// senders it renders the resource data of rich notifications
// (Server.ResourceData, richdata.go).
//
// Delta query bodies live in delta.go (deltaState, initDelta and the two
// delta handlers); the router dispatches every delta spelling to them.
//
// Throttling (Config.Throttle, throttle.go) runs just before a route's
// handler: Outlook's concurrency, request and upload limits on mailbox
// routes, the directory's resource units and write quota on /users and
// org contacts, each inner request of a $batch counted on its own.
//
// JSON batching (POST /v1.0/$batch) lives in batch.go and batchparse.go: the
// batch is a row of the route table, and each of its inner requests goes
// through the emulator's faults and the route table again, with the
// batch's principal, into an in-memory response.
//
// Observation (observe.go): every request, and every inner request of a
// batch, is reported once to Config.Observer (metrics; the ops package
// implements it) and logged as one line to Config.AccessLog, by its route
// kind's name (RouteNames), never its path; the delta handlers report
// their pages and refused tokens to the Observer. graphapi imports no
// metrics library.
package graphapi
