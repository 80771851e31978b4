package auth_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/axtract/axtract/internal/auth"
)

func TestHashPasswordFormat(t *testing.T) {
	t.Parallel()
	hash, err := auth.HashPassword(testPassword, auth.DefaultArgon2Params)
	if err != nil {
		t.Fatal(err)
	}
	// 16-byte salt and 32-byte hash in unpadded base64: 22 and 43 characters.
	format := regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=3,p=4\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !format.MatchString(hash) {
		t.Errorf("HashPassword = %q, want PHC format %s", hash, format)
	}
	if err := auth.VerifyPassword(hash, testPassword); err != nil {
		t.Errorf("VerifyPassword(right password) = %v, want nil", err)
	}
	if err := auth.VerifyPassword(hash, testPassword+"x"); !errors.Is(err, auth.ErrPasswordMismatch) {
		t.Errorf("VerifyPassword(wrong password) = %v, want ErrPasswordMismatch", err)
	}
}

func TestHashPasswordSaltsEachHash(t *testing.T) {
	t.Parallel()
	a, _ := auth.HashPassword(testPassword, fastParams)
	b, _ := auth.HashPassword(testPassword, fastParams)
	if a == b {
		t.Errorf("two hashes of one password are equal: %s", a)
	}
	saltA, saltB := strings.Split(a, "$")[4], strings.Split(b, "$")[4]
	if saltA == saltB {
		t.Errorf("two hashes share salt %s", saltA)
	}
}

func TestVerifyPasswordRejectsBadHashes(t *testing.T) {
	t.Parallel()
	for _, hash := range []string{
		"",
		"$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=16$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=1024,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
	} {
		err := auth.VerifyPassword(hash, testPassword)
		if err == nil || errors.Is(err, auth.ErrPasswordMismatch) {
			t.Errorf("VerifyPassword(%q) = %v, want a format error", hash, err)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	t.Parallel()
	if err := auth.CheckPassword("short"); err == nil {
		t.Error("CheckPassword(5 characters) = nil, want an error")
	}
	if err := auth.CheckPassword(strings.Repeat("x", auth.MaxPasswordBytes+1)); err == nil {
		t.Error("CheckPassword(1025 bytes) = nil, want an error")
	}
	if err := auth.CheckPassword(testPassword); err != nil {
		t.Errorf("CheckPassword(%d characters) = %v", len(testPassword), err)
	}
}

func BenchmarkHashPasswordDefault(b *testing.B) {
	for b.Loop() {
		if _, err := auth.HashPassword(testPassword, auth.DefaultArgon2Params); err != nil {
			b.Fatal(err)
		}
	}
}
