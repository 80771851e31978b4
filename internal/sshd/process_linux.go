package sshd

import "syscall"

// processAttributes puts sshd in its own process group, so that Stop reaches
// the session processes too, and has the kernel kill sshd if this process
// dies without calling Stop. The kernel sends that signal when the thread
// that started sshd exits, which in Go happens only to a goroutine that ends
// while locked to its thread.
func processAttributes() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
