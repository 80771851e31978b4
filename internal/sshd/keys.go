package sshd

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
)

// keyPair is a freshly generated ed25519 key in the formats sshd and ssh
// clients read.
type keyPair struct {
	// privatePEM is the private key in OpenSSH format.
	privatePEM []byte
	// publicLine is the public key as one authorized_keys line, without the
	// trailing newline.
	publicLine string
	signer     ssh.Signer
}

func generateKey(comment string) (keyPair, error) {
	public, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return keyPair{}, fmt.Errorf("generate ed25519 key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(private, comment)
	if err != nil {
		return keyPair{}, fmt.Errorf("encode ed25519 private key: %w", err)
	}
	sshPublic, err := ssh.NewPublicKey(public)
	if err != nil {
		return keyPair{}, fmt.Errorf("encode ed25519 public key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(private)
	if err != nil {
		return keyPair{}, fmt.Errorf("make signer from ed25519 key: %w", err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPublic))) + " " + comment
	return keyPair{
		privatePEM: pem.EncodeToMemory(block),
		publicLine: line,
		signer:     signer,
	}, nil
}

// writePrivate writes the private key to path with mode 0600, the only mode
// sshd accepts for a host key.
func (k keyPair) writePrivate(path string) error {
	if err := os.WriteFile(path, k.privatePEM, 0o600); err != nil {
		return fmt.Errorf("write private key: %w", err)
	}
	return nil
}
