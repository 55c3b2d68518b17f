package transit

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

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
// The Keys it returns are shared with its cache and with other callers:
// use them read-only (Encrypt, Decrypt, Sign …, all safe for concurrent
// use) and change keys only through Mutate.
//
// The cache holds each key's unsealed Key tagged with the row it came
// from: its Revision and its sealed bytes. Revisions restart at 1 when a
// key is deleted and created again (perhaps by another replica), so the
// revision alone could match a different key; the sealed bytes, wrapped
// with a fresh nonce on every write, cannot. The cache is unbounded:
// entries leave it when a key is deleted through the Service or found
// missing.
type Service struct {
	st  Store
	w   Wrapper
	now func() time.Time

	mu    sync.Mutex
	cache map[cacheKey]cachedKey
}

type cacheKey struct{ mount, name string }

type cachedKey struct {
	revision int64
	sealed   []byte
	key      *Key
}

// NewService returns a Service over st that seals keys with w.
func NewService(st Store, w Wrapper, opts ...Option) *Service {
	s := &Service{st: st, w: w, now: time.Now, cache: map[cacheKey]cachedKey{}}
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
	if err := s.st.Create(ctx, sk); err != nil {
		return nil, fmt.Errorf("create transit key: %w", err)
	}
	s.remember(sk, k)
	return k, nil
}

// Key returns key name of mount; errs.NotFound when there is none. A key
// that does not unseal is errs.Internal.
//
// It always reads the key's row, so that a change made by another replica
// is seen at once, but it unseals and parses the key only when the row
// differs from the cached one (see Service). NOTE: a later change may skip the
// read too, with PostgreSQL LISTEN/NOTIFY invalidating the cache.
func (s *Service) Key(ctx context.Context, mount, name string) (*Key, error) {
	sk, err := s.get(ctx, mount, name)
	if err != nil {
		return nil, err
	}
	if k := s.cached(sk); k != nil {
		return k, nil
	}
	k, err := s.unseal(sk)
	if err != nil {
		return nil, err
	}
	s.remember(sk, k)
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
	s.forget(mount, name)
	if err != nil {
		return fmt.Errorf("delete transit key: %w", err)
	}
	return nil
}

// DeleteMount removes every key of mount, for the disabling of a transit
// mount.
func (s *Service) DeleteMount(ctx context.Context, mount string) error {
	err := s.st.DeleteMount(ctx, mount)
	s.mu.Lock()
	for ck := range s.cache {
		if ck.mount == mount {
			delete(s.cache, ck)
		}
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("delete transit mount keys: %w", err)
	}
	return nil
}

// get reads the row of a key, and forgets the cached key when the row is
// gone.
func (s *Service) get(ctx context.Context, mount, name string) (*StoredKey, error) {
	sk, err := s.st.Get(ctx, mount, name)
	if errs.KindOf(err) == errs.NotFound {
		s.forget(mount, name)
	}
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

// cached returns the cached key when it came from row sk, else nil.
func (s *Service) cached(sk *StoredKey) *Key {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cache[cacheKey{sk.Mount, sk.Name}]
	if ok && c.revision == sk.Revision && bytes.Equal(c.sealed, sk.Sealed) {
		return c.key
	}
	return nil
}

// remember caches k as the key of row sk. Of two racing callers the last
// wins, even with an older row: that costs an unseal later, never a wrong
// key, since cached compares the row.
func (s *Service) remember(sk *StoredKey, k *Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cache[cacheKey{sk.Mount, sk.Name}] = cachedKey{revision: sk.Revision, sealed: bytes.Clone(sk.Sealed), key: k}
}

// forget drops the cached key.
func (s *Service) forget(mount, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.cache, cacheKey{mount, name})
}
