package deliver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// localFileMode is the mode of delivered files: readable by the owner's group,
// which is how a partner's account is usually given access, and by no one else.
const localFileMode os.FileMode = 0o640

// localDir delivers files into a directory of the local file system, for
// partners that read from a mounted share and for the portal's downloads.
type localDir struct {
	dir string
}

// NewLocal returns a destination that writes into dir, which must exist.
func NewLocal(dir string) (Destination, error) {
	info, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, Permanent(fmt.Errorf("open local destination %s: the folder does not exist; "+
			"create it, then retry the run with axtract feed retry RUN_ID", dir))
	}
	if err != nil {
		return nil, Permanent(fmt.Errorf("open local destination %s: %w", dir, err))
	}
	if !info.IsDir() {
		return nil, Permanent(fmt.Errorf("open local destination %s: not a directory", dir))
	}
	return &localDir{dir: dir}, nil
}

// Create creates the temporary file .name.<random>.part in the directory.
func (l *localDir) Create(ctx context.Context, name string) (Upload, error) {
	if err := ValidateName(name); err != nil {
		return nil, Permanent(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("create %s in %s: %w", name, l.dir, err)
	}

	l.removeStale(name)
	tempPath := filepath.Join(l.dir, TempName(name))
	f, err := os.OpenFile(tempPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, localFileMode)
	if err != nil {
		return nil, classifyLocal(fmt.Errorf("create %s: %w", tempPath, err))
	}
	// OpenFile applies the umask, so set the mode explicitly.
	if err := f.Chmod(localFileMode); err != nil {
		f.Close()
		os.Remove(tempPath)
		return nil, classifyLocal(fmt.Errorf("set mode of %s: %w", tempPath, err))
	}
	return &localUpload{
		ctx:       ctx,
		file:      f,
		tempPath:  tempPath,
		finalPath: filepath.Join(l.dir, name),
	}, nil
}

// removeStale removes temporary files that uploads killed before their
// Commit or Abort left behind (IsStale): those of name, and those of any
// name unwritten for StaleAfter. Only one attempt of a run runs at a time.
// Two runs that write one name into one directory replace each other's
// files anyway, and removing the temporary file of one still writing makes
// its Commit fail, so it is retried. It is best effort: a file it cannot
// list or remove stays.
func (l *localDir) removeStale(name string) {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return
	}
	now := time.Now()
	for _, e := range entries {
		// Uploads create regular files only.
		if !e.Type().IsRegular() || !IsTempName(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err == nil && IsStale(e.Name(), info.ModTime(), name, now) {
			_ = os.Remove(filepath.Join(l.dir, e.Name()))
		}
	}
}

// Close does nothing: a local destination holds no resources.
func (l *localDir) Close() error { return nil }

type localUpload struct {
	ctx       context.Context
	file      *os.File
	tempPath  string
	finalPath string
	written   int64
	writeErr  error

	mu        sync.Mutex
	finished  bool // the temporary file is synced, closed and checked
	committed bool
	aborted   bool
}

var _ Finisher = (*localUpload)(nil)

func (u *localUpload) Write(p []byte) (int, error) {
	if u.file == nil {
		return 0, Permanent(fmt.Errorf("write %s: upload already finished", u.tempPath))
	}
	if err := u.ctx.Err(); err != nil {
		u.writeErr = fmt.Errorf("write %s: %w", u.tempPath, err)
		return 0, u.writeErr
	}
	n, err := u.file.Write(p)
	u.written += int64(n)
	if err != nil {
		u.writeErr = classifyLocal(fmt.Errorf("write %s: %w", u.tempPath, err))
		return n, u.writeErr
	}
	return n, nil
}

// Finish syncs, closes and checks the temporary file; see Finisher.
func (u *localUpload) Finish(ctx context.Context, size int64) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.finished || u.committed || u.aborted {
		return Permanent(fmt.Errorf("finish %s: upload already finished", u.tempPath))
	}
	if err := u.finish(ctx, size); err != nil {
		return err
	}
	u.finished = true
	return nil
}

func (u *localUpload) Commit(ctx context.Context, size int64) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.committed || u.aborted {
		return Permanent(fmt.Errorf("commit %s: upload already finished", u.finalPath))
	}
	if u.finished {
		if size != u.written {
			return Permanent(fmt.Errorf("commit %s: expected size %d bytes, but %d bytes were written",
				u.finalPath, size, u.written))
		}
	} else if err := u.finish(ctx, size); err != nil {
		return err
	}
	if err := cmp.Or(ctx.Err(), u.ctx.Err()); err != nil {
		return fmt.Errorf("commit %s: %w", u.finalPath, err)
	}

	// rename(2) replaces an existing file atomically: a reader sees the old
	// file or the new one, never a mix or no file.
	if err := os.Rename(u.tempPath, u.finalPath); err != nil {
		return classifyLocal(fmt.Errorf("rename %s to %s: %w", u.tempPath, u.finalPath, err))
	}
	u.committed = true
	if err := syncDir(filepath.Dir(u.finalPath)); err != nil {
		return classifyLocal(fmt.Errorf("commit %s: sync directory: %w", u.finalPath, err))
	}
	return nil
}

// finish checks the writes, syncs and closes the temporary file and checks
// its size on disk.
func (u *localUpload) finish(ctx context.Context, size int64) error {
	if err := cmp.Or(ctx.Err(), u.ctx.Err()); err != nil {
		return fmt.Errorf("commit %s: %w", u.finalPath, err)
	}
	if u.writeErr != nil {
		return fmt.Errorf("commit %s: an earlier write failed: %w", u.finalPath, u.writeErr)
	}
	if size != u.written {
		return Permanent(fmt.Errorf("commit %s: expected size %d bytes, but %d bytes were written",
			u.finalPath, size, u.written))
	}

	if err := u.file.Sync(); err != nil {
		return classifyLocal(fmt.Errorf("finish %s: %w", u.finalPath, err))
	}
	if err := u.closeFile(); err != nil {
		return classifyLocal(fmt.Errorf("finish %s: %w", u.finalPath, err))
	}
	info, err := os.Stat(u.tempPath)
	if err != nil {
		return classifyLocal(fmt.Errorf("finish %s: %w", u.finalPath, err))
	}
	if info.Size() != size {
		return fmt.Errorf("commit %s: %s has %d bytes, expected %d", u.finalPath, u.tempPath, info.Size(), size)
	}
	return nil
}

func (u *localUpload) Abort() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.committed || u.aborted {
		return nil
	}
	u.aborted = true

	// The file may be closed already by a failed Commit.
	_ = u.closeFile()
	if err := os.Remove(u.tempPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("abort upload: remove %s: %w", u.tempPath, err)
	}
	return nil
}

// closeFile closes the temporary file once.
func (u *localUpload) closeFile() error {
	if u.file == nil {
		return nil
	}
	err := u.file.Close()
	u.file = nil
	return err
}

// syncDir flushes a directory, so that a rename in it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// classifyLocal marks the file system errors that a retry cannot fix.
func classifyLocal(err error) error {
	if errors.Is(err, os.ErrPermission) || errors.Is(err, os.ErrNotExist) {
		return Permanent(err)
	}
	return err
}
