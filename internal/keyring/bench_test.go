package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// The benchmarks measure keyring over its primitives. BenchmarkRawAESGCM and
// BenchmarkRawChaCha20Poly1305 do the same work (random nonce, seal, open)
// on crypto/cipher and x/crypto directly, so one run shows keyring's
// overhead per size beside the CPU floor.

var benchSizes = []int{128, 1 << 10, 16 << 10}

var benchAAD = []byte("instance/4f1c/kv/app/db/password/v12")

func sizeName(n int) string {
	if n >= 1<<10 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

func BenchmarkEncrypt(b *testing.B) {
	for _, a := range []Algorithm{AES256GCM, ChaCha20Poly1305} {
		k := mustGenerate(b, a)
		for _, n := range benchSizes {
			b.Run(string(a)+"/"+sizeName(n), func(b *testing.B) {
				pt := make([]byte, n)
				b.SetBytes(int64(n))
				for b.Loop() {
					if _, err := k.Encrypt(pt, benchAAD); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	for _, a := range []Algorithm{AES256GCM, ChaCha20Poly1305} {
		k := mustGenerate(b, a)
		for _, n := range benchSizes {
			b.Run(string(a)+"/"+sizeName(n), func(b *testing.B) {
				ct, err := k.Encrypt(make([]byte, n), benchAAD)
				if err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(n))
				for b.Loop() {
					if _, err := k.Decrypt(ct, benchAAD); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkSign(b *testing.B) {
	msg := make([]byte, 256)
	for _, a := range []Algorithm{ECDSAP256SHA256, Ed25519} {
		k := mustGenerate(b, a)
		b.Run(string(a), func(b *testing.B) {
			for b.Loop() {
				if _, err := k.Sign(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchRawAEAD seals with a fresh crypto/rand nonce and opens, on aead
// directly: the floor keyring's Encrypt and Decrypt are measured against.
func benchRawAEAD(b *testing.B, aead cipher.AEAD) {
	for _, n := range benchSizes {
		pt := make([]byte, n)
		b.Run("Encrypt/"+sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				out := make([]byte, 12, 12+n+aead.Overhead())
				if _, err := io.ReadFull(rand.Reader, out); err != nil {
					b.Fatal(err)
				}
				_ = aead.Seal(out, out, pt, benchAAD)
			}
		})
		b.Run("Decrypt/"+sizeName(n), func(b *testing.B) {
			nonce := make([]byte, 12)
			ct := aead.Seal(nil, nonce, pt, benchAAD)
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := aead.Open(nil, nonce, ct, benchAAD); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRawAESGCM(b *testing.B) {
	key := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		b.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		b.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	benchRawAEAD(b, aead)
}

func BenchmarkRawChaCha20Poly1305(b *testing.B) {
	key := make([]byte, chacha20poly1305.KeySize)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		b.Fatal(err)
	}
	aead, err := chacha20poly1305.New(key)
	if err != nil {
		b.Fatal(err)
	}
	benchRawAEAD(b, aead)
}
