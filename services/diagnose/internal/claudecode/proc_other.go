//go:build !unix

package claudecode

import "os/exec"

// killProcessGroup leaves the default: killing the CLI alone. WaitDelay
// still bounds the wait for its output.
func killProcessGroup(*exec.Cmd) {}
