package localkms_test

import (
	"context"
	"testing"
	"time"

	"github.com/cofferhq/coffer/internal/keyring"
	"github.com/cofferhq/coffer/internal/keyservice"
	"github.com/cofferhq/coffer/internal/kms"
	"github.com/cofferhq/coffer/internal/kms/localkms"
	"github.com/cofferhq/coffer/internal/seal"
	"github.com/cofferhq/coffer/internal/store/sqlite/sqlitetest"
)

// BenchmarkKMSEncrypt measures one embedded-KMS encrypt of a 32-byte data
// key (what wrapping an instance keyring costs): version lookup in the
// SQLite store, unwrapping the material under the seal, AES-256-GCM. Compare
// with keyring's BenchmarkRawAESGCM and envelope's BenchmarkRawAESGCMSeal.
func BenchmarkKMSEncrypt(b *testing.B) {
	ctx := context.Background()
	db := sqlitetest.Open(b)
	rk, _ := seal.NewRootKey()
	sl, _ := seal.New(rk)
	svc := keyservice.New(keyservice.Config{Regions: []string{"eu01"}, DeletionDelay: time.Hour, DestroyDelay: time.Hour}, db.KMS(), sl)
	sc := keyservice.Scope{ProjectID: project, RegionID: "eu01"}
	ring, _ := svc.CreateKeyRing(ctx, sc, "r", "")
	k, err := svc.CreateKey(ctx, sc, ring.ID, keyservice.KeySpec{DisplayName: "k", Algorithm: keyring.AES256GCM,
		Purpose: keyring.SymmetricEncryptDecrypt, Protection: "software"})
	if err != nil {
		b.Fatal(err)
	}
	keeper := localkms.New(svc)
	ref := kms.KeyRef{RegionID: "eu01", ProjectID: project, KeyRingID: ring.ID, KeyID: k.ID, KeyVersion: 1}
	dek := make([]byte, 32)
	b.SetBytes(32)
	for b.Loop() {
		if _, err := keeper.Encrypt(ctx, ref, dek, []byte("aad")); err != nil {
			b.Fatal(err)
		}
	}
}
