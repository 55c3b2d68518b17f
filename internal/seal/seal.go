// Package seal implements Coffer's root of trust: a 256-bit root key that
// wraps all key material at rest (the JWT signing key, embedded KMS key
// versions, instance keyrings' fallback keys) with AES-256-GCM.
//
// Every wrapped value is bound to its purpose and place through AAD, so a
// wrapped key cannot be moved to another row or used for another purpose.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/cofferhq/coffer/internal/errs"
)

// KeySize is the size of the root key in bytes.
const KeySize = 32

// formatV1 is the first byte of every wrapped value.
const formatV1 = 1

// Seal wraps and unwraps key material under the root key. It is safe for
// concurrent use.
type Seal struct {
	aead cipher.AEAD
	key  []byte // kept only to derive subkeys
}

// New returns a Seal over the 32-byte root key. The slice is copied.
func New(rootKey []byte) (*Seal, error) {
	if len(rootKey) != KeySize {
		return nil, errs.E(errs.InvalidArgument, "root key must be %d bytes, got %d", KeySize, len(rootKey))
	}
	k := append([]byte(nil), rootKey...)
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("new root cipher: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("new root GCM: %w", err)
	}
	return &Seal{aead: aead, key: k}, nil
}

// String never shows key material.
func (s *Seal) String() string { return "seal.Seal{root key: <redacted>}" }

// Wrap encrypts plaintext bound to aad. The result is a fresh slice:
// format byte || nonce || ciphertext || tag.
func (s *Seal) Wrap(plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, 1, 1+s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	out[0] = formatV1
	return s.aead.Seal(out, nil, plaintext, aad), nil
}

// Unwrap decrypts a value made by Wrap with the same aad. A wrong root key, a
// wrong aad or a modified value all give errs.FailedPrecondition.
func (s *Seal) Unwrap(wrapped, aad []byte) ([]byte, error) {
	if len(wrapped) < 1 || wrapped[0] != formatV1 {
		return nil, errs.E(errs.FailedPrecondition, "unwrap: unknown format")
	}
	pt, err := s.aead.Open(nil, nil, wrapped[1:], aad)
	if err != nil {
		return nil, errs.E(errs.FailedPrecondition, "unwrap: authentication failed (wrong root key or tampered value)")
	}
	return pt, nil
}

// DeriveKey returns a 32-byte subkey of the root key for one purpose (HKDF-SHA256).
// Subkeys let other packages key a MAC without ever seeing the root key.
func (s *Seal) DeriveKey(purpose string) ([]byte, error) {
	k, err := hkdf.Key(sha256.New, s.key, nil, "coffer/"+purpose, KeySize)
	if err != nil {
		return nil, fmt.Errorf("derive %s key: %w", purpose, err)
	}
	return k, nil
}

// NewRootKey returns a fresh random root key.
func NewRootKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := io.ReadFull(rand.Reader, k); err != nil {
		return nil, errors.New("read random root key")
	}
	return k, nil
}
