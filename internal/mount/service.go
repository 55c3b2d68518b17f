package mount

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"time"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/cache"
	"github.com/cofferhq/coffer/internal/envelope"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kms"
)

// Sealer provisions envelope keyrings. *envelope.Envelope satisfies it.
type Sealer interface {
	// Provision creates a keyring with one DEK and a fallback key for id,
	// wraps the keyring under key (nil: under the fallback key), and
	// returns the wrapped keyring and the sealed fallback key.
	Provision(ctx context.Context, id string, key *kms.KeyRef) (wrappedKeyring, wrappedFallback []byte, err error)
}

// Service manages the mount table and the users of userpass mounts over a
// Store. It validates paths, types, options and users, gives every KV
// mount its own envelope keyring, and hashes userpass passwords with
// argon2id. It is safe for concurrent use.
//
// Errors carry errs kinds, with Vault's messages where Vault has one:
// InvalidArgument for bad input, NotFound for an unknown mount or user,
// AlreadyExists for a path in use. Messages never contain passwords.
//
// With WithCache it keeps mounts in memory (see package cache).
type Service struct {
	store  Store
	env    Sealer
	hasher *hasher
	now    func() time.Time
	cache  *cache.Cache[*Mount] // nil: every lookup reads the store
}

// Option adjusts a Service.
type Option func(*Service)

// WithClock makes the Service read the time from now. Times are kept in
// UTC to the microsecond.
func WithClock(now func() time.Time) Option {
	return func(s *Service) { s.now = func() time.Time { return now().UTC().Truncate(time.Microsecond) } }
}

// NewService returns a Service over st that provisions the keyrings of KV
// mounts with env.
func NewService(st Store, env Sealer, opts ...Option) *Service {
	s := &Service{store: st, env: env, hasher: newHasher(),
		now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
	for _, o := range opts {
		o(s)
	}
	return s
}

// keyringID is the envelope ID of the KV mount at path. The "mount:"
// prefix cannot occur in an instance ID (a UUID), so the AAD that binds a
// mount's keyring and values can never equal an instance's, even for a
// mount whose path is shaped like an instance ID.
func keyringID(path string) string { return "mount:" + path }

// Enable creates a mount of kind at path and returns it.
//
// path loses any slashes at either end and must then be one segment (see
// validatePath): Vault allows nested mount paths such as "team/kv", Coffer
// does not yet. A path shaped like a UUID is allowed (vault-benchmark
// mounts at random UUIDs), but the caller must refuse one that names an
// existing instance: an instance's KV mount lives at its ID, outside this
// table.
//
// KindSecret takes type "kv" (options["version"] "2" or absent, which
// becomes "2"; "kv-v2" is taken as "kv" version 2, as Vault does) and
// "transit"; KindAuth takes "userpass". A KV mount gets an envelope keyring
// of its own, under its own fallback key (no kmsKey). A path in use is
// errs.AlreadyExists "path is already in use at <path>/"; bad input is
// errs.InvalidArgument.
func (s *Service) Enable(ctx context.Context, kind, path, typ, description string, options map[string]string,
	defaultLeaseTTL, maxLeaseTTL time.Duration) (*Mount, error) {
	path = trimPath(path)
	if err := validatePath(kind, path); err != nil {
		return nil, err
	}
	typ, opts, err := checkType(kind, typ, options)
	if err != nil {
		return nil, err
	}
	if err := checkDescription(description); err != nil {
		return nil, err
	}
	if err := checkLeaseTTLs(defaultLeaseTTL, maxLeaseTTL); err != nil {
		return nil, err
	}
	if err := s.pathFree(ctx, kind, path); err != nil {
		return nil, err
	}
	m := &Mount{Path: path, Kind: kind, Type: typ, Description: description, UUID: uuid.NewString(), Options: opts,
		DefaultLeaseTTL: defaultLeaseTTL, MaxLeaseTTL: maxLeaseTTL, CreatedAt: s.now()}
	if typ == TypeKV {
		if m.WrappedKeyring, m.WrappedFallbackKey, err = s.env.Provision(ctx, keyringID(path), nil); err != nil {
			return nil, fmt.Errorf("provision mount keyring: %w", err)
		}
	}
	if err := s.create(ctx, m); err != nil {
		return nil, err
	}
	return m, nil
}

// pathInUse is Vault's answer to enabling a mount at a taken path.
func pathInUse(path string) error {
	return errs.E(errs.AlreadyExists, "path is already in use at %s/", path)
}

// pathFree returns errs.AlreadyExists when kind has a mount at path.
func (s *Service) pathFree(ctx context.Context, kind, path string) error {
	_, err := s.store.Mount(ctx, kind, path)
	switch {
	case err == nil:
		return pathInUse(path)
	case !errs.Is(err, errs.NotFound):
		return fmt.Errorf("look up mount: %w", err)
	}
	return nil
}

// accessorAttempts bounds how often create draws a new accessor when the
// one it drew is taken (a 1 in 2^32 event per existing mount of the type).
const accessorAttempts = 3

// create stores m under a fresh random accessor, drawing another when the
// accessor (rather than the path) is taken.
func (s *Service) create(ctx context.Context, m *Mount) error {
	for range accessorAttempts {
		acc, err := newAccessor(m.Type)
		if err != nil {
			return err
		}
		m.Accessor = acc
		err = s.store.CreateMount(ctx, m)
		s.invalidate(Changed(m.Kind, m.Path))
		if !errs.Is(err, errs.AlreadyExists) {
			if err != nil {
				return fmt.Errorf("create mount: %w", err)
			}
			return nil
		}
		if err := s.pathFree(ctx, m.Kind, m.Path); err != nil {
			return err // a concurrent Enable took the path
		}
	}
	return errs.E(errs.Internal, "could not draw a unique mount accessor")
}

// newAccessor returns typ + "_" + 8 random hex digits, as Vault's mount
// accessors look ("kv_1a2b3c4d").
func newAccessor(typ string) (string, error) {
	var b [4]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		return "", fmt.Errorf("read random accessor: %w", err)
	}
	return typ + "_" + hex.EncodeToString(b[:]), nil
}

// Mount returns the mount of kind at path (slashes at either end are
// ignored); errs.NotFound when there is none.
func (s *Service) Mount(ctx context.Context, kind, path string) (*Mount, error) {
	path = trimPath(path)
	if validatePath(kind, path) != nil {
		return nil, errs.E(errs.NotFound, "no mount at %s/", path)
	}
	if s.cache == nil {
		return s.read(ctx, kind, path)
	}
	key := kind + "/" + path
	if m, ok := s.cache.Get(key); ok {
		return m, nil
	}
	t := s.cache.Ticket()
	m, err := s.read(ctx, kind, path)
	if err != nil {
		return nil, err
	}
	s.cache.Put(t, key, "", m)
	return m, nil
}

// read reads the mount of kind at path from the store.
func (s *Service) read(ctx context.Context, kind, path string) (*Mount, error) {
	m, err := s.store.Mount(ctx, kind, path)
	if err != nil {
		return nil, fmt.Errorf("read mount: %w", err)
	}
	return m, nil
}

// List returns the mounts of kind ordered by path. An unknown kind is
// errs.InvalidArgument.
func (s *Service) List(ctx context.Context, kind string) ([]*Mount, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	list, err := s.store.ListMounts(ctx, kind)
	if err != nil {
		return nil, fmt.Errorf("list mounts: %w", err)
	}
	return list, nil
}

// Tune changes the lease TTLs and description of the mount of kind at
// path; nil arguments leave their setting as it is. A negative TTL, or a
// default TTL above a non-zero maximum, is errs.InvalidArgument; an unknown
// mount errs.NotFound.
//
// NOTE: Tune reads the mount and writes it back: of two concurrent tunes
// of different settings, the later write wins both.
func (s *Service) Tune(ctx context.Context, kind, path string, defaultLeaseTTL, maxLeaseTTL *time.Duration,
	description *string) error {
	path = trimPath(path)
	if validatePath(kind, path) != nil {
		return errs.E(errs.NotFound, "no mount at %s/", path)
	}
	m, err := s.read(ctx, kind, path) // not the cache: write back the newest row
	if err != nil {
		return err
	}
	setIf(&m.DefaultLeaseTTL, defaultLeaseTTL)
	setIf(&m.MaxLeaseTTL, maxLeaseTTL)
	setIf(&m.Description, description)
	if err := checkLeaseTTLs(m.DefaultLeaseTTL, m.MaxLeaseTTL); err != nil {
		return err
	}
	if err := checkDescription(m.Description); err != nil {
		return err
	}
	err = s.store.TuneMount(ctx, m)
	s.invalidate(Changed(kind, path))
	if err != nil {
		return fmt.Errorf("tune mount: %w", err)
	}
	return nil
}

// setIf sets *dst to *v when v is not nil.
func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// Disable removes the mount of kind at path, with its keyring and, for a
// userpass mount, its users; errs.NotFound when there is none.
//
// The mount's other data is the caller's to delete: for a KV mount, its
// secrets (kv.Service.DeleteMount(path)) before Disable, so that a failure
// leaves an empty mount rather than secrets a later Enable at the same
// path would find (unreadable under the new keyring); for an auth mount,
// the tokens its logins issued (by their meta) after Disable, so that no
// new ones appear meanwhile.
func (s *Service) Disable(ctx context.Context, kind, path string) error {
	path = trimPath(path)
	if validatePath(kind, path) != nil {
		return errs.E(errs.NotFound, "no mount at %s/", path)
	}
	err := s.store.DeleteMount(ctx, kind, path)
	s.invalidate(Changed(kind, path))
	if err != nil {
		return fmt.Errorf("delete mount: %w", err)
	}
	return nil
}

// Keys returns the envelope keys of the KV mount at path, for the KV
// engine: its keyring, under the envelope ID "mount:" + path, and its
// fallback key (no kmsKey). An unknown mount, or a secrets mount of
// another type, is errs.NotFound. It satisfies kv.KeySource for mounts of
// this table.
func (s *Service) Keys(ctx context.Context, path string) (envelope.Keys, error) {
	m, err := s.Mount(ctx, KindSecret, path)
	if err != nil {
		return envelope.Keys{}, err
	}
	if m.Type != TypeKV {
		return envelope.Keys{}, errs.E(errs.NotFound, "no KV mount at %s/", m.Path)
	}
	return envelope.Keys{InstanceID: keyringID(m.Path), WrappedKeyring: m.WrappedKeyring,
		WrappedFallbackKey: m.WrappedFallbackKey}, nil
}

// cloneOptions returns a copy of options, nil when it is empty.
func cloneOptions(options map[string]string) map[string]string {
	if len(options) == 0 {
		return nil
	}
	return maps.Clone(options)
}
