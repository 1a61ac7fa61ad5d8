package throttle_test

import (
	"testing"

	"github.com/contactgraph/contactgraph/throttle"
	"github.com/contactgraph/contactgraph/throttle/throttletest"
)

func TestMemory(t *testing.T) {
	t.Parallel()
	throttletest.Run(t, func(*testing.T) throttle.Counters { return &throttle.Memory{} })
}
