package deliver_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/axtract/axtract/internal/deliver"
)

func newLocal(t *testing.T) (deliver.Destination, string) {
	t.Helper()
	dir := t.TempDir()
	dest, err := deliver.NewLocal(dir)
	if err != nil {
		t.Fatalf("NewLocal(%s): %v", dir, err)
	}
	t.Cleanup(func() { dest.Close() })
	return dest, dir
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

func TestLocalCommitDelivers(t *testing.T) {
	t.Parallel()
	dest, dir := newLocal(t)
	data := bytes.Repeat([]byte("member,claim\n"), 1000)

	upload, err := dest.Create(t.Context(), "claims.csv")
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	defer upload.Abort()
	if _, err := upload.Write(data[:100]); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if _, err := upload.Write(data[100:]); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if names := dirNames(t, dir); len(names) != 1 || !strings.HasPrefix(names[0], ".claims.csv.") ||
		!strings.HasSuffix(names[0], ".part") {
		t.Errorf("directory before Commit contains %q, want one .claims.csv.<random>.part", names)
	}
	if err := upload.Commit(t.Context(), int64(len(data))); err != nil {
		t.Fatalf("Commit: %v", err)
	}

	got, err := os.ReadFile(filepath.Join(dir, "claims.csv"))
	if err != nil {
		t.Fatalf("read delivered file: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("delivered file has %d bytes that differ from the %d written", len(got), len(data))
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"claims.csv"}) {
		t.Errorf("directory after Commit contains %q, want only claims.csv", names)
	}
	info, err := os.Stat(filepath.Join(dir, "claims.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o640 {
		t.Errorf("delivered file mode = %o, want 640", mode)
	}
	if err := upload.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "claims.csv")); err != nil {
		t.Errorf("stat after Abort following Commit: %v, want the file kept", err)
	}
}

func TestLocalCommitReplacesLargerFile(t *testing.T) {
	t.Parallel()
	dest, dir := newLocal(t)
	finalPath := filepath.Join(dir, "eligibility.txt")
	if err := os.WriteFile(finalPath, bytes.Repeat([]byte("old "), 10000), 0o644); err != nil {
		t.Fatal(err)
	}
	data := []byte("new content\n")

	upload, err := dest.Create(t.Context(), "eligibility.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := upload.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := upload.Commit(t.Context(), int64(len(data))); err != nil {
		t.Fatalf("Commit: %v", err)
	}

	got, err := os.ReadFile(finalPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("file contains %q, want %q", got, data)
	}
}

func TestLocalCommitRejectsSizeMismatch(t *testing.T) {
	t.Parallel()
	dest, dir := newLocal(t)
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
	if _, err := os.Stat(filepath.Join(dir, "short.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat final file after a rejected Commit: %v, want not exist", err)
	}
	if err := upload.Abort(); err != nil {
		t.Errorf("Abort: %v", err)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("directory after Abort contains %q, want it empty", names)
	}
}

func TestLocalAbortRemovesTempFile(t *testing.T) {
	t.Parallel()
	dest, dir := newLocal(t)
	upload, err := dest.Create(t.Context(), "aborted.csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := upload.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}

	if err := upload.Abort(); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	if err := upload.Abort(); err != nil {
		t.Errorf("second Abort: %v", err)
	}

	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("directory after Abort contains %q, want it empty", names)
	}
	if _, err := upload.Write([]byte("x")); err == nil {
		t.Error("Write after Abort succeeded, want an error")
	}
	if err := upload.Commit(t.Context(), 7); err == nil {
		t.Error("Commit after Abort succeeded, want an error")
	}
}

func TestLocalWriteAfterCancelFails(t *testing.T) {
	t.Parallel()
	dest, dir := newLocal(t)
	ctx, cancel := context.WithCancel(t.Context())
	upload, err := dest.Create(ctx, "cancelled.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer upload.Abort()

	cancel()
	_, err = upload.Write([]byte("x"))

	if !errors.Is(err, context.Canceled) {
		t.Errorf("Write after cancel returned %v, want context.Canceled", err)
	}
	if err := upload.Commit(t.Context(), 0); err == nil {
		t.Error("Commit after a failed Write succeeded, want an error")
	}
	if _, err := os.Stat(filepath.Join(dir, "cancelled.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat final file after cancel: %v, want not exist", err)
	}
}

func TestLocalCreateRejectsBadNames(t *testing.T) {
	t.Parallel()
	dest, dir := newLocal(t)

	for _, name := range []string{"../x", "a/b", "", ".", "..", `a\b`, ".hidden", "tab\tname", strings.Repeat("n", deliver.MaxNameLen+1)} {
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
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("directory contains %q, want it empty", names)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "x")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat ../x: %v, want not exist", err)
	}
}

func TestLocalLongestNameFits(t *testing.T) {
	t.Parallel()
	dest, dir := newLocal(t)
	name := strings.Repeat("n", deliver.MaxNameLen)

	upload, err := dest.Create(t.Context(), name)
	if err != nil {
		t.Fatalf("Create with a name of MaxNameLen bytes: %v", err)
	}
	if err := upload.Commit(t.Context(), 0); err != nil {
		t.Fatalf("Commit: %v", err)
	}

	if names := dirNames(t, dir); !slices.Equal(names, []string{name}) {
		t.Errorf("directory contains %q, want the delivered file", names)
	}
}

func TestNewLocalRejectsMissingDir(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing")

	_, err := deliver.NewLocal(missing)

	if err == nil {
		t.Fatal("NewLocal on a missing directory succeeded, want an error")
	}
	if !strings.Contains(err.Error(), missing) {
		t.Errorf("error %q does not name %s", err, missing)
	}
	if !strings.Contains(err.Error(), "create it") {
		t.Errorf("error %q does not say to create the folder", err)
	}
	if !deliver.IsPermanent(err) {
		t.Errorf("error %q is not permanent", err)
	}
}

func TestNewLocalRejectsFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	_, err := deliver.NewLocal(file)

	if err == nil {
		t.Fatal("NewLocal on a file succeeded, want an error")
	}
	if !strings.Contains(err.Error(), file) {
		t.Errorf("error %q does not name %s", err, file)
	}
}

func TestLocalCreateRemovesStaleTempFiles(t *testing.T) {
	dest, dir := newLocal(t)
	// The temporary file of a killed upload of the same name goes; files
	// that only look alike stay.
	stale := ".roster.csv.0123456789ab.part"
	lookalikes := []string{".roster.csv.notrandom.part", ".other.csv.0123456789ab.part", "roster.csv.0123456789ab.part",
		".roster.csv.0123456789AB.part"}
	// A temporary file of another name goes too once it has not been
	// written for a day.
	old := ".claims_20261101.csv.0123456789ab.part"
	for _, name := range append([]string{stale, old}, lookalikes...) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("old rows\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dayAgo := time.Now().Add(-deliver.StaleAfter - time.Minute)
	if err := os.Chtimes(filepath.Join(dir, old), dayAgo, dayAgo); err != nil {
		t.Fatal(err)
	}
	// Uploads make no directories, so one with a temporary name stays.
	keptDir := ".roster.csv.ba9876543210.part"
	if err := os.Mkdir(filepath.Join(dir, keptDir), 0o700); err != nil {
		t.Fatal(err)
	}
	lookalikes = append(lookalikes, keptDir)

	upload, err := dest.Create(context.Background(), "roster.csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := upload.Write([]byte("a\n")); err != nil {
		t.Fatal(err)
	}
	if err := upload.Commit(context.Background(), 2); err != nil {
		t.Fatal(err)
	}

	got := dirNames(t, dir)
	want := append([]string{"roster.csv"}, lookalikes...)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("directory after the upload = %q, want %q", got, want)
	}
}

func TestIsTempNameOf(t *testing.T) {
	name := "claims.csv.gz"
	if temp := deliver.TempName(name); !deliver.IsTempNameOf(temp, name) {
		t.Errorf("IsTempNameOf(%q, %q) = false, want true", temp, name)
	}
	for _, file := range []string{"claims.csv.gz", ".claims.csv.gz.part", ".claims.csv.gz.0123456789ab.old",
		".claims.csv.gz.0123456789zz.part", ".claims.csv.0123456789ab.part"} {
		if deliver.IsTempNameOf(file, name) {
			t.Errorf("IsTempNameOf(%q, %q) = true, want false", file, name)
		}
	}
	if !deliver.IsTempName(".claims.csv.0123456789ab.part") {
		t.Error("IsTempName of a temporary name = false, want true")
	}
	for _, file := range []string{"..0123456789ab.part", "x.csv.0123456789ab.part", ".x.csv.0123456789ab.old", ".x.csv.0123456789a.part"} {
		if deliver.IsTempName(file) {
			t.Errorf("IsTempName(%q) = true, want false", file)
		}
	}

	now := time.Now()
	fresh, old := now.Add(-time.Hour), now.Add(-deliver.StaleAfter-time.Minute)
	for _, c := range []struct {
		file     string
		modified time.Time
		want     bool
	}{
		{".claims.csv.gz.0123456789ab.part", fresh, true},
		{".other.csv.0123456789ab.part", fresh, false},
		{".other.csv.0123456789ab.part", old, true},
		{"other.csv", old, false},
	} {
		if got := deliver.IsStale(c.file, c.modified, name, now); got != c.want {
			t.Errorf("IsStale(%q, %s ago) = %v, want %v", c.file, now.Sub(c.modified).Round(time.Minute), got, c.want)
		}
	}
}

func TestLocalFinishThenCommitOrAbort(t *testing.T) {
	dest, dir := newLocal(t)
	ctx := context.Background()
	for _, commit := range []bool{true, false} {
		upload, err := dest.Create(ctx, "staged.csv")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := upload.Write([]byte("a,b\n")); err != nil {
			t.Fatal(err)
		}
		if err := upload.(deliver.Finisher).Finish(ctx, 4); err != nil {
			t.Fatalf("Finish: %v", err)
		}
		if names := dirNames(t, dir); len(names) != 1 || !strings.HasPrefix(names[0], ".staged.csv.") {
			t.Errorf("directory after Finish = %q, want only the temporary file", names)
		}
		if commit {
			if err := upload.Commit(ctx, 4); err != nil {
				t.Fatalf("Commit after Finish: %v", err)
			}
			if names := dirNames(t, dir); !slices.Equal(names, []string{"staged.csv"}) {
				t.Errorf("directory after Commit = %q, want staged.csv", names)
			}
			if err := os.Remove(filepath.Join(dir, "staged.csv")); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := upload.Abort(); err != nil {
			t.Fatalf("Abort after Finish: %v", err)
		}
		if names := dirNames(t, dir); len(names) != 0 {
			t.Errorf("directory after Abort = %q, want it empty", names)
		}
	}
}
