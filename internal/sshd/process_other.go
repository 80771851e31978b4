//go:build unix && !linux

package sshd

import "syscall"

// processAttributes puts sshd in its own process group, so that Stop reaches
// the session processes too.
func processAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
