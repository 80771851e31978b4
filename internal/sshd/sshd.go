// Package sshd runs a real OpenSSH server on 127.0.0.1 that offers SFTP, and
// nothing else, to one user with a generated key. Tests deliver files through
// it, and "axtract demo" starts one to show a delivery.
//
// Each server has its own temporary directory with a generated sshd_config,
// an ed25519 host key, a client key and its log. Stop ends the server and
// removes that directory.
package sshd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

const (
	// defaultStartTimeout bounds Start when its context has no deadline.
	defaultStartTimeout = 30 * time.Second

	// stopTimeout is how long Stop waits for sshd to exit after SIGTERM
	// before it sends SIGKILL.
	stopTimeout = 5 * time.Second

	// portAttempts is how many free ports Start tries. Another process can
	// take a port between the probe that found it and sshd binding it.
	portAttempts = 3

	// privsepDir is the privilege separation directory that Debian's sshd
	// requires when it runs as root. Other builds may use another path.
	privsepDir = "/run/sshd"
)

// Options configures Start.
type Options struct {
	// Dir is the directory the SFTP user starts in and uploads land in.
	// Default: a new directory inside the server's temporary directory, which
	// Stop removes. Stop keeps a Dir given here.
	Dir string

	// User is the account that logs in. Default: the user running this
	// process, the only choice unless the process runs as root.
	User string
}

// Server is a running sshd. Its fields are what a client needs to connect.
type Server struct {
	// Addr is Host and Port joined, "127.0.0.1:<port>".
	Addr string
	Host string
	Port int

	// HostKey is the server's public host key as an authorized_keys line.
	HostKey string

	// ClientKeyFile is the path of an OpenSSH private key that the server
	// accepts for User.
	ClientKeyFile string

	User string

	// Root is the absolute path of the directory the SFTP session starts in.
	Root string

	// LogFile is the path of the file that receives sshd's log.
	LogFile string

	tempDir       string
	hostPublicKey ssh.PublicKey
	clientSigner  ssh.Signer
	cmd           *exec.Cmd
	exited        chan struct{}

	stopOnce sync.Once
	stopErr  error
}

// FindSSHD returns the path of the OpenSSH server binary: /usr/sbin/sshd, or
// else sshd found in PATH.
func FindSSHD() (string, error) {
	const standardPath = "/usr/sbin/sshd"
	if info, err := os.Stat(standardPath); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
		return standardPath, nil
	}
	path, err := exec.LookPath("sshd")
	if err == nil {
		// sshd re-executes itself, so it must be started by an absolute path.
		if abs, absErr := filepath.Abs(path); absErr == nil {
			return abs, nil
		}
	}
	return "", errors.New("OpenSSH server not found: /usr/sbin/sshd is missing and no sshd is in PATH; " +
		"install it, for example with apt-get install openssh-server")
}

// Start starts sshd on a free port of 127.0.0.1 and returns once the server
// completes an SSH handshake and authentication with the client key. The
// context bounds only the start: the server runs until Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, err := FindSSHD()
	if err != nil {
		return nil, err
	}
	userName, err := resolveUser(opts.User)
	if err != nil {
		return nil, err
	}
	if err := ensurePrivsepDir(); err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancel()
	}

	tempDir, err := os.MkdirTemp("", "axtract-sshd-")
	if err != nil {
		return nil, fmt.Errorf("start sshd: create temporary directory: %w", err)
	}
	s := &Server{Host: "127.0.0.1", User: userName, tempDir: tempDir}
	started := false
	defer func() {
		if !started {
			os.RemoveAll(tempDir)
		}
	}()

	cfg, err := s.prepareFiles(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start sshd: %w", err)
	}
	if cfg.DisablePenalties, err = supportsPenalties(ctx, bin, s.configPath(), cfg); err != nil {
		return nil, fmt.Errorf("start sshd: %w", err)
	}

	for attempt := 1; ; attempt++ {
		if cfg.Port, err = freePort(); err != nil {
			return nil, fmt.Errorf("start sshd: %w", err)
		}
		err = s.launch(ctx, bin, cfg)
		if err == nil {
			break
		}
		if !errors.Is(err, errPortInUse) || attempt == portAttempts {
			return nil, fmt.Errorf("start sshd: %w", err)
		}
	}
	started = true
	return s, nil
}

// Stop ends sshd and the sessions it started, waits for them, and removes the
// server's temporary directory. It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.stopErr = s.stop()
	})
	return s.stopErr
}

func (s *Server) stop() error {
	s.terminate()
	if err := os.RemoveAll(s.tempDir); err != nil {
		return fmt.Errorf("stop sshd: remove %s: %w", s.tempDir, err)
	}
	return nil
}

// terminate signals sshd's process group, which also holds the processes
// that serve open sessions, and waits for sshd to exit.
func (s *Server) terminate() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	group := -s.cmd.Process.Pid
	_ = syscall.Kill(group, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(group, syscall.SIGKILL)
		<-s.exited
	}
	// Sessions that ignored SIGTERM must not outlive the server.
	_ = syscall.Kill(group, syscall.SIGKILL)
}

func (s *Server) configPath() string { return filepath.Join(s.tempDir, "sshd_config") }

// prepareFiles creates the root directory, the keys and authorized_keys,
// sets the Server fields that name them and returns the config to render.
func (s *Server) prepareFiles(dir string) (serverConfig, error) {
	root, err := prepareRoot(dir, s.tempDir)
	if err != nil {
		return serverConfig{}, err
	}
	if err := validateConfigPath("temporary directory", s.tempDir); err != nil {
		return serverConfig{}, err
	}
	if err := validateConfigPath("root directory", root); err != nil {
		return serverConfig{}, err
	}
	s.Root = root

	hostKey, err := generateKey("axtract-sshd-host")
	if err != nil {
		return serverConfig{}, err
	}
	clientKey, err := generateKey("axtract-sshd-client")
	if err != nil {
		return serverConfig{}, err
	}
	s.HostKey = hostKey.publicLine
	s.hostPublicKey = hostKey.signer.PublicKey()
	s.clientSigner = clientKey.signer

	hostKeyFile := filepath.Join(s.tempDir, "ssh_host_ed25519_key")
	if err := hostKey.writePrivate(hostKeyFile); err != nil {
		return serverConfig{}, err
	}
	s.ClientKeyFile = filepath.Join(s.tempDir, "client_ed25519_key")
	if err := clientKey.writePrivate(s.ClientKeyFile); err != nil {
		return serverConfig{}, err
	}
	authorizedKeys := filepath.Join(s.tempDir, "authorized_keys")
	if err := os.WriteFile(authorizedKeys, []byte(clientKey.publicLine+"\n"), 0o644); err != nil {
		return serverConfig{}, fmt.Errorf("write authorized_keys: %w", err)
	}
	s.LogFile = filepath.Join(s.tempDir, "sshd.log")

	return serverConfig{
		HostKeyFile:        hostKeyFile,
		PidFile:            filepath.Join(s.tempDir, "sshd.pid"),
		AuthorizedKeysFile: authorizedKeys,
		User:               s.User,
		Root:               root,
	}, nil
}

// prepareRoot returns the absolute path of dir, which must be a directory, or
// creates the default root inside tempDir when dir is empty.
func prepareRoot(dir, tempDir string) (string, error) {
	if dir == "" {
		root := filepath.Join(tempDir, "root")
		if err := os.Mkdir(root, 0o755); err != nil {
			return "", fmt.Errorf("create root directory: %w", err)
		}
		return root, nil
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("root directory %s: %w", dir, err)
	}
	info, err := os.Stat(root)
	if err != nil {
		return "", fmt.Errorf("root directory: %w", err)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("root directory %s: not a directory", root)
	}
	return root, nil
}

func resolveUser(name string) (string, error) {
	if name != "" {
		if _, err := user.Lookup(name); err != nil {
			return "", fmt.Errorf("start sshd: user %q: %w", name, err)
		}
		return name, nil
	}
	current, err := user.Current()
	if err != nil {
		return "", fmt.Errorf("start sshd: look up the current user: %w", err)
	}
	return current.Username, nil
}

// ensurePrivsepDir creates the privilege separation directory when this
// process runs as root and the directory is missing.
func ensurePrivsepDir() error {
	if os.Geteuid() != 0 {
		return nil
	}
	if err := os.MkdirAll(privsepDir, 0o755); err != nil {
		return fmt.Errorf("start sshd: create privilege separation directory: %w", err)
	}
	return nil
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) setAddr(port int) {
	s.Port = port
	s.Addr = net.JoinHostPort(s.Host, strconv.Itoa(port))
}

// handshake connects to the server as a client would and authenticates.
func (s *Server) handshake(timeout time.Duration) error {
	config := &ssh.ClientConfig{
		User:              s.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(s.clientSigner)},
		HostKeyCallback:   ssh.FixedHostKey(s.hostPublicKey),
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
		Timeout:           timeout,
	}
	client, err := ssh.Dial("tcp", s.Addr, config)
	if err != nil {
		return err
	}
	return client.Close()
}
