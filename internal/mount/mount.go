// Package mount implements the Vault listener's mount table: secrets
// engines enabled through sys/mounts (KV version 2, transit) and auth
// methods enabled through sys/auth (userpass), owned by the Vault side
// rather than a Secrets Manager instance, plus the users of userpass mounts.
//
// An instance's KV mount is not in this table: it exists as long as the
// instance does, and sys/mounts refuses to create or disable it.
package mount

import (
	"context"
	"time"
)

// Kinds of mounts.
const (
	KindSecret = "secret" // sys/mounts
	KindAuth   = "auth"   // sys/auth
)

// Types of mounts.
const (
	TypeKV       = "kv"       // KindSecret: KV version 2
	TypeTransit  = "transit"  // KindSecret
	TypeUserpass = "userpass" // KindAuth
)

// Mount is one enabled engine or auth method.
type Mount struct {
	Path        string // without slashes at either end, e.g. "secret", "transit", "userpass"
	Kind        string // KindSecret or KindAuth
	Type        string // "kv" (options version 2), "transit", "userpass"
	Description string
	Accessor    string // e.g. "kv_1a2b3c4d"
	UUID        string
	Options     map[string]string // {"version": "2"} for kv
	// DefaultLeaseTTL and MaxLeaseTTL are the mount's tunable config.
	DefaultLeaseTTL time.Duration
	MaxLeaseTTL     time.Duration
	CreatedAt       time.Time
	// WrappedKeyring and WrappedFallbackKey hold a KV mount's envelope
	// keyring (no kmsKey: always under its own fallback key, sealed by the
	// root key). Empty for other types.
	WrappedKeyring     []byte
	WrappedFallbackKey []byte
}

// User is a user of a userpass mount made through auth/<mount>/users/<name>.
// Unlike an instance's generated users, people choose these passwords, so
// PasswordHash is a slow, salted hash (argon2id).
type User struct {
	Mount        string
	Username     string
	PasswordHash []byte
	Policies     []string
	TTL          time.Duration
	MaxTTL       time.Duration
	BoundCIDRs   []string
	UpdatedAt    time.Time
}

// Store persists the mount table and userpass users. Each method is atomic.
// Unknown paths or users are errs.NotFound; creating an existing path (or
// a taken accessor) is errs.AlreadyExists. Times are kept in UTC to the
// microsecond. Returned values, and their slices and maps, are owned by
// the caller; the store keeps no reference to what it is given.
type Store interface {
	CreateMount(ctx context.Context, m *Mount) error
	Mount(ctx context.Context, kind, path string) (*Mount, error)
	// ListMounts returns the mounts of kind ordered by path; none is an
	// empty slice.
	ListMounts(ctx context.Context, kind string) ([]*Mount, error)
	// TuneMount replaces DefaultLeaseTTL, MaxLeaseTTL and Description.
	TuneMount(ctx context.Context, m *Mount) error
	// SetMountOptions sets the options in set on the mount of kind at
	// path and keeps its other options, in one atomic step: of concurrent
	// calls that set different options, none is lost.
	SetMountOptions(ctx context.Context, kind, path string, set map[string]string) error
	// DeleteMount removes the mount and, for an auth mount, its users.
	DeleteMount(ctx context.Context, kind, path string) error

	// PutUser creates or replaces a userpass user. u.Mount must be the
	// path of an auth mount (errs.NotFound otherwise), so that no user
	// outlives a concurrent DeleteMount.
	PutUser(ctx context.Context, u *User) error
	User(ctx context.Context, mount, username string) (*User, error)
	// ListUsers returns the users of mount ordered by username; none (or
	// no such mount) is an empty slice.
	ListUsers(ctx context.Context, mount string) ([]*User, error)
	DeleteUser(ctx context.Context, mount, username string) error
}
