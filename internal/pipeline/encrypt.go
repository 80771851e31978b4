package pipeline

import (
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// newEncryptor writes the OpenPGP headers for r to dst and returns the writer
// of the encrypted literal data. The message is binary (not armored), holds
// no OpenPGP compression because the pipeline compresses before encrypting,
// and uses a SEIPD version 1 packet with MDC, the format GnuPG 2.2 reads.
func newEncryptor(dst io.Writer, r *Recipient, now time.Time) (io.WriteCloser, error) {
	if err := r.checkAt(now); err != nil {
		return nil, err
	}
	config := &packet.Config{
		DefaultCipher:          packet.CipherAES256,
		DefaultCompressionAlgo: packet.CompressionNone,
		// Leaving AEADConfig nil selects SEIPD version 1 even for keys that
		// announce SEIPD version 2 support, which GnuPG 2.2 cannot decrypt.
		AEADConfig: nil,
		Time:       func() time.Time { return now },
	}
	hints := &openpgp.FileHints{IsBinary: true}
	plaintext, err := openpgp.Encrypt(dst, []*openpgp.Entity{r.entity}, nil, hints, config)
	if err != nil {
		return nil, fmt.Errorf("start OpenPGP encryption to key %s: %w", r.fingerprint, err)
	}
	return plaintext, nil
}
