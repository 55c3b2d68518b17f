package apitest

import (
	"context"
	"testing"

	"github.com/cofferhq/coffer/internal/keyring"
	"github.com/cofferhq/coffer/internal/keyservice"
)

// KMSKeys are embedded-KMS objects of one project that kmsKeys can name:
// a key ring with two aes_256_gcm keys, KeyA with version 1 and KeyB with
// versions 1 and 2, and an ecdsa_p256_sha256 SignKey (the wrong purpose).
type KMSKeys struct {
	Ring, KeyA, KeyB, SignKey string
}

// CreateKMSKeys creates KMSKeys in project (region Region).
func (e *Env) CreateKMSKeys(tb testing.TB, project string) KMSKeys {
	tb.Helper()
	ctx := context.Background()
	sc := keyservice.Scope{ProjectID: project, RegionID: Region}
	ring, err := e.KMS.CreateKeyRing(ctx, sc, "ring", "")
	if err != nil {
		tb.Fatalf("create key ring: %v", err)
	}
	mk := func(alg keyring.Algorithm) string {
		k, err := e.KMS.CreateKey(ctx, sc, ring.ID, keyservice.KeySpec{DisplayName: "key", Algorithm: alg,
			Purpose: alg.Purpose(), Protection: "software"})
		if err != nil {
			tb.Fatalf("create %s key: %v", alg, err)
		}
		return k.ID
	}
	out := KMSKeys{Ring: ring.ID, KeyA: mk(keyring.AES256GCM), KeyB: mk(keyring.AES256GCM), SignKey: mk(keyring.ECDSAP256SHA256)}
	if _, err := e.KMS.RotateKey(ctx, sc, ring.ID, out.KeyB); err != nil {
		tb.Fatalf("rotate key: %v", err)
	}
	return out
}
