package transit

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"testing"
)

// The benchmarks compare transit's aes256-gcm96 encrypt and decrypt of a
// 128-byte plaintext, framing included, with the bare primitive: AES-GCM
// with a random 12-byte nonce, no framing.

const benchSize = 128

func benchKey(b *testing.B) *Key {
	b.Helper()
	k, err := NewKey("bench", TypeAES256GCM96, Options{})
	mustOK(b, err)
	return k
}

func BenchmarkEncrypt(b *testing.B) {
	k, pt := benchKey(b), make([]byte, benchSize)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := k.Encrypt(pt, Params{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt(b *testing.B) {
	k := benchKey(b)
	ct, _, err := k.Encrypt(make([]byte, benchSize), Params{})
	mustOK(b, err)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Decrypt(ct, Params{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncryptDerived(b *testing.B) {
	k, err := NewKey("bench", TypeAES256GCM96, Options{Derived: true})
	mustOK(b, err)
	pt, p := make([]byte, benchSize), Params{Context: []byte("tenant")}
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := k.Encrypt(pt, p); err != nil {
			b.Fatal(err)
		}
	}
}

func rawGCM(b *testing.B) cipher.AEAD {
	b.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, err := aes.NewCipher(key)
	mustOK(b, err)
	gcm, err := cipher.NewGCM(block)
	mustOK(b, err)
	return gcm
}

// BenchmarkEncryptRawBaseline is the primitive under BenchmarkEncrypt.
func BenchmarkEncryptRawBaseline(b *testing.B) {
	gcm, pt := rawGCM(b), make([]byte, benchSize)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		out := make([]byte, 12, 12+benchSize+16)
		_, _ = rand.Read(out)
		_ = gcm.Seal(out, out, pt, nil)
	}
}

// BenchmarkDecryptRawBaseline is the primitive under BenchmarkDecrypt,
// with the base64 decode the framing needs.
func BenchmarkDecryptRawBaseline(b *testing.B) {
	gcm := rawGCM(b)
	nonce := make([]byte, 12)
	body := base64.StdEncoding.EncodeToString(gcm.Seal(nonce, nonce, make([]byte, benchSize), nil))
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		raw, _ := base64.StdEncoding.DecodeString(body)
		if _, err := gcm.Open(nil, raw[:12], raw[12:], nil); err != nil {
			b.Fatal(err)
		}
	}
}
