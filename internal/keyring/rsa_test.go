package keyring

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"hash"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/errs"
)

// RSA-OAEP is randomized, so it has no known answers to compare with. These
// tests check round trips, the size limit, and interoperability with
// crypto/rsa called directly with the hash each algorithm names.

// oaepHashOf is each RSA algorithm's OAEP (and MGF1) hash, stated
// independently of the package's table.
var oaepHashOf = map[Algorithm]func() hash.Hash{
	RSA2048OAEPSHA256: sha256.New,
	RSA3072OAEPSHA256: sha256.New,
	RSA4096OAEPSHA256: sha256.New,
	RSA4096OAEPSHA512: sha512.New,
}

var rsaAlgorithms = []Algorithm{RSA2048OAEPSHA256, RSA3072OAEPSHA256, RSA4096OAEPSHA256, RSA4096OAEPSHA512}

// rsaPrivate parses the same fixture the Key was loaded from, for calling
// crypto/rsa directly.
func rsaPrivate(t *testing.T, a Algorithm, which string) *rsa.PrivateKey {
	t.Helper()
	key, err := x509.ParsePKCS8PrivateKey(rsaFixture(t, a, which))
	if err != nil {
		t.Fatal(err)
	}
	return key.(*rsa.PrivateKey)
}

func TestRSARoundTrip(t *testing.T) {
	t.Parallel()
	for _, a := range rsaAlgorithms {
		t.Run(string(a), func(t *testing.T) {
			t.Parallel()
			k := mustLoad(t, a, rsaFixture(t, a, "a"))
			priv := rsaPrivate(t, a, "a")
			limit := priv.Size() - 2*oaepHashOf[a]().Size() - 2
			for _, pt := range [][]byte{{}, []byte("a 256-bit data key goes here...."), bytes.Repeat([]byte{0xa5}, limit)} {
				ct, err := k.Encrypt(pt, nil)
				if err != nil {
					t.Fatalf("Encrypt(%d bytes) error: %v", len(pt), err)
				}
				if len(ct) != priv.Size() {
					t.Errorf("len(Encrypt()) = %d, want %d", len(ct), priv.Size())
				}
				got, err := k.Decrypt(ct, nil)
				if err != nil {
					t.Fatalf("Decrypt(Encrypt(%d bytes)) error: %v", len(pt), err)
				}
				if diff := cmp.Diff(pt, got); diff != "" {
					t.Errorf("Decrypt(Encrypt()) mismatch (-want +got):\n%s", diff)
				}
			}
			ct1, _ := k.Encrypt([]byte("same"), nil)
			ct2, _ := k.Encrypt([]byte("same"), nil)
			if bytes.Equal(ct1, ct2) {
				t.Error("two Encrypt() calls gave the same ciphertext; OAEP must be randomized")
			}
		})
	}
}

func TestRSAInputLimits(t *testing.T) {
	t.Parallel()
	for _, a := range rsaAlgorithms {
		t.Run(string(a), func(t *testing.T) {
			t.Parallel()
			k := mustLoad(t, a, rsaFixture(t, a, "a"))
			priv := rsaPrivate(t, a, "a")
			limit := priv.Size() - 2*oaepHashOf[a]().Size() - 2

			ct, err := k.Encrypt(make([]byte, limit+1), nil)
			wantErr(t, err, errs.InvalidArgument, "")
			if ct != nil {
				t.Errorf("Encrypt(too long) = %x, want nil", ct)
			}
			ct, err = k.Encrypt([]byte("x"), []byte("context"))
			wantErr(t, err, errs.InvalidArgument, "aad is not supported by RSA-OAEP")
			if ct != nil {
				t.Errorf("Encrypt(with aad) = %x, want nil", ct)
			}
			if _, err := k.AEAD(); errs.KindOf(err) != errs.FailedPrecondition {
				t.Errorf("AEAD() kind = %v, want FailedPrecondition", errs.KindOf(err))
			}
		})
	}
}

func TestRSAInteroperatesWithCryptoRSA(t *testing.T) {
	t.Parallel()
	for _, a := range rsaAlgorithms {
		t.Run(string(a), func(t *testing.T) {
			t.Parallel()
			k := mustLoad(t, a, rsaFixture(t, a, "a"))
			priv := rsaPrivate(t, a, "a")
			msg := []byte("wrapped data key")

			// crypto/rsa encrypts, the Key decrypts.
			ct, err := rsa.EncryptOAEP(oaepHashOf[a](), rand.Reader, &priv.PublicKey, msg, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.Decrypt(ct, nil)
			if err != nil || !bytes.Equal(got, msg) {
				t.Errorf("Decrypt(rsa.EncryptOAEP()) = %q, %v; want %q", got, err, msg)
			}

			// The Key encrypts, crypto/rsa decrypts.
			ct, err = k.Encrypt(msg, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err = rsa.DecryptOAEP(oaepHashOf[a](), nil, priv, ct, nil)
			if err != nil || !bytes.Equal(got, msg) {
				t.Errorf("rsa.DecryptOAEP(Encrypt()) = %q, %v; want %q", got, err, msg)
			}

			// The public key it publishes is the fixture's.
			if pub := publicKeyOf(t, k); !priv.PublicKey.Equal(pub) {
				t.Error("PublicKeyPEM() is not the key's public key")
			}
		})
	}
}

// TestRSAOAEPHashesAreNotInterchangeable loads one RSA-4096 key as both
// rsa_4096_oaep_sha256 and rsa_4096_oaep_sha512: neither may decrypt the
// other's ciphertexts, nor crypto/rsa ciphertexts made with the other hash.
func TestRSAOAEPHashesAreNotInterchangeable(t *testing.T) {
	t.Parallel()
	material := rsaFixture(t, RSA4096OAEPSHA256, "a")
	priv := rsaPrivate(t, RSA4096OAEPSHA256, "a")
	k256 := mustLoad(t, RSA4096OAEPSHA256, material)
	k512 := mustLoad(t, RSA4096OAEPSHA512, material)
	msg := []byte("data key")
	pairs := []struct {
		name     string
		from, to *Key
		other    func() hash.Hash
	}{
		{"sha256 to sha512", k256, k512, sha256.New},
		{"sha512 to sha256", k512, k256, sha512.New},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			ct, err := p.from.Encrypt(msg, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.to.Decrypt(ct, nil)
			wantErr(t, err, errs.InvalidArgument, "decryption failed")
			if got != nil {
				t.Errorf("Decrypt() plaintext = %q, want nil", got)
			}
			direct, err := rsa.EncryptOAEP(p.other(), rand.Reader, &priv.PublicKey, msg, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.to.Decrypt(direct, nil)
			wantErr(t, err, errs.InvalidArgument, "decryption failed")
		})
	}
}
