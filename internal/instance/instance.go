// Package instance implements the Secrets Manager control plane: instances,
// their users and ACLs, and the kmsKey configuration, independent of HTTP and
// of storage.
package instance

import (
	"context"
	"time"
)

// State values of an instance. STACKIT documents no enum; Coffer creates
// instances synchronously, so they are active as soon as they exist.
const (
	StateActive = "active"
)

// SecretsEngine is the engine every instance serves on the Vault listener.
const SecretsEngine = "kv-v2"

// KMSKey is an instance's customer KMS key configuration: the seed's six
// fields. Every secret value of the instance is protected by this key version.
type KMSKey struct {
	RegionID            string
	ProjectID           string
	ServiceAccountEmail string
	KeyRingID           string
	KeyID               string
	KeyVersion          int64
}

// Instance is one Secrets Manager instance: a KV v2 mount on the Vault
// listener whose path is the instance ID.
type Instance struct {
	ID                   string
	ProjectID            string
	RegionID             string
	Name                 string
	State                string
	KMSKey               *KMSKey // nil when no customer key is configured
	SecretCount          int64
	CreationStartDate    time.Time
	CreationFinishedDate time.Time
	UpdateStartDate      time.Time // zero until the first update
	UpdateFinishedDate   time.Time // zero until the first update

	// WrappedKeyring is the instance's data keyring, wrapped under KMSKey, or
	// under the instance's own fallback key when KMSKey is nil. It is
	// replaced together with KMSKey, so a key switch is one transaction.
	WrappedKeyring []byte
	// WrappedFallbackKey is the instance's own key, wrapped by the seal.
	WrappedFallbackKey []byte
}

// User is a data-plane user of an instance (Vault userpass). PasswordHash is
// a keyed hash of the generated password; the password itself is never stored.
type User struct {
	ID           string
	InstanceID   string
	Username     string
	PasswordHash []byte
	Write        bool
	Description  string
	CreatedAt    time.Time
}

// ACL is one CIDR of an instance's data-plane allow-list.
type ACL struct {
	ID         string
	InstanceID string
	CIDR       string
}

// Store persists instances with their users and ACLs. Each method is atomic.
//
// Lookups take the owning project (and region for instances) so that an
// instance of another project or region is never found. Lookups and mutations
// of unknown IDs return an error of kind errs.NotFound. Methods that add users
// or ACLs enforce the given limit inside the same transaction and return
// errs.ResourceExhausted when the instance would exceed it. Returned values are
// owned by the caller.
type Store interface {
	CreateInstance(ctx context.Context, in *Instance) error
	Instance(ctx context.Context, projectID, regionID, id string) (*Instance, error)
	// InstanceByID finds an instance by ID alone (the Vault listener's view).
	InstanceByID(ctx context.Context, id string) (*Instance, error)
	ListInstances(ctx context.Context, projectID, regionID string) ([]*Instance, error)
	// UpdateInstance replaces Name, KMSKey, UpdateStartDate,
	// UpdateFinishedDate, WrappedKeyring and WrappedFallbackKey of the
	// instance with in.ID in in.ProjectID/in.RegionID.
	UpdateInstance(ctx context.Context, in *Instance) error
	// DeleteInstance removes the instance with its users and ACLs.
	DeleteInstance(ctx context.Context, projectID, regionID, id string) error

	CreateUser(ctx context.Context, u *User, limit int) error
	User(ctx context.Context, instanceID, id string) (*User, error)
	// UserByUsername finds a user by its (globally unique) username.
	UserByUsername(ctx context.Context, username string) (*User, error)
	ListUsers(ctx context.Context, instanceID string) ([]*User, error)
	// UpdateUser replaces Write and Description of the user with u.ID.
	UpdateUser(ctx context.Context, u *User) error
	DeleteUser(ctx context.Context, instanceID, id string) error

	CreateACL(ctx context.Context, a *ACL, limit int) error
	ACL(ctx context.Context, instanceID, id string) (*ACL, error)
	ListACLs(ctx context.Context, instanceID string) ([]*ACL, error)
	// UpdateACL replaces the CIDR of the ACL with a.ID.
	UpdateACL(ctx context.Context, a *ACL) error
	// ReplaceACLs replaces the instance's whole ACL list with acls.
	ReplaceACLs(ctx context.Context, instanceID string, acls []*ACL, limit int) error
	DeleteACL(ctx context.Context, instanceID, id string) error
}
