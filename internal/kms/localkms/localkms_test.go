package localkms_test

import (
	"context"
	"testing"
	"time"

	"github.com/cofferhq/coffer/internal/keyring"
	"github.com/cofferhq/coffer/internal/keyservice"
	"github.com/cofferhq/coffer/internal/kms"
	"github.com/cofferhq/coffer/internal/kms/kmstest"
	"github.com/cofferhq/coffer/internal/kms/localkms"
	"github.com/cofferhq/coffer/internal/seal"
	"github.com/cofferhq/coffer/internal/store/sqlite/sqlitetest"
)

const project = "3fa85f64-5717-4562-b3fc-2c963f66afa6"

func TestConformance(t *testing.T) {
	kmstest.Run(t, func(t *testing.T) kmstest.Fixture {
		ctx := context.Background()
		db := sqlitetest.Open(t)
		rk, _ := seal.NewRootKey()
		sl, _ := seal.New(rk)
		svc := keyservice.New(keyservice.Config{Regions: []string{"eu01"}, DeletionDelay: time.Hour, DestroyDelay: time.Hour}, db.KMS(), sl)
		sc := keyservice.Scope{ProjectID: project, RegionID: "eu01"}
		ring, err := svc.CreateKeyRing(ctx, sc, "r", "")
		if err != nil {
			t.Fatal(err)
		}
		mk := func() kms.KeyRef {
			k, err := svc.CreateKey(ctx, sc, ring.ID, keyservice.KeySpec{DisplayName: "k", Algorithm: keyring.AES256GCM,
				Purpose: keyring.SymmetricEncryptDecrypt, Protection: "software"})
			if err != nil {
				t.Fatal(err)
			}
			return kms.KeyRef{RegionID: "eu01", ProjectID: project, KeyRingID: ring.ID, KeyID: k.ID, KeyVersion: 1}
		}
		active, other, disabled := mk(), mk(), mk()
		if err := svc.DisableVersion(ctx, sc, ring.ID, disabled.KeyID, 1); err != nil {
			t.Fatal(err)
		}
		missing := active
		missing.KeyVersion = 9
		return kmstest.Fixture{Keeper: localkms.New(svc), Active: active, Other: other, Disabled: disabled, Missing: missing}
	})
}
