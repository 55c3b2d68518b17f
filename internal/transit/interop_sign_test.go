package transit

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"math/big"
	"testing"
)

// TestInteropEd25519 checks §1.3: pure Ed25519 over the raw input, 64
// bytes, base64 std after the prefix. Ed25519 is deterministic, so
// transit's signature must equal the standard library's byte for byte.
func TestInteropEd25519(t *testing.T) {
	t.Parallel()
	k := newKey(t, TypeEd25519, Options{Exportable: true})
	priv := ed25519.PrivateKey(b64(t, export(t, k, ExportSigningKey, 1)))
	pub := ed25519.PublicKey(b64(t, export(t, k, ExportPublicKey, 1)))
	if len(priv) != ed25519.PrivateKeySize || !pub.Equal(priv.Public()) {
		t.Fatalf("exported keys: private %d bytes, public %x does not match", len(priv), pub)
	}
	msg := []byte("the raw input, not a digest")
	want := handFrame(1, ed25519.Sign(priv, msg))
	got, ver, err := k.Sign(msg, SignOptions{HashAlgorithm: "sha2-512"}) // ignored for ed25519
	if err != nil || ver != 1 || got != want {
		t.Fatalf("Sign() = %q, %d, %v; want %q", got, ver, err, want)
	}
	if ok, err := k.Verify(msg, want, SignOptions{}); !ok || err != nil {
		t.Fatalf("Verify(standard library signature) = %v, %v", ok, err)
	}
	if ok, err := k.Verify([]byte("other"), want, SignOptions{}); ok || err != nil {
		t.Fatalf("Verify(other message) = %v, %v; want false, nil", ok, err)
	}
}

// ecdsaCase is one set of sign options for ECDSA interop.
type ecdsaCase struct {
	hash      string
	h         crypto.Hash
	jws       bool
	prehashed bool
}

var ecdsaCases = []ecdsaCase{
	{"", crypto.SHA256, false, false}, // Vault's default: sha2-256, asn1
	{"sha2-256", crypto.SHA256, true, false},
	{"sha2-384", crypto.SHA384, false, false},
	{"sha2-512", crypto.SHA512, true, false},
	{"sha2-224", crypto.SHA224, false, true},
	{"sha3-256", crypto.SHA3_256, false, false},
	{"sha3-512", crypto.SHA3_512, true, true},
	{"sha1", crypto.SHA1, false, false},
}

func (c ecdsaCase) options() SignOptions {
	o := SignOptions{HashAlgorithm: c.hash, Prehashed: c.prehashed}
	if c.jws {
		o.MarshalingAlgorithm = MarshalingJWS
	}
	return o
}

// TestInteropECDSA checks §1.3 for ECDSA: ASN.1 DER in base64 std, or for
// jws the fixed-width r||s (32/48/66 bytes each) in base64url without
// padding, over the chosen hash (or the given digest when prehashed).
func TestInteropECDSA(t *testing.T) {
	t.Parallel()
	width := map[string]int{TypeECDSAP256: 32, TypeECDSAP384: 48, TypeECDSAP521: 66}
	for _, typ := range ecdsaTypes {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			k := newKey(t, typ, Options{Exportable: true})
			priv, err := x509.ParseECPrivateKey(pemBlock(t, export(t, k, ExportSigningKey, 1), "EC PRIVATE KEY"))
			mustOK(t, err)
			pubAny, err := x509.ParsePKIXPublicKey(pemBlock(t, export(t, k, ExportPublicKey, 1), "PUBLIC KEY"))
			mustOK(t, err)
			if !priv.PublicKey.Equal(pubAny) {
				t.Fatal("exported public key does not match the private key")
			}
			for _, c := range ecdsaCases {
				msg := []byte("message for " + c.hash)
				d := c.h.New()
				d.Write(msg)
				digest := d.Sum(nil)
				input := msg
				if c.prehashed {
					input = digest
				}
				// transit -> standard library
				sig, _, err := k.Sign(input, c.options())
				mustOK(t, err)
				if c.jws {
					_, body := handSplit(t, sig, base64.RawURLEncoding)
					n := width[typ]
					if len(body) != 2*n {
						t.Fatalf("%+v: jws body is %d bytes, want %d", c, len(body), 2*n)
					}
					r, s := new(big.Int).SetBytes(body[:n]), new(big.Int).SetBytes(body[n:])
					if !ecdsa.Verify(&priv.PublicKey, digest, r, s) {
						t.Fatalf("%+v: standard library rejects transit's jws signature %q", c, sig)
					}
				} else {
					_, body := handSplit(t, sig, base64.StdEncoding)
					if !ecdsa.VerifyASN1(&priv.PublicKey, digest, body) {
						t.Fatalf("%+v: standard library rejects transit's signature %q", c, sig)
					}
				}
				// standard library -> transit
				var hand string
				if c.jws {
					r, s, err := ecdsa.Sign(rand.Reader, priv, digest)
					mustOK(t, err)
					n := width[typ]
					raw := make([]byte, 2*n)
					r.FillBytes(raw[:n])
					s.FillBytes(raw[n:])
					hand = "vault:v1:" + base64.RawURLEncoding.EncodeToString(raw)
				} else {
					der, err := ecdsa.SignASN1(rand.Reader, priv, digest)
					mustOK(t, err)
					hand = handFrame(1, der)
				}
				if ok, err := k.Verify(input, hand, c.options()); !ok || err != nil {
					t.Fatalf("%+v: Verify(standard library signature %q) = %v, %v", c, hand, ok, err)
				}
				if ok, err := k.Verify(append([]byte("x"), msg...), sig, SignOptions{HashAlgorithm: c.hash, MarshalingAlgorithm: c.options().MarshalingAlgorithm}); ok || err != nil {
					t.Fatalf("%+v: Verify(other message) = %v, %v", c, ok, err)
				}
			}
		})
	}
}

// rsaCase is one set of sign options for RSA interop.
type rsaCase struct {
	name string
	o    SignOptions
	h    crypto.Hash
	pss  bool
	salt int // rsa.PSSOptions.SaltLength for the standard library side
}

var rsaCases = []rsaCase{
	{"default pss auto sha2-256", SignOptions{}, crypto.SHA256, true, rsa.PSSSaltLengthAuto},
	{"pss hash sha2-512", SignOptions{HashAlgorithm: "sha2-512", SaltLength: SaltLengthHash}, crypto.SHA512, true, rsa.PSSSaltLengthEqualsHash},
	{"pss 20 sha3-256", SignOptions{HashAlgorithm: "sha3-256", SaltLength: 20}, crypto.SHA3_256, true, 20},
	{"pkcs1v15 sha2-384", SignOptions{HashAlgorithm: "sha2-384", SignatureAlgorithm: SignaturePKCS1}, crypto.SHA384, false, 0},
	{"pkcs1v15 prehashed sha2-256", SignOptions{Prehashed: true, SignatureAlgorithm: SignaturePKCS1}, crypto.SHA256, false, 0},
	{"pkcs1v15 none", SignOptions{HashAlgorithm: "none", Prehashed: true, SignatureAlgorithm: SignaturePKCS1}, 0, false, 0},
}

// TestInteropRSASign checks §1.3 for RSA: PSS (salt auto = the largest on
// sign, observed) or PKCS#1 v1.5, base64 std after the prefix.
func TestInteropRSASign(t *testing.T) {
	t.Parallel()
	for _, typ := range rsaTypes {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			k := newKey(t, typ, Options{Exportable: true})
			priv, err := x509.ParsePKCS1PrivateKey(pemBlock(t, export(t, k, ExportSigningKey, 1), "RSA PRIVATE KEY"))
			mustOK(t, err)
			for _, c := range rsaCases {
				msg := []byte("message")
				digest, input := msg, msg
				if c.h != 0 {
					d := c.h.New()
					d.Write(msg)
					digest = d.Sum(nil)
				}
				if c.o.Prehashed {
					input = digest
				}
				sig, _, err := k.Sign(input, c.o)
				mustOK(t, err)
				_, body := handSplit(t, sig, base64.StdEncoding)
				verifySalt := c.salt
				if c.pss && c.salt == rsa.PSSSaltLengthAuto { // §1.3: auto signs with the maximum salt
					verifySalt = priv.Size() - c.h.Size() - 2
				}
				if c.pss {
					err = rsa.VerifyPSS(&priv.PublicKey, c.h, digest, body, &rsa.PSSOptions{SaltLength: verifySalt})
				} else {
					err = rsa.VerifyPKCS1v15(&priv.PublicKey, c.h, digest, body)
				}
				if err != nil {
					t.Fatalf("%s: standard library rejects transit's signature: %v", c.name, err)
				}
				var raw []byte
				if c.pss {
					raw, err = rsa.SignPSS(rand.Reader, priv, c.h, digest, &rsa.PSSOptions{SaltLength: c.salt})
				} else {
					raw, err = rsa.SignPKCS1v15(nil, priv, c.h, digest)
				}
				mustOK(t, err)
				if ok, err := k.Verify(input, handFrame(1, raw), c.o); !ok || err != nil {
					t.Fatalf("%s: Verify(standard library signature) = %v, %v", c.name, ok, err)
				}
				if !c.pss && !bytes.Equal(raw, body) {
					t.Fatalf("%s: PKCS#1 v1.5 is deterministic, but signatures differ", c.name)
				}
			}
		})
	}
}

// TestInteropHMAC checks §1.3: "vault:vN:" + base64(HMAC-alg(key, input))
// with the version's HMAC key, which for type hmac is the key material.
func TestInteropHMAC(t *testing.T) {
	t.Parallel()
	algs := map[string]crypto.Hash{
		"": crypto.SHA256, "sha2-224": crypto.SHA224, "sha2-256": crypto.SHA256, "sha2-384": crypto.SHA384,
		"sha2-512": crypto.SHA512, "sha3-224": crypto.SHA3_224, "sha3-256": crypto.SHA3_256,
		"sha3-384": crypto.SHA3_384, "sha3-512": crypto.SHA3_512,
	}
	for _, typ := range []string{TypeHMAC, TypeAES256GCM96, TypeEd25519, TypeECDSAP256, TypeRSA2048} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			k := newKey(t, typ, Options{Exportable: true})
			key := b64(t, export(t, k, ExportHMACKey, 1))
			wantLen := 32
			if len(key) != wantLen {
				t.Fatalf("HMAC key is %d bytes, want %d", len(key), wantLen)
			}
			if typ == TypeHMAC && !bytes.Equal(key, k.Versions[1].Material) {
				t.Fatal("an hmac key's HMAC key is not its material")
			}
			for alg, h := range algs {
				m := hmac.New(h.New, key)
				m.Write([]byte("input"))
				want := handFrame(1, m.Sum(nil))
				got, ver, err := k.HMAC([]byte("input"), alg, 0)
				if err != nil || ver != 1 || got != want {
					t.Fatalf("HMAC(%q) = %q, %d, %v; want %q", alg, got, ver, err, want)
				}
				if ok, err := k.VerifyHMAC([]byte("input"), want, alg); !ok || err != nil {
					t.Fatalf("VerifyHMAC(%q) = %v, %v", alg, ok, err)
				}
				if ok, err := k.VerifyHMAC([]byte("inpuT"), want, alg); ok || err != nil {
					t.Fatalf("VerifyHMAC(%q, other input) = %v, %v", alg, ok, err)
				}
			}
		})
	}
}
