// Package keyservice implements Coffer's embedded KMS: project-scoped key
// rings, keys and key versions with the STACKIT KMS v1 lifecycle (rotate,
// enable, disable, scheduled destruction and deletion, restore), and the
// cryptographic operations on them through package keyring.
//
// Key material is stored only wrapped by the seal, with AAD that binds it to
// its key and version number.
package keyservice

import (
	"context"
	"time"

	"github.com/cofferhq/coffer/internal/keyring"
)

// Key ring, key and version states, as the STACKIT KMS API names them.
const (
	KeyRingActive = "active"

	KeyActive  = "active"
	KeyDeleted = "deleted" // scheduled for deletion; restorable until DeletionDate

	VersionActive    = "active"
	VersionDisabled  = "disabled"
	VersionDestroyed = "destroyed" // material erased, or scheduled to be at DestroyDate
)

// KeyRing groups keys of one project and region.
type KeyRing struct {
	ID          string
	ProjectID   string
	RegionID    string
	DisplayName string
	Description string
	State       string
	CreatedAt   time.Time
}

// Key is a named key of one algorithm with numbered versions.
type Key struct {
	ID           string
	KeyRingID    string
	ProjectID    string
	RegionID     string
	DisplayName  string
	Description  string
	Algorithm    keyring.Algorithm
	Protection   string // "software": the only protection Coffer offers
	ImportOnly   bool
	AccessScope  string // "PUBLIC" or "SNA"
	State        string
	CreatedAt    time.Time
	DeletionDate time.Time // zero unless the key is scheduled for deletion
}

// Version is one key version. WrappedMaterial is the key material wrapped by
// the seal; it is nil once the material has been erased.
type Version struct {
	KeyID           string
	KeyRingID       string
	Number          int64
	State           string
	CreatedAt       time.Time
	DestroyDate     time.Time // zero unless destruction was requested
	WrappedMaterial []byte
	PublicKey       string // PKIX PEM, asymmetric keys only
}

// Store persists key rings, keys and versions. Each method is atomic.
//
// Lookups are scoped by project and region: a key ring of another project
// or region is errs.NotFound, and so is an unknown ID. Returned values and
// their byte slices are owned by the caller.
type Store interface {
	CreateKeyRing(ctx context.Context, kr *KeyRing) error
	KeyRing(ctx context.Context, projectID, regionID, id string) (*KeyRing, error)
	// KeyRingByID finds a key ring in any project (for "project mismatch" messages).
	KeyRingByID(ctx context.Context, id string) (*KeyRing, error)
	ListKeyRings(ctx context.Context, projectID, regionID string) ([]*KeyRing, error)
	// DeleteKeyRing removes an empty key ring; errs.FailedPrecondition while it holds keys.
	DeleteKeyRing(ctx context.Context, projectID, regionID, id string) error

	// CreateKey stores k and, unless first is nil, its first version, in one
	// transaction; first.Number must be 1. The key ring must exist.
	CreateKey(ctx context.Context, k *Key, first *Version) error
	Key(ctx context.Context, projectID, regionID, keyRingID, id string) (*Key, error)
	// ListKeys returns the ring's keys; errs.NotFound when the ring does not exist.
	ListKeys(ctx context.Context, projectID, regionID, keyRingID string) ([]*Key, error)
	// UpdateKey replaces State and DeletionDate of key k.ID.
	UpdateKey(ctx context.Context, k *Key) error
	// PurgeKey deletes key id with all its versions.
	PurgeKey(ctx context.Context, id string) error
	// KeysDueForDeletion returns keys in state deleted whose DeletionDate is at or before t.
	KeysDueForDeletion(ctx context.Context, t time.Time) ([]*Key, error)

	// AddVersion stores v as the key's next version. Inside one transaction
	// it sets v.Number to one more than the highest existing number, then
	// calls wrap(v.Number) and stores the result as v.WrappedMaterial, so the
	// material is bound to its number. An error from wrap aborts it.
	AddVersion(ctx context.Context, v *Version, wrap func(number int64) ([]byte, error)) error
	Version(ctx context.Context, keyID string, number int64) (*Version, error)
	// ListVersions returns the key's versions by number.
	ListVersions(ctx context.Context, keyID string) ([]*Version, error)
	// UpdateVersion replaces State, DestroyDate and WrappedMaterial (nil
	// erases the material) of version v.KeyID/v.Number.
	UpdateVersion(ctx context.Context, v *Version) error
	// VersionsDueForErasure returns destroyed versions whose DestroyDate is at
	// or before t and that still hold material.
	VersionsDueForErasure(ctx context.Context, t time.Time) ([]*Version, error)
}
