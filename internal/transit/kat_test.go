package transit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"testing"

	"github.com/cofferhq/coffer/internal/errs"
)

// vault-api.md §1 records no ciphertext or signature together with its
// key, so the known answers here are published primitive vectors put in
// Vault's framing, plus convergent ciphertexts pinned once (convergent
// output is deterministic, so any change to derivation, nonce or framing
// shows up as a different string).

func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestKnownAESGCM decrypts McGrew–Viega GCM test case 14 (AES-256, zero
// key, zero 96-bit IV, 16 zero bytes) framed as §0.1 says.
func TestKnownAESGCM(t *testing.T) {
	t.Parallel()
	k := fixtureKey(t, TypeAES256GCM96, make([]byte, 32))
	body := unhex(t, "000000000000000000000000"+"cea7403d4d606b6e074ec5d3baf39d18"+"d0d1c8a799996bf0265b98b5d48ab919")
	ct := "vault:v1:AAAAAAAAAAAAAAAAzqdAPU1ga24HTsXTuvOdGNDRyKeZmWvwJluYtdSKuRk="
	if handFrame(1, body) != ct {
		t.Fatalf("hand framing = %q, want %q", handFrame(1, body), ct)
	}
	got, err := k.Decrypt(ct, Params{})
	if err != nil || !bytes.Equal(got, make([]byte, 16)) {
		t.Fatalf("Decrypt() = %x, %v; want 16 zero bytes", got, err)
	}
}

// TestKnownEd25519 signs RFC 8032 §7.1 test 1 (empty message).
func TestKnownEd25519(t *testing.T) {
	t.Parallel()
	seed := unhex(t, "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
	der, err := x509.MarshalPKCS8PrivateKey(ed25519.NewKeyFromSeed(seed))
	mustOK(t, err)
	k := fixtureKey(t, TypeEd25519, der)
	want := "vault:v1:5VZDAMNgrHKQhuLMgG6CioSHfx645dl02HPgZSJJAVVfuIIVkKM7rMYeOXAc+bRr0lv18FlbviRlUUFDjnoQCw=="
	if h := handFrame(1, unhex(t, "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")); h != want {
		t.Fatalf("hand framing = %q, want %q", h, want)
	}
	got, _, err := k.Sign(nil, SignOptions{})
	if err != nil || got != want {
		t.Fatalf("Sign() = %q, %v; want %q", got, err, want)
	}
}

// TestKnownHMAC computes RFC 4231 test case 2 (key "Jefe") as a Vault
// HMAC string. Keys this short are the RFC's, never NewKey's.
func TestKnownHMAC(t *testing.T) {
	t.Parallel()
	k := fixtureKey(t, TypeAES256GCM96, make([]byte, 32))
	k.Versions[1].HMACKey = []byte("Jefe")
	want := handFrame(1, unhex(t, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"))
	got, _, err := k.HMAC([]byte("what do ya want for nothing?"), "sha2-256", 0)
	if err != nil || got != want {
		t.Fatalf("HMAC() = %q, %v; want %q", got, err, want)
	}
}

// TestKnownConvergent pins convergent ciphertexts for key bytes 00..1f,
// context "tenant-1" and plaintext "convergent", and checks each against
// the hand derivation of §0.2 too.
func TestKnownConvergent(t *testing.T) {
	t.Parallel()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	cases := map[string]string{
		TypeAES256GCM96:      "vault:v1:EZ4WIcDEUm3iUmvxbKMKFEZv8NQu1lvrbBVuJGlVFpXyGrR754M=",
		TypeChaCha20Poly1305: "vault:v1:EZ4WIcDEUm3iUmvxFquhuuCEXMVx2ENMVjgqjrEUUXxXgmglj7Q=",
	}
	for typ, want := range cases {
		k := fixtureKey(t, typ, key)
		k.Derived, k.Convergent = true, true
		ctx, pt := []byte("tenant-1"), []byte("convergent")

		d := handHKDF(key, ctx, 64)
		nonce := hmacSHA256(d[32:], pt)[:12]
		if hand := handFrame(1, stdAEAD(t, typ, d[:32]).Seal(nonce, nonce, pt, nil)); hand != want {
			t.Fatalf("%s: hand-made = %q, pinned %q", typ, hand, want)
		}
		got, _, err := k.Encrypt(pt, Params{Context: ctx})
		if err != nil || got != want {
			t.Fatalf("%s: Encrypt() = %q, %v; want %q", typ, got, err, want)
		}
	}
}

// TestKnownHash checks the hash endpoint against FIPS 180-4 / 202 values
// for the empty input.
func TestKnownHash(t *testing.T) {
	t.Parallel()
	for alg, want := range map[string]string{
		"":         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"sha2-256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"sha3-256": "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a",
	} {
		got, err := Hash(nil, alg)
		if err != nil || hex.EncodeToString(got) != want {
			t.Errorf("Hash(%q) = %x, %v; want %s", alg, got, err, want)
		}
	}
	_, err := Hash(nil, "sha1")
	wantErr(t, err, errs.InvalidArgument, "unsupported algorithm sha1")
}
