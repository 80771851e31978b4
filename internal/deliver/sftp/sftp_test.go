package sftp_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/axtract/axtract/internal/deliver"
	"github.com/axtract/axtract/internal/deliver/sftp"
	"github.com/axtract/axtract/internal/sshd"
	"github.com/axtract/axtract/internal/sshd/sshdtest"
)

type testBundle struct {
	server *sshd.Server
	cfg    sftp.Config
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	server := sshdtest.Start(t, sshd.Options{})
	return &testBundle{
		server: server,
		cfg: sftp.Config{
			Host:           server.Host,
			Port:           server.Port,
			User:           server.User,
			Dir:            server.Root,
			HostKey:        server.HostKey,
			PrivateKeyFile: server.ClientKeyFile,
			Timeout:        10 * time.Second,
		},
	}
}

func dial(t *testing.T, cfg sftp.Config) deliver.Destination {
	t.Helper()
	dest, err := sftp.Dial(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Dial %s:%d: %v", cfg.Host, cfg.Port, err)
	}
	t.Cleanup(func() { dest.Close() })
	return dest
}

// writeSizes are the sizes of the writes deliverBytes makes, in turn: below,
// at and above the SFTP packet size.
var writeSizes = []int{1, 7, 4096, 32768, 32769, 100_000, 1 << 20}

// deliverBytes uploads data as name in writes of uneven sizes and commits it.
func deliverBytes(ctx context.Context, dest deliver.Destination, name string, data []byte) error {
	upload, err := dest.Create(ctx, name)
	if err != nil {
		return err
	}
	defer upload.Abort()
	for rest, i := data, 0; len(rest) > 0; i++ {
		n := min(len(rest), writeSizes[i%len(writeSizes)])
		if _, err := upload.Write(rest[:n]); err != nil {
			return err
		}
		rest = rest[n:]
	}
	return upload.Commit(ctx, int64(len(data)))
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func requireFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read delivered file: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s has %d bytes that differ from the %d bytes sent", path, len(got), len(want))
	}
}

// writeKeyFile writes a new ed25519 private key that no server accepts.
func writeKeyFile(t *testing.T) string {
	t.Helper()
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(private, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUploadDeliversExactBytes(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	dest := dial(t, bundle.cfg)
	data := randomBytes(t, 5<<20+123)

	if err := deliverBytes(t.Context(), dest, "claims.csv.gz.pgp", data); err != nil {
		t.Fatalf("deliver: %v", err)
	}

	requireFile(t, filepath.Join(bundle.server.Root, "claims.csv.gz.pgp"), data)
	if names := dirNames(t, bundle.server.Root); !slices.Equal(names, []string{"claims.csv.gz.pgp"}) {
		t.Errorf("remote directory contains %q, want only the delivered file", names)
	}
	if err := dest.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestUploadToRelativeDir(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	if err := os.Mkdir(filepath.Join(bundle.server.Root, "inbound"), 0o755); err != nil {
		t.Fatal(err)
	}
	bundle.cfg.Dir = "inbound"
	dest := dial(t, bundle.cfg)
	data := []byte("member_id,amount\n")

	if err := deliverBytes(t.Context(), dest, "small.csv", data); err != nil {
		t.Fatalf("deliver: %v", err)
	}

	requireFile(t, filepath.Join(bundle.server.Root, "inbound", "small.csv"), data)
}

func TestUploadEmptyFile(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	dest := dial(t, bundle.cfg)

	if err := deliverBytes(t.Context(), dest, "empty.csv", nil); err != nil {
		t.Fatalf("deliver: %v", err)
	}

	requireFile(t, filepath.Join(bundle.server.Root, "empty.csv"), nil)
}

func TestRedeliveryReplacesLargerFile(t *testing.T) {
	t.Parallel()
	for _, plainRename := range []bool{false, true} {
		t.Run(fmt.Sprintf("PlainRename=%t", plainRename), func(t *testing.T) {
			t.Parallel()
			bundle := setup(t)
			bundle.cfg.PlainRename = plainRename
			dest := dial(t, bundle.cfg)
			finalPath := filepath.Join(bundle.server.Root, "eligibility.txt")
			if err := os.WriteFile(finalPath, bytes.Repeat([]byte("old "), 1<<20), 0o644); err != nil {
				t.Fatal(err)
			}
			data := randomBytes(t, 1<<20+7)

			if err := deliverBytes(t.Context(), dest, "eligibility.txt", data); err != nil {
				t.Fatalf("deliver over existing file: %v", err)
			}

			requireFile(t, finalPath, data)
			if names := dirNames(t, bundle.server.Root); !slices.Equal(names, []string{"eligibility.txt"}) {
				t.Errorf("remote directory contains %q, want only the delivered file", names)
			}
		})
	}
}

func TestHostKeyMismatchSendsNothing(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	public, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := ssh.NewPublicKey(public)
	if err != nil {
		t.Fatal(err)
	}
	serverKey, _, _, _, err := ssh.ParseAuthorizedKey([]byte(bundle.server.HostKey))
	if err != nil {
		t.Fatal(err)
	}
	bundle.cfg.HostKey = string(ssh.MarshalAuthorizedKey(otherKey))

	dest, err := sftp.Dial(t.Context(), bundle.cfg)
	if err == nil {
		dest.Close()
		t.Fatal("Dial with a different pinned host key succeeded, want an error")
	}

	if !deliver.IsPermanent(err) {
		t.Errorf("error %q is not permanent", err)
	}
	var mismatch *sftp.HostKeyMismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("error %q is not a *HostKeyMismatchError", err)
	}
	for _, fingerprint := range []string{ssh.FingerprintSHA256(otherKey), ssh.FingerprintSHA256(serverKey)} {
		if !strings.Contains(err.Error(), fingerprint) {
			t.Errorf("error %q does not name fingerprint %s", err, fingerprint)
		}
	}
	if !strings.Contains(err.Error(), bundle.server.Addr) {
		t.Errorf("error %q does not name the server %s", err, bundle.server.Addr)
	}
	if names := dirNames(t, bundle.server.Root); len(names) != 0 {
		t.Errorf("remote directory contains %q after a host key mismatch, want it empty", names)
	}
}

func TestHostKeyKnownHostsLine(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	bundle.cfg.HostKey = "[" + bundle.server.Host + "]:" + strings.TrimPrefix(bundle.server.Addr, bundle.server.Host+":") +
		" " + bundle.server.HostKey

	dest := dial(t, bundle.cfg)

	if err := deliverBytes(t.Context(), dest, "known.csv", []byte("x")); err != nil {
		t.Fatalf("deliver: %v", err)
	}
}

func TestWrongClientKeyIsPermanent(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	bundle.cfg.PrivateKeyFile = writeKeyFile(t)

	dest, err := sftp.Dial(t.Context(), bundle.cfg)
	if err == nil {
		dest.Close()
		t.Fatal("Dial with an unknown client key succeeded, want an error")
	}

	if !deliver.IsPermanent(err) {
		t.Errorf("error %q is not permanent", err)
	}
	if !strings.Contains(err.Error(), "authentication") {
		t.Errorf("error %q does not say that authentication failed", err)
	}
}

func TestDialRejectsInvalidConfig(t *testing.T) {
	t.Parallel()
	valid := sftp.Config{
		Host:           "127.0.0.1",
		Port:           1,
		User:           "partner",
		HostKey:        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKjnGZq0kSaM0hB6e3a1yQxG6i1QKxU7aUoY1x5UmH5b",
		PrivateKeyFile: "/nonexistent/id_ed25519",
	}
	tests := []struct {
		name   string
		change func(*sftp.Config)
		want   string
	}{
		{"empty host", func(c *sftp.Config) { c.Host = "" }, "Host is empty"},
		{"bad port", func(c *sftp.Config) { c.Port = 70000 }, "Port 70000"},
		{"empty user", func(c *sftp.Config) { c.User = "" }, "User is empty"},
		{"empty host key", func(c *sftp.Config) { c.HostKey = "" }, "HostKey is empty"},
		{"malformed host key", func(c *sftp.Config) { c.HostKey = "ssh-ed25519 not-base64" }, "HostKey"},
		{"no credentials", func(c *sftp.Config) { c.PrivateKeyFile = "" }, "PasswordFile"},
		{"missing key file", func(c *sftp.Config) {}, "/nonexistent/id_ed25519"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := valid
			tt.change(&cfg)

			_, err := sftp.Dial(t.Context(), cfg)

			if err == nil {
				t.Fatal("Dial succeeded, want an error")
			}
			if !deliver.IsPermanent(err) {
				t.Errorf("error %q is not permanent", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestDialRejectsMissingDir(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	bundle.cfg.Dir = filepath.Join(bundle.server.Root, "missing")

	_, err := sftp.Dial(t.Context(), bundle.cfg)

	if err == nil {
		t.Fatal("Dial with a missing remote directory succeeded, want an error")
	}
	if !deliver.IsPermanent(err) {
		t.Errorf("error %q is not permanent", err)
	}
	if !strings.Contains(err.Error(), bundle.cfg.Dir) {
		t.Errorf("error %q does not name the directory %s", err, bundle.cfg.Dir)
	}
}

func TestDialRefusedIsTransient(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	// Stop removes the server's files, the client key among them.
	key, err := os.ReadFile(bundle.cfg.PrivateKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	bundle.cfg.PrivateKeyFile = filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(bundle.cfg.PrivateKeyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := bundle.server.Stop(); err != nil {
		t.Fatal(err)
	}

	_, err = sftp.Dial(t.Context(), bundle.cfg)

	if err == nil {
		t.Fatal("Dial to a stopped server succeeded, want an error")
	}
	if deliver.IsPermanent(err) {
		t.Errorf("error %q is permanent, want retryable", err)
	}
}

func TestCreateRejectsBadNames(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	dest := dial(t, bundle.cfg)

	for _, name := range []string{"", ".", "..", "../x", "a/b", `a\b`, ".hidden"} {
		upload, err := dest.Create(t.Context(), name)
		if err == nil {
			upload.Abort()
			t.Errorf("Create(%q) succeeded, want an error", name)
			continue
		}
		if !deliver.IsPermanent(err) {
			t.Errorf("Create(%q) error %q is not permanent", name, err)
		}
	}
	if names := dirNames(t, bundle.server.Root); len(names) != 0 {
		t.Errorf("remote directory contains %q, want it empty", names)
	}
}

func TestCommitRejectsSizeMismatch(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	dest := dial(t, bundle.cfg)
	upload, err := dest.Create(t.Context(), "short.csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := upload.Write([]byte("12345")); err != nil {
		t.Fatal(err)
	}

	err = upload.Commit(t.Context(), 6)

	if err == nil {
		t.Fatal("Commit with the wrong size succeeded, want an error")
	}
	if !deliver.IsPermanent(err) {
		t.Errorf("error %q is not permanent", err)
	}
	if _, err := os.Stat(filepath.Join(bundle.server.Root, "short.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat final file after a rejected Commit: %v, want not exist", err)
	}
	if err := upload.Abort(); err != nil {
		t.Errorf("Abort after a rejected Commit: %v", err)
	}
	if names := dirNames(t, bundle.server.Root); len(names) != 0 {
		t.Errorf("remote directory contains %q after Abort, want it empty", names)
	}
}

func TestAbortRemovesTempFile(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	dest := dial(t, bundle.cfg)
	upload, err := dest.Create(t.Context(), "aborted.csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := upload.Write(randomBytes(t, 1<<20)); err != nil {
		t.Fatal(err)
	}
	names := dirNames(t, bundle.server.Root)
	if len(names) != 1 || !strings.HasPrefix(names[0], ".aborted.csv.") || !strings.HasSuffix(names[0], ".part") {
		t.Errorf("remote directory during upload contains %q, want one .aborted.csv.<random>.part", names)
	}

	if err := upload.Abort(); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if err := upload.Abort(); err != nil {
		t.Errorf("second Abort: %v", err)
	}

	if names := dirNames(t, bundle.server.Root); len(names) != 0 {
		t.Errorf("remote directory contains %q after Abort, want it empty", names)
	}
	if _, err := upload.Write([]byte("x")); err == nil {
		t.Error("Write after Abort succeeded, want an error")
	}
	if err := upload.Commit(t.Context(), 1<<20); err == nil {
		t.Error("Commit after Abort succeeded, want an error")
	}
}

func TestCancelStopsUploadPromptly(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	dest := dial(t, bundle.cfg)
	ctx, cancel := context.WithCancel(t.Context())
	upload, err := dest.Create(ctx, "cancelled.csv")
	if err != nil {
		t.Fatal(err)
	}
	chunk := randomBytes(t, 1<<20)
	if _, err := upload.Write(chunk); err != nil {
		t.Fatal(err)
	}

	cancel()
	start := time.Now()
	_, err = upload.Write(chunk)
	elapsed := time.Since(start)

	if !errors.Is(err, context.Canceled) {
		t.Errorf("Write after cancel returned %v, want context.Canceled", err)
	}
	if elapsed > time.Second {
		t.Errorf("Write after cancel took %s, want it to return at once", elapsed)
	}
	if err := upload.Commit(t.Context(), 2<<20); err == nil {
		t.Error("Commit after cancel succeeded, want an error")
	}
	if err := upload.Abort(); err != nil {
		t.Errorf("Abort after cancel: %v", err)
	}
	if names := dirNames(t, bundle.server.Root); len(names) != 0 {
		t.Errorf("remote directory contains %q after cancel and Abort, want it empty", names)
	}
}

func TestMaxParallelUploadsWaitsForSlot(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	bundle.cfg.MaxParallelUploads = 1
	dest := dial(t, bundle.cfg)
	first, err := dest.Create(t.Context(), "first.csv")
	if err != nil {
		t.Fatal(err)
	}

	waitCtx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if second, err := dest.Create(waitCtx, "second.csv"); !errors.Is(err, context.DeadlineExceeded) {
		if err == nil {
			second.Abort()
		}
		t.Errorf("second Create while the only slot is taken returned %v, want context.DeadlineExceeded", err)
	}

	if err := first.Commit(t.Context(), 0); err != nil {
		t.Fatalf("Commit first upload: %v", err)
	}
	second, err := dest.Create(t.Context(), "second.csv")
	if err != nil {
		t.Fatalf("Create after the slot was freed: %v", err)
	}
	if err := second.Commit(t.Context(), 0); err != nil {
		t.Errorf("Commit second upload: %v", err)
	}
}

func TestParallelUploadsShareConnection(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	dest := dial(t, bundle.cfg)
	files := map[string][]byte{}
	for _, name := range []string{"a.csv", "b.csv", "c.csv", "d.csv", "e.csv", "f.csv"} {
		files[name] = randomBytes(t, 2<<20+len(name))
	}

	errs := make(chan error, len(files))
	for name, data := range files {
		go func() { errs <- deliverBytes(t.Context(), dest, name, data) }()
	}
	for range files {
		if err := <-errs; err != nil {
			t.Errorf("deliver: %v", err)
		}
	}

	for name, data := range files {
		requireFile(t, filepath.Join(bundle.server.Root, name), data)
	}
	if names := dirNames(t, bundle.server.Root); len(names) != len(files) {
		t.Errorf("remote directory contains %q, want only the %d delivered files", names, len(files))
	}
}

func TestFinishFreesSlotBeforeCommit(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	bundle.cfg.MaxParallelUploads = 1
	dest := dial(t, bundle.cfg)
	firstData, secondData := randomBytes(t, 100_000), randomBytes(t, 5000)

	first, err := dest.Create(t.Context(), "first.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Abort()
	if _, err := first.Write(firstData); err != nil {
		t.Fatal(err)
	}
	if err := first.(deliver.Finisher).Finish(t.Context(), int64(len(firstData))); err != nil {
		t.Fatalf("Finish first upload: %v", err)
	}
	if names := dirNames(t, bundle.server.Root); len(names) != 1 || !strings.HasPrefix(names[0], ".first.csv.") {
		t.Errorf("remote directory after Finish contains %q, want only the temporary file of first.csv", names)
	}

	// The only slot is free again, so a second upload starts at once.
	waitCtx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := deliverBytes(waitCtx, dest, "second.csv", secondData); err != nil {
		t.Fatalf("second upload while the first waits for its Commit: %v", err)
	}

	if err := first.Commit(t.Context(), int64(len(firstData))); err != nil {
		t.Fatalf("Commit first upload after Finish: %v", err)
	}
	requireFile(t, filepath.Join(bundle.server.Root, "first.csv"), firstData)
	requireFile(t, filepath.Join(bundle.server.Root, "second.csv"), secondData)
	if names := dirNames(t, bundle.server.Root); len(names) != 2 {
		t.Errorf("remote directory contains %q, want first.csv and second.csv only", names)
	}
}

func TestAbortAfterFinishRemovesTempFile(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	dest := dial(t, bundle.cfg)
	upload, err := dest.Create(t.Context(), "finished.csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := upload.Write([]byte("a,b\n")); err != nil {
		t.Fatal(err)
	}
	finisher := upload.(deliver.Finisher)
	if err := finisher.Finish(t.Context(), 4); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if err := finisher.Finish(t.Context(), 4); err == nil {
		t.Error("second Finish succeeded, want an error")
	}

	if err := upload.Abort(); err != nil {
		t.Fatalf("Abort after Finish: %v", err)
	}
	if names := dirNames(t, bundle.server.Root); len(names) != 0 {
		t.Errorf("remote directory contains %q after Abort, want it empty", names)
	}
	if err := upload.Commit(t.Context(), 4); err == nil {
		t.Error("Commit after Abort succeeded, want an error")
	}
}

func TestCreateRemovesStaleTempFiles(t *testing.T) {
	t.Parallel()
	bundle := setup(t)
	dest := dial(t, bundle.cfg)
	// As a killed upload leaves it on the server.
	stale := filepath.Join(bundle.server.Root, ".roster.csv.0123456789ab.part")
	other := filepath.Join(bundle.server.Root, ".other.csv.0123456789ab.part")
	for _, p := range []string{stale, other} {
		if err := os.WriteFile(p, []byte("old rows\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	if err := deliverBytes(t.Context(), dest, "roster.csv", []byte("a\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file of roster.csv still there (%v)", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("temporary file of another name was removed: %v", err)
	}
}
