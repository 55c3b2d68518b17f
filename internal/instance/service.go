package instance

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/cache"
	"github.com/cofferhq/coffer/internal/envelope"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kms"
)

// AccountChecker enforces the kmsKey service-account rules. Both return
// errs.PermissionDenied naming the rule.
type AccountChecker interface {
	// CheckKMSServiceAccount (DESIGN.md, rule 4): the account belongs to the
	// instance's project and holds secrets-manager.reader or .admin there.
	CheckKMSServiceAccount(ctx context.Context, projectID, email string) error
	// CheckKeyUse: the account may use KMS keys of projectID. Required when
	// the key lives in another project than the instance, so nobody can put
	// another project's key to work without that project's consent.
	CheckKeyUse(ctx context.Context, projectID, email string) error
}

// Encrypter provisions and rewraps instance keyrings (the envelope).
type Encrypter interface {
	Provision(ctx context.Context, instanceID string, key *kms.KeyRef) (wrappedKeyring, wrappedFallback []byte, err error)
	Rewrap(ctx context.Context, k envelope.Keys, newKey *kms.KeyRef) ([]byte, error)
}

// Service implements the control plane's rules over a Store. It is safe for
// concurrent use.
type Service struct {
	cfg      Config
	store    Store
	accounts AccountChecker
	hasher   *Hasher
	keys     kms.Keeper // describes kmsKeys (rules 2 and 3)
	enc      Encrypter
	data     DataPlane
	now      func() time.Time
	caches   *caches // nil without Deps.Cache
}

// Deps are the Service's collaborators.
type Deps struct {
	Store    Store
	Accounts AccountChecker
	Hasher   *Hasher
	KMS      kms.Keeper
	Envelope Encrypter
	// DataPlane may be nil (no Vault side).
	DataPlane DataPlane
	// Cache, when set, makes the data plane's lookups (InstanceByID,
	// AllowsAddress) answer from memory while the bus is healthy; the
	// Service drops an instance from its caches on its own writes and the
	// bus delivers other replicas' (see package cache).
	Cache *cache.Bus
}

// NewService returns a Service. cfg must have passed Validate.
func NewService(cfg Config, d Deps) *Service {
	s := &Service{cfg: cfg, store: d.Store, accounts: d.Accounts, hasher: d.Hasher, keys: d.KMS, enc: d.Envelope, data: d.DataPlane,
		now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
	if d.Cache != nil {
		s.caches = newCaches(d.Cache, DefaultCacheSize)
		s.store = invalidatingStore{Store: d.Store, c: s.caches}
	}
	return s
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
		State: StateActive, KMSKey: spec.KMSKey, CreationStartDate: now}
	var err error
	in.WrappedKeyring, in.WrappedFallbackKey, err = s.enc.Provision(ctx, in.ID, keyRef(spec.KMSKey))
	if err != nil {
		return nil, fmt.Errorf("provision keyring: %w", err)
	}
	in.CreationFinishedDate = s.now()
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
	in, err := s.store.Instance(ctx, sc.ProjectID, sc.RegionID, id)
	if err != nil {
		return nil, err
	}
	return s.withCount(ctx, in)
}

// ListInstances returns the instances of sc.
func (s *Service) ListInstances(ctx context.Context, sc Scope) ([]*Instance, error) {
	if err := s.checkScope(sc); err != nil {
		return nil, err
	}
	ins, err := s.store.ListInstances(ctx, sc.ProjectID, sc.RegionID)
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		if _, err := s.withCount(ctx, in); err != nil {
			return nil, err
		}
	}
	return ins, nil
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
	if err := s.rekey(ctx, in, spec.KMSKey); err != nil {
		return nil, err
	}
	in.Name, in.KMSKey = spec.Name, spec.KMSKey
	in.UpdateFinishedDate = s.now()
	if err := s.store.UpdateInstance(ctx, in); err != nil {
		return nil, fmt.Errorf("update instance: %w", err)
	}
	return in, nil
}

// rekey rewraps in's keyring under next when the kmsKey changes: the new
// wrapped keyring is stored by the same UpdateInstance that stores next, so
// the switch is atomic and no secret value is rewritten. An instance without
// a keyring (created before envelope encryption) gets one.
func (s *Service) rekey(ctx context.Context, in *Instance, next *KMSKey) error {
	if len(in.WrappedKeyring) == 0 {
		w, fb, err := s.enc.Provision(ctx, in.ID, keyRef(next))
		if err != nil {
			return fmt.Errorf("provision keyring: %w", err)
		}
		in.WrappedKeyring, in.WrappedFallbackKey = w, fb
		return nil
	}
	if sameKey(in.KMSKey, next) {
		return nil
	}
	w, err := s.enc.Rewrap(ctx, Keys(in), keyRef(next))
	if errs.Is(err, errs.FailedPrecondition) {
		return errs.Wrap(errs.FailedPrecondition, err,
			"kmsKey: cannot rewrap the instance's keyring: its current key version cannot unwrap it (is it still active?)")
	}
	if err != nil {
		return fmt.Errorf("rewrap keyring: %w", err) // e.g. Unavailable: the KMS is down
	}
	in.WrappedKeyring = w
	return nil
}

func sameKey(a, b *KMSKey) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// keyRef converts a kmsKey to the KMS's reference; nil stays nil.
func keyRef(k *KMSKey) *kms.KeyRef {
	if k == nil {
		return nil
	}
	r := kms.KeyRef(*k)
	return &r
}

// Keys returns what the envelope needs to seal and open in's values.
func Keys(in *Instance) envelope.Keys {
	return envelope.Keys{InstanceID: in.ID, KMSKey: keyRef(in.KMSKey), WrappedKeyring: in.WrappedKeyring,
		WrappedFallbackKey: in.WrappedFallbackKey}
}

// DeleteInstance deletes the instance with its users and ACLs.
func (s *Service) DeleteInstance(ctx context.Context, sc Scope, id string) error {
	if _, err := s.Instance(ctx, sc, id); err != nil {
		return err
	}
	if err := s.store.DeleteInstance(ctx, sc.ProjectID, sc.RegionID, id); err != nil {
		return err
	}
	// The instance is gone, so its mount answers 404 already; its secrets
	// and tokens go now. A failure leaves unreachable rows, never access.
	if s.data != nil {
		if err := s.data.InstanceDeleted(ctx, id); err != nil {
			return fmt.Errorf("remove the instance's secrets and tokens: %w", err)
		}
	}
	return nil
}

// validateSpec checks the name and the kmsKey rules in the order of
// DESIGN.md: region; the key's shape and existence in its project; its
// purpose and version state; then the service account (403).
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
	if err := s.checkKey(ctx, k); err != nil {
		return err
	}
	if err := s.accounts.CheckKMSServiceAccount(ctx, sc.ProjectID, k.ServiceAccountEmail); err != nil {
		return err
	}
	if k.ProjectID != sc.ProjectID {
		return s.accounts.CheckKeyUse(ctx, k.ProjectID, k.ServiceAccountEmail)
	}
	return nil
}

// checkKey applies rules 2 and 3: the key version exists in the named
// project, is for symmetric encryption, and is usable.
func (s *Service) checkKey(ctx context.Context, k *KMSKey) error {
	info, err := s.keys.Describe(ctx, *keyRef(k))
	if errs.Is(err, errs.NotFound) {
		return errs.E(errs.InvalidArgument, "kmsKey: %s", errs.Message(err))
	}
	if err != nil {
		return fmt.Errorf("describe kmsKey: %w", err)
	}
	switch {
	case info.Purpose != kms.PurposeSymmetricEncryptDecrypt:
		return errs.E(errs.InvalidArgument, "kmsKey.keyId: the key's purpose is %s; a kmsKey must be %s",
			info.Purpose, kms.PurposeSymmetricEncryptDecrypt)
	case info.KeyDeleted:
		return errs.E(errs.InvalidArgument, "kmsKey.keyId: the key is scheduled for deletion")
	case info.VersionState != kms.VersionActive:
		return errs.E(errs.InvalidArgument, "kmsKey.keyVersion: version %d is %s, not active", k.KeyVersion, info.VersionState)
	}
	return nil
}
