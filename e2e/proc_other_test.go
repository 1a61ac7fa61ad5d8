//go:build !linux

package e2e

import "os/exec"

// dieWithTest does nothing where the kernel offers no parent-death
// signal: the test's cleanup stops its servers.
func dieWithTest(*exec.Cmd) {}
