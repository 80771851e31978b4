package pipeline

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// TestPipelineSignedVerifiesWithGPG checks that gpg decrypts a signed
// message and reports a good signature by the signing subkey, with SHA-256.
func TestPipelineSignedVerifiesWithGPG(t *testing.T) {
	t.Parallel()
	partner := newGPGHome(t)
	partnerUID := "Partner <partner@example.com>"
	partnerKey := partner.generateKey(partnerUID, "ed25519", "sign", "never")
	partner.addSubkey(partnerKey, "cv25519", "encr", "never")

	instance := newGPGHome(t)
	instanceKey := instance.generateKey("AxTract <axtract@example.com>", "ed25519", "cert", "never")
	signingSubkey := instance.addSubkey(instanceKey, "ed25519", "sign", "never")
	keyFile := filepath.Join(t.TempDir(), "signing.asc")
	if err := os.WriteFile(keyFile, []byte(instance.exportSecret(instanceKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := LoadSigner(keyFile, time.Now())
	if err != nil {
		t.Fatalf("LoadSigner: %v", err)
	}
	if got := signer.SigningKeyFingerprint(); got != signingSubkey {
		t.Errorf("SigningKeyFingerprint() = %s, want the signing subkey %s", got, signingSubkey)
	}

	data := claimCSV(3, 32<<10)
	cfg := Config{Compression: CompressionZstd, Recipient: parseRecipient(t, partner.exportPublic(partnerKey), time.Now()), Signer: signer}
	ciphertext := runPipeline(t, cfg, data)

	partner.run([]byte(instance.exportPublic(instanceKey)), "--import")
	status, err := partner.tryRun(ciphertext, "--status-fd", "1", "--decrypt", "--output", filepath.Join(partner.dir, "out.zst"))
	if err != nil {
		t.Fatalf("gpg --decrypt: %v", err)
	}
	text := string(status)
	if !strings.Contains(text, "[GNUPG:] GOODSIG") {
		t.Errorf("gpg reports no good signature:\n%s", text)
	}
	// VALIDSIG's first field is the fingerprint of the key that signed,
	// and its eighth the hash algorithm (8 is SHA-256).
	var validsig []string
	for _, line := range strings.Split(text, "\n") {
		if fields := strings.Fields(line); len(fields) > 9 && fields[1] == "VALIDSIG" {
			validsig = fields[2:]
		}
	}
	if len(validsig) < 8 {
		t.Fatalf("gpg printed no VALIDSIG line:\n%s", text)
	}
	if validsig[0] != signingSubkey {
		t.Errorf("signed by %s, want the signing subkey %s", validsig[0], signingSubkey)
	}
	if validsig[7] != "8" {
		t.Errorf("signature hash algorithm %s, want 8 (SHA-256)", validsig[7])
	}
	compressed, err := os.ReadFile(filepath.Join(partner.dir, "out.zst"))
	if err != nil {
		t.Fatal(err)
	}
	if plain := decompress(t, CompressionZstd, compressed); !bytes.Equal(plain, data) {
		t.Errorf("decrypted and decompressed %d bytes, want the %d bytes written", len(plain), len(data))
	}
}

func TestParseSignerRejectsUnusableKeys(t *testing.T) {
	t.Parallel()
	g := newGPGHome(t)
	now := time.Now()

	protected := g.generateKey("Protected <protected@example.com>", "ed25519", "sign", "never", "--passphrase", "secret")
	// The home's default passphrase is empty, but exporting needs the one
	// the key was made with.
	armored := string(g.run(nil, "--passphrase", "secret", "--armor", "--export-secret-keys", protected))
	_, err := ParseSigner(armored, now)
	requireErrorContains(t, err, protected, "passphrase")

	past := "--faked-system-time=" + gpgTime(now.Add(-3*24*time.Hour))
	expired := g.generateKey("Expired <expired@example.com>", "ed25519", "sign", "1d", past)
	_, err = ParseSigner(g.exportSecret(expired), now)
	requireErrorContains(t, err, expired, "expired")

	public := g.generateKey("Public <public@example.com>", "ed25519", "sign", "never")
	_, err = ParseSigner(g.exportPublic(public), now)
	requireErrorContains(t, err, "PGP PRIVATE KEY BLOCK")

	soon := g.generateKey("Soon <soon@example.com>", "ed25519", "sign", "10d")
	// A second later, because a key made in this second is not valid
	// before it.
	s, err := ParseSigner(g.exportSecret(soon), time.Now().Add(time.Second))
	if err != nil {
		t.Fatalf("ParseSigner of a key valid for 10 days: %v", err)
	}
	if expiring, _ := s.ExpiresSoon(time.Now()); !expiring {
		t.Error("ExpiresSoon() = false for a key that expires in 10 days, want true")
	}
}

func TestConfigValidateSigningAndZip(t *testing.T) {
	t.Parallel()
	err := Config{Signer: &Signer{}}.Validate()
	requireErrorContains(t, err, "invalid signer")
	g := newGPGHome(t)
	key := g.generateKey("Signer <signer@example.com>", "ed25519", "sign", "never")
	s, err := ParseSigner(g.exportSecret(key), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	err = Config{Signer: s}.Validate()
	requireErrorContains(t, err, "signing needs encryption")

	err = Config{Compression: CompressionZip}.Validate()
	requireErrorContains(t, err, "ZipEntry")
	if err := (Config{Compression: CompressionZip, ZipEntry: "a.csv"}).Validate(); err != nil {
		t.Errorf("Validate() of zip with an entry name: %v", err)
	}
	if got := Extension(Config{Compression: CompressionZip, ZipEntry: "a.csv", Recipient: &Recipient{}}); got != ".zip.pgp" {
		t.Errorf("Extension(zip+pgp) = %q, want .zip.pgp", got)
	}
}

// TestPipelineV6KeyGetsSEIPDv2 checks the packet versions the encryption
// chooses: SEIPD version 1 for the v4 keys GnuPG makes, version 2 (AEAD)
// only for an RFC 9580 version 6 key that announces it, which go-crypto
// then decrypts.
func TestPipelineV6KeyGetsSEIPDv2(t *testing.T) {
	t.Parallel()
	entity, err := openpgp.NewEntity("V6", "", "v6@example.com", &packet.Config{
		V6Keys: true, Algorithm: packet.PubKeyAlgoEd25519, AEADConfig: &packet.AEADConfig{DefaultMode: packet.AEADModeOCB},
	})
	if err != nil {
		t.Fatal(err)
	}
	var armored bytes.Buffer
	w, err := armor.Encode(&armored, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := entity.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	data := claimCSV(5, 16<<10)
	ciphertext := runPipeline(t, Config{Recipient: parseRecipient(t, armored.String(), time.Now().Add(time.Second))}, data)

	md, err := openpgp.ReadMessage(bytes.NewReader(ciphertext), openpgp.EntityList{entity}, nil, nil)
	if err != nil {
		t.Fatalf("go-crypto cannot read the message to a v6 key: %v", err)
	}
	plain, err := io.ReadAll(md.UnverifiedBody)
	if err != nil {
		t.Fatal(err)
	}
	requireSameBytes(t, plain, data)
	if !md.IsEncrypted || md.DecryptedWith.PublicKey == nil {
		t.Error("message was not encrypted to the key")
	}
	if !seipdVersion2(t, ciphertext) {
		t.Error("message to a v6 key uses SEIPD version 1, want version 2")
	}

	g := newGPGHome(t)
	v4 := g.generateKey("V4 <v4@example.com>", "ed25519", "sign", "never")
	g.addSubkey(v4, "cv25519", "encr", "never")
	ciphertext = runPipeline(t, Config{Recipient: parseRecipient(t, g.exportPublic(v4), time.Now())}, data)
	if seipdVersion2(t, ciphertext) {
		t.Error("message to a v4 key uses SEIPD version 2, which GnuPG 2.2 and 2.4 cannot read")
	}
}

// seipdVersion2 reports whether the message's encrypted data packet is a
// SEIPD version 2 packet.
func seipdVersion2(t *testing.T, message []byte) bool {
	t.Helper()
	r := packet.NewReader(bytes.NewReader(message))
	for {
		p, err := r.Next()
		if err != nil {
			t.Fatalf("read packets: %v", err)
		}
		if se, ok := p.(*packet.SymmetricallyEncrypted); ok {
			return se.Version == 2
		}
	}
}
