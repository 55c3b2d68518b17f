// Package iam implements Coffer's identity and access management: service
// accounts, project-scoped role bindings, the roles and permissions of the
// control plane and KMS, and the JWTs that carry a caller's identity.
package iam

import (
	"context"
	"time"
)

// ServiceAccount is an identity that belongs to one project.
type ServiceAccount struct {
	ID        string // UUID; the "sub" claim of its tokens
	Email     string
	ProjectID string
	CreatedAt time.Time
}

// RoleBinding grants Role to Subject (a service account email) on a project.
type RoleBinding struct {
	ProjectID string
	Subject   string
	Role      string
}

// SigningKey is a JWT signing key. Private is the private key wrapped by the
// seal; it is never stored or handled in plaintext outside this package.
type SigningKey struct {
	KID        string
	Algorithm  string // "EdDSA"
	Public     []byte // raw public key
	WrappedKey []byte // sealed private key
	CreatedAt  time.Time
}

// Store persists IAM state. Each method is atomic.
//
// Lookups of unknown emails return errs.NotFound.
type Store interface {
	// EnsureServiceAccount creates sa unless an account with sa.Email exists,
	// and returns the stored account either way.
	EnsureServiceAccount(ctx context.Context, sa *ServiceAccount) (*ServiceAccount, error)
	ServiceAccount(ctx context.Context, email string) (*ServiceAccount, error)
	// Grant adds the binding; granting an existing binding is not an error.
	Grant(ctx context.Context, b RoleBinding) error
	// Revoke removes the binding; errs.NotFound when it does not exist.
	Revoke(ctx context.Context, b RoleBinding) error
	// Bindings returns every binding of subject, in all projects.
	Bindings(ctx context.Context, subject string) ([]RoleBinding, error)

	// EnsureSigningKey stores k unless a signing key already exists, and
	// returns the current (oldest) signing key either way, so that concurrent
	// first starts agree on one key.
	EnsureSigningKey(ctx context.Context, k *SigningKey) (*SigningKey, error)
	// SigningKeys returns every signing key, oldest first.
	SigningKeys(ctx context.Context) ([]*SigningKey, error)
}
