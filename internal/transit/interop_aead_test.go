package transit

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"testing"
)

// aeadMode is one way an AEAD key can be configured.
type aeadMode struct {
	name                string
	derived, convergent bool
}

var aeadModes = []aeadMode{{"plain", false, false}, {"derived", true, false}, {"convergent", true, true}}

// handKeys returns the encryption key and (convergent only) nonce key that
// §0.2 says version ver of k uses under context, from its exported key.
func handKeys(t *testing.T, k *Key, typ string, m aeadMode, ver int, context []byte) (encKey, nonceKey []byte) {
	t.Helper()
	raw := b64(t, export(t, k, ExportEncryptionKey, ver))
	keyLen := map[string]int{TypeAES128GCM96: 16, TypeAES256GCM96: 32, TypeChaCha20Poly1305: 32}[typ]
	if len(raw) != keyLen {
		t.Fatalf("exported %s key is %d bytes, want %d (§1.2)", typ, len(raw), keyLen)
	}
	if !m.derived {
		return raw, nil
	}
	if !m.convergent {
		return handHKDF(raw, context, keyLen), nil
	}
	d := handHKDF(raw, context, keyLen+32)
	return d[:keyLen], d[keyLen:]
}

// TestInteropAEADFromTransit decrypts transit's ciphertexts with the
// standard library, taking them apart by hand (§0.1, §0.2, §1.2).
func TestInteropAEADFromTransit(t *testing.T) {
	t.Parallel()
	for _, typ := range aeadTypes {
		for _, m := range aeadModes {
			t.Run(typ+"/"+m.name, func(t *testing.T) {
				t.Parallel()
				k := newKey(t, typ, Options{Derived: m.derived, Convergent: m.convergent, Exportable: true})
				mustOK(t, k.Rotate(k.Versions[1].CreatedAt)) // exercise a version other than 1
				for _, pt := range [][]byte{{}, []byte("hello world"), bytes.Repeat([]byte{7}, 1000)} {
					ctx, aad := []byte("tenant-42"), []byte("row/7")
					ct, ver, err := k.Encrypt(pt, Params{Context: ctx, AssociatedData: aad, KeyVersion: 1})
					if err != nil || ver != 1 {
						t.Fatalf("Encrypt() = %q, %d, %v", ct, ver, err)
					}
					gotVer, body := handSplit(t, ct, base64.StdEncoding)
					if gotVer != 1 || len(body) != 12+len(pt)+16 {
						t.Fatalf("%q: version %d, body %d bytes; want 1 and %d (12+len+16)", ct, gotVer, len(body), 12+len(pt)+16)
					}
					encKey, nonceKey := handKeys(t, k, typ, m, 1, ctx)
					got, err := stdAEAD(t, typ, encKey).Open(nil, body[:12], body[12:], aad)
					if err != nil || !bytes.Equal(got, pt) {
						t.Fatalf("standard library Open = %q, %v; want %q", got, err, pt)
					}
					if m.convergent {
						if want := hmacSHA256(nonceKey, pt)[:12]; !bytes.Equal(body[:12], want) {
							t.Fatalf("convergent nonce = %x, want HMAC-SHA256(nonce key, plaintext)[:12] = %x", body[:12], want)
						}
					}
				}
			})
		}
	}
}

// TestInteropAEADToTransit builds ciphertexts with the standard library
// and the framing of §0.1 by hand, and checks transit decrypts them.
func TestInteropAEADToTransit(t *testing.T) {
	t.Parallel()
	for _, typ := range aeadTypes {
		for _, m := range aeadModes {
			t.Run(typ+"/"+m.name, func(t *testing.T) {
				t.Parallel()
				k := newKey(t, typ, Options{Derived: m.derived, Convergent: m.convergent, Exportable: true})
				mustOK(t, k.Rotate(k.Versions[1].CreatedAt))
				for ver := 1; ver <= 2; ver++ {
					ctx, aad, pt := []byte(fmt.Sprint("ctx", ver)), []byte("aad"), []byte("attack at dawn")
					encKey, nonceKey := handKeys(t, k, typ, m, ver, ctx)
					nonce := make([]byte, 12)
					if _, err := rand.Read(nonce); err != nil {
						t.Fatal(err)
					}
					if m.convergent {
						nonce = hmacSHA256(nonceKey, pt)[:12]
					}
					ct := handFrame(ver, stdAEAD(t, typ, encKey).Seal(nonce, nonce, pt, aad))
					got, err := k.Decrypt(ct, Params{Context: ctx, AssociatedData: aad})
					if err != nil || !bytes.Equal(got, pt) {
						t.Fatalf("Decrypt(%q) = %q, %v; want %q", ct, got, err, pt)
					}
					if m.convergent { // the hand-made ciphertext is the one transit makes
						if again, _, err := k.Encrypt(pt, Params{Context: ctx, AssociatedData: aad, KeyVersion: ver}); err != nil || again != ct {
							t.Fatalf("convergent Encrypt = %q, %v; want the hand-made %q", again, err, ct)
						}
					}
				}
			})
		}
	}
}

// TestConvergentDeterminism checks §1.2: the same plaintext and context
// give the same ciphertext; another plaintext or context gives another
// nonce; non-convergent keys never repeat.
func TestConvergentDeterminism(t *testing.T) {
	t.Parallel()
	for _, typ := range aeadTypes {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			conv := newKey(t, typ, Options{Derived: true, Convergent: true})
			enc := func(k *Key, pt, ctx string) string {
				s, _, err := k.Encrypt([]byte(pt), Params{Context: []byte(ctx)})
				mustOK(t, err)
				return s
			}
			a, b := enc(conv, "pt", "c1"), enc(conv, "pt", "c1")
			if a != b {
				t.Fatalf("convergent encryptions differ: %q, %q", a, b)
			}
			if c := enc(conv, "pt", "c2"); c == a {
				t.Fatal("another context gave the same ciphertext")
			}
			if c := enc(conv, "pu", "c1"); c[:20] == a[:20] {
				t.Fatal("another plaintext gave the same nonce")
			}
			derived := newKey(t, typ, Options{Derived: true})
			if enc(derived, "pt", "c1") == enc(derived, "pt", "c1") {
				t.Fatal("a derived, non-convergent key repeated a ciphertext")
			}
		})
	}
}

// TestInteropRSAEncryption checks §1.2's RSA ciphertext: the raw
// OAEP(SHA-256, empty label) block, modulus-sized, with the usual prefix.
func TestInteropRSAEncryption(t *testing.T) {
	t.Parallel()
	for _, typ := range rsaTypes {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			k := newKey(t, typ, Options{Exportable: true})
			priv, err := x509.ParsePKCS1PrivateKey(pemBlock(t, export(t, k, ExportEncryptionKey, 1), "RSA PRIVATE KEY"))
			mustOK(t, err)
			pubAny, err := x509.ParsePKIXPublicKey(pemBlock(t, export(t, k, ExportPublicKey, 1), "PUBLIC KEY"))
			mustOK(t, err)
			pub := pubAny.(*rsa.PublicKey)
			pt := []byte("data key bytes")

			ct, ver, err := k.Encrypt(pt, Params{})
			if err != nil || ver != 1 {
				t.Fatalf("Encrypt() = %q, %d, %v", ct, ver, err)
			}
			_, body := handSplit(t, ct, base64.StdEncoding)
			if len(body) != priv.Size() {
				t.Fatalf("RSA body is %d bytes, want the modulus size %d", len(body), priv.Size())
			}
			if got, err := rsa.DecryptOAEP(sha256.New(), nil, priv, body, nil); err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("standard library DecryptOAEP = %q, %v", got, err)
			}

			body, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, pt, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := k.Decrypt(handFrame(1, body), Params{}); err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("Decrypt(hand-made OAEP) = %q, %v", got, err)
			}
		})
	}
}
