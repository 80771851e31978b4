// Package sftp delivers files to a partner's SFTP server.
//
// Dial connects only to a server that presents the pinned host key. With any
// other server it stops during the key exchange, before sending credentials
// or file data. An upload streams into a temporary dot-prefixed
// ".part" file in the remote directory, using pipelined SFTP writes, and
// Commit renames it to the final name once the server reports the expected
// size. Errors that a retry cannot fix, such as a host key mismatch, a
// rejected login or a permission denied by the server, are marked with
// deliver.Permanent.
package sftp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"strconv"
	"sync"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/axtract/axtract/internal/deliver"
)

const (
	// maxPacket is the SFTP write size. 32768 bytes is the size every server
	// must accept (draft-ietf-secsh-filexfer-02) and the SSH channel packet
	// size of x/crypto/ssh.
	maxPacket = 32768

	// maxRequestsInFlight is the number of unacknowledged writes per upload.
	// 64 writes of 32 KiB are about one SSH channel window of OpenSSH's
	// sshd (CHAN_SES_WINDOW_DEFAULT, 64 × 32 KiB), so the sender waits for
	// acknowledgements only when the window is full anyway.
	maxRequestsInFlight = 64

	extensionPosixRename = "posix-rename@openssh.com"
	extensionFsync       = "fsync@openssh.com"
)

// destination is one SSH connection with one SFTP session. It is safe for
// concurrent use: uploads share the session.
type destination struct {
	cfg    Config
	addr   string
	ssh    *ssh.Client
	client *sftp.Client
	limit  *uploadLimit

	posixRename bool
	fsync       bool

	closeOnce sync.Once
	closed    chan struct{}
	closeErr  error
}

// Dial connects to the SFTP server of cfg, checks its host key against
// cfg.HostKey, logs in and checks that cfg.Dir is a directory. ctx bounds
// the dial only. The destination must be closed when done.
func Dial(ctx context.Context, cfg Config) (deliver.Destination, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, deliver.Permanent(err)
	}
	pinned, err := parseHostKey(cfg.HostKey)
	if err != nil {
		return nil, deliver.Permanent(err)
	}
	auth, err := cfg.authMethods()
	if err != nil {
		return nil, deliver.Permanent(err)
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))

	sshClient, err := dialSSH(ctx, cfg, addr, pinned, auth)
	if err != nil {
		return nil, err
	}
	d, err := openSession(ctx, cfg, addr, sshClient)
	if err != nil {
		sshClient.Close()
		return nil, err
	}
	go d.keepAlive()
	return d, nil
}

// dialSSH connects and completes the SSH handshake and login within
// cfg.Timeout.
func dialSSH(ctx context.Context, cfg Config, addr string, pinned ssh.PublicKey, auth []ssh.AuthMethod) (*ssh.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()

	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("SFTP connect to %s: %w", addr, err)
	}
	// The SSH handshake takes no context, so the context's end closes the
	// connection under it.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	hostKey := &pinnedHostKey{addr: addr, key: pinned}
	config := &ssh.ClientConfig{
		User:              cfg.User,
		Auth:              auth,
		HostKeyCallback:   hostKey.check,
		HostKeyAlgorithms: hostKeyAlgorithms(pinned),
	}
	sshConn, channels, requests, err := ssh.NewClientConn(conn, addr, config)
	if err != nil {
		conn.Close()
		if ctxErr := ctx.Err(); ctxErr != nil && hostKey.mismatch == nil {
			return nil, fmt.Errorf("SFTP connect to %s: %w", addr, ctxErr)
		}
		return nil, classifyHandshake(err, addr, cfg.User, hostKey)
	}
	if !stop() {
		sshConn.Close()
		return nil, fmt.Errorf("SFTP connect to %s: %w", addr, ctx.Err())
	}
	return ssh.NewClient(sshConn, channels, requests), nil
}

// openSession starts the SFTP session on sshClient and checks cfg.Dir, both
// within cfg.Timeout.
func openSession(ctx context.Context, cfg Config, addr string, sshClient *ssh.Client) (*destination, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { sshClient.Close() })
	defer stop()

	client, err := sftp.NewClient(sshClient,
		sftp.UseConcurrentWrites(true),
		sftp.MaxPacket(maxPacket),
		sftp.MaxConcurrentRequestsPerFile(maxRequestsInFlight),
	)
	if err != nil {
		return nil, fmt.Errorf("SFTP session on %s: %w", addr, ctxErrOr(ctx, err))
	}
	d := &destination{
		cfg:    cfg,
		addr:   addr,
		ssh:    sshClient,
		client: client,
		limit:  limitFor(cfg.User+"@"+addr, cfg.MaxParallelUploads),
		closed: make(chan struct{}),
	}
	_, d.posixRename = client.HasExtension(extensionPosixRename)
	d.posixRename = d.posixRename && !cfg.PlainRename
	version, ok := client.HasExtension(extensionFsync)
	d.fsync = ok && version == "1"

	if err := d.checkDir(ctx); err != nil {
		client.Close()
		return nil, err
	}
	if !stop() {
		client.Close()
		return nil, fmt.Errorf("SFTP session on %s: %w", addr, ctx.Err())
	}
	return d, nil
}

// checkDir checks that the remote directory exists and is a directory.
func (d *destination) checkDir(ctx context.Context) error {
	info, err := d.client.Stat(d.cfg.Dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return deliver.Permanent(fmt.Errorf("SFTP destination %s: remote directory %q not found: "+
			"create it on the server or correct Dir", d.addr, d.cfg.Dir))
	case errors.Is(err, os.ErrPermission):
		return deliver.Permanent(fmt.Errorf("SFTP destination %s: remote directory %q: permission denied for user %q",
			d.addr, d.cfg.Dir, d.cfg.User))
	case err != nil:
		return fmt.Errorf("SFTP destination %s: stat remote directory %q: %w", d.addr, d.cfg.Dir, ctxErrOr(ctx, err))
	case !info.IsDir():
		return deliver.Permanent(fmt.Errorf("SFTP destination %s: %q is not a directory: correct Dir",
			d.addr, d.cfg.Dir))
	}
	return nil
}

// Create opens the temporary file .name.<random>.part in the remote
// directory, after waiting for an upload slot of this server. The new file
// must not exist, so two uploads can never share a temporary file.
func (d *destination) Create(ctx context.Context, name string) (deliver.Upload, error) {
	if err := deliver.ValidateName(name); err != nil {
		return nil, deliver.Permanent(err)
	}
	if err := d.limit.acquire(ctx); err != nil {
		return nil, fmt.Errorf("SFTP upload of %s to %s: wait for an upload slot: %w", name, d.addr, err)
	}

	d.removeStale(name)
	tempPath := path.Join(d.cfg.Dir, deliver.TempName(name))
	file, err := d.client.OpenFile(tempPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		d.limit.release()
		return nil, classify(fmt.Errorf("SFTP create %s on %s: %w", tempPath, d.addr, err))
	}
	return startUpload(ctx, d, file, tempPath, path.Join(d.cfg.Dir, name), name), nil
}

// removeStale removes temporary files that uploads killed before their
// Commit or Abort left behind (deliver.IsStale), as the local destination
// does. It is best effort: a file it cannot list or remove stays.
func (d *destination) removeStale(name string) {
	entries, err := d.client.ReadDir(d.cfg.Dir)
	if err != nil {
		return
	}
	now := time.Now()
	for _, e := range entries {
		// Uploads create regular files only.
		if e.Mode().IsRegular() && deliver.IsStale(e.Name(), e.ModTime(), name, now) {
			_ = d.client.Remove(path.Join(d.cfg.Dir, e.Name()))
		}
	}
}

// Close ends the SFTP session and the SSH connection. Open uploads fail.
func (d *destination) Close() error {
	d.closeOnce.Do(func() {
		close(d.closed)
		err := d.client.Close()
		if sshErr := d.ssh.Close(); err == nil && !errors.Is(sshErr, net.ErrClosed) {
			err = sshErr
		}
		if err != nil && !errors.Is(err, net.ErrClosed) {
			d.closeErr = fmt.Errorf("close SFTP connection to %s: %w", d.addr, err)
		}
	})
	return d.closeErr
}

// keepAlive sends an OpenSSH keepalive request every cfg.Timeout and
// closes the connection when the server does not reply within cfg.Timeout.
// Without it, uploads on a connection whose peer vanished would wait for
// TCP to give up, which can take many minutes.
func (d *destination) keepAlive() {
	ticker := time.NewTicker(d.cfg.Timeout)
	defer ticker.Stop()
	for {
		select {
		case <-d.closed:
			return
		case <-ticker.C:
		}

		replied := make(chan error, 1)
		go func() {
			// OpenSSH replies to an unknown global request with a failure
			// message, which also shows that the connection is alive.
			_, _, err := d.ssh.SendRequest("keepalive@openssh.com", true, nil)
			replied <- err
		}()
		select {
		case err := <-replied:
			if err != nil {
				return
			}
		case <-time.After(d.cfg.Timeout):
			d.cfg.Logger.Warn("SFTP server did not reply to keepalive; closing connection",
				"addr", d.addr, "timeout", d.cfg.Timeout)
			d.ssh.Close()
			return
		case <-d.closed:
			return
		}
	}
}

// ctxErrOr returns the context's error if the context is done, because a
// failure is then most likely caused by it, and err otherwise.
func ctxErrOr(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return err
}
