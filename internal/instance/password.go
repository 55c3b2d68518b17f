package instance

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"strings"
)

// Hasher computes keyed hashes of generated user passwords. Generated
// passwords carry 256 bits of entropy, so a fast keyed hash (HMAC-SHA256)
// is enough: no guessing attack is feasible, and the key keeps a stolen
// database from being usable to test candidate passwords offline.
type Hasher struct {
	key []byte
}

// NewHasher returns a Hasher keyed with key (a subkey of the root key).
func NewHasher(key []byte) *Hasher { return &Hasher{key: append([]byte(nil), key...)} }

// Hash returns the keyed hash of password.
func (h *Hasher) Hash(password string) []byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(password))
	return m.Sum(nil)
}

// Verify reports in constant time whether password matches hash.
func (h *Hasher) Verify(password string, hash []byte) bool {
	return hmac.Equal(h.Hash(password), hash)
}

// newPassword returns a password with 256 bits of entropy (52 base32 characters).
func newPassword() string { return rand.Text() + rand.Text() }

// newUsername returns a random username: "sm-" and 16 lowercase base32
// characters (80 bits), unique with overwhelming probability; the store's
// unique index catches the rest.
func newUsername() string { return "sm-" + strings.ToLower(rand.Text()[:16]) }
