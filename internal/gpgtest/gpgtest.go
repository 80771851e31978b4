// Package gpgtest drives the real GnuPG binary for tests: a throwaway home,
// a generated key pair, and decryption of what AxTract encrypted.
package gpgtest

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Home is a throwaway GnuPG home directory with one key pair.
type Home struct {
	Dir       string
	PublicKey string // armored
}

// New creates a GnuPG home with an ed25519/cv25519 key for uid. It fails the
// test when gpg is missing under CI=true and skips it otherwise.
func New(t testing.TB, uid string) *Home {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("gpg not found; install gnupg")
		}
		t.Skip("gpg not found; install gnupg to run this test")
	}
	// gpg-agent's socket path must stay short, so not t.TempDir().
	dir, err := os.MkdirTemp("", "axgpg")
	if err != nil {
		t.Fatal(err)
	}
	h := &Home{Dir: dir}
	t.Cleanup(func() {
		_ = exec.Command("gpgconf", "--homedir", dir, "--kill", "gpg-agent").Run()
		os.RemoveAll(dir)
	})
	h.run(t, nil, "--quick-gen-key", uid, "ed25519", "sign", "never")
	fpr := strings.TrimSpace(h.fingerprint(t, uid))
	h.run(t, nil, "--quick-add-key", fpr, "cv25519", "encr", "never")
	h.PublicKey = string(h.run(t, nil, "--armor", "--export", uid))
	return h
}

func (h *Home) fingerprint(t testing.TB, uid string) string {
	out := h.run(t, nil, "--with-colons", "--list-keys", uid)
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "fpr:") {
			return strings.Split(line, ":")[9]
		}
	}
	t.Fatalf("no fingerprint for %s in %s", uid, out)
	return ""
}

// Decrypt decrypts an OpenPGP message with this home's secret key.
func (h *Home) Decrypt(t testing.TB, message []byte) []byte {
	t.Helper()
	return h.run(t, message, "--decrypt")
}

func (h *Home) run(t testing.TB, stdin []byte, args ...string) []byte {
	t.Helper()
	base := []string{"--homedir", h.Dir, "--batch", "--yes", "--pinentry-mode", "loopback", "--passphrase", ""}
	cmd := exec.Command("gpg", append(base, args...)...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpg %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}
