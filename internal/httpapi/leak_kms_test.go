package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/apitest"
)

// TestDumpHoldsNoKeyMaterial: after KMS keys of every kind exist and
// instances use them, a dump of the database holds neither the root key nor
// any key version's material, in any common encoding. The material is
// obtained by unwrapping the stored rows with the server's seal, so the
// check would catch material stored in the clear anywhere else.
func TestDumpHoldsNoKeyMaterial(t *testing.T) {
	forEachStoreKind(t, func(t *testing.T, env *apitest.Env) {
		p := uuid.NewString()
		keys := env.CreateKMSKeys(t, p)
		dump := env.Dump(t)
		forms := func(b []byte) []string {
			return []string{string(b), hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)),
				base64.StdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b)}
		}
		for _, f := range forms(env.RootKey) {
			if strings.Contains(dump, f) {
				t.Fatal("the dump contains the root key")
			}
		}
		checked := 0
		for _, keyID := range []string{keys.KeyA, keys.KeyB, keys.SignKey} {
			versions, err := env.KMSStore.ListVersions(t.Context(), keyID)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range versions {
				material, err := env.Seal.Unwrap(v.WrappedMaterial, fmt.Appendf(nil, "coffer/kms/key/%s/version/%d", keyID, v.Number))
				if err != nil {
					t.Fatalf("unwrap %s v%d (did the material AAD change?): %v", keyID, v.Number, err)
				}
				secret := secretPart(t, material)
				// Check every 16-byte window of the secret part.
				for i := 0; i+16 <= len(secret); i += 8 {
					for _, f := range forms(secret[i : i+16]) {
						if strings.Contains(dump, f) {
							t.Fatalf("the dump contains key material of %s v%d", keyID, v.Number)
						}
					}
				}
				checked++
			}
		}
		if checked != 4 {
			t.Fatalf("checked %d key versions, want 4 (KeyA v1, KeyB v1-2, SignKey v1)", checked)
		}
	})
}

// secretPart is the part of key material that must never appear: the whole
// of a symmetric key, the private scalar or seed of a PKCS#8 private key. A
// PKCS#8 document also carries its public key and fixed ASN.1 headers, which
// may legitimately appear in the dump (the public key is served), so
// checking windows of the whole DER failed whenever a window fell on them.
func secretPart(t *testing.T, material []byte) []byte {
	t.Helper()
	key, err := x509.ParsePKCS8PrivateKey(material)
	if err != nil {
		return material // symmetric material
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		b, err := k.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return b
	case ed25519.PrivateKey:
		return k.Seed()
	default:
		t.Fatalf("unexpected private key type %T", key)
		return nil
	}
}
