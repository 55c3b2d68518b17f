// Package kv implements the Vault KV version 2 secrets engine for Coffer's
// Vault listener: versioned secrets with check-and-set, soft delete,
// undelete, destroy, metadata, engine config and subkeys. Every value is
// sealed through the mount's envelope keyring; the store only ever holds
// ciphertext, bound by AAD to its mount, path and version.
//
// The binding: version N of path P in mount M is sealed with the AAD
// "kv/" + M + "/" + P + "/v" + N (N in decimal). Mounts contain no "/" and
// N no "/", so the AAD names exactly one row: a ciphertext copied to another
// mount, path or version does not open.
package kv

import (
	"context"
	"maps"
	"slices"
	"time"
)

// DefaultMaxVersions is how many versions a path keeps when neither the
// path nor the mount sets max_versions (Vault: 0 means 10).
const DefaultMaxVersions = 10

// MountConfig is a mount's engine configuration (the config endpoint).
type MountConfig struct {
	MaxVersions        int // 0: DefaultMaxVersions
	CASRequired        bool
	DeleteVersionAfter time.Duration // 0: versions are kept until deleted
}

// VersionMeta describes one retained version of a path.
type VersionMeta struct {
	Version      int
	CreatedTime  time.Time
	DeletionTime time.Time // zero: live; set: soft-deleted at (or, when in the future, scheduled for) that time
	Destroyed    bool
}

// Metadata is a path's metadata with its retained versions (ascending).
type Metadata struct {
	Mount          string
	Path           string
	CurrentVersion int // 0: the path has metadata but no version yet
	// OldestVersion is 0 until versions are pruned; then every version
	// below it is gone for good (Vault reports it the same way).
	OldestVersion      int
	MaxVersions        int // 0: the mount's setting
	CASRequired        bool
	DeleteVersionAfter time.Duration     // 0: the mount's setting
	CustomMetadata     map[string]string // nil when empty
	CreatedTime        time.Time
	UpdatedTime        time.Time
	Versions           []VersionMeta
}

// EffectiveMaxVersions returns how many versions a path keeps: its own
// max_versions, else the mount's, else DefaultMaxVersions.
func EffectiveMaxVersions(pathMax, mountMax int) int {
	switch {
	case pathMax > 0:
		return pathMax
	case mountMax > 0:
		return mountMax
	}
	return DefaultMaxVersions
}

// EffectiveDeleteVersionAfter returns how long after its creation a new
// version is scheduled for deletion: the smaller of the path's and the
// mount's settings when both are set (Vault: the mount's value caps the
// path's), the one that is set otherwise, and 0 (never) when neither is.
func EffectiveDeleteVersionAfter(path, mount time.Duration) time.Duration {
	switch {
	case path > 0 && mount > 0:
		return min(path, mount)
	case path > 0:
		return path
	case mount > 0:
		return mount
	}
	return 0
}

// Store persists KV data per mount. Each method is atomic. Paths without
// metadata, and versions that do not exist or were pruned, are
// errs.NotFound. Returned values are owned by the caller. Times are stored
// to the microsecond and returned in UTC.
type Store interface {
	// MountConfig returns the mount's config, the zero config when none was set.
	MountConfig(ctx context.Context, mount string) (*MountConfig, error)
	SetMountConfig(ctx context.Context, mount string, c *MountConfig) error

	// Metadata returns the path's metadata with its retained versions.
	Metadata(ctx context.Context, mount, path string) (*Metadata, error)
	// Put writes the path's next version in one transaction: it reads the
	// current metadata (nil for a new path) and the mount config and calls
	// check, whose error aborts (CAS); assigns version = current+1; calls
	// seal(version) for the ciphertext and stores it with CreatedTime now
	// (and DeletionTime now+EffectiveDeleteVersionAfter when that is set);
	// prunes the oldest versions beyond the effective max_versions; and
	// updates the metadata. Concurrent Puts on one path are serialized: each
	// accepted write gets its own version. It returns the new metadata.
	//
	// check and seal run inside the transaction, holding the path's lock:
	// they must be quick and must not use the store. check gets a copy of
	// the metadata, with its versions. An error from check is returned as
	// it is, one from seal wrapped; either aborts the write.
	Put(ctx context.Context, mount, path string, now time.Time,
		check func(md *Metadata, mc *MountConfig) error, seal func(version int) ([]byte, error)) (*Metadata, error)
	// Read returns version (0: the current one) of path: its ciphertext (nil
	// when the version is destroyed; a soft-deleted version keeps it, for
	// Undelete, and whether a DeletionTime has passed is the caller's
	// judgement), its VersionMeta and the path's metadata without Versions.
	Read(ctx context.Context, mount, path string, version int) ([]byte, *VersionMeta, *Metadata, error)
	// SetDeletionTime soft-deletes (t non-zero) or undeletes (t zero) the
	// given versions; destroyed and unknown versions are skipped, and a
	// version deleted at or before t keeps its deletion time.
	SetDeletionTime(ctx context.Context, mount, path string, versions []int, t time.Time) error
	// Destroy erases the ciphertexts of the given versions for good; unknown
	// versions are skipped.
	Destroy(ctx context.Context, mount, path string, versions []int) error
	// WriteMetadata creates or updates the settable fields of md.Path's
	// metadata: MaxVersions, CASRequired, DeleteVersionAfter, CustomMetadata
	// (pruning versions beyond a lowered MaxVersions). A new path gets
	// CreatedTime now and no versions; UpdatedTime becomes now.
	WriteMetadata(ctx context.Context, md *Metadata, now time.Time) error
	// DeleteMetadata removes the path with all its versions.
	DeleteMetadata(ctx context.Context, mount, path string) error
	// List returns the direct children of prefix ("" or ending in "/"):
	// "name" for a path, "name/" for a folder, sorted, without duplicates.
	// No children is an empty, non-nil slice.
	List(ctx context.Context, mount, prefix string) ([]string, error)
	// CountPaths returns how many paths of the mount have metadata.
	CountPaths(ctx context.Context, mount string) (int, error)
	// DeleteMount removes everything stored for the mount.
	DeleteMount(ctx context.Context, mount string) error
}

// Clone returns a deep copy of md; nil for nil.
func (md *Metadata) Clone() *Metadata {
	if md == nil {
		return nil
	}
	c := *md
	c.CustomMetadata = maps.Clone(md.CustomMetadata)
	c.Versions = slices.Clone(md.Versions)
	return &c
}
