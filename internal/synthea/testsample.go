package synthea

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// SampleDirEnv is the environment variable that names the directory of the
// Synthea sample export that tests import.
const SampleDirEnv = "AXTRACT_SYNTHEA_DIR"

// SampleDir returns the sample export directory named by AXTRACT_SYNTHEA_DIR
// for tests of this and other packages. A relative path is taken relative to
// the module root, the nearest directory above the test's working directory
// that holds go.mod, because go test runs each package in its own directory.
//
// When the variable is unset the test is skipped, unless CI is "true", where
// it fails. A variable that names a directory without patients.csv fails the
// test.
func SampleDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(SampleDirEnv)
	if dir == "" {
		const msg = "Synthea sample export not found: set " + SampleDirEnv + " to the directory of a Synthea CSV export"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	if !filepath.IsAbs(dir) {
		root, err := moduleRoot()
		if err != nil {
			t.Fatalf("resolve %s=%s: %v", SampleDirEnv, dir, err)
		}
		dir = filepath.Join(root, dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "patients.csv")); err != nil {
		t.Fatalf("%s names no Synthea CSV export: %v", SampleDirEnv, err)
	}
	return dir
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
