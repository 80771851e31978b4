package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the cost parameters of Argon2id password hashes.
type Argon2Params struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism.
	Threads uint8
	// SaltLength and KeyLength are in bytes.
	SaltLength uint32
	KeyLength  uint32
}

// DefaultArgon2Params are the second recommended option of RFC 9106
// (section 4): 64 MiB of memory, 3 passes, 4 lanes, a 16-byte salt and a
// 32-byte hash. BenchmarkHashPasswordDefault measures one hash.
var DefaultArgon2Params = Argon2Params{Memory: 64 * 1024, Time: 3, Threads: 4, SaltLength: 16, KeyLength: 32}

// Limits of hashes read back, so that a corrupt row cannot make a
// verification allocate without bound.
const (
	maxArgon2Memory  = 1 << 20 // KiB, 1 GiB
	maxArgon2Time    = 64
	maxArgon2Threads = 64
)

// Password length limits, in characters and bytes. The upper bound keeps
// an attacker from making the server hash megabytes per attempt.
const (
	MinPasswordLength = 12
	MaxPasswordBytes  = 1024
)

// ErrPasswordMismatch is returned by VerifyPassword for a wrong password.
var ErrPasswordMismatch = errors.New("password does not match")

// CheckPassword returns an error unless password satisfies the length
// limits.
func CheckPassword(password string) error {
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return fmt.Errorf("password is too short: use at least %d characters", MinPasswordLength)
	}
	if len(password) > MaxPasswordBytes {
		return fmt.Errorf("password is too long: use at most %d bytes", MaxPasswordBytes)
	}
	return nil
}

// HashPassword hashes password with Argon2id and a fresh random salt and
// returns it in PHC string format:
//
//	$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>
//
// with salt and hash in unpadded standard base64.
func HashPassword(password string, params Argon2Params) (string, error) {
	if params.Memory == 0 {
		params = DefaultArgon2Params
	}
	salt := make([]byte, params.SaltLength)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("draw password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, params.Time, params.Memory, params.Threads, params.KeyLength)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, params.Memory, params.Time, params.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// VerifyPassword compares password with a PHC string from HashPassword in
// constant time. It returns ErrPasswordMismatch for a wrong password and
// another error for a hash it cannot read.
func VerifyPassword(hash, password string) error {
	params, salt, key, err := parseHash(hash)
	if err != nil {
		return err
	}
	got := argon2.IDKey([]byte(password), salt, params.Time, params.Memory, params.Threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return ErrPasswordMismatch
	}
	return nil
}

// hashParams returns the parameters of a PHC string, for deciding whether
// to hash a password again with stronger ones.
func hashParams(hash string) (Argon2Params, error) {
	params, _, _, err := parseHash(hash)
	return params, err
}

func parseHash(hash string) (Argon2Params, []byte, []byte, error) {
	var params Argon2Params
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return params, nil, nil, errors.New("password hash is not an Argon2id PHC string")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return params, nil, nil, fmt.Errorf("password hash has Argon2 version %q, want v=%d", parts[2], argon2.Version)
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &params.Memory, &params.Time, &params.Threads); err != nil {
		return params, nil, nil, fmt.Errorf("password hash parameters %q are invalid: %w", parts[3], err)
	}
	if params.Memory == 0 || params.Memory > maxArgon2Memory || params.Time == 0 || params.Time > maxArgon2Time ||
		params.Threads == 0 || params.Threads > maxArgon2Threads {
		return params, nil, nil, fmt.Errorf("password hash parameters %q are out of range", parts[3])
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return params, nil, nil, errors.New("password hash salt is invalid")
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 {
		return params, nil, nil, errors.New("password hash value is invalid")
	}
	params.SaltLength, params.KeyLength = uint32(len(salt)), uint32(len(key))
	return params, salt, key, nil
}

// weaker reports whether hash parameters a cost less than b in memory or
// passes.
func (a Argon2Params) weaker(b Argon2Params) bool {
	return a.Memory < b.Memory || a.Time < b.Time || a.KeyLength < b.KeyLength || a.SaltLength < b.SaltLength
}
