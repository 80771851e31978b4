package demo

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/axtract/axtract/internal/pipeline"
)

// partnerKey is an OpenPGP key pair the demo makes for a partner, standing
// in for the key a real partner would send.
type partnerKey struct {
	PublicArmored string
	SecretFile    string
}

// newPartnerKey generates an ed25519/cv25519 key for slug and writes its
// secret half to dir/<slug>-secret.asc, so the user can import it into gpg
// and decrypt what the demo delivered.
func newPartnerKey(dir, slug, name string) (*partnerKey, error) {
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519}
	entity, err := openpgp.NewEntity(name, "AxTract demo key", slug+"@partner.example", cfg)
	if err != nil {
		return nil, fmt.Errorf("generate key for %s: %w", slug, err)
	}

	var public bytes.Buffer
	w, err := armor.Encode(&public, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := entity.Serialize(w); err != nil {
		return nil, fmt.Errorf("serialize public key of %s: %w", slug, err)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}

	var secret bytes.Buffer
	w, err = armor.Encode(&secret, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := entity.SerializePrivate(w, nil); err != nil {
		return nil, fmt.Errorf("serialize secret key of %s: %w", slug, err)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, slug+"-secret.asc")
	if err := os.WriteFile(path, secret.Bytes(), 0o600); err != nil {
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &partnerKey{PublicArmored: public.String(), SecretFile: path}, nil
}

func parseRecipient(armored string) (string, error) {
	r, err := pipeline.ParseRecipient(armored, time.Now())
	if err != nil {
		return "", fmt.Errorf("demo key: %w", err)
	}
	return r.Fingerprint(), nil
}
