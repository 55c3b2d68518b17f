// Package kmstest holds the conformance suite that every kms.Keeper driver
// must pass, and Fake, an in-memory Keeper that can inject faults.
package kmstest

import (
	"bytes"
	"context"
	"testing"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kms"
)

// Fixture names key versions that a driver under test has prepared.
type Fixture struct {
	Keeper   kms.Keeper
	Active   kms.KeyRef // an active symmetric_encrypt_decrypt version
	Other    kms.KeyRef // another active symmetric version (a different key)
	Disabled kms.KeyRef // a disabled symmetric version
	Missing  kms.KeyRef // a version that does not exist
}

// Run runs the conformance suite; setup prepares a fresh Fixture per subtest.
func Run(t *testing.T, setup func(t *testing.T) Fixture) {
	ctx := context.Background()
	pt, aad := []byte("a 32-byte data key for testing!!"), []byte("coffer/instance/x/keyring")

	t.Run("round trip with AAD", func(t *testing.T) {
		f := setup(t)
		ct, err := f.Keeper.Encrypt(ctx, f.Active, pt, aad)
		if err != nil {
			t.Fatalf("Encrypt: %v", err)
		}
		if bytes.Contains(ct, pt) {
			t.Fatal("ciphertext contains the plaintext")
		}
		got, err := f.Keeper.Decrypt(ctx, f.Active, ct, aad)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("Decrypt = %q, %v", got, err)
		}
	})
	t.Run("fails closed", func(t *testing.T) {
		f := setup(t)
		ct, err := f.Keeper.Encrypt(ctx, f.Active, pt, aad)
		if err != nil {
			t.Fatal(err)
		}
		flipped := bytes.Clone(ct)
		flipped[len(flipped)-1] ^= 1
		for name, tc := range map[string]struct {
			key kms.KeyRef
			ct  []byte
			aad []byte
		}{
			"wrong aad":   {f.Active, ct, []byte("coffer/instance/y/keyring")},
			"flipped bit": {f.Active, flipped, aad},
			"truncated":   {f.Active, ct[:len(ct)/2], aad},
			"other key":   {f.Other, ct, aad},
			"empty":       {f.Active, nil, aad},
		} {
			got, err := f.Keeper.Decrypt(ctx, tc.key, tc.ct, tc.aad)
			if errs.KindOf(err) != errs.InvalidArgument || got != nil {
				t.Errorf("%s: Decrypt = %q, %v; want nil and InvalidArgument", name, got, err)
			}
		}
	})
	t.Run("unusable versions", func(t *testing.T) {
		f := setup(t)
		for name, tc := range map[string]struct {
			key  kms.KeyRef
			want errs.Kind
		}{"disabled": {f.Disabled, errs.FailedPrecondition}, "missing": {f.Missing, errs.NotFound}} {
			if _, err := f.Keeper.Encrypt(ctx, tc.key, pt, aad); errs.KindOf(err) != tc.want {
				t.Errorf("%s: Encrypt kind = %v, want %v (%v)", name, errs.KindOf(err), tc.want, err)
			}
			if _, err := f.Keeper.Decrypt(ctx, tc.key, []byte("x"), aad); errs.KindOf(err) != tc.want {
				t.Errorf("%s: Decrypt kind = %v, want %v (%v)", name, errs.KindOf(err), tc.want, err)
			}
		}
	})
	t.Run("describe", func(t *testing.T) {
		f := setup(t)
		info, err := f.Keeper.Describe(ctx, f.Active)
		if err != nil || info.Purpose != kms.PurposeSymmetricEncryptDecrypt || info.VersionState != kms.VersionActive || info.KeyDeleted {
			t.Errorf("Describe(active) = %+v, %v", info, err)
		}
		info, err = f.Keeper.Describe(ctx, f.Disabled)
		if err != nil || info.VersionState != kms.VersionDisabled {
			t.Errorf("Describe(disabled) = %+v, %v", info, err)
		}
		if _, err := f.Keeper.Describe(ctx, f.Missing); errs.KindOf(err) != errs.NotFound {
			t.Errorf("Describe(missing) = %v, want NotFound", err)
		}
	})
}
