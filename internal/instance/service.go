package instance

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
)

// AccountChecker enforces the kmsKey service-account rule (DESIGN.md, rule 4):
// the account must belong to the instance's project and hold
// secrets-manager.reader or secrets-manager.admin there. It returns
// errs.PermissionDenied naming the rule when it does not.
type AccountChecker interface {
	CheckKMSServiceAccount(ctx context.Context, projectID, email string) error
}

// Service implements the control plane's rules over a Store. It is safe for
// concurrent use.
type Service struct {
	cfg      Config
	store    Store
	accounts AccountChecker
	hasher   *Hasher
	now      func() time.Time
}

// NewService returns a Service. cfg must have passed Validate.
func NewService(cfg Config, st Store, accounts AccountChecker, h *Hasher) *Service {
	return &Service{cfg: cfg, store: st, accounts: accounts, hasher: h,
		now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// DefaultRegion is the region that the v1 paths map onto.
func (s *Service) DefaultRegion() string { return s.cfg.DefaultRegion }

// APIURL is the Vault listener's public URL.
func (s *Service) APIURL() string { return s.cfg.APIURL }

// Scope names where an instance lives: a project and a region.
type Scope struct {
	ProjectID string
	RegionID  string
}

func (s *Service) checkScope(sc Scope) error {
	if err := validateUUID("projectId", sc.ProjectID); err != nil {
		return err
	}
	if !slices.Contains(s.cfg.Regions, sc.RegionID) {
		return errs.E(errs.InvalidArgument, "regionId: unknown region %q (served: %v)", sc.RegionID, s.cfg.Regions)
	}
	return nil
}

// Spec is what a client chooses of an instance on create and (full) update.
// An empty KMSKey.RegionID or ProjectID is filled by the service: from the
// instance's current kmsKey when the key ring is unchanged (so a v1 client,
// whose kmsKey has neither field, can rename an instance without moving its
// key), else from the path's scope.
type Spec struct {
	Name   string
	KMSKey *KMSKey // nil: no customer key (on update: remove it)
}

// fillKMSDefaults returns spec's kmsKey with empty RegionID/ProjectID filled
// from cur (when the key ring is unchanged) or sc. It does not modify spec.
func fillKMSDefaults(k, cur *KMSKey, sc Scope) *KMSKey {
	if k == nil {
		return nil
	}
	out := *k
	from := KMSKey{RegionID: sc.RegionID, ProjectID: sc.ProjectID}
	if cur != nil && cur.KeyRingID == k.KeyRingID {
		from = *cur
	}
	if out.RegionID == "" {
		out.RegionID = from.RegionID
	}
	if out.ProjectID == "" {
		out.ProjectID = from.ProjectID
	}
	return &out
}

// CreateInstance validates spec and creates an active instance in sc.
func (s *Service) CreateInstance(ctx context.Context, sc Scope, spec Spec) (*Instance, error) {
	spec.KMSKey = fillKMSDefaults(spec.KMSKey, nil, sc)
	if err := s.validateSpec(ctx, sc, spec); err != nil {
		return nil, err
	}
	now := s.now()
	in := &Instance{ID: uuid.NewString(), ProjectID: sc.ProjectID, RegionID: sc.RegionID, Name: spec.Name,
		State: StateActive, KMSKey: spec.KMSKey, CreationStartDate: now, CreationFinishedDate: now}
	if err := s.store.CreateInstance(ctx, in); err != nil {
		return nil, fmt.Errorf("create instance: %w", err)
	}
	return in, nil
}

// Instance returns the instance id of sc.
func (s *Service) Instance(ctx context.Context, sc Scope, id string) (*Instance, error) {
	if err := s.checkScope(sc); err != nil {
		return nil, err
	}
	if err := validateUUID("instanceId", id); err != nil {
		return nil, err
	}
	return s.store.Instance(ctx, sc.ProjectID, sc.RegionID, id)
}

// ListInstances returns the instances of sc.
func (s *Service) ListInstances(ctx context.Context, sc Scope) ([]*Instance, error) {
	if err := s.checkScope(sc); err != nil {
		return nil, err
	}
	return s.store.ListInstances(ctx, sc.ProjectID, sc.RegionID)
}

// UpdateInstance replaces the instance's name and kmsKey with spec (a full
// replace: a nil KMSKey removes the customer key).
func (s *Service) UpdateInstance(ctx context.Context, sc Scope, id string, spec Spec) (*Instance, error) {
	in, err := s.Instance(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	spec.KMSKey = fillKMSDefaults(spec.KMSKey, in.KMSKey, sc)
	if err := s.validateSpec(ctx, sc, spec); err != nil {
		return nil, err
	}
	in.UpdateStartDate = s.now()
	in.Name, in.KMSKey = spec.Name, spec.KMSKey
	in.UpdateFinishedDate = s.now()
	if err := s.store.UpdateInstance(ctx, in); err != nil {
		return nil, fmt.Errorf("update instance: %w", err)
	}
	return in, nil
}

// DeleteInstance deletes the instance with its users and ACLs.
func (s *Service) DeleteInstance(ctx context.Context, sc Scope, id string) error {
	if _, err := s.Instance(ctx, sc, id); err != nil {
		return err
	}
	return s.store.DeleteInstance(ctx, sc.ProjectID, sc.RegionID, id)
}

// validateSpec checks the name and the kmsKey rules that need no KMS, in the
// order of DESIGN.md: region, then the key reference's shape, then the
// service account (403).
func (s *Service) validateSpec(ctx context.Context, sc Scope, spec Spec) error {
	if err := s.checkScope(sc); err != nil {
		return err
	}
	if err := validateName(spec.Name); err != nil {
		return err
	}
	k := spec.KMSKey
	if k == nil {
		return nil
	}
	if k.RegionID != sc.RegionID {
		return errs.E(errs.InvalidArgument,
			"kmsKey.regionId: region mismatch: the key's region %q differs from the instance's region %q",
			k.RegionID, sc.RegionID)
	}
	for _, f := range [][2]string{{"kmsKey.projectId", k.ProjectID},
		{"kmsKey.keyRingId", k.KeyRingID}, {"kmsKey.keyId", k.KeyID}} {
		if err := validateUUID(f[0], f[1]); err != nil {
			return err
		}
	}
	if k.KeyVersion < 1 {
		return errs.E(errs.InvalidArgument, "kmsKey.keyVersion: must be at least 1")
	}
	if err := validateEmail("kmsKey.serviceAccountEmail", k.ServiceAccountEmail); err != nil {
		return err
	}
	return s.accounts.CheckKMSServiceAccount(ctx, sc.ProjectID, k.ServiceAccountEmail)
}
