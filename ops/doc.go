// Package ops is what an operator sees of a running server: Prometheus
// metrics, liveness and readiness probes, and the process's logger.
//
// It is a leaf that cmd/contactgraph wires in by hand; no other package
// imports it. graphapi reports requests and delta outcomes through its
// Observer interface, which Metrics implements, so that graphapi imports
// no metrics library; the store is timed by a decorator (Store) instead
// of code in the stores; pool statistics, the outbox depth and the
// notification sender's counters are read at scrape time. Metrics live on
// a registry of their own, built in main and passed by hand: there is no
// package-level mutable state.
//
// No label value carries tenant data: routes are route kinds, never paths.
package ops
