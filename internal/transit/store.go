package transit

import (
	"context"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
)

// StoredKey is a transit key at rest: the row of one key of one transit
// mount. Everything of the Key, its secret parts (every version's material
// and HMAC key) included, is only inside Sealed, which the seal wrapped
// with AAD naming Mount and Name (see Service).
type StoredKey struct {
	Mount string // the transit mount's path, such as "transit"
	Name  string // the key's name within the mount
	// Revision counts the writes of the row: 1 when created, one more on
	// every Update. It is the optimistic concurrency token.
	Revision  int64
	Sealed    []byte
	UpdatedAt time.Time
}

// Validate checks what every store requires of k: a mount, a name, a
// revision of at least 1 and a sealed key. A failure is errs.InvalidArgument.
func (k *StoredKey) Validate() error {
	switch {
	case k.Mount == "" || k.Name == "":
		return errs.E(errs.InvalidArgument, "a transit key needs a mount and a name")
	case k.Revision < 1:
		return errs.E(errs.InvalidArgument, "transit key revision %d is not positive", k.Revision)
	case len(k.Sealed) == 0:
		return errs.E(errs.InvalidArgument, "transit key %s/%s has no sealed key", k.Mount, k.Name)
	}
	return nil
}

// Store persists the keys of transit mounts. Each method is atomic, and
// implementations are safe for concurrent use. They copy byte slices in
// and out: the caller owns what it passes and what it gets back. Times
// are returned in UTC, truncated to the microsecond.
//
// An invalid StoredKey (see Validate) is errs.InvalidArgument.
type Store interface {
	// Create stores a new key, normally at Revision 1. A key of the same
	// mount and name is errs.AlreadyExists.
	Create(ctx context.Context, k *StoredKey) error
	// Get returns the key name of mount; errs.NotFound when there is none.
	Get(ctx context.Context, mount, name string) (*StoredKey, error)
	// List returns the names of mount's keys in bytewise order; an empty,
	// non-nil slice when there are none.
	List(ctx context.Context, mount string) ([]string, error)
	// Update replaces the key's Sealed, Revision and UpdatedAt, but only
	// when the stored Revision is k.Revision-1: otherwise it changes
	// nothing and is errs.FailedPrecondition ("key changed concurrently"),
	// so that two writers that read the same revision cannot both win and
	// lose the other's version. An unknown key is errs.NotFound.
	Update(ctx context.Context, k *StoredKey) error
	// Delete removes the key name of mount; errs.NotFound when there is none.
	Delete(ctx context.Context, mount, name string) error
	// DeleteMount removes every key of mount. A mount without keys is not
	// an error.
	DeleteMount(ctx context.Context, mount string) error
}

// ErrConcurrentUpdate returns the error a Store's Update gives when the
// stored revision is not the one before k's.
func ErrConcurrentUpdate(mount, name string) error {
	return errs.E(errs.FailedPrecondition, "transit key %s/%s changed concurrently", mount, name)
}
