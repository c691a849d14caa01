//go:build unix

package claudecode

import (
	"os/exec"
	"syscall"
)

// killProcessGroup runs the CLI in a process group of its own and makes a
// cancelled run kill the whole group: the CLI starts tools (git, ripgrep)
// that would otherwise outlive it and keep its output open.
func killProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
