// Package localkms is the embedded KMS (package keyservice) as a kms.Keeper:
// the default driver that wraps instance keyrings under a kmsKey.
//
// NOTE: it imports keyservice, the embedded KMS's domain package, in
// addition to the kms and errs packages that every driver may use; the
// embedded KMS is the one driver that lives in this process.
package localkms

import (
	"context"

	"github.com/cofferhq/coffer/internal/keyservice"
	"github.com/cofferhq/coffer/internal/kms"
)

// Keeper adapts the embedded KMS to kms.Keeper. It is safe for concurrent use.
type Keeper struct {
	svc *keyservice.Service
}

var _ kms.Keeper = (*Keeper)(nil)

// New returns a Keeper over the embedded KMS.
func New(svc *keyservice.Service) *Keeper { return &Keeper{svc: svc} }

func ref(k kms.KeyRef) keyservice.Ref {
	return keyservice.Ref{Scope: keyservice.Scope{ProjectID: k.ProjectID, RegionID: k.RegionID},
		KeyRingID: k.KeyRingID, KeyID: k.KeyID, Number: k.KeyVersion}
}

// Encrypt encrypts plaintext under the key version, binding aad.
func (k *Keeper) Encrypt(ctx context.Context, key kms.KeyRef, plaintext, aad []byte) ([]byte, error) {
	return k.svc.Encrypt(ctx, ref(key), plaintext, aad)
}

// Decrypt decrypts ciphertext under the key version, checking aad.
func (k *Keeper) Decrypt(ctx context.Context, key kms.KeyRef, ciphertext, aad []byte) ([]byte, error) {
	return k.svc.Decrypt(ctx, ref(key), ciphertext, aad)
}

// Describe reports the key version's purpose, algorithm and state.
func (k *Keeper) Describe(ctx context.Context, key kms.KeyRef) (*kms.KeyInfo, error) {
	kk, v, err := k.svc.Describe(ctx, ref(key))
	if err != nil {
		return nil, err
	}
	return &kms.KeyInfo{Purpose: string(kk.Algorithm.Purpose()), Algorithm: string(kk.Algorithm),
		VersionState: v.State, KeyDeleted: kk.State == keyservice.KeyDeleted}, nil
}
