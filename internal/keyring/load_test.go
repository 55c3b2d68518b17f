package keyring

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"

	"github.com/cofferhq/coffer/internal/errs"
)

func mustPKCS8(t *testing.T, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func TestLoadRejectsMismatchedMaterial(t *testing.T) {
	t.Parallel()
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	x25519, _ := ecdh.X25519().GenerateKey(rand.Reader)
	rsa2048 := rsaFixture(t, RSA2048OAEPSHA256, "a")
	rsa3072 := rsaFixture(t, RSA3072OAEPSHA256, "a")
	rsa4096 := rsaFixture(t, RSA4096OAEPSHA256, "a")
	rsaKey, _ := x509.ParsePKCS8PrivateKey(rsa2048)
	pkcs1 := x509.MarshalPKCS1PrivateKey(rsaKey.(*rsa.PrivateKey))
	sec1, _ := x509.MarshalECPrivateKey(p256)

	cases := []struct {
		name     string
		alg      Algorithm
		material []byte
	}{
		{"aes_256_gcm 16 bytes", AES256GCM, make([]byte, 16)},
		{"aes_256_gcm 31 bytes", AES256GCM, make([]byte, 31)},
		{"aes_256_gcm 33 bytes", AES256GCM, make([]byte, 33)},
		{"aes_256_gcm empty", AES256GCM, []byte{}},
		{"aes_256_gcm nil", AES256GCM, nil},
		{"aes256-gcm96 24 bytes", AES256GCM96, make([]byte, 24)},
		{"aes128-gcm96 32 bytes", AES128GCM96, make([]byte, 32)},
		{"aes128-gcm96 15 bytes", AES128GCM96, make([]byte, 15)},
		{"chacha20-poly1305 16 bytes", ChaCha20Poly1305, make([]byte, 16)},
		{"chacha20-poly1305 64 bytes", ChaCha20Poly1305, make([]byte, 64)},
		{"aes_256_gcm given PKCS#8", AES256GCM, mustPKCS8(t, ed)},
		{"hmac_sha256 15 bytes", HMACSHA256, make([]byte, 15)},
		{"hmac_sha384 4 bytes (RFC 4231 case 2 key)", HMACSHA384, []byte("Jefe")},
		{"hmac_sha512 empty", HMACSHA512, nil},
		{"ecdsa_p256_sha256 given P-384", ECDSAP256SHA256, mustPKCS8(t, p384)},
		{"ecdsa_p256_sha256 given P-521", ECDSAP256SHA256, mustPKCS8(t, p521)},
		{"ecdsa_p384_sha384 given P-256", ECDSAP384SHA384, mustPKCS8(t, p256)},
		{"ecdsa_p521_sha512 given P-384", ECDSAP521SHA512, mustPKCS8(t, p384)},
		{"ecdsa_p256_sha256 given SEC1 not PKCS#8", ECDSAP256SHA256, sec1},
		{"ecdsa_p256_sha256 given Ed25519", ECDSAP256SHA256, mustPKCS8(t, ed)},
		{"ecdsa_p256_sha256 given RSA", ECDSAP256SHA256, rsa2048},
		{"ecdsa_p256_sha256 given X25519", ECDSAP256SHA256, mustPKCS8(t, x25519)},
		{"rsa_3072 given RSA-2048", RSA3072OAEPSHA256, rsa2048},
		{"rsa_2048 given RSA-3072", RSA2048OAEPSHA256, rsa3072},
		{"rsa_2048 given RSA-4096", RSA2048OAEPSHA256, rsa4096},
		{"rsa_4096_sha256 given RSA-3072", RSA4096OAEPSHA256, rsa3072},
		{"rsa_4096_sha512 given RSA-2048", RSA4096OAEPSHA512, rsa2048},
		{"rsa_2048 given PKCS#1 not PKCS#8", RSA2048OAEPSHA256, pkcs1},
		{"rsa_2048 given P-256", RSA2048OAEPSHA256, mustPKCS8(t, p256)},
		{"rsa_2048 given Ed25519", RSA2048OAEPSHA256, mustPKCS8(t, ed)},
		{"rsa_2048 given raw 32 bytes", RSA2048OAEPSHA256, make([]byte, 32)},
		{"ed25519 given RSA", Ed25519, rsa2048},
		{"ed25519 given P-256", Ed25519, mustPKCS8(t, p256)},
		{"ed25519 given X25519", Ed25519, mustPKCS8(t, x25519)},
		{"ed25519 given raw seed", Ed25519, ed.Seed()},
		{"ed25519 given raw private key", Ed25519, ed},
		{"ed25519 garbage DER", Ed25519, []byte{0x30, 0x03, 0x02, 0x01, 0x00}},
		{"ed25519 truncated PKCS#8", Ed25519, mustPKCS8(t, ed)[:20]},
		{"ed25519 PKCS#8 with trailing byte", Ed25519, append(mustPKCS8(t, ed), 0)},
		{"rsa_2048 truncated PKCS#8", RSA2048OAEPSHA256, rsa2048[:len(rsa2048)-1]},
		{"ecdsa_p256_sha256 text", ECDSAP256SHA256, []byte("-----BEGIN PRIVATE KEY-----")},
		{"unknown algorithm", Algorithm("aes_128_gcm"), make([]byte, 16)},
		{"empty algorithm", Algorithm(""), make([]byte, 32)},
		{"algorithm in upper case", Algorithm("AES_256_GCM"), make([]byte, 32)},
		{"rsa_1024", Algorithm("rsa_1024_oaep_sha256"), rsa2048},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k, err := Load(tc.alg, tc.material)
			wantErr(t, err, errs.InvalidArgument, "")
			if k != nil {
				t.Errorf("Load() = %v, want nil", k)
			}
		})
	}
}

// TestLoadAcceptsHMACKeyLengths: any HMAC key of at least 16 bytes loads,
// including keys longer than the hash's block size.
func TestLoadAcceptsHMACKeyLengths(t *testing.T) {
	t.Parallel()
	for _, a := range []Algorithm{HMACSHA256, HMACSHA384, HMACSHA512} {
		for _, n := range []int{16, 20, 32, 48, 64, 131, 1000} {
			if _, err := Load(a, make([]byte, n)); err != nil {
				t.Errorf("Load(%s, %d bytes) error: %v", a, n, err)
			}
		}
	}
}

// TestLoadCopiesMaterial: overwriting material after Load must not change
// the key.
func TestLoadCopiesMaterial(t *testing.T) {
	t.Parallel()
	for _, a := range []Algorithm{AES256GCM, ChaCha20Poly1305, HMACSHA256, Ed25519, ECDSAP256SHA256} {
		m, err := Generate(a)
		if err != nil {
			t.Fatal(err)
		}
		k := mustLoad(t, a, m)
		ref := mustLoad(t, a, bytes.Clone(m))
		clear(m)
		msg := []byte("message")
		if a.Purpose() == SymmetricEncryptDecrypt {
			ct, _ := k.Encrypt(msg, nil)
			if _, err := ref.Decrypt(ct, nil); err != nil {
				t.Errorf("%s: key changed when its material was overwritten", a)
			}
			continue
		}
		sig, _ := k.Sign(msg)
		if ok, _ := ref.Verify(msg, sig); !ok {
			t.Errorf("%s: key changed when its material was overwritten", a)
		}
	}
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	rawSize := map[Algorithm]int{
		AES256GCM: 32, AES256GCM96: 32, AES128GCM96: 16, ChaCha20Poly1305: 32,
		HMACSHA256: 32, HMACSHA384: 48, HMACSHA512: 64,
	}
	for _, a := range Algorithms() {
		if a == RSA3072OAEPSHA256 || a == RSA4096OAEPSHA256 || a == RSA4096OAEPSHA512 {
			// NOTE: RSA-3072/4096 generation takes 1-30 s of CPU here and is
			// the same code path as RSA-2048 with a different size; their
			// Load size checks are tested with fixtures.
			continue
		}
		t.Run(string(a), func(t *testing.T) {
			t.Parallel()
			m1, err := Generate(a)
			if err != nil {
				t.Fatalf("Generate() error: %v", err)
			}
			m2, err := Generate(a)
			if err != nil {
				t.Fatalf("Generate() error: %v", err)
			}
			if bytes.Equal(m1, m2) {
				t.Fatal("Generate() returned the same material twice")
			}
			if n, ok := rawSize[a]; ok && len(m1) != n {
				t.Errorf("len(Generate()) = %d, want %d", len(m1), n)
			}
			if _, ok := rawSize[a]; !ok {
				checkPKCS8Type(t, a, m1)
			}
			mustLoad(t, a, m1)
		})
	}
	if _, err := Generate("aes_512_gcm"); errs.KindOf(err) != errs.InvalidArgument {
		t.Errorf("Generate(unknown) kind = %v, want InvalidArgument", errs.KindOf(err))
	}
}

// checkPKCS8Type parses m as PKCS#8 and checks the key's type and size
// against a, independently of Load.
func checkPKCS8Type(t *testing.T, a Algorithm, m []byte) {
	t.Helper()
	key, err := x509.ParsePKCS8PrivateKey(m)
	if err != nil {
		t.Fatalf("Generate() is not PKCS#8: %v", err)
	}
	var ok bool
	switch k := key.(type) {
	case *rsa.PrivateKey:
		ok = a == RSA2048OAEPSHA256 && k.N.BitLen() == 2048
	case *ecdsa.PrivateKey:
		ok = a == ECDSAP256SHA256 && k.Curve == elliptic.P256() ||
			a == ECDSAP384SHA384 && k.Curve == elliptic.P384() ||
			a == ECDSAP521SHA512 && k.Curve == elliptic.P521()
	case ed25519.PrivateKey:
		ok = a == Ed25519
	}
	if !ok {
		t.Errorf("Generate(%s) made a %T", a, key)
	}
}
