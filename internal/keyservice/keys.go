package keyservice

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/keyring"
)

// KeySpec is what a client chooses of a new key.
type KeySpec struct {
	DisplayName string
	Description string
	Algorithm   keyring.Algorithm
	Purpose     keyring.Purpose
	Protection  string
	ImportOnly  bool
	AccessScope string
}

// CreateKey creates a key with its first version in key ring ringID.
func (s *Service) CreateKey(ctx context.Context, sc Scope, ringID string, spec KeySpec) (*Key, error) {
	if _, err := s.KeyRing(ctx, sc, ringID); err != nil {
		return nil, err
	}
	if err := checkNames(spec.DisplayName, spec.Description); err != nil {
		return nil, err
	}
	if !slices.Contains(keyring.STACKITAlgorithms(), spec.Algorithm) {
		return nil, errs.E(errs.InvalidArgument, "algorithm: unknown algorithm %q", spec.Algorithm)
	}
	if spec.Algorithm.Purpose() != spec.Purpose {
		return nil, errs.E(errs.InvalidArgument, "purpose: %s keys have purpose %s, not %q",
			spec.Algorithm, spec.Algorithm.Purpose(), spec.Purpose)
	}
	if spec.Protection != "software" {
		return nil, errs.E(errs.InvalidArgument, "protection: only \"software\" is available (no HSM)")
	}
	if spec.ImportOnly {
		return nil, errs.E(errs.Unimplemented, "importOnly: key import is not implemented yet")
	}
	if spec.AccessScope == "" {
		spec.AccessScope = "PUBLIC"
	}
	k := &Key{ID: uuid.NewString(), KeyRingID: ringID, ProjectID: sc.ProjectID, RegionID: sc.RegionID,
		DisplayName: spec.DisplayName, Description: spec.Description, Algorithm: spec.Algorithm,
		Protection: spec.Protection, AccessScope: spec.AccessScope, State: KeyActive, CreatedAt: s.now()}
	v, wrap, material, err := s.newVersion(k)
	if err != nil {
		return nil, err
	}
	defer clear(material)
	v.Number = 1
	if v.WrappedMaterial, err = wrap(1); err != nil {
		return nil, err
	}
	if err := s.store.CreateKey(ctx, k, v); err != nil {
		return nil, fmt.Errorf("create key: %w", err)
	}
	return k, nil
}

// materialAAD binds wrapped material to its key and version number.
func materialAAD(keyID string, number int64) []byte {
	return fmt.Appendf(nil, "coffer/kms/key/%s/version/%d", keyID, number)
}

// newVersion generates material for a new version of k and returns the
// version (without material) and a function that wraps the material for a
// version number; the caller erases the material with clear when done.
func (s *Service) newVersion(k *Key) (*Version, func(number int64) ([]byte, error), []byte, error) {
	material, err := keyring.Generate(k.Algorithm)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("generate key material: %w", err)
	}
	v := &Version{KeyID: k.ID, KeyRingID: k.KeyRingID, State: VersionActive, CreatedAt: s.now()}
	if p := k.Algorithm.Purpose(); p == keyring.AsymmetricSignVerify || p == keyring.AsymmetricEncryptDecrypt {
		kk, err := keyring.Load(k.Algorithm, material)
		if err != nil {
			clear(material)
			return nil, nil, nil, err
		}
		v.PublicKey, err = kk.PublicKeyPEM()
		kk.Destroy()
		if err != nil {
			clear(material)
			return nil, nil, nil, err
		}
	}
	wrap := func(number int64) ([]byte, error) {
		w, err := s.wrap.Wrap(material, materialAAD(k.ID, number))
		if err != nil {
			return nil, fmt.Errorf("wrap key material: %w", err)
		}
		return w, nil
	}
	return v, wrap, material, nil
}

// Key returns key id of ring ringID in sc.
func (s *Service) Key(ctx context.Context, sc Scope, ringID, id string) (*Key, error) {
	if err := s.checkScope(sc); err != nil {
		return nil, err
	}
	return s.store.Key(ctx, sc.ProjectID, sc.RegionID, ringID, id)
}

// ListKeys returns the keys of ring ringID.
func (s *Service) ListKeys(ctx context.Context, sc Scope, ringID string) ([]*Key, error) {
	if err := s.checkScope(sc); err != nil {
		return nil, err
	}
	return s.store.ListKeys(ctx, sc.ProjectID, sc.RegionID, ringID)
}

// DeleteKey schedules the key's deletion after the configured delay; until
// then RestoreKey undoes it. A deleted key cannot be used.
func (s *Service) DeleteKey(ctx context.Context, sc Scope, ringID, id string) error {
	k, err := s.Key(ctx, sc, ringID, id)
	if err != nil {
		return err
	}
	if k.State == KeyDeleted {
		return errs.E(errs.FailedPrecondition, "key %s is already scheduled for deletion", id)
	}
	k.State, k.DeletionDate = KeyDeleted, s.now().Add(s.cfg.DeletionDelay)
	return s.store.UpdateKey(ctx, k)
}

// RestoreKey cancels a scheduled deletion.
func (s *Service) RestoreKey(ctx context.Context, sc Scope, ringID, id string) error {
	k, err := s.Key(ctx, sc, ringID, id)
	if err != nil {
		return err
	}
	if k.State != KeyDeleted {
		return errs.E(errs.FailedPrecondition, "key %s is not scheduled for deletion", id)
	}
	k.State, k.DeletionDate = KeyActive, time.Time{}
	return s.store.UpdateKey(ctx, k)
}

// RotateKey adds a new active version to the key and returns it.
func (s *Service) RotateKey(ctx context.Context, sc Scope, ringID, id string) (*Version, error) {
	k, err := s.activeKey(ctx, sc, ringID, id)
	if err != nil {
		return nil, err
	}
	v, wrap, material, err := s.newVersion(k)
	if err != nil {
		return nil, err
	}
	defer clear(material)
	if err := s.store.AddVersion(ctx, v, wrap); err != nil {
		return nil, fmt.Errorf("add version: %w", err)
	}
	return v, nil
}

func (s *Service) activeKey(ctx context.Context, sc Scope, ringID, id string) (*Key, error) {
	k, err := s.Key(ctx, sc, ringID, id)
	if err != nil {
		return nil, err
	}
	if k.State != KeyActive {
		return nil, errs.E(errs.FailedPrecondition, "key %s is scheduled for deletion; restore it first", id)
	}
	return k, nil
}
