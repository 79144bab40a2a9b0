package fleet

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill cmd if the test binary dies first (a
// timeout's panic, say), so that no instance or redis-server outlives it.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
