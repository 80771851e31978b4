package pipeline

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// eccKey generates an ed25519 signing key with a cv25519 encryption subkey
// and returns both fingerprints.
func eccKey(g *gpgHome, uid string) (primary, subkey string) {
	g.t.Helper()
	primary = g.generateKey(uid, "ed25519", "sign", "never")
	return primary, g.addSubkey(primary, "cv25519", "encr", "never")
}

func parseRecipient(t *testing.T, armored string, now time.Time) *Recipient {
	t.Helper()
	r, err := ParseRecipient(armored, now)
	if err != nil {
		t.Fatalf("ParseRecipient: %v", err)
	}
	return r
}

func requireErrorContains(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want an error containing %q", parts)
	}
	for _, part := range parts {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not contain %q", err, part)
		}
	}
}

func TestParseRecipientECC(t *testing.T) {
	t.Parallel()
	g := newGPGHome(t)
	primary, subkey := eccKey(g, "ECC Partner <ecc@example.com>")

	r := parseRecipient(t, g.exportPublic(primary), time.Now())

	if got := r.Fingerprint(); got != primary {
		t.Errorf("Fingerprint() = %s, want %s", got, primary)
	}
	if got := r.EncryptionKeyFingerprint(); got != subkey {
		t.Errorf("EncryptionKeyFingerprint() = %s, want %s", got, subkey)
	}
	if !r.Expires().IsZero() {
		t.Errorf("Expires() = %s, want the zero time for a key without expiry", r.Expires())
	}
	if soon, _ := r.ExpiresSoon(time.Now()); soon {
		t.Error("ExpiresSoon() = true for a key without expiry")
	}
}

func TestParseRecipientRSA(t *testing.T) {
	t.Parallel()
	g := newGPGHome(t)
	primary := g.generateKey("RSA Partner <rsa@example.com>", "rsa3072", "sign", "2y")
	subkey := g.addSubkey(primary, "rsa3072", "encr", "2y")
	now := time.Now()

	r := parseRecipient(t, g.exportPublic(primary), now)

	if got := r.EncryptionKeyFingerprint(); got != subkey {
		t.Errorf("EncryptionKeyFingerprint() = %s, want %s", got, subkey)
	}
	if d := r.Expires().Sub(now); d < 700*24*time.Hour || d > 740*24*time.Hour {
		t.Errorf("Expires() = %s, want about two years after %s", r.Expires(), now)
	}
	if soon, _ := r.ExpiresSoon(now); soon {
		t.Error("ExpiresSoon() = true for a key that expires in two years")
	}
}

func TestParseRecipientPrimaryKeyEncrypts(t *testing.T) {
	t.Parallel()
	g := newGPGHome(t)
	primary := g.generateKey("RSA Single <single@example.com>", "rsa3072", "sign,encr", "never")
	if got := g.keyFingerprints(primary); len(got) != 1 {
		t.Fatalf("gpg generated %d keys, want a primary key only", len(got))
	}

	r := parseRecipient(t, g.exportPublic(primary), time.Now())

	if got := r.EncryptionKeyFingerprint(); got != primary {
		t.Errorf("EncryptionKeyFingerprint() = %s, want the primary key %s", got, primary)
	}
}

func TestParseRecipientExpiry(t *testing.T) {
	t.Parallel()
	g := newGPGHome(t)
	primary := g.generateKey("Expiring <expiring@example.com>", "default", "default", "1d")
	armored := g.exportPublic(primary)
	now := time.Now()

	t.Run("ExpiresSoon", func(t *testing.T) {
		r := parseRecipient(t, armored, now)
		soon, expires := r.ExpiresSoon(now)
		if !soon {
			t.Error("ExpiresSoon() = false for a key that expires in one day")
		}
		if d := expires.Sub(now); d < 23*time.Hour || d > 25*time.Hour {
			t.Errorf("ExpiresSoon() expiry = %s, want about one day after %s", expires, now)
		}
		if !expires.Equal(r.Expires()) {
			t.Errorf("ExpiresSoon() expiry = %s, Expires() = %s, want equal", expires, r.Expires())
		}
		if soon, _ := r.ExpiresSoon(now.Add(-ExpiryWarningWindow)); soon {
			t.Error("ExpiresSoon() = true 31 days before expiry")
		}
	})

	t.Run("Expired", func(t *testing.T) {
		_, err := ParseRecipient(armored, now.Add(48*time.Hour))
		requireErrorContains(t, err, primary, "expired on")
	})
}

func TestParseRecipientRevoked(t *testing.T) {
	t.Parallel()
	g := newGPGHome(t)
	primary, _ := eccKey(g, "Revoked <revoked@example.com>")
	g.revoke(primary)

	_, err := ParseRecipient(g.exportPublic(primary), time.Now())

	requireErrorContains(t, err, primary, "revoked")
}

func TestParseRecipientSignOnlyKey(t *testing.T) {
	t.Parallel()
	g := newGPGHome(t)
	primary := g.generateKey("Sign Only <sign@example.com>", "ed25519", "sign", "never")

	_, err := ParseRecipient(g.exportPublic(primary), time.Now())

	requireErrorContains(t, err, primary, "no valid encryption key", "no encryption subkey")
}

func TestParseRecipientExpiredSubkey(t *testing.T) {
	t.Parallel()
	g := newGPGHome(t)
	primary := g.generateKey("Old Subkey <old@example.com>", "ed25519", "sign", "never")
	subkey := g.addSubkey(primary, "cv25519", "encr", "1d")
	armored := g.exportPublic(primary)

	_, err := ParseRecipient(armored, time.Now().Add(48*time.Hour))

	requireErrorContains(t, err, primary, "no valid encryption key", "subkey "+subkey+" expired on")
}

// TestParseRecipientNewestSubkey checks that the subkey created last is
// used even when an older subkey has the newer binding signature, and that
// the output can be decrypted with that subkey's secret alone.
func TestParseRecipientNewestSubkey(t *testing.T) {
	t.Parallel()
	g := newGPGHome(t)
	uid := "Rotated <rotated@example.com>"
	past := "--faked-system-time=" + gpgTime(time.Now().Add(-10*24*time.Hour))
	primary := g.generateKey(uid, "ed25519", "sign", "never", past)
	g.run(nil, past, "--quick-add-key", primary, "cv25519", "encr", "never")
	oldSubkey := g.keyFingerprints(primary)[1]
	newSubkey := g.addSubkey(primary, "cv25519", "encr", "never")
	// Extending the old subkey re-signs its binding, so its signature is
	// now newer than the new subkey's.
	g.run(nil, "--quick-set-expire", primary, "3y", oldSubkey)

	r := parseRecipient(t, g.exportPublic(primary), time.Now())
	if got := r.EncryptionKeyFingerprint(); got != newSubkey {
		t.Fatalf("EncryptionKeyFingerprint() = %s, want the newest subkey %s (old subkey %s)", got, newSubkey, oldSubkey)
	}

	data := claimCSV(7, 64<<10)
	ciphertext := runPipeline(t, Config{Compression: CompressionNone, Recipient: r}, data)

	packets := g.listPackets(ciphertext)
	wantKeyID := "keyid " + newSubkey[len(newSubkey)-16:]
	if !strings.Contains(packets, wantKeyID) {
		t.Errorf("gpg --list-packets output does not contain %q:\n%s", wantKeyID, packets)
	}

	g.run(nil, "--yes", "--delete-secret-keys", oldSubkey+"!")
	if plaintext := g.decrypt(ciphertext); !bytes.Equal(plaintext, data) {
		t.Errorf("decrypted %d bytes with the new subkey only, want the %d bytes written", len(plaintext), len(data))
	}
}

func TestParseRecipientInvalidInput(t *testing.T) {
	t.Parallel()
	g := newGPGHome(t)
	first, _ := eccKey(g, "First <first@example.com>")
	second, _ := eccKey(g, "Second <second@example.com>")
	signature := string(g.run([]byte("claims"), "--armor", "--local-user", first, "--detach-sign"))

	tests := []struct {
		name    string
		armored string
		want    string
	}{
		{"Empty", "", "no armored block found"},
		{"NotArmored", "mQINBF...", "no armored block found"},
		{"PrivateKey", g.exportSecret(first), "private key"},
		{"TwoKeys", g.exportPublic(first, second), "contains 2 keys, want exactly one"},
		{"Signature", signature, `armored block is "PGP SIGNATURE"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRecipient(tt.armored, time.Now())
			requireErrorContains(t, err, tt.want)
		})
	}
}
