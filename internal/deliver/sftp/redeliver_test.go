package sftp_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCutUploadKeepsFinalNameIntact cuts an upload midway, with and without
// POSIX rename, to a new name and over an earlier delivery of the same
// name. The final name must either not exist or hold the earlier bytes, and
// a retry must then leave exactly the new bytes.
func TestCutUploadKeepsFinalNameIntact(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		plainRename bool
		previous    bool
	}{
		{false, false},
		{true, false},
		{false, true},
		{true, true},
	} {
		t.Run(fmt.Sprintf("PlainRename=%t/previous=%t", c.plainRename, c.previous), func(t *testing.T) {
			t.Parallel()
			bundle := setup(t)
			bundle.cfg.PlainRename = c.plainRename
			finalPath := filepath.Join(bundle.server.Root, "claims.csv")
			// The earlier file is larger than the cut-off part and smaller
			// than the new file, so neither a partial nor a mixed file can
			// pass for it.
			previous := bytes.Repeat([]byte("previous delivery\n"), 100_000)
			if c.previous {
				if err := os.WriteFile(finalPath, previous, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			data := randomBytes(t, 4<<20)
			proxy := startFaultProxy(t, bundle.server.Addr, 1<<20, false)
			cutCfg := bundle.cfg
			cutCfg.Port = proxy.port(t)

			err := deliverBytes(t.Context(), dial(t, cutCfg), "claims.csv", data)

			if err == nil {
				t.Fatal("upload through a connection cut after 1 MiB succeeded, want an error")
			}
			if c.previous {
				requireFile(t, finalPath, previous)
			} else if _, err := os.Stat(finalPath); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("stat claims.csv after the cut: %v, want not exist", err)
			}
			for _, name := range dirNames(t, bundle.server.Root) {
				if name != "claims.csv" && !(strings.HasPrefix(name, ".claims.csv.") && strings.HasSuffix(name, ".part")) {
					t.Errorf("remote directory contains %q after the cut, want claims.csv and temporary files only", name)
				}
			}

			if err := deliverBytes(t.Context(), dial(t, bundle.cfg), "claims.csv", data); err != nil {
				t.Fatalf("retry over a direct connection: %v", err)
			}
			requireFile(t, finalPath, data)
			var delivered []string
			for _, name := range dirNames(t, bundle.server.Root) {
				if !strings.HasPrefix(name, ".") {
					delivered = append(delivered, name)
				}
			}
			if !slices.Equal(delivered, []string{"claims.csv"}) {
				t.Errorf("delivered files %q, want exactly claims.csv", delivered)
			}
		})
	}
}

// TestRedeliverySmallerThenLarger replaces a file with smaller ones and
// then a larger one. Each time the file must hold exactly the bytes just
// sent, with no tail of the earlier content.
func TestRedeliverySmallerThenLarger(t *testing.T) {
	t.Parallel()
	for _, plainRename := range []bool{false, true} {
		t.Run(fmt.Sprintf("PlainRename=%t", plainRename), func(t *testing.T) {
			t.Parallel()
			bundle := setup(t)
			bundle.cfg.PlainRename = plainRename
			dest := dial(t, bundle.cfg)
			finalPath := filepath.Join(bundle.server.Root, "roster.csv")

			for i, size := range []int{2 << 20, 10, 0, 3<<20 + 1} {
				data := randomBytes(t, size)
				if err := deliverBytes(t.Context(), dest, "roster.csv", data); err != nil {
					t.Fatalf("delivery %d of %d bytes: %v", i, size, err)
				}
				requireFile(t, finalPath, data)
				if names := dirNames(t, bundle.server.Root); !slices.Equal(names, []string{"roster.csv"}) {
					t.Errorf("after delivery %d the remote directory contains %q, want only roster.csv", i, names)
				}
			}
		})
	}
}
