package sftp

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"golang.org/x/crypto/ssh"
)

const (
	defaultPort               = 22
	defaultDir                = "."
	defaultTimeout            = 30 * time.Second
	defaultMaxParallelUploads = 4
)

// Config describes an SFTP destination. Secrets are referenced by file path,
// so that the database that stores destinations never contains them.
type Config struct {
	// Host is the server's host name or IP address. Required.
	Host string

	// Port is the server's TCP port. Default: 22.
	Port int

	// User is the account to log in as. Required.
	User string

	// Dir is the remote directory that receives the files, absolute or
	// relative to the login directory. It must exist. Default: ".", the
	// login directory.
	Dir string

	// HostKey is the server's public host key as an authorized_keys line
	// ("ssh-ed25519 AAAA...") or a known_hosts line ("host ssh-ed25519
	// AAAA..."). Dial rejects a server that presents any other key. Required.
	HostKey string

	// PrivateKeyFile is the path of the client's private key in OpenSSH or
	// PEM format, without a passphrase. At least one of PrivateKeyFile and
	// PasswordFile is required. When both are set, the key is tried first.
	PrivateKeyFile string

	// PasswordFile is the path of a file whose content is the password. A
	// trailing newline is not part of the password.
	PasswordFile string

	// Timeout bounds the TCP connect and SSH handshake together, and then
	// the start of the SFTP session. It is also the keepalive interval and
	// the time the keepalive waits for a reply before it closes a stalled
	// connection, and the time Abort waits for writes in flight. Default:
	// 30s.
	Timeout time.Duration

	// MaxParallelUploads is the maximum number of uploads that run at once
	// to the same user, host and port in this process, across all
	// destinations dialed with it. Create waits for a free slot. The last
	// Dial sets the limit for that server. Default: 4.
	MaxParallelUploads int

	// PlainRename makes Commit use plain SFTP rename even when the server
	// offers posix-rename@openssh.com. This is for servers whose extension
	// misbehaves. Replacing an existing file then takes three steps, and the
	// final name is missing for a moment. Default: false.
	PlainRename bool

	// Logger receives warnings, such as an old file that could not be
	// removed after a replacement. Default: discard.
	Logger *slog.Logger
}

// withDefaults returns cfg with its zero fields set to their defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Port == 0 {
		cfg.Port = defaultPort
	}
	if cfg.Dir == "" {
		cfg.Dir = defaultDir
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.MaxParallelUploads == 0 {
		cfg.MaxParallelUploads = defaultMaxParallelUploads
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// validate checks the fields that need no file or network access.
func (cfg Config) validate() error {
	switch {
	case cfg.Host == "":
		return errors.New("sftp config: Host is empty: set the SFTP server's host name or address")
	case cfg.Port < 1 || cfg.Port > 65535:
		return fmt.Errorf("sftp config: Port %d is invalid: must be between 1 and 65535", cfg.Port)
	case cfg.User == "":
		return errors.New("sftp config: User is empty: set the account to log in as")
	case cfg.HostKey == "":
		return errors.New("sftp config: HostKey is empty: set the server's public host key, " +
			"for example the output of ssh-keyscan for the server, checked with the partner")
	case cfg.PrivateKeyFile == "" && cfg.PasswordFile == "":
		return errors.New("sftp config: PrivateKeyFile and PasswordFile are both empty: set at least one")
	case cfg.Timeout < 0:
		return fmt.Errorf("sftp config: Timeout %s is invalid: must be positive", cfg.Timeout)
	case cfg.MaxParallelUploads < 0:
		return fmt.Errorf("sftp config: MaxParallelUploads %d is invalid: must be positive", cfg.MaxParallelUploads)
	}
	return nil
}

// parseHostKey parses an authorized_keys or known_hosts line.
func parseHostKey(line string) (ssh.PublicKey, error) {
	key, _, _, _, authorizedErr := ssh.ParseAuthorizedKey([]byte(line))
	if authorizedErr == nil {
		return key, nil
	}
	_, _, key, _, _, knownHostsErr := ssh.ParseKnownHosts([]byte(line))
	if knownHostsErr == nil {
		return key, nil
	}
	return nil, fmt.Errorf("sftp config: HostKey %q is invalid: not an authorized_keys line (%v) nor a known_hosts line (%v)",
		line, authorizedErr, knownHostsErr)
}

// hostKeyAlgorithms returns the host key algorithms to offer for the pinned
// key. Offering only the pinned key's type makes a server that has several
// host keys present the pinned one.
func hostKeyAlgorithms(key ssh.PublicKey) []string {
	if key.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{key.Type()}
}

// authMethods reads the key and password files.
func (cfg Config) authMethods() ([]ssh.AuthMethod, error) {
	var methods []ssh.AuthMethod
	if cfg.PrivateKeyFile != "" {
		signer, err := readPrivateKey(cfg.PrivateKeyFile)
		if err != nil {
			return nil, err
		}
		methods = append(methods, ssh.PublicKeys(signer))
	}
	if cfg.PasswordFile != "" {
		// NOTE: no test logs in with a password, because the test server of
		// package sshd accepts only keys.
		password, err := readPassword(cfg.PasswordFile)
		if err != nil {
			return nil, err
		}
		methods = append(methods, ssh.Password(password), ssh.KeyboardInteractive(answerPassword(password)))
	}
	return methods, nil
}

func readPrivateKey(path string) (ssh.Signer, error) {
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sftp config: PrivateKeyFile: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(pemBytes)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("sftp config: PrivateKeyFile %s is protected by a passphrase, which is not supported: "+
			"store the key without one and protect the file by its permissions", path)
	}
	if err != nil {
		return nil, fmt.Errorf("sftp config: PrivateKeyFile %s: %w", path, err)
	}
	return signer, nil
}

func readPassword(path string) (string, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("sftp config: PasswordFile: %w", err)
	}
	content = bytes.TrimSuffix(content, []byte("\n"))
	content = bytes.TrimSuffix(content, []byte("\r"))
	if len(content) == 0 {
		return "", fmt.Errorf("sftp config: PasswordFile %s is empty", path)
	}
	return string(content), nil
}

// answerPassword replies to keyboard-interactive prompts with the password,
// which is how servers that check passwords through PAM request it. A server
// that sends several prompts at once expects more than a password, so those
// get no reply and authentication fails.
func answerPassword(password string) ssh.KeyboardInteractiveChallenge {
	return func(_, _ string, questions []string, _ []bool) ([]string, error) {
		switch len(questions) {
		case 0:
			return nil, nil
		case 1:
			return []string{password}, nil
		default:
			return nil, fmt.Errorf("server asked %d keyboard-interactive questions, only a password can be sent", len(questions))
		}
	}
}

// CheckHostKey returns nil for a line that Config.HostKey accepts, and
// otherwise an error that explains why the line is not a host key.
func CheckHostKey(line string) error {
	_, err := parseHostKey(line)
	return err
}
