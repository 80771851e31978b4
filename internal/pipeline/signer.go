package pipeline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// Signer is the instance's OpenPGP private key, reduced to the one signing
// key that encrypted files are signed with.
type Signer struct {
	entity         *openpgp.Entity
	fingerprint    string
	keyFingerprint string
	expires        time.Time
}

// LoadSigner reads an armored OpenPGP private key from the file at path and
// checks it with ParseSigner. Errors name the path but never contain the
// file's content.
func LoadSigner(path string, now time.Time) (*Signer, error) {
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read OpenPGP signing key: %w", err)
	}
	s, err := ParseSigner(string(body), now)
	if err != nil {
		return nil, fmt.Errorf("OpenPGP signing key %s: %w", path, err)
	}
	return s, nil
}

// ParseSigner parses one armored OpenPGP private key without a passphrase
// and selects the signing key that go-crypto's SigningKey picks at now: the
// valid signing subkey with the newest binding signature, or the primary
// key when no subkey can sign. It returns an error when the key is
// protected by a passphrase, expired, revoked or unable to sign.
func ParseSigner(armored string, now time.Time) (*Signer, error) {
	block, err := armor.Decode(strings.NewReader(armored))
	if errors.Is(err, io.EOF) {
		return nil, errors.New("no armored block found; export it with gpg --armor --export-secret-keys")
	}
	if err != nil {
		return nil, fmt.Errorf("decode armor: %w", err)
	}
	if block.Type != openpgp.PrivateKeyType {
		return nil, fmt.Errorf("armored block is %q, want %q", block.Type, openpgp.PrivateKeyType)
	}
	entities, err := openpgp.ReadKeyRing(block.Body)
	if err != nil {
		return nil, fmt.Errorf("invalid private key: %w", err)
	}
	if len(entities) != 1 {
		return nil, fmt.Errorf("the armored block contains %d keys, want exactly one", len(entities))
	}
	entity := entities[0]
	fingerprint := fingerprintHex(entity.PrimaryKey)
	if err := checkSignerPrimaryKey(entity, fingerprint, now); err != nil {
		return nil, err
	}

	key, ok := entity.SigningKey(now)
	if !ok {
		return nil, fmt.Errorf("OpenPGP key %s has no valid signing key at %s; add a signing subkey or extend the key",
			fingerprint, now.UTC().Format(time.RFC3339))
	}
	if key.PrivateKey == nil || key.PrivateKey.Dummy() {
		return nil, fmt.Errorf("OpenPGP key %s is missing the secret part of its signing key %s; export it with gpg --export-secret-keys",
			fingerprint, fingerprintHex(key.PublicKey))
	}
	if key.PrivateKey.Encrypted {
		return nil, fmt.Errorf("OpenPGP key %s is protected by a passphrase; export a copy without one "+
			"(gpg --export-secret-keys after gpg --change-passphrase to empty) and protect the file with its mode instead", fingerprint)
	}

	primarySig, _ := entity.PrimarySelfSignature()
	expires := earliest(keyExpiry(entity.PrimaryKey, primarySig), signatureExpiry(primarySig))
	if key.PublicKey != entity.PrimaryKey {
		expires = earliest(expires, keyExpiry(key.PublicKey, key.SelfSignature))
		expires = earliest(expires, signatureExpiry(key.SelfSignature))
	}
	return &Signer{
		entity:         entity,
		fingerprint:    fingerprint,
		keyFingerprint: fingerprintHex(key.PublicKey),
		expires:        expires,
	}, nil
}

// checkSignerPrimaryKey is checkPrimaryKey with advice for the instance's
// own key rather than a partner's.
func checkSignerPrimaryKey(entity *openpgp.Entity, fingerprint string, now time.Time) error {
	sig, _ := entity.PrimarySelfSignature()
	if sig == nil {
		return fmt.Errorf("invalid OpenPGP key %s: no valid self-signature", fingerprint)
	}
	if entity.Revoked(now) {
		return fmt.Errorf("OpenPGP key %s is revoked; configure a new signing key", fingerprint)
	}
	if entity.PrimaryKey.CreationTime.After(now) {
		return fmt.Errorf("OpenPGP key %s is not valid until %s (its creation time); check this host's clock",
			fingerprint, entity.PrimaryKey.CreationTime.UTC().Format(time.RFC3339))
	}
	expires := earliest(keyExpiry(entity.PrimaryKey, sig), signatureExpiry(sig))
	if !expires.IsZero() && !now.Before(expires) {
		return fmt.Errorf("OpenPGP key %s expired on %s; extend it (gpg --quick-set-expire) or configure a new signing key",
			fingerprint, expires.UTC().Format(time.RFC3339))
	}
	return nil
}

// Fingerprint returns the primary key's fingerprint in upper-case hex.
func (s *Signer) Fingerprint() string {
	return s.fingerprint
}

// SigningKeyFingerprint returns the fingerprint of the key that makes the
// signatures: a subkey, or the primary key.
func (s *Signer) SigningKeyFingerprint() string {
	return s.keyFingerprint
}

// ExpiresSoon reports whether the signing key expires within
// ExpiryWarningWindow of now, and when.
func (s *Signer) ExpiresSoon(now time.Time) (bool, time.Time) {
	if s.expires.IsZero() {
		return false, time.Time{}
	}
	return s.expires.Sub(now) < ExpiryWarningWindow, s.expires
}

// checkAt returns an error when the key can no longer sign at now.
func (s *Signer) checkAt(now time.Time) error {
	if _, ok := s.entity.SigningKey(now); !ok {
		return fmt.Errorf("OpenPGP signing key %s can no longer sign at %s (key expiry: %s); extend it or configure a new one",
			s.fingerprint, now.UTC().Format(time.RFC3339), formatExpiry(s.expires))
	}
	return nil
}
