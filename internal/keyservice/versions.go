package keyservice

import (
	"context"
	"fmt"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
)

// Version returns version number of key id.
func (s *Service) Version(ctx context.Context, sc Scope, ringID, keyID string, number int64) (*Version, error) {
	if _, err := s.Key(ctx, sc, ringID, keyID); err != nil {
		return nil, err
	}
	return s.store.Version(ctx, keyID, number)
}

// ListVersions returns the versions of key id.
func (s *Service) ListVersions(ctx context.Context, sc Scope, ringID, keyID string) ([]*Version, error) {
	if _, err := s.Key(ctx, sc, ringID, keyID); err != nil {
		return nil, err
	}
	return s.store.ListVersions(ctx, keyID)
}

// transition moves a version from one of the states in from to state to,
// applying change; other states are errs.FailedPrecondition.
func (s *Service) transition(ctx context.Context, sc Scope, ringID, keyID string, number int64,
	verb string, from []string, change func(v *Version) error) error {
	if _, err := s.activeKey(ctx, sc, ringID, keyID); err != nil {
		return err
	}
	v, err := s.store.Version(ctx, keyID, number)
	if err != nil {
		return err
	}
	ok := false
	for _, st := range from {
		ok = ok || v.State == st
	}
	if !ok {
		return errs.E(errs.FailedPrecondition, "cannot %s version %d: it is %s", verb, number, v.State)
	}
	if err := change(v); err != nil {
		return err
	}
	return s.store.UpdateVersion(ctx, v)
}

// DisableVersion disables an active version: it can no longer be used.
func (s *Service) DisableVersion(ctx context.Context, sc Scope, ringID, keyID string, number int64) error {
	return s.transition(ctx, sc, ringID, keyID, number, "disable", []string{VersionActive},
		func(v *Version) error { v.State = VersionDisabled; return nil })
}

// EnableVersion enables a disabled version.
func (s *Service) EnableVersion(ctx context.Context, sc Scope, ringID, keyID string, number int64) error {
	return s.transition(ctx, sc, ringID, keyID, number, "enable", []string{VersionDisabled},
		func(v *Version) error { v.State = VersionActive; return nil })
}

// DestroyVersion destroys a version: it is unusable at once, and its
// material is erased after the configured delay (at once when the delay is
// zero). Until then RestoreVersion brings it back, disabled.
func (s *Service) DestroyVersion(ctx context.Context, sc Scope, ringID, keyID string, number int64) error {
	return s.transition(ctx, sc, ringID, keyID, number, "destroy", []string{VersionActive, VersionDisabled},
		func(v *Version) error {
			v.State, v.DestroyDate = VersionDestroyed, s.now().Add(s.cfg.DestroyDelay)
			if s.cfg.DestroyDelay == 0 {
				v.WrappedMaterial = nil
			}
			return nil
		})
}

// RestoreVersion undoes DestroyVersion while the material still exists; the
// version comes back disabled, to be enabled on purpose.
func (s *Service) RestoreVersion(ctx context.Context, sc Scope, ringID, keyID string, number int64) error {
	return s.transition(ctx, sc, ringID, keyID, number, "restore", []string{VersionDestroyed},
		func(v *Version) error {
			if v.WrappedMaterial == nil {
				return errs.E(errs.FailedPrecondition, "cannot restore version %d: its key material is already erased", number)
			}
			v.State, v.DestroyDate = VersionDisabled, time.Time{}
			return nil
		})
}

// Sweep erases the material of destroyed versions and purges deleted keys
// whose delay has passed. It returns how many of each it handled.
func (s *Service) Sweep(ctx context.Context) (erased, purged int, err error) {
	now := s.now()
	vs, err := s.store.VersionsDueForErasure(ctx, now)
	if err != nil {
		return 0, 0, fmt.Errorf("list versions due: %w", err)
	}
	for _, v := range vs {
		v.WrappedMaterial = nil
		if err := s.store.UpdateVersion(ctx, v); err != nil {
			return erased, 0, fmt.Errorf("erase version: %w", err)
		}
		erased++
	}
	ks, err := s.store.KeysDueForDeletion(ctx, now)
	if err != nil {
		return erased, 0, fmt.Errorf("list keys due: %w", err)
	}
	for _, k := range ks {
		if err := s.store.PurgeKey(ctx, k.ID); err != nil {
			return erased, purged, fmt.Errorf("purge key: %w", err)
		}
		purged++
	}
	return erased, purged, nil
}
