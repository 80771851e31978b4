package pipeline

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gpgHome is a throwaway GnuPG home directory for one test. Its path is
// short because gpg-agent's socket path has a length limit.
type gpgHome struct {
	t   testing.TB
	dir string
}

func newGPGHome(t testing.TB) *gpgHome {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Fatalf("gpg not found in PATH (install GnuPG 2.2 or newer, Debian package gnupg): %v", err)
	}
	dir, err := os.MkdirTemp("", "axgpg")
	if err != nil {
		t.Fatalf("create GnuPG home: %v", err)
	}
	t.Cleanup(func() {
		// The agent starts on first use and would outlive the test.
		_ = exec.Command("gpgconf", "--homedir", dir, "--kill", "gpg-agent").Run()
		_ = os.RemoveAll(dir)
	})
	return &gpgHome{t: t, dir: dir}
}

// run runs gpg in this home with stdin as input and returns its standard
// output, failing the test when gpg exits with an error.
func (g *gpgHome) run(stdin []byte, args ...string) []byte {
	g.t.Helper()
	out, err := g.tryRun(stdin, args...)
	if err != nil {
		g.t.Fatalf("gpg %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func (g *gpgHome) tryRun(stdin []byte, args ...string) ([]byte, error) {
	base := []string{"--homedir", g.dir, "--batch", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", ""}
	cmd := exec.Command("gpg", append(base, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &gpgError{err: err, stderr: stderr.String()}
	}
	return stdout.Bytes(), nil
}

type gpgError struct {
	err    error
	stderr string
}

func (e *gpgError) Error() string {
	return e.err.Error() + ": " + strings.TrimSpace(e.stderr)
}

// generateKey creates a key with gpg --quick-gen-key and returns the primary
// key's fingerprint. algo, usage and expire are passed as gpg takes them,
// for example "default", "ed25519", "sign", "1d" or "never".
func (g *gpgHome) generateKey(uid, algo, usage, expire string, extra ...string) string {
	g.t.Helper()
	args := append(append([]string{}, extra...), "--quick-gen-key", uid, algo, usage, expire)
	g.run(nil, args...)
	return g.keyFingerprints(uid)[0]
}

// addSubkey adds a subkey with gpg --quick-add-key and returns its
// fingerprint.
func (g *gpgHome) addSubkey(fingerprint, algo, usage, expire string) string {
	g.t.Helper()
	before := g.keyFingerprints(fingerprint)
	g.run(nil, "--quick-add-key", fingerprint, algo, usage, expire)
	after := g.keyFingerprints(fingerprint)
	if len(after) != len(before)+1 {
		g.t.Fatalf("gpg --quick-add-key %s: key has %d keys, want %d", fingerprint, len(after), len(before)+1)
	}
	return after[len(after)-1]
}

// keyFingerprints returns the fingerprints of the key that query selects:
// the primary key first, then its subkeys in the order gpg lists them.
func (g *gpgHome) keyFingerprints(query string) []string {
	g.t.Helper()
	out := g.run(nil, "--with-colons", "--list-keys", query)
	var fingerprints []string
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Split(line, ":")
		if fields[0] == "fpr" && len(fields) > 9 {
			fingerprints = append(fingerprints, fields[9])
		}
	}
	if len(fingerprints) == 0 {
		g.t.Fatalf("gpg --list-keys %s: no fingerprint in output:\n%s", query, out)
	}
	return fingerprints
}

func (g *gpgHome) exportPublic(fingerprints ...string) string {
	g.t.Helper()
	return string(g.run(nil, append([]string{"--armor", "--export"}, fingerprints...)...))
}

func (g *gpgHome) exportSecret(fingerprint string) string {
	g.t.Helper()
	return string(g.run(nil, "--armor", "--export-secret-keys", fingerprint))
}

// revoke imports the revocation certificate that gpg stored when it
// generated the key.
func (g *gpgHome) revoke(fingerprint string) {
	g.t.Helper()
	certificate, err := os.ReadFile(filepath.Join(g.dir, "openpgp-revocs.d", fingerprint+".rev"))
	if err != nil {
		g.t.Fatalf("read revocation certificate: %v", err)
	}
	// gpg prefixes the armor line with ":" so that an accidental import
	// does nothing.
	certificate = bytes.Replace(certificate, []byte(":-----BEGIN PGP PUBLIC KEY BLOCK-----"),
		[]byte("-----BEGIN PGP PUBLIC KEY BLOCK-----"), 1)
	g.run(certificate, "--import")
}

func (g *gpgHome) decrypt(ciphertext []byte) []byte {
	g.t.Helper()
	return g.run(ciphertext, "--decrypt")
}

func (g *gpgHome) listPackets(ciphertext []byte) string {
	g.t.Helper()
	return string(g.run(ciphertext, "--list-packets"))
}

// gpgTime formats t for gpg --faked-system-time.
func gpgTime(t time.Time) string {
	return t.UTC().Format("20060102T150405")
}
