package pipeline

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// ExpiryWarningWindow is the time before a key's expiry from which
// ExpiresSoon reports it.
const ExpiryWarningWindow = 30 * 24 * time.Hour

// Recipient is a partner's OpenPGP public key that was checked to be able to
// encrypt, reduced to the one encryption key that feeds are encrypted to.
type Recipient struct {
	entity         *openpgp.Entity
	fingerprint    string
	keyFingerprint string
	expires        time.Time
}

// ParseRecipient parses one armored OpenPGP public key and selects its newest
// valid encryption subkey at now, or the primary key when it is
// encryption-capable and no subkey is. It returns an error when the armored
// text is not exactly one public key, or when the key is expired, revoked,
// not yet valid or has no usable encryption key, so callers run it before
// the COPY starts.
func ParseRecipient(armored string, now time.Time) (*Recipient, error) {
	entity, err := readPublicKey(armored)
	if err != nil {
		return nil, err
	}
	fingerprint := fingerprintHex(entity.PrimaryKey)
	if err := checkPrimaryKey(entity, fingerprint, now); err != nil {
		return nil, err
	}

	key, err := selectEncryptionKey(entity, fingerprint, now)
	if err != nil {
		return nil, err
	}

	// Encrypt picks the encryption key itself, so the entity it is given holds
	// only the selected key (no subkeys when the primary key encrypts).
	trimmed := *entity
	trimmed.Subkeys = nil
	if key.PublicKey != entity.PrimaryKey {
		trimmed.Subkeys = []openpgp.Subkey{{
			PublicKey:   key.PublicKey,
			Sig:         key.SelfSignature,
			Revocations: key.Revocations,
		}}
	}

	primarySig, _ := entity.PrimarySelfSignature()
	expires := earliest(keyExpiry(entity.PrimaryKey, primarySig), signatureExpiry(primarySig))
	if key.PublicKey != entity.PrimaryKey {
		expires = earliest(expires, keyExpiry(key.PublicKey, key.SelfSignature))
		expires = earliest(expires, signatureExpiry(key.SelfSignature))
	}

	return &Recipient{
		entity:         &trimmed,
		fingerprint:    fingerprint,
		keyFingerprint: fingerprintHex(key.PublicKey),
		expires:        expires,
	}, nil
}

// Fingerprint returns the primary key's fingerprint in upper-case hex, as
// `gpg --fingerprint` prints it without spaces.
func (r *Recipient) Fingerprint() string {
	return r.fingerprint
}

// EncryptionKeyFingerprint returns the fingerprint, in upper-case hex, of the
// key that session keys are encrypted to: a subkey, or the primary key when
// it is the only encryption key.
func (r *Recipient) EncryptionKeyFingerprint() string {
	return r.keyFingerprint
}

// Expires returns the time from which the key can no longer encrypt: the
// earliest expiry of the primary key, the selected encryption key and their
// self-signatures. It is the zero time when none of them expires.
func (r *Recipient) Expires() time.Time {
	return r.expires
}

// ExpiresSoon reports whether the key expires within ExpiryWarningWindow of
// now, and when. Callers log it as a warning, so that the partner sends a new
// key before feeds start to fail.
func (r *Recipient) ExpiresSoon(now time.Time) (bool, time.Time) {
	if r.expires.IsZero() {
		return false, time.Time{}
	}
	return r.expires.Sub(now) < ExpiryWarningWindow, r.expires
}

// checkAt returns an error when the selected key can no longer encrypt at
// now, which happens when it expired after ParseRecipient accepted it.
func (r *Recipient) checkAt(now time.Time) error {
	if _, ok := r.entity.EncryptionKey(now); !ok {
		return fmt.Errorf("OpenPGP key %s can no longer encrypt at %s (key expiry: %s); ask the partner for a new public key",
			r.fingerprint, now.UTC().Format(time.RFC3339), formatExpiry(r.expires))
	}
	return nil
}

func readPublicKey(armored string) (*openpgp.Entity, error) {
	block, err := armor.Decode(strings.NewReader(armored))
	if errors.Is(err, io.EOF) {
		return nil, errors.New("invalid OpenPGP public key: no armored block found; export it with gpg --armor --export")
	}
	if err != nil {
		return nil, fmt.Errorf("invalid OpenPGP public key: decode armor: %w", err)
	}
	switch block.Type {
	case openpgp.PublicKeyType:
	case openpgp.PrivateKeyType:
		return nil, errors.New("invalid OpenPGP public key: the armored block is a private key; " +
			"discard it and ask the partner for the public key only (gpg --armor --export)")
	default:
		return nil, fmt.Errorf("invalid OpenPGP public key: armored block is %q, want %q",
			block.Type, openpgp.PublicKeyType)
	}

	entities, err := openpgp.ReadKeyRing(block.Body)
	if err != nil {
		return nil, fmt.Errorf("invalid OpenPGP public key: %w", err)
	}
	if len(entities) != 1 {
		return nil, fmt.Errorf("invalid OpenPGP public key: the armored block contains %d keys, want exactly one",
			len(entities))
	}
	return entities[0], nil
}

func checkPrimaryKey(entity *openpgp.Entity, fingerprint string, now time.Time) error {
	sig, identity := entity.PrimarySelfSignature()
	if sig == nil {
		return fmt.Errorf("invalid OpenPGP key %s: no valid self-signature", fingerprint)
	}
	if entity.Revoked(now) {
		return fmt.Errorf("OpenPGP key %s is revoked; ask the partner for a new public key", fingerprint)
	}
	if identity != nil && identity.Revoked(now) {
		return fmt.Errorf("OpenPGP key %s: its primary user ID %q is revoked; ask the partner for a new public key",
			fingerprint, identity.Name)
	}
	if entity.PrimaryKey.CreationTime.After(now) {
		return fmt.Errorf("OpenPGP key %s is not valid until %s (its creation time); check the partner's clock and key",
			fingerprint, entity.PrimaryKey.CreationTime.UTC().Format(time.RFC3339))
	}
	expires := earliest(keyExpiry(entity.PrimaryKey, sig), signatureExpiry(sig))
	if !expires.IsZero() && !now.Before(expires) {
		return fmt.Errorf("OpenPGP key %s expired on %s; ask the partner for a new or extended public key",
			fingerprint, expires.UTC().Format(time.RFC3339))
	}
	return nil
}

// selectEncryptionKey returns the valid encryption subkey with the latest
// creation time, or the primary key when it can encrypt and no subkey can.
// Validity (flags, algorithm, expiry, revocation) is judged by go-crypto's
// EncryptionKey on an entity that holds one candidate at a time, so the key
// chosen here is the one Encrypt accepts.
func selectEncryptionKey(entity *openpgp.Entity, fingerprint string, now time.Time) (openpgp.Key, error) {
	var best openpgp.Key
	found := false
	var rejected []string
	for _, subkey := range entity.Subkeys {
		single := *entity
		single.Subkeys = []openpgp.Subkey{subkey}
		key, ok := single.EncryptionKey(now)
		if !ok || key.PublicKey != subkey.PublicKey {
			if reason := subkeyRejection(subkey, now); reason != "" {
				rejected = append(rejected, reason)
			}
			continue
		}
		if !found || newer(key, best) {
			best, found = key, true
		}
	}
	if found {
		return best, nil
	}

	primaryOnly := *entity
	primaryOnly.Subkeys = nil
	if key, ok := primaryOnly.EncryptionKey(now); ok {
		return key, nil
	}

	detail := "it has no encryption subkey"
	if len(rejected) > 0 {
		detail = strings.Join(rejected, ", ")
	}
	return openpgp.Key{}, fmt.Errorf("OpenPGP key %s has no valid encryption key at %s (%s); "+
		"ask the partner for a key with a current encryption subkey",
		fingerprint, now.UTC().Format(time.RFC3339), detail)
}

// newer reports whether key a was created after key b. Keys created in the
// same second are ordered by their binding signatures.
func newer(a, b openpgp.Key) bool {
	if !a.PublicKey.CreationTime.Equal(b.PublicKey.CreationTime) {
		return a.PublicKey.CreationTime.After(b.PublicKey.CreationTime)
	}
	return a.SelfSignature.CreationTime.After(b.SelfSignature.CreationTime)
}

// subkeyRejection describes why an encryption subkey is unusable at now. It
// returns "" for subkeys that are not meant for encryption.
func subkeyRejection(subkey openpgp.Subkey, now time.Time) string {
	if !subkey.Sig.FlagsValid || !subkey.Sig.FlagEncryptCommunications {
		return ""
	}
	name := "subkey " + fingerprintHex(subkey.PublicKey)
	switch {
	case !subkey.PublicKey.PubKeyAlgo.CanEncrypt():
		return fmt.Sprintf("%s has algorithm %d, which cannot encrypt", name, subkey.PublicKey.PubKeyAlgo)
	case subkey.Revoked(now):
		return name + " is revoked"
	case subkey.PublicKey.CreationTime.After(now):
		return name + " is not valid until " + subkey.PublicKey.CreationTime.UTC().Format(time.RFC3339)
	}
	expires := earliest(keyExpiry(subkey.PublicKey, subkey.Sig), signatureExpiry(subkey.Sig))
	if !expires.IsZero() && !now.Before(expires) {
		return name + " expired on " + expires.UTC().Format(time.RFC3339)
	}
	return name + " is not valid"
}

func keyExpiry(key *packet.PublicKey, sig *packet.Signature) time.Time {
	if sig == nil || sig.KeyLifetimeSecs == nil || *sig.KeyLifetimeSecs == 0 {
		return time.Time{}
	}
	return key.CreationTime.Add(time.Duration(*sig.KeyLifetimeSecs) * time.Second)
}

func signatureExpiry(sig *packet.Signature) time.Time {
	if sig == nil || sig.SigLifetimeSecs == nil || *sig.SigLifetimeSecs == 0 {
		return time.Time{}
	}
	return sig.CreationTime.Add(time.Duration(*sig.SigLifetimeSecs) * time.Second)
}

// earliest returns the earlier of two expiry times, where the zero time
// means "never".
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	}
	return a
}

func formatExpiry(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func fingerprintHex(key *packet.PublicKey) string {
	return strings.ToUpper(fmt.Sprintf("%x", key.Fingerprint))
}
