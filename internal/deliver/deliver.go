// Package deliver moves finished extracts into the places partners read them
// from.
//
// A Destination hands out one Upload per file. The upload writes to a
// temporary name in the destination directory, a dot-prefixed name ending in
// ".part", and only Commit gives the file its final name, after it has checked
// the size. A run that fails before Commit therefore never leaves a file under
// the final name, and partners that skip dot files never pick up a partial one.
// Create removes temporary files that killed uploads left behind: those of
// the same name, and those of any name unwritten for StaleAfter.
//
// Errors that a retry cannot fix are marked with Permanent; test them with
// IsPermanent. Every other error is worth retrying.
package deliver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Destination receives files. Implementations are the local directory of
// NewLocal and the SFTP server of package deliver/sftp.
type Destination interface {
	// Create starts a file that Commit will name name. The name must pass
	// ValidateName. The context bounds the whole upload: once it is done, a
	// pending or later Write fails, and so does Commit.
	Create(ctx context.Context, name string) (Upload, error)

	// Close releases the destination. Uploads that are still open fail.
	Close() error
}

// Upload is one file being written to a destination. Its methods are meant to
// be called from one goroutine. The usual pattern is to defer Abort right
// after Create, because Abort does nothing after a successful Commit.
type Upload interface {
	io.Writer

	// Commit closes the temporary file, checks that its size equals size, the
	// number of bytes written, and renames it to the final name. An existing
	// file of that name is replaced. After a failed Commit, call Abort.
	Commit(ctx context.Context, size int64) error

	// Abort removes the temporary file. It is safe after a failed Write or
	// Commit, safe to call more than once, and does nothing after a
	// successful Commit.
	Abort() error
}

// A Finisher is an Upload that can complete its transfer before Commit
// gives it its final name. Finish checks the size, as Commit does, and
// frees the upload's share of the destination's limits, such as an upload
// slot. Other uploads can then start while this one waits for its Commit,
// which only renames the file. After a failed Finish, call Abort. Abort
// after Finish removes the temporary file.
type Finisher interface {
	Finish(ctx context.Context, size int64) error
}

// MaxNameLen is the maximum length of a file name in bytes. It leaves room in
// the 255-byte file name limit of common file systems for the prefix and
// suffix of the temporary name.
const MaxNameLen = 255 - len(".") - len(".") - 2*randomBytes - len(".part")

const randomBytes = 6

// ValidateName returns an error unless name can be used as a final file name.
// A valid name is a base name of 1 to MaxNameLen bytes without slashes,
// backslashes or control characters. It must not start with a dot, because
// dot files are where unfinished uploads live.
func ValidateName(name string) error {
	switch {
	case name == "":
		return errors.New("invalid file name: empty")
	case name == "." || name == "..":
		return fmt.Errorf("invalid file name %q: must be a file name, not a directory reference", name)
	case strings.ContainsAny(name, `/\`):
		return fmt.Errorf("invalid file name %q: must be a base name without slashes or backslashes", name)
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("invalid file name %q: must not start with a dot, which marks unfinished uploads", name)
	case len(name) > MaxNameLen:
		return fmt.Errorf("invalid file name %q: %d bytes, maximum %d", name, len(name), MaxNameLen)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("invalid file name %q: must not contain control characters", name)
		}
	}
	return nil
}

// TempName returns a new temporary name for a file that will be named name:
// ".name.<random>.part". Partners and cleanup jobs can tell such a name from
// a delivered file by its leading dot and its suffix.
func TempName(name string) string {
	return "." + name + "." + randomHex() + ".part"
}

// IsTempNameOf reports whether file is a name that TempName gives for a
// file that will be named name.
func IsTempNameOf(file, name string) bool {
	rest, ok := strings.CutPrefix(file, "."+name+".")
	return ok && isRandomPart(rest)
}

// IsTempName reports whether file is a name that TempName gives for some
// file.
func IsTempName(file string) bool {
	i := len(file) - len(".part") - 2*randomBytes - 1
	return strings.HasPrefix(file, ".") && i > 1 && file[i] == '.' && isRandomPart(file[i+1:])
}

// isRandomPart reports whether s is "<random>.part" as TempName writes it,
// in lower-case hexadecimal.
func isRandomPart(s string) bool {
	random, ok := strings.CutSuffix(s, ".part")
	if !ok || len(random) != 2*randomBytes {
		return false
	}
	for _, c := range []byte(random) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// StaleAfter is how long a temporary file of another name may go unwritten
// before an upload to its directory removes it as left by a killed upload.
// A live upload writes all the time, and the stall timeouts of uploads are
// far shorter.
const StaleAfter = 24 * time.Hour

// IsStale reports whether file, last written at modified, is a temporary
// file that an upload of name, starting at now, removes: one of name, or
// one of any name that has not been written for StaleAfter.
func IsStale(file string, modified time.Time, name string, now time.Time) bool {
	return IsTempNameOf(file, name) || (IsTempName(file) && now.Sub(modified) > StaleAfter)
}

// AsideName returns a new name under which an existing file named name is
// kept while a replacement is renamed into place: ".name.<random>.old".
func AsideName(name string) string {
	return "." + name + "." + randomHex() + ".old"
}

func randomHex() string {
	b := make([]byte, randomBytes)
	// crypto/rand.Read never returns an error since Go 1.24.
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
