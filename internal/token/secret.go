package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

const (
	// secretPrefix starts every secret, as Vault's service tokens do.
	secretPrefix = "hvs."
	// secretBytes is the secret's randomness: 256 bits.
	secretBytes = 32
	// accessorBytes is the accessor's randomness: 120 bits, 24 base32 characters.
	accessorBytes = 15
	// HashKeySize is the size of the key that NewService hashes secrets with.
	HashKeySize = 32
)

// secretLen is the length of every well-formed secret.
var secretLen = len(secretPrefix) + base64.RawURLEncoding.EncodedLen(secretBytes)

// hashKeyLabel separates the token hash key from other keys derived from
// the same secret.
const hashKeyLabel = "coffer vault token hash key v1"

// DeriveHashKey returns the HashKeySize-byte key NewService hashes secrets
// with: HMAC-SHA256 keyed with secret (such as the seal's root key) over a
// fixed label, so the key is stable across restarts and differs from every
// other key derived from secret.
func DeriveHashKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(hashKeyLabel))
	return m.Sum(nil)
}

// newSecret returns a fresh secret: "hvs." and the unpadded base64url
// encoding of 32 random bytes.
func newSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return "", fmt.Errorf("read random secret: %w", err)
	}
	return secretPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// wellFormed reports whether secret has the form newSecret gives, in its
// one canonical encoding. Format is public, so this need not be constant
// time.
func wellFormed(secret string) bool {
	if len(secret) != secretLen || !strings.HasPrefix(secret, secretPrefix) {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(secret[len(secretPrefix):])
	return err == nil && len(b) == secretBytes
}

// newAccessor returns a fresh accessor: 24 lower-case base32 characters.
func newAccessor() (string, error) {
	b := make([]byte, accessorBytes)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		return "", fmt.Errorf("read random accessor: %w", err)
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), nil
}

// hashSecret returns HMAC-SHA256(key, secret), the stored form of secret.
func hashSecret(key []byte, secret string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(secret))
	return m.Sum(nil)
}
