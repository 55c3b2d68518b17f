package instance

import (
	"bytes"
	"context"
	"slices"

	"github.com/cofferhq/coffer/internal/cache"
)

// CacheTopic is the topic of the cache invalidations of instances and
// their ACLs (see package cache). Entries are keyed by instance ID.
const CacheTopic = "instance"

// DefaultCacheSize is a sensible number of instances (and ACL lists) to
// cache.
const DefaultCacheSize = 10000

// Changed returns the invalidation of instance id, for a change of its row
// (name, kmsKey, keyring) or of its ACLs, or its deletion. Stores that
// notify other replicas send it in the transaction of the change.
func Changed(id string) cache.Message { return cache.Key(CacheTopic, id) }

// caches are what the data plane reads of instances on every request:
// the instance by ID (for its keyring) and its ACL's CIDRs. Unknown
// instances are never cached.
type caches struct {
	instances *cache.Cache[*Instance]
	cidrs     *cache.Cache[[]string]
}

func newCaches(bus *cache.Bus, size int) *caches {
	return &caches{
		instances: cache.New(bus, CacheTopic, size, cloneInstance),
		cidrs:     cache.New(bus, CacheTopic, size, slices.Clone[[]string]),
	}
}

// cloneInstance returns a copy of in that shares nothing mutable with it.
func cloneInstance(in *Instance) *Instance {
	c := *in
	if in.KMSKey != nil {
		k := *in.KMSKey
		c.KMSKey = &k
	}
	c.WrappedKeyring = bytes.Clone(in.WrappedKeyring)
	c.WrappedFallbackKey = bytes.Clone(in.WrappedFallbackKey)
	return &c
}

// invalidatingStore is the Store of a Service with caches: every write
// that changes an instance's row or ACLs drops the instance from the
// caches, also when it fails (it may have committed), so the Service
// reads its own writes at once. Other replicas learn of them through the
// bus (PostgreSQL NOTIFY in the write's transaction).
type invalidatingStore struct {
	Store
	c *caches
}

func (s invalidatingStore) drop(id string) {
	s.c.instances.Apply(Changed(id))
	s.c.cidrs.Apply(Changed(id))
}

func (s invalidatingStore) UpdateInstance(ctx context.Context, in *Instance) error {
	defer s.drop(in.ID)
	return s.Store.UpdateInstance(ctx, in)
}

func (s invalidatingStore) DeleteInstance(ctx context.Context, projectID, regionID, id string) error {
	defer s.drop(id)
	return s.Store.DeleteInstance(ctx, projectID, regionID, id)
}

func (s invalidatingStore) CreateACL(ctx context.Context, a *ACL, limit int) error {
	defer s.drop(a.InstanceID)
	return s.Store.CreateACL(ctx, a, limit)
}

func (s invalidatingStore) UpdateACL(ctx context.Context, a *ACL) error {
	defer s.drop(a.InstanceID)
	return s.Store.UpdateACL(ctx, a)
}

func (s invalidatingStore) ReplaceACLs(ctx context.Context, instanceID string, acls []*ACL, limit int) error {
	defer s.drop(instanceID)
	return s.Store.ReplaceACLs(ctx, instanceID, acls, limit)
}

func (s invalidatingStore) DeleteACL(ctx context.Context, instanceID, id string) error {
	defer s.drop(instanceID)
	return s.Store.DeleteACL(ctx, instanceID, id)
}
