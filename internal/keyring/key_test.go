package keyring

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/errs"
)

// wantPurpose is each algorithm's purpose, stated independently of the
// package's table.
var wantPurpose = map[Algorithm]Purpose{
	AES256GCM:         SymmetricEncryptDecrypt,
	RSA2048OAEPSHA256: AsymmetricEncryptDecrypt,
	RSA3072OAEPSHA256: AsymmetricEncryptDecrypt,
	RSA4096OAEPSHA256: AsymmetricEncryptDecrypt,
	RSA4096OAEPSHA512: AsymmetricEncryptDecrypt,
	HMACSHA256:        MessageAuthenticationCode,
	HMACSHA384:        MessageAuthenticationCode,
	HMACSHA512:        MessageAuthenticationCode,
	ECDSAP256SHA256:   AsymmetricSignVerify,
	ECDSAP384SHA384:   AsymmetricSignVerify,
	ECDSAP521SHA512:   AsymmetricSignVerify,
	ChaCha20Poly1305:  SymmetricEncryptDecrypt,
	AES128GCM96:       SymmetricEncryptDecrypt,
	AES256GCM96:       SymmetricEncryptDecrypt,
	Ed25519:           AsymmetricSignVerify,
}

func TestAlgorithms(t *testing.T) {
	t.Parallel()
	want := []Algorithm{
		"aes_256_gcm", "rsa_2048_oaep_sha256", "rsa_3072_oaep_sha256", "rsa_4096_oaep_sha256",
		"rsa_4096_oaep_sha512", "hmac_sha256", "hmac_sha384", "hmac_sha512",
		"ecdsa_p256_sha256", "ecdsa_p384_sha384", "ecdsa_p521_sha512",
		"chacha20-poly1305", "aes128-gcm96", "aes256-gcm96", "ed25519",
	}
	if diff := cmp.Diff(want, Algorithms()); diff != "" {
		t.Errorf("Algorithms() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[:11], STACKITAlgorithms()); diff != "" {
		t.Errorf("STACKITAlgorithms() mismatch (-want +got):\n%s", diff)
	}
	Algorithms()[0] = "mutated"
	STACKITAlgorithms()[0] = "mutated"
	if Algorithms()[0] != AES256GCM || STACKITAlgorithms()[0] != AES256GCM {
		t.Error("callers can modify the package's algorithm list")
	}
	for _, a := range want {
		if !a.Valid() {
			t.Errorf("%s.Valid() = false", a)
		}
		if got := a.Purpose(); got != wantPurpose[a] {
			t.Errorf("%s.Purpose() = %q, want %q", a, got, wantPurpose[a])
		}
	}
	for _, a := range []Algorithm{"", "aes_128_gcm", "AES_256_GCM", "ed448", "aes256-gcm96 "} {
		if a.Valid() || a.Purpose() != "" {
			t.Errorf("%q: Valid() = %v, Purpose() = %q; want false, \"\"", a, a.Valid(), a.Purpose())
		}
	}
}

// opResult is the error kind each operation gave, or -1 for success.
type opResult map[string]errs.Kind

const success errs.Kind = -1

func kindOrSuccess(err error) errs.Kind {
	if err == nil {
		return success
	}
	return errs.KindOf(err)
}

// runOps calls every operation on k with valid-looking input.
func runOps(t *testing.T, k *Key) opResult {
	t.Helper()
	r := opResult{}
	ct, err := k.Encrypt([]byte("msg"), nil)
	r["Encrypt"] = kindOrSuccess(err)
	_, err = k.Decrypt(ct, nil)
	r["Decrypt"] = kindOrSuccess(err)
	sig, err := k.Sign([]byte("msg"))
	r["Sign"] = kindOrSuccess(err)
	ok, err := k.Verify([]byte("msg"), sig)
	r["Verify"] = kindOrSuccess(err)
	if err == nil && !ok {
		t.Errorf("%s: Verify(Sign()) = false", k.Algorithm())
	}
	_, err = k.PublicKeyPEM()
	r["PublicKeyPEM"] = kindOrSuccess(err)
	_, err = k.AEAD()
	r["AEAD"] = kindOrSuccess(err)
	return r
}

// TestPurposeMisuse: each key does what its purpose allows and gives
// FailedPrecondition for everything else.
func TestPurposeMisuse(t *testing.T) {
	t.Parallel()
	fp, ok := errs.FailedPrecondition, success
	want := map[Purpose]opResult{
		SymmetricEncryptDecrypt:   {"Encrypt": ok, "Decrypt": ok, "Sign": fp, "Verify": fp, "PublicKeyPEM": fp, "AEAD": ok},
		AsymmetricEncryptDecrypt:  {"Encrypt": ok, "Decrypt": ok, "Sign": fp, "Verify": fp, "PublicKeyPEM": ok, "AEAD": fp},
		MessageAuthenticationCode: {"Encrypt": fp, "Decrypt": fp, "Sign": ok, "Verify": ok, "PublicKeyPEM": fp, "AEAD": fp},
		AsymmetricSignVerify:      {"Encrypt": fp, "Decrypt": fp, "Sign": ok, "Verify": ok, "PublicKeyPEM": ok, "AEAD": fp},
	}
	for _, a := range Algorithms() {
		t.Run(string(a), func(t *testing.T) {
			t.Parallel()
			got := runOps(t, mustGenerate(t, a))
			if diff := cmp.Diff(want[wantPurpose[a]], got); diff != "" {
				t.Errorf("operation results mismatch (-want +got):\n%s", diff)
			}
		})
	}

	// The messages name the algorithm and the refused operation.
	_, err := mustGenerate(t, AES256GCM).Sign([]byte("m"))
	wantErr(t, err, errs.FailedPrecondition, "key algorithm aes_256_gcm cannot sign")
	_, err = mustGenerate(t, ECDSAP256SHA256).Encrypt([]byte("m"), nil)
	wantErr(t, err, errs.FailedPrecondition, "key algorithm ecdsa_p256_sha256 cannot encrypt")
	_, err = mustGenerate(t, HMACSHA256).Decrypt(make([]byte, 64), nil)
	wantErr(t, err, errs.FailedPrecondition, "key algorithm hmac_sha256 cannot decrypt")
	_, err = mustGenerate(t, ChaCha20Poly1305).Verify([]byte("m"), []byte("s"))
	wantErr(t, err, errs.FailedPrecondition, "key algorithm chacha20-poly1305 cannot verify")
}

// TestSignaturesInteroperate checks Sign's output with crypto/ecdsa and
// crypto/ed25519 directly, using the hash each algorithm names.
func TestSignaturesInteroperate(t *testing.T) {
	t.Parallel()
	hashOf := map[Algorithm]func() hash.Hash{
		ECDSAP256SHA256: sha256.New, ECDSAP384SHA384: sha512.New384, ECDSAP521SHA512: sha512.New,
	}
	msg := []byte("transit/sign/payload")
	for a, h := range hashOf {
		k := mustGenerate(t, a)
		sig, err := k.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		d := h()
		d.Write(msg)
		if !ecdsa.VerifyASN1(publicKeyOf(t, k).(*ecdsa.PublicKey), d.Sum(nil), sig) {
			t.Errorf("%s: ecdsa.VerifyASN1(Sign()) = false", a)
		}
	}
	k := mustGenerate(t, Ed25519)
	sig, _ := k.Sign(msg)
	if !ed25519.Verify(publicKeyOf(t, k).(ed25519.PublicKey), msg, sig) {
		t.Error("ed25519.Verify(Sign()) = false")
	}
}

// TestNoMaterialInOutput loads keys whose material is a recognizable
// pattern and checks that no String(), fmt verb or error message shows it,
// in raw, hex or base64 form. Plaintexts get the same check.
func TestNoMaterialInOutput(t *testing.T) {
	t.Parallel()
	secret := bytes.Repeat([]byte("S3CR3T!"), 20) // 140 bytes
	forms := func(b []byte) []string {
		b = b[:12]
		return []string{string(b), hex.EncodeToString(b), base64.StdEncoding.EncodeToString(b), fmt.Sprint(b[:6])}
	}
	check := func(t *testing.T, what, s string) {
		t.Helper()
		for _, f := range forms(secret) {
			if strings.Contains(s, f) {
				t.Errorf("%s shows the secret (%q): %s", what, f, s)
			}
		}
	}

	keys := map[Algorithm][]byte{
		AES256GCM: secret[:32], AES128GCM96: secret[:16], ChaCha20Poly1305: secret[:32],
		HMACSHA256: secret, HMACSHA512: secret[:64],
	}
	for a, m := range keys {
		k := mustLoad(t, a, m)
		check(t, "String()", k.String())
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			check(t, verb, fmt.Sprintf(verb, k))
		}
		if want := "keyring.Key{" + string(a) + ", material: <redacted>}"; k.String() != want {
			t.Errorf("String() = %q, want %q", k.String(), want)
		}
		j, _ := json.Marshal(k)
		check(t, "json.Marshal", string(j))

		// Errors from every operation, fed the secret as input too.
		_, err := k.Decrypt(secret, secret)
		check(t, "Decrypt error", fmt.Sprint(err))
		_, err = k.Sign(secret)
		check(t, "Sign error", fmt.Sprint(err))
		_, err = k.Encrypt(secret, secret)
		check(t, "Encrypt error", fmt.Sprint(err))
		_, err = k.PublicKeyPEM()
		check(t, "PublicKeyPEM error", fmt.Sprint(err))
		k.Destroy()
		check(t, "String() after Destroy", k.String())
		_, err = k.Encrypt(secret, nil)
		check(t, "error after Destroy", fmt.Sprint(err))
	}

	// Load errors for material that does not fit.
	for _, a := range Algorithms() {
		for _, n := range []int{15, 31, 33, len(secret)} {
			_, err := Load(a, secret[:n])
			if err != nil {
				check(t, "Load("+string(a)+") error", err.Error())
			}
		}
	}

	// RSA-OAEP errors for a plaintext that is too long, or aad.
	rk := mustGenerate(t, RSA2048OAEPSHA256)
	_, err := rk.Encrypt(bytes.Repeat(secret, 3), nil)
	check(t, "RSA Encrypt(too long) error", fmt.Sprint(err))
	_, err = rk.Encrypt(secret[:20], secret)
	check(t, "RSA Encrypt(aad) error", fmt.Sprint(err))
	_, err = rk.Decrypt(secret, nil)
	check(t, "RSA Decrypt error", fmt.Sprint(err))
}

func TestDestroy(t *testing.T) {
	t.Parallel()
	for _, a := range Algorithms() {
		t.Run(string(a), func(t *testing.T) {
			t.Parallel()
			k := mustGenerate(t, a)
			var ct []byte
			if k.enc != nil {
				ct, _ = k.Encrypt([]byte("m"), nil)
			}
			k.Destroy()
			k.Destroy() // idempotent
			for op, kind := range runOps(t, k) {
				if kind != errs.FailedPrecondition {
					t.Errorf("%s after Destroy: kind %v, want FailedPrecondition", op, kind)
				}
			}
			_, err := k.Decrypt(ct, nil)
			wantErr(t, err, errs.FailedPrecondition, "key material destroyed")
			_, err = k.Sign([]byte("m"))
			wantErr(t, err, errs.FailedPrecondition, "key material destroyed")
			if k.Algorithm() != a {
				t.Errorf("Algorithm() after Destroy = %s, want %s", k.Algorithm(), a)
			}
		})
	}
}

// TestDestroyWipesSecretBytes looks inside: the bytes Destroy can reach are
// zero afterwards.
func TestDestroyWipesSecretBytes(t *testing.T) {
	t.Parallel()
	h := mustLoad(t, HMACSHA256, bytes.Repeat([]byte{0xa5}, 32))
	hkey := h.sig.(*hmacKey).key
	e := mustGenerate(t, Ed25519)
	epriv := e.sig.(*ed25519Key).priv
	h.Destroy()
	e.Destroy()
	if !bytes.Equal(hkey, make([]byte, len(hkey))) {
		t.Error("HMAC key bytes not zeroed by Destroy")
	}
	if !bytes.Equal(epriv, make([]byte, len(epriv))) {
		t.Error("Ed25519 private key bytes not zeroed by Destroy")
	}
}

// TestConcurrentUseAndDestroy runs operations from many goroutines while
// another destroys the key; run with -race. Each call must either succeed
// or report the destroyed key.
func TestConcurrentUseAndDestroy(t *testing.T) {
	t.Parallel()
	for _, a := range []Algorithm{AES256GCM, ChaCha20Poly1305, HMACSHA256, Ed25519, ECDSAP256SHA256} {
		t.Run(string(a), func(t *testing.T) {
			t.Parallel()
			k := mustGenerate(t, a)
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for range 50 {
						for op, kind := range runOps(t, k) {
							if kind != success && kind != errs.FailedPrecondition {
								t.Errorf("%s: kind %v", op, kind)
								return
							}
						}
					}
				})
			}
			wg.Go(k.Destroy)
			wg.Wait()
		})
	}
}
