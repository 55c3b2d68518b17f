package token

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"hash"
	"io"
	"net/netip"
	"sync"
	"time"

	"github.com/cofferhq/coffer/internal/cache"
	"github.com/cofferhq/coffer/internal/errs"
)

// Service issues, checks, renews and revokes tokens over a Store. The
// secrets it hands out are never stored, logged or put in an error: only
// their HMAC under the service's hash key is kept. It is safe for
// concurrent use. With WithCache it keeps verified tokens in memory.
type Service struct {
	cfg   Config
	store Store
	key   []byte
	now   func() time.Time
	cache *cache.Cache[*Token] // nil: every Lookup reads the store
	macs  sync.Pool            // of hash.Hash: HMAC-SHA256 keyed with key
}

// Option adjusts a Service.
type Option func(*Service)

// WithClock makes the Service read the time from now (tests use it to
// move past expiry).
func WithClock(now func() time.Time) Option {
	return func(s *Service) { s.now = func() time.Time { return now().UTC().Truncate(time.Microsecond) } }
}

// NewService returns a Service over st. cfg must have passed Validate.
// hashKey is the HashKeySize-byte key secrets are hashed with (see
// DeriveHashKey); changing it invalidates every stored token. NewService
// panics when hashKey has another size, a wiring mistake.
func NewService(cfg Config, st Store, hashKey []byte, opts ...Option) *Service {
	if len(hashKey) != HashKeySize {
		panic(fmt.Sprintf("token: hash key has %d bytes, want %d", len(hashKey), HashKeySize))
	}
	s := &Service{cfg: cfg, store: st, key: append([]byte(nil), hashKey...),
		now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
	for _, o := range opts {
		o(s)
	}
	s.macs.New = func() any { return hmac.New(sha256.New, s.key) }
	return s
}

// hash returns hashSecret(s.key, secret), with a keyed HMAC from the pool:
// keying one costs more than hashing a secret.
func (s *Service) hash(secret string) []byte {
	m := s.macs.Get().(hash.Hash)
	m.Reset()
	io.WriteString(m, secret)
	h := m.Sum(nil)
	s.macs.Put(m)
	return h
}

// denied is Vault's answer to every token that does not work, whatever the
// reason: it never says whether the token is unknown, malformed, expired or
// used from the wrong address.
func denied() error { return errs.E(errs.PermissionDenied, "permission denied") }

// Create validates spec and stores a new token. It returns the secret,
// which the caller hands to the client once (it cannot be recovered), and
// the stored token. An invalid spec is errs.InvalidArgument naming the
// field.
func (s *Service) Create(ctx context.Context, spec Spec) (secret string, t *Token, err error) {
	t, err = s.newToken(spec, s.now())
	if err != nil {
		return "", nil, err
	}
	if secret, err = newSecret(); err != nil {
		return "", nil, err
	}
	if t.Accessor, err = newAccessor(); err != nil {
		return "", nil, err
	}
	t.Hash = hashSecret(s.key, secret)
	if err := s.store.CreateToken(ctx, t); err != nil {
		return "", nil, fmt.Errorf("create token: %w", err)
	}
	return secret, t, nil
}

// Lookup returns the token whose secret is secret, used from client. An
// unknown, malformed or expired secret, or a client outside the token's
// BoundCIDRs, is errs.PermissionDenied "permission denied".
func (s *Service) Lookup(ctx context.Context, secret string, client netip.Addr) (*Token, error) {
	t, err := s.find(ctx, secret)
	if err != nil {
		return nil, err
	}
	if !allowedFrom(t.BoundCIDRs, client) {
		return nil, denied()
	}
	return t, nil
}

// find returns the live token whose secret is secret; errs.PermissionDenied
// when there is none.
func (s *Service) find(ctx context.Context, secret string) (*Token, error) {
	if !wellFormed(secret) {
		return nil, denied()
	}
	h := s.hash(secret)
	now := s.now()
	var ticket cache.Ticket
	if s.cache != nil {
		if t, ok := s.cache.Get(string(h)); ok { // cached by this very hash
			if t.Expired(now) {
				return nil, denied()
			}
			return t, nil
		}
		ticket = s.cache.Ticket()
	}
	t, err := s.store.TokenByHash(ctx, h)
	if errs.Is(err, errs.NotFound) {
		return nil, denied()
	}
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	// The store found the row by this hash; comparing again guards against
	// a store that matched loosely.
	if subtle.ConstantTimeCompare(t.Hash, h) != 1 || t.Expired(now) {
		return nil, denied()
	}
	if s.cache != nil {
		s.cache.Put(ticket, string(h), t.Accessor, t)
	}
	return t, nil
}

// Renew extends the token whose secret is secret, as Vault's renew-self
// does: the new expiry is now plus increment, or plus the token's TTL when
// increment is 0, capped at MaxExpiresAt (or, for a token without one, the
// increment capped at Config.MaxTTL). Renewal may shorten the remaining
// lifetime. It does not check BoundCIDRs: callers authenticate the request
// with Lookup first. A token that does not work is errs.PermissionDenied;
// one that is not renewable errs.InvalidArgument "lease is not renewable";
// a negative increment errs.InvalidArgument.
func (s *Service) Renew(ctx context.Context, secret string, increment time.Duration) (*Token, error) {
	if increment < 0 {
		return nil, errs.E(errs.InvalidArgument, "increment must not be negative")
	}
	t, err := s.find(ctx, secret)
	if err != nil {
		return nil, err
	}
	if !t.Renewable {
		return nil, errs.E(errs.InvalidArgument, "lease is not renewable")
	}
	if t.ExpiresAt.IsZero() { // never expires: nothing to extend
		return t, nil
	}
	inc := increment
	if inc == 0 {
		inc = t.TTL
	}
	if inc <= 0 {
		inc = s.cfg.DefaultTTL
	}
	if t.MaxExpiresAt.IsZero() && s.cfg.MaxTTL > 0 {
		inc = min(inc, s.cfg.MaxTTL)
	}
	exp := s.now().Add(inc)
	if !t.MaxExpiresAt.IsZero() && exp.After(t.MaxExpiresAt) {
		exp = t.MaxExpiresAt
	}
	err = s.store.UpdateTokenExpiry(ctx, t.Accessor, exp)
	// Invalidate also on failure: the write may have committed.
	s.invalidate(Changed(t.Accessor))
	if errs.Is(err, errs.NotFound) { // revoked meanwhile
		return nil, denied()
	}
	if err != nil {
		return nil, fmt.Errorf("renew token: %w", err)
	}
	t.ExpiresAt = exp
	return t, nil
}

// Revoke deletes the token whose secret is secret. A token that does not
// work is errs.PermissionDenied; one revoked concurrently is not an error.
func (s *Service) Revoke(ctx context.Context, secret string) error {
	t, err := s.find(ctx, secret)
	if err != nil {
		return err
	}
	err = s.store.RevokeToken(ctx, t.Accessor)
	s.invalidate(Changed(t.Accessor))
	if err != nil && !errs.Is(err, errs.NotFound) {
		return fmt.Errorf("revoke token: %w", err)
	}
	return nil
}

// RevokeByMeta deletes every token whose Meta[key] is value (such as all
// tokens of a deleted user or instance) and returns how many it deleted.
// An empty key is errs.InvalidArgument.
func (s *Service) RevokeByMeta(ctx context.Context, key, value string) (int, error) {
	if key == "" {
		return 0, errs.E(errs.InvalidArgument, "meta key must not be empty")
	}
	n, err := s.store.RevokeTokensByMeta(ctx, key, value)
	s.invalidate(ManyChanged())
	if err != nil {
		return 0, fmt.Errorf("revoke tokens by meta: %w", err)
	}
	return n, nil
}

// Sweep deletes the tokens that have expired and returns how many.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	n, err := s.store.DeleteExpiredTokens(ctx, s.now())
	if err != nil {
		return 0, fmt.Errorf("delete expired tokens: %w", err)
	}
	return n, nil
}
