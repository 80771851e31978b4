package sftp

import (
	"os"
	"path"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/sshd"
	"github.com/axtract/axtract/internal/sshd/sshdtest"
)

func dialServer(t *testing.T, server *sshd.Server, plainRename bool) *destination {
	t.Helper()
	dest, err := Dial(t.Context(), Config{
		Host:           server.Host,
		Port:           server.Port,
		User:           server.User,
		Dir:            server.Root,
		HostKey:        server.HostKey,
		PrivateKeyFile: server.ClientKeyFile,
		Timeout:        10 * time.Second,
		PlainRename:    plainRename,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dest.Close() })
	return dest.(*destination)
}

func TestPlainRenameTurnsOffPosixRename(t *testing.T) {
	t.Parallel()
	server := sshdtest.Start(t, sshd.Options{})

	// OpenSSH offers posix-rename@openssh.com, so only PlainRename turns it
	// off.
	if dest := dialServer(t, server, false); !dest.posixRename {
		t.Error("with PlainRename false, posixRename = false, want true")
	}
	if dest := dialServer(t, server, true); dest.posixRename {
		t.Error("with PlainRename true, posixRename = true, want false")
	}
}

func TestPlainRenameRestoresOldFileOnFailure(t *testing.T) {
	t.Parallel()
	server := sshdtest.Start(t, sshd.Options{})
	dest := dialServer(t, server, true)
	finalPath := filepath.Join(server.Root, "report.csv")
	if err := os.WriteFile(finalPath, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	missingTemp := path.Join(server.Root, ".report.csv.000000000000.part")

	err := dest.replaceWithPlainRename(missingTemp, finalPath, "report.csv")

	if err == nil {
		t.Fatal("replace from a missing temporary file succeeded, want an error")
	}
	got, err := os.ReadFile(finalPath)
	if err != nil {
		t.Fatalf("read old file after failed replace: %v", err)
	}
	if string(got) != "old" {
		t.Errorf("file after failed replace contains %q, want the old content", got)
	}
	entries, err := os.ReadDir(server.Root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"report.csv"}) {
		t.Errorf("remote directory contains %q, want only report.csv", names)
	}
}

func TestPlainRenameToNewName(t *testing.T) {
	t.Parallel()
	server := sshdtest.Start(t, sshd.Options{})
	dest := dialServer(t, server, true)
	tempPath := filepath.Join(server.Root, ".new.csv.000000000000.part")
	if err := os.WriteFile(tempPath, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	finalPath := filepath.Join(server.Root, "new.csv")

	if err := dest.replaceWithPlainRename(tempPath, finalPath, "new.csv"); err != nil {
		t.Fatalf("replace: %v", err)
	}

	got, err := os.ReadFile(finalPath)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "new" {
		t.Errorf("file contains %q, want %q", got, "new")
	}
}

// TestPlainRenameOverExistingFails checks the OpenSSH behavior that
// replaceWithPlainRename works around.
func TestPlainRenameOverExistingFails(t *testing.T) {
	t.Parallel()
	server := sshdtest.Start(t, sshd.Options{})
	dest := dialServer(t, server, true)
	for name, content := range map[string]string{"a": "new", "b": "old"} {
		if err := os.WriteFile(filepath.Join(server.Root, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	err := dest.client.Rename(path.Join(server.Root, "a"), path.Join(server.Root, "b"))

	if err == nil {
		t.Fatal("plain SFTP rename over an existing file succeeded, want an error from OpenSSH")
	}
}
