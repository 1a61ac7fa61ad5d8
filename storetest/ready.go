package storetest

import (
	"context"
	"testing"

	"github.com/contactgraph/contactgraph"
)

// testReady: a fresh store is ready, before and after writes; a context
// that has ended makes Ready fail with EUnavailable rather than wait.
func testReady(t *testing.T, s contactgraph.Store, _ *Clock) {
	if err := s.Ready(ctx()); err != nil {
		t.Fatalf("a fresh store: %v", err)
	}
	must(s.EnsureMailbox(ctx(), tenant, contactgraph.UserID(tenant, "ready@contoso.com"), "ready@contoso.com"))
	if err := s.Ready(ctx()); err != nil {
		t.Fatalf("after a write: %v", err)
	}
	ended, cancel := context.WithCancel(ctx())
	cancel()
	wantCode(t, s.Ready(ended), contactgraph.EUnavailable)
}
