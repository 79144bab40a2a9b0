//go:build !linux

package fleet

import "os/exec"

// dieWithParent does nothing here: only Linux kills a child when its
// parent dies. The test's clean-ups still stop every child.
func dieWithParent(*exec.Cmd) {}
