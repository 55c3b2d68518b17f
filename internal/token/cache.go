package token

import (
	"maps"
	"slices"

	"github.com/cofferhq/coffer/internal/cache"
)

// CacheTopic is the topic of the cache invalidations of tokens (see
// package cache). Entries are keyed by secret hash and tagged by accessor.
const CacheTopic = "token"

// DefaultCacheSize is a sensible number of tokens to cache: a few MiB.
const DefaultCacheSize = 10000

// Changed returns the invalidation of the token with accessor, for its
// renewal or revocation. Stores that notify other replicas send it in the
// transaction of the change.
func Changed(accessor string) cache.Message { return cache.Tag(CacheTopic, accessor) }

// ManyChanged returns the invalidation of every cached token, for changes
// of tokens the writer does not name one by one (revocation by meta).
func ManyChanged() cache.Message { return cache.Flush(CacheTopic) }

// WithCache makes the Service keep up to size verified tokens in memory,
// by the hash of their secret, so that Lookup of a known token reads no
// store while bus is healthy. Expiry and bound CIDRs are still checked on
// every Lookup. The Service invalidates the cache on its own renewals and
// revocations; bus delivers those of other replicas. Unknown secrets are
// never cached.
func WithCache(bus *cache.Bus, size int) Option {
	return func(s *Service) { s.cache = cache.New(bus, CacheTopic, size, cloneToken) }
}

// cloneToken returns a copy of t that shares nothing mutable with it.
func cloneToken(t *Token) *Token {
	c := *t
	c.Hash = slices.Clone(t.Hash)
	c.Policies = slices.Clone(t.Policies)
	c.Meta = maps.Clone(t.Meta)
	c.BoundCIDRs = slices.Clone(t.BoundCIDRs)
	return &c
}

// invalidate applies m to the cache, if any.
func (s *Service) invalidate(m cache.Message) {
	if s.cache != nil {
		s.cache.Apply(m)
	}
}
