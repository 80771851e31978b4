package pipeline

import (
	"crypto"
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// newEncryptor writes the OpenPGP headers for r to dst and returns the writer
// of the encrypted literal data. The message is binary (not armored), holds
// no OpenPGP compression because the pipeline compresses before encrypting,
// and uses a SEIPD version 1 packet with MDC, the format GnuPG 2.2 and 2.4
// read. With a signer, the literal data is wrapped in a one-pass signature
// with SHA-256 inside the encryption, as gpg --sign --encrypt writes it, so
// gpg --decrypt checks the signature.
func newEncryptor(dst io.Writer, r *Recipient, s *Signer, now time.Time) (io.WriteCloser, error) {
	if err := r.checkAt(now); err != nil {
		return nil, err
	}
	var signed *openpgp.Entity
	if s != nil {
		if err := s.checkAt(now); err != nil {
			return nil, err
		}
		signed = s.entity
	}
	config := &packet.Config{
		DefaultCipher:          packet.CipherAES256,
		DefaultCompressionAlgo: packet.CompressionNone,
		// Leaving AEADConfig nil selects SEIPD version 1 even for v4 keys
		// that announce SEIPD version 2 support, which GnuPG 2.2 and 2.4
		// cannot decrypt.
		AEADConfig: nil,
		// SHA-256 unless the recipient's key preferences exclude it; every
		// OpenPGP implementation must support it.
		DefaultHash: crypto.SHA256,
		Time:        func() time.Time { return now },
	}
	// A version 6 key (RFC 9580) is the one case that may ask for SEIPD
	// version 2: the implementations that read v6 keys read it, and GnuPG
	// 2.2 and 2.4 read neither. go-crypto then uses it only when the key
	// announces SEIPD version 2 in its features, and version 1 otherwise.
	if r.entity.PrimaryKey.Version == 6 {
		config.AEADConfig = &packet.AEADConfig{DefaultMode: packet.AEADModeOCB}
	}
	hints := &openpgp.FileHints{IsBinary: true}
	plaintext, err := openpgp.Encrypt(dst, []*openpgp.Entity{r.entity}, signed, hints, config)
	if err != nil {
		return nil, fmt.Errorf("start OpenPGP encryption to key %s: %w", r.fingerprint, err)
	}
	return plaintext, nil
}
