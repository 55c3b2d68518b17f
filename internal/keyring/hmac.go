package keyring

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"hash"

	"github.com/cofferhq/coffer/internal/errs"
)

// minHMACKey is the shortest HMAC key Load accepts: 128 bits, above the
// 112-bit floor of NIST SP 800-131A (and of Go's FIPS 140-3 mode).
const minHMACKey = 16

var (
	hmacSHA256 = sha256.New
	hmacSHA384 = sha512.New384
	hmacSHA512 = sha512.New
)

// hmacKey computes and checks HMACs.
type hmacKey struct {
	key  []byte // Load's own copy; Destroy overwrites it
	hash func() hash.Hash
}

func loadHMAC(h func() hash.Hash) func([]byte) (parts, error) {
	return func(material []byte) (parts, error) {
		if len(material) < minHMACKey {
			return parts{}, errs.E(errs.InvalidArgument, "HMAC key material must be at least %d bytes, got %d",
				minHMACKey, len(material))
		}
		key := append([]byte(nil), material...)
		return parts{sig: &hmacKey{key: key, hash: h}, wipe: func() { clear(key) }}, nil
	}
}

func (k *hmacKey) sign(message []byte) ([]byte, error) {
	return k.mac(message), nil
}

func (k *hmacKey) verify(message, sig []byte) bool {
	return hmac.Equal(k.mac(message), sig)
}

func (k *hmacKey) mac(message []byte) []byte {
	m := hmac.New(k.hash, k.key)
	m.Write(message)
	return m.Sum(nil)
}
