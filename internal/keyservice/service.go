package keyservice

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
)

// Wrapper wraps key material at rest (the seal).
type Wrapper interface {
	Wrap(plaintext, aad []byte) ([]byte, error)
	Unwrap(wrapped, aad []byte) ([]byte, error)
}

// Config holds the embedded KMS's settings.
type Config struct {
	// Regions served; set by the process config from COFFER_REGIONS.
	Regions []string `env:"-"`
	// DeletionDelay is how long a deleted key stays restorable.
	DeletionDelay time.Duration `env:"COFFER_KMS_KEY_DELETION_DELAY" envDefault:"720h"`
	// DestroyDelay is how long a destroyed version's material is kept (and
	// the version restorable) before it is erased for good.
	DestroyDelay time.Duration `env:"COFFER_KMS_VERSION_DESTROY_DELAY" envDefault:"24h"`
}

// Validate checks the config's invariants.
func (c Config) Validate() error {
	if c.DeletionDelay < 0 || c.DestroyDelay < 0 {
		return errs.E(errs.InvalidArgument, "COFFER_KMS_KEY_DELETION_DELAY and COFFER_KMS_VERSION_DESTROY_DELAY must not be negative")
	}
	return nil
}

// Scope names a project and region.
type Scope struct {
	ProjectID string
	RegionID  string
}

// Service is the embedded KMS. It is safe for concurrent use.
type Service struct {
	cfg   Config
	store Store
	wrap  Wrapper
	now   func() time.Time
}

// Option adjusts a Service.
type Option func(*Service)

// WithClock makes the Service read the time from now (tests use it to move
// past deletion and destruction delays).
func WithClock(now func() time.Time) Option {
	return func(s *Service) { s.now = func() time.Time { return now().UTC().Truncate(time.Microsecond) } }
}

// New returns the embedded KMS over st, wrapping material with w.
func New(cfg Config, st Store, w Wrapper, opts ...Option) *Service {
	s := &Service{cfg: cfg, store: st, wrap: w,
		now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
	for _, o := range opts {
		o(s)
	}
	return s
}

var displayNameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func (s *Service) checkScope(sc Scope) error {
	if uuid.Validate(sc.ProjectID) != nil {
		return errs.E(errs.InvalidArgument, "projectId: must be a UUID")
	}
	if !slices.Contains(s.cfg.Regions, sc.RegionID) {
		return errs.E(errs.InvalidArgument, "regionId: unknown region %q (served: %v)", sc.RegionID, s.cfg.Regions)
	}
	return nil
}

func checkNames(displayName, description string) error {
	if !displayNameRE.MatchString(displayName) {
		return errs.E(errs.InvalidArgument, "displayName: 1 to 64 letters, digits, '_' or '-'")
	}
	if len([]rune(description)) > 256 {
		return errs.E(errs.InvalidArgument, "description: at most 256 characters")
	}
	return nil
}

// CreateKeyRing creates an active key ring in sc.
func (s *Service) CreateKeyRing(ctx context.Context, sc Scope, displayName, description string) (*KeyRing, error) {
	if err := s.checkScope(sc); err != nil {
		return nil, err
	}
	if err := checkNames(displayName, description); err != nil {
		return nil, err
	}
	kr := &KeyRing{ID: uuid.NewString(), ProjectID: sc.ProjectID, RegionID: sc.RegionID, DisplayName: displayName,
		Description: description, State: KeyRingActive, CreatedAt: s.now()}
	if err := s.store.CreateKeyRing(ctx, kr); err != nil {
		return nil, fmt.Errorf("create key ring: %w", err)
	}
	return kr, nil
}

// KeyRing returns key ring id of sc.
func (s *Service) KeyRing(ctx context.Context, sc Scope, id string) (*KeyRing, error) {
	if err := s.checkScope(sc); err != nil {
		return nil, err
	}
	return s.store.KeyRing(ctx, sc.ProjectID, sc.RegionID, id)
}

// ListKeyRings returns the key rings of sc.
func (s *Service) ListKeyRings(ctx context.Context, sc Scope) ([]*KeyRing, error) {
	if err := s.checkScope(sc); err != nil {
		return nil, err
	}
	return s.store.ListKeyRings(ctx, sc.ProjectID, sc.RegionID)
}

// DeleteKeyRing deletes an empty key ring (errs.FailedPrecondition otherwise).
func (s *Service) DeleteKeyRing(ctx context.Context, sc Scope, id string) error {
	if err := s.checkScope(sc); err != nil {
		return err
	}
	return s.store.DeleteKeyRing(ctx, sc.ProjectID, sc.RegionID, id)
}
