package idp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are argon2id cost parameters.
type Argon2Params struct {
	Time      uint32 // passes
	MemoryKiB uint32
	Threads   uint8
}

// DefaultArgon2 follows OWASP's argon2id guidance (t=1, m=64 MiB, p=2 is within the
// recommended equivalents of m=19 MiB, t=2, p=1).
var DefaultArgon2 = Argon2Params{Time: 1, MemoryKiB: 64 * 1024, Threads: 2}

const (
	saltLen = 16
	keyLen  = 32
	// Hashes with costs above these bounds are rejected rather than evaluated, so a tampered
	// store row cannot make one login burn gigabytes or minutes.
	maxMemoryKiB = 1 << 20
	maxTime      = 16
)

// hashPassword returns a PHC-format argon2id hash: $argon2id$v=19$m=...,t=...,p=...$salt$hash.
func (p *IdP) hashPassword(ctx context.Context, password string) (string, error) {
	a := p.argon
	if a.Time == 0 || a.MemoryKiB == 0 || a.Threads == 0 {
		return "", errors.New("argon2id parameters must be positive")
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	if err := p.acquireHash(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, a.Time, a.MemoryKiB, a.Threads, keyLen)
	<-p.hashSem
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, a.MemoryKiB, a.Time, a.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

func (p *IdP) acquireHash(ctx context.Context) error {
	select {
	case p.hashSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// verifyPassword reports whether password matches the PHC hash. A malformed hash never matches.
func (p *IdP) verifyPassword(ctx context.Context, hash, password string) (bool, error) {
	h, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	if err := p.acquireHash(ctx); err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(password), h.salt, h.params.Time, h.params.MemoryKiB, h.params.Threads, uint32(len(h.key)))
	<-p.hashSem
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

type parsedHash struct {
	params Argon2Params
	salt   []byte
	key    []byte
}

// parseHash parses a PHC argon2id string, rejecting anything else.
func parseHash(s string) (parsedHash, error) {
	var h parsedHash
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, errors.New("password hash: not an argon2id PHC string")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, fmt.Errorf("password hash: unsupported version %q", parts[2])
	}
	seen := map[string]bool{}
	for kv := range strings.SplitSeq(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return h, fmt.Errorf("password hash: bad parameter %q", kv)
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return h, fmt.Errorf("password hash: bad parameter %q", kv)
		}
		switch k {
		case "m":
			h.params.MemoryKiB = uint32(n)
		case "t":
			h.params.Time = uint32(n)
		case "p":
			if n > 255 {
				return h, fmt.Errorf("password hash: bad parameter %q", kv)
			}
			h.params.Threads = uint8(n)
		default:
			return h, fmt.Errorf("password hash: unknown parameter %q", k)
		}
	}
	a := h.params
	if a.Time == 0 || a.Time > maxTime || a.Threads == 0 || a.MemoryKiB < 8*uint32(a.Threads) || a.MemoryKiB > maxMemoryKiB {
		return h, errors.New("password hash: parameters out of range")
	}
	var err error
	enc := base64.RawStdEncoding
	if h.salt, err = enc.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return h, errors.New("password hash: bad salt")
	}
	if h.key, err = enc.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > 64 {
		return h, errors.New("password hash: bad key")
	}
	return h, nil
}

// validatePassword applies the default Cognito password policy: at least 8 characters with
// upper case, lower case, a digit and a symbol.
func validatePassword(pw string) error {
	if len(pw) < 8 {
		return errf(CodeInvalidPassword, "Password did not conform with policy: Password not long enough")
	}
	if len(pw) > 256 {
		return errf(CodeInvalidPassword, "Password did not conform with policy: Password is too long")
	}
	var up, low, digit, sym bool
	for _, r := range pw {
		switch {
		case r >= 'A' && r <= 'Z':
			up = true
		case r >= 'a' && r <= 'z':
			low = true
		case r >= '0' && r <= '9':
			digit = true
		case strings.ContainsRune("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ", r):
			sym = true
		}
	}
	switch {
	case !up:
		return errf(CodeInvalidPassword, "Password did not conform with policy: Password must have uppercase characters")
	case !low:
		return errf(CodeInvalidPassword, "Password did not conform with policy: Password must have lowercase characters")
	case !digit:
		return errf(CodeInvalidPassword, "Password did not conform with policy: Password must have numeric characters")
	case !sym:
		return errf(CodeInvalidPassword, "Password did not conform with policy: Password must have symbol characters")
	}
	return nil
}
