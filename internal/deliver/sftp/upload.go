package sftp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/pkg/sftp"

	"github.com/axtract/axtract/internal/deliver"
)

type uploadState int

const (
	stateWriting  uploadState = iota
	stateFailed               // Finish or Commit failed; Abort still has to clean up
	stateFinished             // the temporary file is complete and closed
	stateCommitted
	stateAborted
)

var _ deliver.Finisher = (*upload)(nil)

// upload streams Write calls into a remote file. Write hands the bytes
// through a pipe to a sender goroutine, which cuts them into SFTP writes and
// keeps up to maxRequestsInFlight of them unacknowledged. A Write therefore
// returns as soon as its bytes are on their way, not after a round trip.
type upload struct {
	ctx       context.Context
	d         *destination
	name      string
	tempPath  string
	finalPath string
	file      *sftp.File

	pipeReader *io.PipeReader
	pipeWriter *io.PipeWriter
	stopWatch  func() bool
	written    int64
	writeErr   error

	// senderDone is closed when the sender goroutine returns, after it has
	// set sent and sendErr.
	senderDone chan struct{}
	sent       int64
	sendErr    error

	mu          sync.Mutex
	state       uploadState
	fileClosed  bool
	releaseOnce sync.Once
}

func startUpload(ctx context.Context, d *destination, file *sftp.File, tempPath, finalPath, name string) *upload {
	pipeReader, pipeWriter := io.Pipe()
	u := &upload{
		ctx:        ctx,
		d:          d,
		name:       name,
		tempPath:   tempPath,
		finalPath:  finalPath,
		file:       file,
		pipeReader: pipeReader,
		pipeWriter: pipeWriter,
		senderDone: make(chan struct{}),
	}
	// Closing the pipe with the context's error makes a blocked Write
	// return it at once and ends the sender after its writes in flight.
	u.stopWatch = context.AfterFunc(ctx, func() {
		pipeReader.CloseWithError(fmt.Errorf("SFTP upload of %s to %s: %w", name, d.addr, context.Cause(ctx)))
	})
	go u.send()
	return u
}

// send copies the pipe into the remote file until the pipe ends.
func (u *upload) send() {
	defer close(u.senderDone)
	n, err := u.file.ReadFromWithConcurrency(u.pipeReader, maxRequestsInFlight)
	u.sent = n
	u.sendErr = err
	// io.ErrClosedPipe means that the pipe was closed on purpose, by the
	// context's end or by Abort, and the pipe already holds the reason.
	if err != nil && !errors.Is(err, io.ErrClosedPipe) {
		// Writes that follow a failure fail with it.
		u.pipeReader.CloseWithError(classify(fmt.Errorf("SFTP write %s on %s: %w", u.tempPath, u.d.addr, err)))
	}
}

func (u *upload) Write(p []byte) (int, error) {
	// The watcher closes the pipe when the context ends, but a Write may get
	// there first: check the context here too.
	if err := u.ctx.Err(); err != nil {
		if u.writeErr == nil {
			u.writeErr = err
		}
		return 0, err
	}
	n, err := u.pipeWriter.Write(p)
	u.written += int64(n)
	if errors.Is(err, io.ErrClosedPipe) {
		return n, fmt.Errorf("SFTP write %s on %s: upload already finished", u.tempPath, u.d.addr)
	}
	if err != nil && u.writeErr == nil {
		u.writeErr = err
	}
	return n, err
}

// Finish completes the temporary file and frees the upload's slot; see
// deliver.Finisher.
func (u *upload) Finish(ctx context.Context, size int64) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.state != stateWriting {
		return deliver.Permanent(fmt.Errorf("SFTP finish %s on %s: upload already finished", u.tempPath, u.d.addr))
	}
	if err := u.transfer(ctx, size); err != nil {
		u.state = stateFailed
		return err
	}
	u.state = stateFinished
	u.stopWatch()
	u.release()
	return nil
}

func (u *upload) Commit(ctx context.Context, size int64) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	switch u.state {
	case stateWriting:
		if err := u.transfer(ctx, size); err != nil {
			u.state = stateFailed
			return err
		}
	case stateFinished:
		if size != u.written {
			u.state = stateFailed
			return deliver.Permanent(fmt.Errorf("SFTP commit %s on %s: expected size %d bytes, but %d bytes were written",
				u.finalPath, u.d.addr, size, u.written))
		}
	default:
		return deliver.Permanent(fmt.Errorf("SFTP commit %s on %s: upload already finished", u.finalPath, u.d.addr))
	}
	if err := ctx.Err(); err != nil {
		u.state = stateFailed
		return fmt.Errorf("SFTP commit %s on %s: %w", u.finalPath, u.d.addr, err)
	}
	if err := u.d.replace(u.tempPath, u.finalPath, u.name); err != nil {
		u.state = stateFailed
		return err
	}
	u.state = stateCommitted
	u.stopWatch()
	u.release()
	return nil
}

// transfer ends the writes, waits for the server to acknowledge them, and
// checks that the closed temporary file has size bytes.
func (u *upload) transfer(ctx context.Context, size int64) error {
	if err := cmp.Or(ctx.Err(), u.ctx.Err()); err != nil {
		return fmt.Errorf("SFTP commit %s on %s: %w", u.finalPath, u.d.addr, err)
	}
	if u.writeErr != nil {
		return fmt.Errorf("SFTP commit %s on %s: an earlier write failed: %w", u.finalPath, u.d.addr, u.writeErr)
	}
	if size != u.written {
		return deliver.Permanent(fmt.Errorf("SFTP commit %s on %s: expected size %d bytes, but %d bytes were written",
			u.finalPath, u.d.addr, size, u.written))
	}

	// Closing the writer ends the pipe, and the sender returns once the
	// server has acknowledged every write.
	u.pipeWriter.Close()
	select {
	case <-u.senderDone:
	case <-ctx.Done():
		return fmt.Errorf("SFTP commit %s on %s: %w", u.finalPath, u.d.addr, context.Cause(ctx))
	}
	if u.sendErr != nil {
		if errors.Is(u.sendErr, io.ErrClosedPipe) && u.ctx.Err() != nil {
			return fmt.Errorf("SFTP upload of %s to %s: %w", u.name, u.d.addr, context.Cause(u.ctx))
		}
		return classify(fmt.Errorf("SFTP write %s on %s: %w", u.tempPath, u.d.addr, u.sendErr))
	}
	if u.sent != size {
		return fmt.Errorf("SFTP write %s on %s: sent %d bytes, expected %d", u.tempPath, u.d.addr, u.sent, size)
	}

	if err := u.closeFile(ctx); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("SFTP commit %s on %s: %w", u.finalPath, u.d.addr, err)
	}
	info, err := u.d.client.Stat(u.tempPath)
	if err != nil {
		return classify(fmt.Errorf("SFTP stat %s on %s: %w", u.tempPath, u.d.addr, err))
	}
	if info.Size() != size {
		return fmt.Errorf("SFTP commit %s on %s: server reports %d bytes for %s, expected %d",
			u.finalPath, u.d.addr, info.Size(), u.tempPath, size)
	}
	return nil
}

// closeFile flushes the remote file to disk when the server supports
// fsync@openssh.com, so that a crash after the rename cannot leave a short
// file under the final name, and closes it.
func (u *upload) closeFile(ctx context.Context) error {
	if u.d.fsync {
		if err := u.file.Sync(); err != nil {
			return classify(fmt.Errorf("SFTP fsync %s on %s: %w", u.tempPath, u.d.addr, ctxErrOr(ctx, err)))
		}
	}
	u.fileClosed = true
	if err := u.file.Close(); err != nil {
		return classify(fmt.Errorf("SFTP close %s on %s: %w", u.tempPath, u.d.addr, ctxErrOr(ctx, err)))
	}
	return nil
}

// Abort stops the sender, closes the remote file and removes it. When the
// sender does not stop within cfg.Timeout, because the connection stalled,
// Abort closes the connection, which fails the destination's other uploads,
// and the temporary file stays on the server until a cleanup of dot files
// there removes it.
func (u *upload) Abort() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.state == stateCommitted || u.state == stateAborted {
		return nil
	}
	u.state = stateAborted
	defer u.release()

	// Closing the reader first makes the sender stop with io.ErrClosedPipe
	// instead of finishing the file, and closing the writer makes later
	// Writes fail.
	u.stopWatch()
	u.pipeReader.Close()
	u.pipeWriter.Close()
	select {
	case <-u.senderDone:
	case <-time.After(u.d.cfg.Timeout):
		u.d.ssh.Close()
		return fmt.Errorf("SFTP abort upload of %s to %s: connection stalled and was closed; "+
			"the temporary file %s may remain", u.name, u.d.addr, u.tempPath)
	}

	if !u.fileClosed {
		u.fileClosed = true
		// The close fails when the connection is gone, and then the remove
		// below reports it.
		_ = u.file.Close()
	}
	if err := u.d.client.Remove(u.tempPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("SFTP abort upload of %s to %s: remove temporary file %s: %w",
			u.name, u.d.addr, u.tempPath, err)
	}
	return nil
}

// release frees the upload slot once.
func (u *upload) release() {
	u.releaseOnce.Do(u.d.limit.release)
}
