// Package kms defines how Coffer talks to a key management service: the
// Keeper interface that wraps and unwraps data keys under a KMS key version,
// the KeyRef that names such a version, and the table of drivers by name.
//
// Drivers live in subpackages (localkms for the embedded KMS); only cmd
// names them. The envelope package is the main caller.
package kms

import (
	"context"
	"fmt"
)

// KeyRef names one KMS key version: the six fields of an instance's kmsKey.
type KeyRef struct {
	RegionID            string
	ProjectID           string
	ServiceAccountEmail string // the identity the KMS call is made as
	KeyRingID           string
	KeyID               string
	KeyVersion          int64
}

// String names the key version without anything secret.
func (r KeyRef) String() string {
	return fmt.Sprintf("projects/%s/regions/%s/keyrings/%s/keys/%s/versions/%d",
		r.ProjectID, r.RegionID, r.KeyRingID, r.KeyID, r.KeyVersion)
}

// Purposes and version states, as the STACKIT KMS API names them.
const (
	PurposeSymmetricEncryptDecrypt = "symmetric_encrypt_decrypt"

	VersionActive    = "active"
	VersionDisabled  = "disabled"
	VersionDestroyed = "destroyed"
)

// KeyInfo describes a key version as Describe reports it.
type KeyInfo struct {
	Purpose      string // e.g. PurposeSymmetricEncryptDecrypt
	Algorithm    string // e.g. "aes_256_gcm"
	VersionState string // VersionActive, VersionDisabled, VersionDestroyed, ...
	KeyDeleted   bool   // the key is scheduled for deletion
}

// Keeper encrypts and decrypts small payloads (data keys) under a KMS key
// version. Implementations are safe for concurrent use.
//
// Errors: an unknown key ring, key or version is errs.NotFound; a version
// that cannot be used (disabled, destroyed, key deleted, wrong purpose) is
// errs.FailedPrecondition; a ciphertext that does not authenticate is
// errs.InvalidArgument; an unreachable KMS is errs.Unavailable.
type Keeper interface {
	Encrypt(ctx context.Context, key KeyRef, plaintext, aad []byte) ([]byte, error)
	Decrypt(ctx context.Context, key KeyRef, ciphertext, aad []byte) ([]byte, error)
	// Describe reports the key version's purpose, algorithm and state.
	Describe(ctx context.Context, key KeyRef) (*KeyInfo, error)
}

// OpenFunc opens a Keeper from its driver-specific configuration.
type OpenFunc func(ctx context.Context) (Keeper, error)
