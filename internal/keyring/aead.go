package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/cofferhq/coffer/internal/errs"
)

// nonceSize is the nonce length of every AEAD here (96 bits), and the
// length of the nonce prefix of their ciphertexts.
const nonceSize = 12

// maxAEADPlaintext is the longest plaintext AES-GCM can encrypt under one
// nonce (2^39-256 bits, NIST SP 800-38D); ChaCha20-Poly1305 allows more.
// Checking it turns the primitives' panic into an error.
const maxAEADPlaintext = 1<<36 - 32

// aeadKey encrypts with an AEAD and a random nonce per message.
type aeadKey struct {
	aead cipher.AEAD // takes a caller's nonce; used to open, and to seal when random is nil
	// random seals with a nonce it draws itself and prefixes (AES-GCM only).
	random cipher.AEAD
}

func randomBytes(n int) func() ([]byte, error) {
	return func() ([]byte, error) {
		b := make([]byte, n)
		if _, err := io.ReadFull(rand.Reader, b); err != nil {
			return nil, fmt.Errorf("read random key: %w", err)
		}
		return b, nil
	}
}

func loadAESGCM(size int) func([]byte) (parts, error) {
	return func(material []byte) (parts, error) {
		if len(material) != size {
			return parts{}, errs.E(errs.InvalidArgument, "AES-GCM key material must be %d bytes, got %d", size, len(material))
		}
		block, err := aes.NewCipher(material)
		if err != nil {
			return parts{}, fmt.Errorf("new AES cipher: %w", err)
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return parts{}, fmt.Errorf("new GCM: %w", err)
		}
		random, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return parts{}, fmt.Errorf("new GCM with random nonce: %w", err)
		}
		k := &aeadKey{aead: gcm, random: random}
		return parts{enc: k, aead: gcm}, nil
	}
}

func loadChaCha20Poly1305(material []byte) (parts, error) {
	if len(material) != chacha20poly1305.KeySize {
		return parts{}, errs.E(errs.InvalidArgument, "ChaCha20-Poly1305 key material must be %d bytes, got %d",
			chacha20poly1305.KeySize, len(material))
	}
	aead, err := chacha20poly1305.New(material)
	if err != nil {
		return parts{}, fmt.Errorf("new ChaCha20-Poly1305: %w", err)
	}
	return parts{enc: &aeadKey{aead: aead}, aead: aead}, nil
}

func (k *aeadKey) encrypt(plaintext, aad []byte) ([]byte, error) {
	if uint64(len(plaintext)) > maxAEADPlaintext {
		return nil, errs.E(errs.InvalidArgument, "plaintext is too long (at most %d bytes)", uint64(maxAEADPlaintext))
	}
	if k.random != nil {
		return k.random.Seal(nil, nil, plaintext, aad), nil
	}
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+k.aead.Overhead())
	if _, err := io.ReadFull(rand.Reader, out); err != nil {
		return nil, fmt.Errorf("read nonce: %w", err)
	}
	return k.aead.Seal(out, out, plaintext, aad), nil
}

func (k *aeadKey) decrypt(ciphertext, aad []byte) ([]byte, error) {
	if len(ciphertext) < nonceSize+k.aead.Overhead() {
		return nil, errDecrypt()
	}
	pt, err := k.aead.Open(nil, ciphertext[:nonceSize], ciphertext[nonceSize:], aad)
	if err != nil {
		return nil, errDecrypt()
	}
	if pt == nil {
		pt = []byte{} // nil means failure to callers; an empty plaintext is not
	}
	return pt, nil
}

// errDecrypt is the one error every failed decryption returns.
func errDecrypt() error { return errs.E(errs.InvalidArgument, "decryption failed") }
