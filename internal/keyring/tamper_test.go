package keyring

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/errs"
)

// flip returns a copy of b with bit of byte i (negative: from the end)
// flipped.
func flip(b []byte, i int, bit byte) []byte {
	c := bytes.Clone(b)
	if i < 0 {
		i += len(c)
	}
	c[i] ^= bit
	return c
}

type tamperCase struct {
	name       string
	ciphertext []byte
	aad        []byte
	ok         bool // the untampered control case
}

func aeadTamperCases(t *testing.T, k, other *Key) []tamperCase {
	t.Helper()
	pt, aad := []byte("attack at dawn"), []byte("instance/1/kv/app/db/v3")
	ct, err := k.Encrypt(pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.Encrypt(pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	return []tamperCase{
		{name: "valid", ciphertext: ct, aad: aad, ok: true},
		{name: "flip nonce first bit", ciphertext: flip(ct, 0, 0x01), aad: aad},
		{name: "flip nonce last bit", ciphertext: flip(ct, 11, 0x80), aad: aad},
		{name: "flip ciphertext bit", ciphertext: flip(ct, 12, 0x01), aad: aad},
		{name: "flip last ciphertext bit", ciphertext: flip(ct, 12+len(pt)-1, 0x80), aad: aad},
		{name: "flip tag first bit", ciphertext: flip(ct, -16, 0x01), aad: aad},
		{name: "flip tag last bit", ciphertext: flip(ct, -1, 0x80), aad: aad},
		{name: "truncated by one byte", ciphertext: ct[:len(ct)-1], aad: aad},
		{name: "tag removed", ciphertext: ct[:len(ct)-16], aad: aad},
		{name: "nonce only", ciphertext: ct[:12], aad: aad},
		{name: "shorter than nonce", ciphertext: ct[:5], aad: aad},
		{name: "one byte extra", ciphertext: append(bytes.Clone(ct), 0), aad: aad},
		{name: "nonce and tag only", ciphertext: append(bytes.Clone(ct[:12]), ct[len(ct)-16:]...), aad: aad},
		{name: "empty", ciphertext: []byte{}, aad: aad},
		{name: "nil", ciphertext: nil, aad: aad},
		{name: "wrong aad", ciphertext: ct, aad: []byte("instance/1/kv/app/db/v4")},
		{name: "aad missing", ciphertext: ct, aad: nil},
		{name: "aad extended", ciphertext: ct, aad: append(bytes.Clone(aad), 0)},
		{name: "another key of the same algorithm", ciphertext: foreign, aad: aad},
	}
}

func rsaTamperCases(t *testing.T, k, other *Key) []tamperCase {
	t.Helper()
	ct, err := k.Encrypt([]byte("attack at dawn"), nil)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.Encrypt([]byte("attack at dawn"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return []tamperCase{
		{name: "valid", ciphertext: ct, ok: true},
		{name: "flip first bit", ciphertext: flip(ct, 0, 0x80)},
		{name: "flip middle bit", ciphertext: flip(ct, len(ct)/2, 0x01)},
		{name: "flip last bit", ciphertext: flip(ct, -1, 0x01)},
		{name: "truncated by one byte", ciphertext: ct[:len(ct)-1]},
		{name: "one byte extra", ciphertext: append(bytes.Clone(ct), 0)},
		{name: "leading zero byte", ciphertext: append([]byte{0}, ct...)},
		{name: "all zero", ciphertext: make([]byte, len(ct))},
		{name: "all ones", ciphertext: bytes.Repeat([]byte{0xff}, len(ct))},
		{name: "empty", ciphertext: []byte{}},
		{name: "nil", ciphertext: nil},
		{name: "aad given", ciphertext: ct, aad: []byte("instance/1")},
		{name: "another key of the same algorithm", ciphertext: foreign},
	}
}

// TestDecryptRejectsTampering checks that every modified or misdirected
// ciphertext fails with the one "decryption failed" error and no plaintext.
func TestDecryptRejectsTampering(t *testing.T) {
	t.Parallel()
	for _, a := range Algorithms() {
		p := a.Purpose()
		if p != SymmetricEncryptDecrypt && p != AsymmetricEncryptDecrypt {
			continue
		}
		t.Run(string(a), func(t *testing.T) {
			t.Parallel()
			var k *Key
			var cases []tamperCase
			if p == SymmetricEncryptDecrypt {
				k = mustGenerate(t, a)
				cases = aeadTamperCases(t, k, mustGenerate(t, a))
			} else {
				k = mustLoad(t, a, rsaFixture(t, a, "a"))
				cases = rsaTamperCases(t, k, mustLoad(t, a, rsaFixture(t, a, "b")))
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					got, err := k.Decrypt(tc.ciphertext, tc.aad)
					if tc.ok {
						if err != nil {
							t.Fatalf("Decrypt(valid) error: %v", err)
						}
						if diff := cmp.Diff([]byte("attack at dawn"), got); diff != "" {
							t.Fatalf("Decrypt(valid) mismatch (-want +got):\n%s", diff)
						}
						return
					}
					wantErr(t, err, errs.InvalidArgument, "decryption failed")
					if err.Error() != "decryption failed" {
						t.Errorf("Error() = %q, want exactly %q (no cause attached)", err.Error(), "decryption failed")
					}
					if got != nil {
						t.Errorf("Decrypt() plaintext = %x, want nil", got)
					}
				})
			}
		})
	}
}

// TestDecryptDoesNotModifyInput guards against in-place decryption.
func TestDecryptDoesNotModifyInput(t *testing.T) {
	t.Parallel()
	for _, a := range []Algorithm{AES256GCM, ChaCha20Poly1305} {
		k := mustGenerate(t, a)
		ct, err := k.Encrypt([]byte("payload"), []byte("aad"))
		if err != nil {
			t.Fatal(err)
		}
		keep := bytes.Clone(ct)
		if _, err := k.Decrypt(ct, []byte("aad")); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ct, keep) {
			t.Errorf("%s: Decrypt modified its input", a)
		}
	}
}
