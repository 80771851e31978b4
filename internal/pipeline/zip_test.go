package pipeline

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestPipelineZipOpens checks that the zip layer writes an archive that
// archive/zip and the unzip tool open, with one entry of the given name
// holding the input.
func TestPipelineZipOpens(t *testing.T) {
	t.Parallel()
	data := claimCSV(11, 3<<20)
	modified := time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)
	archive := runPipeline(t, Config{Compression: CompressionZip, ZipEntry: "claims_20261204T060000Z.csv", Now: modified}, data)
	if len(archive) >= len(data) {
		t.Errorf("archive has %d bytes for %d bytes of input, want it compressed", len(archive), len(data))
	}

	r, err := zip.NewReader(bytes.NewReader(archive), int64(len(archive)))
	if err != nil {
		t.Fatalf("open archive: %v", err)
	}
	if len(r.File) != 1 {
		t.Fatalf("archive has %d entries, want 1", len(r.File))
	}
	entry := r.File[0]
	if entry.Name != "claims_20261204T060000Z.csv" {
		t.Errorf("entry name = %q, want claims_20261204T060000Z.csv", entry.Name)
	}
	if entry.Method != zip.Deflate {
		t.Errorf("entry method = %d, want %d (deflate)", entry.Method, zip.Deflate)
	}
	if !entry.Modified.Equal(modified) {
		t.Errorf("entry modified = %s, want %s", entry.Modified, modified)
	}
	rc, err := entry.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read entry (checks its CRC-32): %v", err)
	}
	requireSameBytes(t, got, data)

	if _, err := exec.LookPath("unzip"); err != nil {
		t.Log("unzip not installed; checked with archive/zip only")
		return
	}
	file := filepath.Join(t.TempDir(), "claims.zip")
	if err := os.WriteFile(file, archive, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unzip", "-tq", file)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("unzip -t: %v: %s", err, out)
	}
}
