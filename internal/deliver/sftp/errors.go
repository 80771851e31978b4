package sftp

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/axtract/axtract/internal/deliver"
)

// HostKeyMismatchError reports that the server presented a host key other
// than the pinned one. Dial returns it marked permanent, before it has sent
// credentials or file data.
type HostKeyMismatchError struct {
	// Addr is the host and port that was dialed.
	Addr string
	// Pinned and Presented are SHA256 fingerprints in the form ssh-keygen -l
	// prints, "SHA256:<base64>".
	Pinned    string
	Presented string
	// PresentedKey is the server's key as an authorized_keys line, for an
	// operator who has confirmed the new fingerprint with the partner.
	PresentedKey string
}

func (e *HostKeyMismatchError) Error() string {
	return fmt.Sprintf("SFTP host key mismatch for %s: the server presented %s but the destination pins %s. "+
		"If the partner changed the server's key, confirm the new fingerprint with them and set it as the "+
		"destination's host key; otherwise someone may be intercepting the connection",
		e.Addr, e.Presented, e.Pinned)
}

// pinnedHostKey checks the server's key with ssh.FixedHostKey and records a
// mismatch, so that Dial reports it whatever error the handshake returns.
type pinnedHostKey struct {
	addr     string
	key      ssh.PublicKey
	mismatch *HostKeyMismatchError
}

func (p *pinnedHostKey) check(hostname string, remote net.Addr, key ssh.PublicKey) error {
	if err := ssh.FixedHostKey(p.key)(hostname, remote, key); err != nil {
		p.mismatch = &HostKeyMismatchError{
			Addr:         p.addr,
			Pinned:       ssh.FingerprintSHA256(p.key),
			Presented:    ssh.FingerprintSHA256(key),
			PresentedKey: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))),
		}
		return p.mismatch
	}
	return nil
}

// classifyHandshake marks the SSH handshake failures that a retry cannot fix.
func classifyHandshake(err error, addr, user string, hostKey *pinnedHostKey) error {
	if hostKey.mismatch != nil {
		return deliver.Permanent(hostKey.mismatch)
	}
	var negotiation *ssh.AlgorithmNegotiationError
	if errors.As(err, &negotiation) {
		return deliver.Permanent(fmt.Errorf("SFTP connect to %s: %w: check that the pinned host key is of a type the server has",
			addr, err))
	}
	// x/crypto/ssh (client_auth.go, v0.59.0) reports a rejected login only
	// through this message, not through an error type.
	if strings.Contains(err.Error(), "unable to authenticate") {
		return deliver.Permanent(fmt.Errorf("SFTP authentication as %q on %s failed: %w: "+
			"check the destination's key or password file and the account on the server", user, addr, err))
	}
	return fmt.Errorf("SFTP connect to %s: %w", addr, err)
}

// classify marks the SFTP errors that a retry cannot fix: permission denied
// and operations the server does not support. Everything else, including a
// lost connection, is left retryable.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, os.ErrPermission) {
		return deliver.Permanent(err)
	}
	var status *sftp.StatusError
	if errors.As(err, &status) && status.FxCode() == sftp.ErrSSHFxOpUnsupported {
		return deliver.Permanent(err)
	}
	return err
}
