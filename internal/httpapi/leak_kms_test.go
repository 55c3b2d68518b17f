package httpapi_test

import (
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
				// Check the whole material and every 16-byte window of it.
				for i := 0; i+16 <= len(material); i += 8 {
					for _, f := range forms(material[i : i+16]) {
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
