package mount

import (
	"bytes"
	"maps"

	"github.com/cofferhq/coffer/internal/cache"
)

// CacheTopic is the topic of the cache invalidations of mounts (see
// package cache). Entries are keyed by "<kind>/<path>".
const CacheTopic = "mount"

// DefaultCacheSize is a sensible number of mounts to cache.
const DefaultCacheSize = 4096

// Changed returns the invalidation of the mount of kind at path, for its
// creation, tuning or deletion. Stores that notify other replicas send it
// in the transaction of the change.
func Changed(kind, path string) cache.Message { return cache.Key(CacheTopic, kind+"/"+path) }

// WithCache makes Mount (and Keys) serve up to size mounts from memory
// while bus is healthy. The Service invalidates the cache when it
// enables, tunes or disables a mount; bus delivers other replicas' changes.
// Missing mounts are never cached.
func WithCache(bus *cache.Bus, size int) Option {
	return func(s *Service) { s.cache = cache.New(bus, CacheTopic, size, cloneMount) }
}

// cloneMount returns a copy of m that shares nothing mutable with it.
func cloneMount(m *Mount) *Mount {
	c := *m
	c.Options = maps.Clone(m.Options)
	c.WrappedKeyring = bytes.Clone(m.WrappedKeyring)
	c.WrappedFallbackKey = bytes.Clone(m.WrappedFallbackKey)
	return &c
}

// invalidate applies m to the cache, if any.
func (s *Service) invalidate(m cache.Message) {
	if s.cache != nil {
		s.cache.Apply(m)
	}
}
