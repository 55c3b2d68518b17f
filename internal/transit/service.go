package transit

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/cofferhq/coffer/internal/cache"
	"github.com/cofferhq/coffer/internal/errs"
)

// maxMutateAttempts bounds Mutate's read-modify-write loop: each lost race
// means another replica wrote the key meanwhile, so a few tries suffice
// unless the key is under a storm of writes.
const maxMutateAttempts = 5

// Wrapper wraps and unwraps key material at rest under the root key; the
// seal (*seal.Seal) is one. Unwrap of a value wrapped with another aad
// must fail.
type Wrapper interface {
	Wrap(plaintext, aad []byte) ([]byte, error)
	Unwrap(wrapped, aad []byte) ([]byte, error)
}

// Option configures a Service.
type Option func(*Service)

// WithClock makes the Service read the time from now (creation times of
// new keys, and StoredKey.UpdatedAt) instead of time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Service) { s.now = now }
}

// Service keeps the keys of transit mounts in a Store, sealed as a whole
// by a Wrapper with AAD "coffer/transit/<mount>/<name>", so a sealed key
// copied to another row does not unseal. It is safe for concurrent use,
// and several Services (replicas) may share one Store.
//
// Every Key it returns is the caller's own copy: changing it changes
// nothing else. Change stored keys only through Mutate.
//
// It caches unsealed keys (see package cache), each tagged with the row it
// came from: its Revision and its sealed bytes. With WithCache and a
// healthy bus, Key answers from the cache without reading the store; the
// Service invalidates the cache on its own writes and the bus delivers
// other replicas'. Otherwise (no bus, or its listener disconnected) Key
// reads the row every time and unseals it only when it differs from the
// cached one. Revisions restart at 1 when a key is deleted and created
// again (perhaps by another replica), so the revision alone could match a
// different key; the sealed bytes, wrapped with a fresh nonce on every
// write, cannot.
type Service struct {
	st    Store
	w     Wrapper
	now   func() time.Time
	cache *cache.Cache[cachedKey]
}

// cachedKey is a cache entry: an unsealed key and the row it came from.
type cachedKey struct {
	revision int64
	sealed   []byte // never handed out nor changed: shared by the entry's copies
	key      *Key
}

func cloneCached(c cachedKey) cachedKey {
	return cachedKey{revision: c.revision, sealed: c.sealed, key: c.key.clone()}
}

// CacheTopic is the topic of the cache invalidations of transit keys (see
// package cache). Entries are keyed by "<mount>/<name>" (mount paths have
// no slash) and tagged by mount.
const CacheTopic = "transit"

// DefaultCacheSize is a sensible number of transit keys to cache.
const DefaultCacheSize = 4096

// KeyChanged returns the invalidation of key name of mount, for any write
// of its row. Stores that notify other replicas send it in the
// transaction of the write.
func KeyChanged(mount, name string) cache.Message { return cache.Key(CacheTopic, mount+"/"+name) }

// MountChanged returns the invalidation of every key of mount, for
// DeleteMount.
func MountChanged(mount string) cache.Message { return cache.Tag(CacheTopic, mount) }

// WithCache makes Key serve up to size keys from memory while bus is
// healthy (see Service). Without it the Service still keeps size
// unsealed keys, but reads the row on every Key.
func WithCache(bus *cache.Bus, size int) Option {
	return func(s *Service) { s.cache = cache.New(bus, CacheTopic, size, cloneCached) }
}

// NewService returns a Service over st that seals keys with w.
func NewService(st Store, w Wrapper, opts ...Option) *Service {
	s := &Service{st: st, w: w, now: time.Now, cache: cache.New(nil, CacheTopic, DefaultCacheSize, cloneCached)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Create makes key name of type typ in mount, with version 1 created at
// o.Now (the Service's clock when zero), and stores it. NewKey's checks
// apply (errs.InvalidArgument); an empty mount is errs.InvalidArgument and
// a taken name errs.AlreadyExists.
func (s *Service) Create(ctx context.Context, mount, name, typ string, o Options) (*Key, error) {
	if mount == "" {
		return nil, errs.E(errs.InvalidArgument, "missing transit mount")
	}
	if o.Now.IsZero() {
		o.Now = s.now()
	}
	k, err := NewKey(name, typ, o)
	if err != nil {
		return nil, err
	}
	sk, err := s.seal(mount, k, 1)
	if err != nil {
		return nil, err
	}
	err = s.st.Create(ctx, sk)
	s.cache.Apply(KeyChanged(mount, name))
	if err != nil {
		return nil, fmt.Errorf("create transit key: %w", err)
	}
	s.remember(sk, k)
	return k, nil
}

// Key returns key name of mount; errs.NotFound when there is none. A key
// that does not unseal is errs.Internal.
//
// With WithCache and a healthy bus it answers from the cache when it can,
// without reading the store. Otherwise it reads the key's row, so that a
// change made by another replica is seen at once, but it unseals and
// parses the key only when the row differs from the cached one.
func (s *Service) Key(ctx context.Context, mount, name string) (*Key, error) {
	ck := mount + "/" + name
	if c, ok := s.cache.Get(ck); ok {
		return c.key, nil
	}
	t := s.cache.Ticket()
	sk, err := s.get(ctx, mount, name)
	if err != nil {
		return nil, err
	}
	if c, ok := s.cache.Peek(ck); ok && c.revision == sk.Revision && bytes.Equal(c.sealed, sk.Sealed) {
		s.cache.Put(t, ck, mount, c)
		return c.key, nil
	}
	k, err := s.unseal(sk)
	if err != nil {
		return nil, err
	}
	k.share()
	s.cache.Put(t, ck, mount, cachedKey{revision: sk.Revision, sealed: sk.Sealed, key: k})
	return k, nil
}

// Mutate changes key name of mount with f, for example a Rotate, SetConfig
// or Trim, and stores the result; it returns the changed Key. An error of
// f is returned as it is, and nothing is stored.
//
// f gets a private copy freshly unsealed from the store, never the shared
// cached Key. When another writer stored the key between the read and the
// write, Mutate reads it again and reapplies f, so f may run several times
// and must have no effect beyond its Key. After a few lost races Mutate
// gives up with errs.FailedPrecondition. f may not rename the key.
func (s *Service) Mutate(ctx context.Context, mount, name string, f func(k *Key) error) (*Key, error) {
	for range maxMutateAttempts {
		sk, err := s.get(ctx, mount, name)
		if err != nil {
			return nil, err
		}
		k, err := s.unseal(sk)
		if err != nil {
			return nil, err
		}
		if err := f(k); err != nil {
			return nil, err
		}
		if k.Name != name {
			return nil, errs.E(errs.InvalidArgument, "a change may not rename transit key %s", name)
		}
		next, err := s.seal(mount, k, sk.Revision+1)
		if err != nil {
			return nil, err
		}
		err = s.st.Update(ctx, next)
		if err == nil || errs.KindOf(err) != errs.FailedPrecondition {
			s.cache.Apply(KeyChanged(mount, name)) // also on failure: the write may have committed
		}
		if errs.KindOf(err) == errs.FailedPrecondition {
			continue // another writer won; start again from its revision
		}
		if err != nil {
			return nil, fmt.Errorf("update transit key: %w", err)
		}
		s.remember(next, k)
		return k, nil
	}
	return nil, errs.E(errs.FailedPrecondition,
		"transit key %s/%s changed concurrently %d times in a row; try again", mount, name, maxMutateAttempts)
}

// List returns the names of mount's keys in bytewise order.
func (s *Service) List(ctx context.Context, mount string) ([]string, error) {
	names, err := s.st.List(ctx, mount)
	if err != nil {
		return nil, fmt.Errorf("list transit keys: %w", err)
	}
	return names, nil
}

// Delete removes key name of mount when its configuration allows deletion
// (Key.CheckDelete's error, errs.InvalidArgument, when not); errs.NotFound
// when there is no such key.
//
// NOTE: the check and the removal are two steps; a replica that clears
// DeletionAllowed between them does not stop the deletion.
func (s *Service) Delete(ctx context.Context, mount, name string) error {
	k, err := s.Key(ctx, mount, name)
	if err != nil {
		return err
	}
	if err := k.CheckDelete(); err != nil {
		return err
	}
	err = s.st.Delete(ctx, mount, name)
	s.cache.Apply(KeyChanged(mount, name))
	if err != nil {
		return fmt.Errorf("delete transit key: %w", err)
	}
	return nil
}

// DeleteMount removes every key of mount, for the disabling of a transit
// mount.
func (s *Service) DeleteMount(ctx context.Context, mount string) error {
	err := s.st.DeleteMount(ctx, mount)
	s.cache.Apply(MountChanged(mount))
	if err != nil {
		return fmt.Errorf("delete transit mount keys: %w", err)
	}
	return nil
}

// get reads the row of a key.
func (s *Service) get(ctx context.Context, mount, name string) (*StoredKey, error) {
	sk, err := s.st.Get(ctx, mount, name)
	if err != nil {
		return nil, fmt.Errorf("read transit key: %w", err)
	}
	return sk, nil
}

// seal serializes k and wraps it for the row of mount and k.Name at revision.
func (s *Service) seal(mount string, k *Key, revision int64) (*StoredKey, error) {
	b, err := marshalKey(k)
	if err != nil {
		return nil, err
	}
	defer clear(b)
	sealed, err := s.w.Wrap(b, sealAAD(mount, k.Name))
	if err != nil {
		return nil, fmt.Errorf("seal transit key %s/%s: %w", mount, k.Name, err)
	}
	return &StoredKey{Mount: mount, Name: k.Name, Revision: revision, Sealed: sealed, UpdatedAt: s.now()}, nil
}

// unseal unwraps and parses the key of row sk.
func (s *Service) unseal(sk *StoredKey) (*Key, error) {
	b, err := s.w.Unwrap(sk.Sealed, sealAAD(sk.Mount, sk.Name))
	if err != nil {
		return nil, errUnseal(sk.Mount, sk.Name, err)
	}
	defer clear(b)
	return unmarshalKey(b, sk.Name)
}

// remember caches k, which the Service has just written as row sk, for
// Peek only (see cache.Cache.Remember): the next Key still reads the row,
// but need not unseal it when it is the one written.
func (s *Service) remember(sk *StoredKey, k *Key) {
	k.share()
	s.cache.Remember(sk.Mount+"/"+sk.Name, sk.Mount, cachedKey{revision: sk.Revision, sealed: bytes.Clone(sk.Sealed), key: k})
}
