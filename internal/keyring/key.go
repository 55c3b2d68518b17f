package keyring

import (
	"crypto"
	"crypto/cipher"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"sync"

	"github.com/cofferhq/coffer/internal/errs"
)

// encrypter is implemented by keys with an encrypt/decrypt purpose.
type encrypter interface {
	encrypt(plaintext, aad []byte) ([]byte, error)
	decrypt(ciphertext, aad []byte) ([]byte, error)
}

// signer is implemented by signing and MAC keys.
type signer interface {
	sign(message []byte) ([]byte, error)
	verify(message, sig []byte) bool
}

// parts is a loaded key, taken apart by capability. Fields a key does not
// support are nil.
type parts struct {
	enc  encrypter
	sig  signer
	pub  crypto.PublicKey // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
	aead cipher.AEAD      // the nonce-taking AEAD, for AEAD algorithms
	wipe func()           // overwrites secret bytes the key holds, if any
}

// Key is one usable key version of one Algorithm. It is safe for concurrent
// use. Its ciphers and parsed keys are built once by Load, so operations
// cost little more than the underlying primitive.
type Key struct {
	alg       Algorithm
	mu        sync.RWMutex // write-locked only by Destroy
	destroyed bool
	parts
}

// Load returns the key of algorithm a whose secret material is material,
// in the form Generate returns. Sizes, key types, curves and moduli are
// checked: material that does not fit a, or an unknown a, is
// errs.InvalidArgument.
//
// HMAC keys may be any length of at least 16 bytes, so keys made elsewhere
// (and standard test vectors) load; Generate makes them the hash's size.
//
// Load does not keep material: what the Key needs is copied or parsed, so
// the caller may overwrite material afterwards.
func Load(a Algorithm, material []byte) (*Key, error) {
	s, ok := specs[a]
	if !ok {
		return nil, unknownAlgorithm(a)
	}
	p, err := s.load(material)
	if err != nil {
		return nil, err
	}
	return &Key{alg: a, parts: p}, nil
}

// Algorithm returns the key's algorithm.
func (k *Key) Algorithm() Algorithm { return k.alg }

// String describes the key without its material.
func (k *Key) String() string {
	return fmt.Sprintf("keyring.Key{%s, material: <redacted>}", k.alg)
}

// GoString is String, so %#v does not print the key's fields.
func (k *Key) GoString() string { return k.String() }

// Format writes String for every verb, so no fmt verb (%x, %d, %+v …) can
// reach the key's fields.
func (k *Key) Format(f fmt.State, _ rune) { fmt.Fprint(f, k.String()) }

// Encrypt encrypts plaintext. The result is a fresh slice.
//
// For AEAD algorithms it is nonce (12 bytes) || ciphertext || tag, with a
// fresh random nonce, and aad is authenticated. For RSA-OAEP (with the
// algorithm's hash for OAEP and MGF1, and an empty label) aad must be
// empty, and a plaintext longer than the key allows is
// errs.InvalidArgument. Keys of other purposes give errs.FailedPrecondition.
func (k *Key) Encrypt(plaintext, aad []byte) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if err := k.usable(); err != nil {
		return nil, err
	}
	if k.enc == nil {
		return nil, errs.E(errs.FailedPrecondition, "key algorithm %s cannot encrypt", k.alg)
	}
	return k.enc.encrypt(plaintext, aad)
}

// Decrypt reverses Encrypt under the same aad. The result is a fresh slice.
// Every failure to decrypt (wrong key, wrong aad, a modified, truncated or
// empty ciphertext, and for RSA-OAEP any non-empty aad) is
// errs.InvalidArgument with the one message "decryption failed", so errors
// tell an attacker nothing. Keys of other purposes give
// errs.FailedPrecondition.
func (k *Key) Decrypt(ciphertext, aad []byte) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if err := k.usable(); err != nil {
		return nil, err
	}
	if k.enc == nil {
		return nil, errs.E(errs.FailedPrecondition, "key algorithm %s cannot decrypt", k.alg)
	}
	return k.enc.decrypt(ciphertext, aad)
}

// Sign returns a signature of message: for ECDSA an ASN.1 DER signature of
// the algorithm's hash of message, for Ed25519 a pure Ed25519 signature of
// message, and for HMAC the MAC of message. Encryption keys give
// errs.FailedPrecondition.
func (k *Key) Sign(message []byte) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if err := k.usable(); err != nil {
		return nil, err
	}
	if k.sig == nil {
		return nil, errs.E(errs.FailedPrecondition, "key algorithm %s cannot sign", k.alg)
	}
	return k.sig.sign(message)
}

// Verify reports whether sig is a valid signature (or MAC) of message under
// this key. A malformed sig is (false, nil); MACs are compared in constant
// time. Encryption keys give errs.FailedPrecondition.
func (k *Key) Verify(message, sig []byte) (bool, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if err := k.usable(); err != nil {
		return false, err
	}
	if k.sig == nil {
		return false, errs.E(errs.FailedPrecondition, "key algorithm %s cannot verify", k.alg)
	}
	return k.sig.verify(message, sig), nil
}

// PublicKeyPEM returns the public key as a PKIX "PUBLIC KEY" PEM block, for
// RSA, ECDSA and Ed25519 keys. Symmetric and HMAC keys give
// errs.FailedPrecondition.
func (k *Key) PublicKeyPEM() (string, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if err := k.usable(); err != nil {
		return "", err
	}
	if k.pub == nil {
		return "", errs.E(errs.FailedPrecondition, "key algorithm %s has no public key", k.alg)
	}
	der, err := x509.MarshalPKIXPublicKey(k.pub)
	if err != nil {
		return "", fmt.Errorf("marshal public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// AEAD returns the key's AEAD with caller-chosen 12-byte nonces, for
// callers that frame ciphertexts themselves (the Vault transit engine).
// It is safe for concurrent use. Keys that are not AEAD keys give
// errs.FailedPrecondition.
//
// NOTE: the returned AEAD holds its own expanded key and keeps working
// after Destroy; callers must drop it when they destroy the Key.
func (k *Key) AEAD() (cipher.AEAD, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if err := k.usable(); err != nil {
		return nil, err
	}
	if k.aead == nil {
		return nil, errs.E(errs.FailedPrecondition, "key algorithm %s is not an AEAD", k.alg)
	}
	return k.aead, nil
}

// Destroy overwrites the secret bytes the Key holds where Go lets it (HMAC
// keys, Ed25519 private keys) and drops every reference to its ciphers and
// parsed keys. Afterwards every operation is errs.FailedPrecondition.
// Destroy waits for operations in flight and may be called more than once.
//
// NOTE: this is best effort. Expanded AES and ChaCha20 keys and parsed RSA
// and ECDSA keys live in unexported standard-library fields that cannot be
// overwritten, and Go may have copied any of them; they are left to the
// garbage collector.
func (k *Key) Destroy() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.wipe != nil {
		k.wipe()
	}
	k.parts = parts{}
	k.destroyed = true
}

// usable returns an error if the key was destroyed. Callers hold k.mu.
func (k *Key) usable() error {
	if k.destroyed {
		return errs.E(errs.FailedPrecondition, "key material destroyed")
	}
	return nil
}
