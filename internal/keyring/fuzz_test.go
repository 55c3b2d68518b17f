package keyring

import (
	"bytes"
	"testing"

	"github.com/cofferhq/coffer/internal/errs"
)

// fuzzKeys are fixed keys, so every fuzz worker process agrees on which
// ciphertext is the valid one.
var fuzzKeys = []struct {
	alg      Algorithm
	material []byte
}{
	{AES256GCM, bytes.Repeat([]byte{0x11}, 32)},
	{ChaCha20Poly1305, bytes.Repeat([]byte{0x22}, 32)},
}

var (
	fuzzPlaintext = []byte("the one valid plaintext")
	fuzzAAD       = []byte("instance/fuzz/kv/secret/v1")
	fuzzNonce     = bytes.Repeat([]byte{0x33}, 12)
)

// FuzzDecrypt feeds arbitrary ciphertexts and AADs to AES-256-GCM and
// ChaCha20-Poly1305 keys. Decrypt must never panic, must fail with exactly
// the documented error, and may succeed only for the one valid ciphertext
// (under its own key and AAD) seeded below.
func FuzzDecrypt(f *testing.F) {
	keys := make([]*Key, len(fuzzKeys))
	valid := make([][]byte, len(fuzzKeys))
	for i, fk := range fuzzKeys {
		keys[i] = mustLoad(f, fk.alg, fk.material)
		aead, err := keys[i].AEAD()
		if err != nil {
			f.Fatal(err)
		}
		// A fixed nonce makes the seed deterministic across processes.
		valid[i] = aead.Seal(bytes.Clone(fuzzNonce), fuzzNonce, fuzzPlaintext, fuzzAAD)
		f.Add(valid[i], fuzzAAD)
		f.Add(valid[i][:len(valid[i])-1], fuzzAAD)
		f.Add(valid[i], []byte{})
	}
	f.Add([]byte{}, []byte{})
	f.Add(make([]byte, 28), []byte("x"))

	f.Fuzz(func(t *testing.T, ciphertext, aad []byte) {
		for i, k := range keys {
			pt, err := k.Decrypt(ciphertext, aad)
			isValid := bytes.Equal(ciphertext, valid[i]) && bytes.Equal(aad, fuzzAAD)
			switch {
			case err == nil && !isValid:
				t.Fatalf("%s accepted a ciphertext it did not make: %x (aad %x)", k.Algorithm(), ciphertext, aad)
			case err == nil && !bytes.Equal(pt, fuzzPlaintext):
				t.Fatalf("%s: valid ciphertext decrypted to %x", k.Algorithm(), pt)
			case err != nil && isValid:
				t.Fatalf("%s rejected its valid ciphertext: %v", k.Algorithm(), err)
			case err != nil && (errs.KindOf(err) != errs.InvalidArgument || err.Error() != "decryption failed" || pt != nil):
				t.Fatalf("%s: Decrypt() = %x, %v; want nil, decryption failed", k.Algorithm(), pt, err)
			}
		}
	})
}

// FuzzLoad feeds arbitrary algorithm names and material to Load. It must
// never panic, must fail with InvalidArgument, and a key it does load must
// work.
//
// NOTE: RSA keys are not seeded. Parsing one costs about a millisecond, and
// the fuzzer minimizes every new input for up to a minute, so RSA seeds
// left it stalled in minimization for most of a 15 s run. RSA Load is
// covered by the unit tests; a loaded RSA key here (reachable by
// mutation) only gets PublicKeyPEM, not a millisecond-scale round trip.
func FuzzLoad(f *testing.F) {
	for _, a := range Algorithms() {
		if a.Purpose() == AsymmetricEncryptDecrypt {
			continue
		}
		m, err := Generate(a)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(a), m)
		f.Add(string(a), m[:len(m)/2])
	}
	f.Add("", []byte{})
	f.Add("ed25519", []byte{0x30, 0x80})

	f.Fuzz(func(t *testing.T, alg string, material []byte) {
		k, err := Load(Algorithm(alg), material)
		if err != nil {
			if errs.KindOf(err) != errs.InvalidArgument || k != nil {
				t.Fatalf("Load() = %v, %v; want nil, InvalidArgument", k, err)
			}
			return
		}
		if k.Algorithm() != Algorithm(alg) || !k.Algorithm().Valid() {
			t.Fatalf("Load(%q) gave a key of algorithm %q", alg, k.Algorithm())
		}
		_ = k.String()
		msg := []byte("fuzz")
		switch k.Algorithm().Purpose() {
		case SymmetricEncryptDecrypt:
			ct, err := k.Encrypt(msg, nil)
			if err != nil {
				t.Fatalf("Encrypt() error: %v", err)
			}
			if pt, err := k.Decrypt(ct, nil); err != nil || !bytes.Equal(pt, msg) {
				t.Fatalf("Decrypt(Encrypt()) = %x, %v", pt, err)
			}
		case AsymmetricEncryptDecrypt:
			if _, err := k.PublicKeyPEM(); err != nil {
				t.Fatalf("PublicKeyPEM() error: %v", err)
			}
		default:
			sig, err := k.Sign(msg)
			if err != nil {
				t.Fatalf("Sign() error: %v", err)
			}
			if ok, err := k.Verify(msg, sig); !ok || err != nil {
				t.Fatalf("Verify(Sign()) = %v, %v", ok, err)
			}
		}
		k.Destroy()
	})
}
