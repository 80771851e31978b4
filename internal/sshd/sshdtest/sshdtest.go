// Package sshdtest starts the OpenSSH server of package sshd for a test and
// stops it when the test ends.
package sshdtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/sshd"
)

// startTimeout bounds the start of one server.
const startTimeout = 30 * time.Second

// RequireSSHD ends t unless sshd is installed. The test fails when CI is
// "true", so that CI cannot pass by skipping, and is skipped otherwise.
func RequireSSHD(t testing.TB) {
	t.Helper()
	if _, err := sshd.FindSSHD(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

// Start starts a server for t, after RequireSSHD, and registers its Stop as a
// cleanup.
func Start(t testing.TB, opts sshd.Options) *sshd.Server {
	t.Helper()
	RequireSSHD(t)

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	server, err := sshd.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := server.Stop(); err != nil {
			t.Errorf("stop sshd: %v", err)
		}
	})
	return server
}
