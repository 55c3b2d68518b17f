package kv

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/cofferhq/coffer/internal/envelope"
	"github.com/cofferhq/coffer/internal/errs"
)

// Sealer seals and opens values under a mount's keys, binding each to its
// AAD. *envelope.Envelope satisfies it. Open of a value under another AAD
// fails with errs.InvalidArgument.
type Sealer interface {
	Seal(ctx context.Context, k envelope.Keys, aad, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, k envelope.Keys, aad, sealed []byte) ([]byte, error)
}

// KeySource returns the envelope keys of a mount (for an instance's mount,
// the instance's keys). An unknown mount is errs.NotFound.
type KeySource interface {
	Keys(ctx context.Context, mount string) (envelope.Keys, error)
}

// Service is the KV v2 engine over a Store. It validates mounts, paths and
// settings, enforces check-and-set, and seals every value with the mount's
// keys before it reaches the store. It is safe for concurrent use.
//
// Errors carry errs kinds with Vault's messages where Vault has one:
// InvalidArgument for bad input, FailedPrecondition for a check-and-set
// mismatch, NotFound for a missing path or version (a soft-deleted or
// destroyed one is a *GoneError, also NotFound). Messages never contain
// secret data.
type Service struct {
	store  Store
	keys   KeySource
	sealer Sealer
	now    func() time.Time
}

// Option adjusts a Service.
type Option func(*Service)

// WithClock makes the Service read the time from now (tests use it to move
// past delete_version_after). Times are kept in UTC to the microsecond.
func WithClock(now func() time.Time) Option {
	return func(s *Service) { s.now = func() time.Time { return now().UTC().Truncate(time.Microsecond) } }
}

// NewService returns the KV v2 engine over st, sealing values with sealer
// under the keys that keys returns for each mount.
func NewService(st Store, keys KeySource, sealer Sealer, opts ...Option) *Service {
	s := &Service{store: st, keys: keys, sealer: sealer,
		now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
	for _, o := range opts {
		o(s)
	}
	return s
}

// aad returns the additional data that binds version of path in mount:
// "kv/<mount>/<path>/v<version>". See the package comment.
func aad(mount, path string, version int) []byte {
	return []byte("kv/" + mount + "/" + path + "/v" + strconv.Itoa(version))
}

// ConfigUpdate changes a mount's config; nil fields stay as they are
// (Vault's config endpoint changes only the fields it is given).
type ConfigUpdate struct {
	MaxVersions        *int
	CASRequired        *bool
	DeleteVersionAfter *time.Duration
}

// ReadConfig returns the mount's config; the zero config when none was
// written (max_versions 0 then means DefaultMaxVersions).
func (s *Service) ReadConfig(ctx context.Context, mount string) (*MountConfig, error) {
	if err := validateMount(mount); err != nil {
		return nil, err
	}
	mc, err := s.store.MountConfig(ctx, mount)
	if err != nil {
		return nil, fmt.Errorf("read kv config: %w", err)
	}
	return mc, nil
}

// WriteConfig applies u to the mount's config. A negative max_versions or
// delete_version_after is errs.InvalidArgument.
func (s *Service) WriteConfig(ctx context.Context, mount string, u ConfigUpdate) error {
	if err := validateMount(mount); err != nil {
		return err
	}
	if err := validateSettings(u.MaxVersions, u.DeleteVersionAfter); err != nil {
		return err
	}
	mc, err := s.store.MountConfig(ctx, mount)
	if err != nil {
		return fmt.Errorf("read kv config: %w", err)
	}
	setIf(&mc.MaxVersions, u.MaxVersions)
	setIf(&mc.CASRequired, u.CASRequired)
	setIf(&mc.DeleteVersionAfter, u.DeleteVersionAfter)
	if err := s.store.SetMountConfig(ctx, mount, mc); err != nil {
		return fmt.Errorf("write kv config: %w", err)
	}
	return nil
}

// CountPaths returns how many paths of the mount have metadata (the
// instance's secretCount).
func (s *Service) CountPaths(ctx context.Context, mount string) (int, error) {
	if err := validateMount(mount); err != nil {
		return 0, err
	}
	n, err := s.store.CountPaths(ctx, mount)
	if err != nil {
		return 0, fmt.Errorf("count kv paths: %w", err)
	}
	return n, nil
}

// DeleteMount removes every path, version and the config of the mount
// (for instance deletion or sys/mounts DELETE). Deleting an empty mount
// is not an error.
func (s *Service) DeleteMount(ctx context.Context, mount string) error {
	if err := validateMount(mount); err != nil {
		return err
	}
	if err := s.store.DeleteMount(ctx, mount); err != nil {
		return fmt.Errorf("delete kv mount: %w", err)
	}
	return nil
}

// setIf sets *dst to *v when v is not nil.
func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// maxMaxVersions is the largest max_versions the stores hold (Vault's is
// a uint32; ours fits PostgreSQL's integer).
const maxMaxVersions = 1<<31 - 1

// validateSettings checks max_versions and delete_version_after, when set.
func validateSettings(maxVersions *int, deleteVersionAfter *time.Duration) error {
	if maxVersions != nil && (*maxVersions < 0 || *maxVersions > maxMaxVersions) {
		return errs.E(errs.InvalidArgument, "max_versions must be between 0 and %d", maxMaxVersions)
	}
	if deleteVersionAfter != nil && *deleteVersionAfter < 0 {
		return errs.E(errs.InvalidArgument, "delete_version_after must not be negative")
	}
	return nil
}
