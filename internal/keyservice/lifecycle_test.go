package keyservice_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/keyring"
	"github.com/cofferhq/coffer/internal/keyservice"
	"github.com/cofferhq/coffer/internal/seal"
	"github.com/cofferhq/coffer/internal/store/sqlite/sqlitetest"
)

var sc = keyservice.Scope{ProjectID: "3fa85f64-5717-4562-b3fc-2c963f66afa6", RegionID: "eu01"}

type fixture struct {
	svc   *keyservice.Service
	store keyservice.Store
	clock *atomic.Int64 // unix nanoseconds
	ring  string
	key   string
}

func newFixture(t *testing.T, destroyDelay time.Duration) *fixture {
	t.Helper()
	ctx := context.Background()
	db := sqlitetest.Open(t)
	rk, _ := seal.NewRootKey()
	sl, _ := seal.New(rk)
	clock := &atomic.Int64{}
	clock.Store(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC).UnixNano())
	svc := keyservice.New(keyservice.Config{Regions: []string{"eu01"}, DeletionDelay: 30 * 24 * time.Hour,
		DestroyDelay: destroyDelay}, db.KMS(), sl, keyservice.WithClock(func() time.Time { return time.Unix(0, clock.Load()) }))
	ring, err := svc.CreateKeyRing(ctx, sc, "ring", "")
	if err != nil {
		t.Fatal(err)
	}
	k, err := svc.CreateKey(ctx, sc, ring.ID, keyservice.KeySpec{DisplayName: "k", Algorithm: keyring.AES256GCM,
		Purpose: keyring.SymmetricEncryptDecrypt, Protection: "software"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, store: db.KMS(), clock: clock, ring: ring.ID, key: k.ID}
}

func (f *fixture) advance(d time.Duration) { f.clock.Add(int64(d)) }

func (f *fixture) ref(n int64) keyservice.Ref {
	return keyservice.Ref{Scope: sc, KeyRingID: f.ring, KeyID: f.key, Number: n}
}

func TestVersionTransitions(t *testing.T) {
	ctx := context.Background()
	type step struct {
		op       string
		wantKind errs.Kind // 0: success
		state    string    // the version's state afterwards
	}
	do := func(f *fixture, op string) error {
		switch op {
		case "disable":
			return f.svc.DisableVersion(ctx, sc, f.ring, f.key, 1)
		case "enable":
			return f.svc.EnableVersion(ctx, sc, f.ring, f.key, 1)
		case "destroy":
			return f.svc.DestroyVersion(ctx, sc, f.ring, f.key, 1)
		case "restore":
			return f.svc.RestoreVersion(ctx, sc, f.ring, f.key, 1)
		}
		panic(op)
	}
	for name, steps := range map[string][]step{
		"disable then enable":      {{"disable", 0, "disabled"}, {"disable", errs.FailedPrecondition, "disabled"}, {"enable", 0, "active"}},
		"enable an active version": {{"enable", errs.FailedPrecondition, "active"}},
		"destroy then restore":     {{"destroy", 0, "destroyed"}, {"enable", errs.FailedPrecondition, "destroyed"}, {"restore", 0, "disabled"}, {"enable", 0, "active"}},
		"destroy twice":            {{"destroy", 0, "destroyed"}, {"destroy", errs.FailedPrecondition, "destroyed"}},
		"restore a live version":   {{"restore", errs.FailedPrecondition, "active"}},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, time.Hour)
			for i, s := range steps {
				err := do(f, s.op)
				if (s.wantKind == 0) != (err == nil) || (err != nil && errs.KindOf(err) != s.wantKind) {
					t.Fatalf("step %d %s = %v, want kind %v", i, s.op, err, s.wantKind)
				}
				v, _ := f.store.Version(ctx, f.key, 1)
				if v.State != s.state {
					t.Fatalf("step %d %s: state %s, want %s", i, s.op, v.State, s.state)
				}
			}
		})
	}
}

func TestUnusableVersionsFailClosed(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, time.Hour)
	ct, err := f.svc.Encrypt(ctx, f.ref(1), []byte("pt"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []func() error{
		func() error { return f.svc.DisableVersion(ctx, sc, f.ring, f.key, 1) },
		func() error { return f.svc.EnableVersion(ctx, sc, f.ring, f.key, 1) },
		func() error { return f.svc.DestroyVersion(ctx, sc, f.ring, f.key, 1) },
	} {
		if err := op(); err != nil {
			t.Fatal(err)
		}
		v, _ := f.store.Version(ctx, f.key, 1)
		_, derr := f.svc.Decrypt(ctx, f.ref(1), ct, nil)
		if v.State == keyservice.VersionActive && derr != nil {
			t.Errorf("active version: Decrypt = %v", derr)
		}
		if v.State != keyservice.VersionActive && (errs.KindOf(derr) != errs.FailedPrecondition || !strings.Contains(errs.Message(derr), v.State)) {
			t.Errorf("%s version: Decrypt = %v, want FailedPrecondition naming the state", v.State, derr)
		}
	}
}

func TestSweepErasesAndPurges(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 24*time.Hour)
	if _, err := f.svc.RotateKey(ctx, sc, f.ring, f.key); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DestroyVersion(ctx, sc, f.ring, f.key, 1); err != nil {
		t.Fatal(err)
	}
	f.advance(23 * time.Hour)
	if erased, purged, err := f.svc.Sweep(ctx); err != nil || erased != 0 || purged != 0 {
		t.Fatalf("Sweep before the delay = %d, %d, %v; want nothing", erased, purged, err)
	}
	f.advance(2 * time.Hour)
	if erased, _, err := f.svc.Sweep(ctx); err != nil || erased != 1 {
		t.Fatalf("Sweep after the delay erased %d (%v), want 1", erased, err)
	}
	v1, _ := f.store.Version(ctx, f.key, 1)
	if v1.WrappedMaterial != nil {
		t.Fatal("material of a destroyed version survived the sweep")
	}
	if err := f.svc.RestoreVersion(ctx, sc, f.ring, f.key, 1); errs.KindOf(err) != errs.FailedPrecondition {
		t.Errorf("restore after erasure = %v, want FailedPrecondition", err)
	}
	if _, err := f.svc.Encrypt(ctx, f.ref(2), []byte("x"), nil); err != nil {
		t.Errorf("version 2 unusable after sweeping version 1: %v", err)
	}

	if err := f.svc.DeleteKey(ctx, sc, f.ring, f.key); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteKeyRing(ctx, sc, f.ring); errs.KindOf(err) != errs.FailedPrecondition {
		t.Errorf("delete a ring with a key scheduled for deletion = %v, want FailedPrecondition", err)
	}
	f.advance(31 * 24 * time.Hour)
	if _, purged, err := f.svc.Sweep(ctx); err != nil || purged != 1 {
		t.Fatalf("Sweep after the deletion delay purged %d (%v), want 1", purged, err)
	}
	if _, err := f.svc.Key(ctx, sc, f.ring, f.key); errs.KindOf(err) != errs.NotFound {
		t.Errorf("purged key still found: %v", err)
	}
	if err := f.svc.DeleteKeyRing(ctx, sc, f.ring); err != nil {
		t.Errorf("delete the emptied ring = %v", err)
	}
}

func TestDestroyWithoutDelayErasesAtOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 0)
	if err := f.svc.DestroyVersion(ctx, sc, f.ring, f.key, 1); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.store.Version(ctx, f.key, 1); v.WrappedMaterial != nil {
		t.Error("material kept although the destroy delay is zero")
	}
}

func TestMaterialBoundToVersion(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, time.Hour)
	if _, err := f.svc.RotateKey(ctx, sc, f.ring, f.key); err != nil {
		t.Fatal(err)
	}
	v1, _ := f.store.Version(ctx, f.key, 1)
	v2, _ := f.store.Version(ctx, f.key, 2)
	v2.WrappedMaterial = v1.WrappedMaterial // move version 1's material into version 2's row
	if err := f.store.UpdateVersion(ctx, v2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Encrypt(ctx, f.ref(2), []byte("x"), nil); err == nil {
		t.Fatal("material moved to another version's row was accepted")
	}
}

func TestCreateKeyRules(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, time.Hour)
	for name, tc := range map[string]struct {
		spec keyservice.KeySpec
		kind errs.Kind
	}{
		"wrong purpose":  {keyservice.KeySpec{DisplayName: "k", Algorithm: keyring.AES256GCM, Purpose: keyring.AsymmetricSignVerify, Protection: "software"}, errs.InvalidArgument},
		"transit-only":   {keyservice.KeySpec{DisplayName: "k", Algorithm: keyring.ChaCha20Poly1305, Purpose: keyring.SymmetricEncryptDecrypt, Protection: "software"}, errs.InvalidArgument},
		"hsm":            {keyservice.KeySpec{DisplayName: "k", Algorithm: keyring.AES256GCM, Purpose: keyring.SymmetricEncryptDecrypt, Protection: "hsm"}, errs.InvalidArgument},
		"bad name":       {keyservice.KeySpec{DisplayName: "a b", Algorithm: keyring.AES256GCM, Purpose: keyring.SymmetricEncryptDecrypt, Protection: "software"}, errs.InvalidArgument},
		"import only":    {keyservice.KeySpec{DisplayName: "k", Algorithm: keyring.AES256GCM, Purpose: keyring.SymmetricEncryptDecrypt, Protection: "software", ImportOnly: true}, errs.Unimplemented},
		"unknown region": {keyservice.KeySpec{DisplayName: "k", Algorithm: keyring.AES256GCM, Purpose: keyring.SymmetricEncryptDecrypt, Protection: "software"}, errs.InvalidArgument},
	} {
		s := sc
		if name == "unknown region" {
			s.RegionID = "eu99"
		}
		if _, err := f.svc.CreateKey(ctx, s, f.ring, tc.spec); errs.KindOf(err) != tc.kind {
			t.Errorf("%s: CreateKey = %v, want kind %v", name, err, tc.kind)
		}
	}
	keys, _ := f.svc.ListKeys(ctx, sc, f.ring)
	if len(keys) != 1 {
		t.Errorf("rejected creates stored keys: %d keys, want 1", len(keys))
	}
}
