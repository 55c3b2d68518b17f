package keyservice

import (
	"context"
	"fmt"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/keyring"
)

// Ref names a key version in the embedded KMS.
type Ref struct {
	Scope
	KeyRingID string
	KeyID     string
	Number    int64
}

// usable loads ref's key material after checking that the key is active,
// the version active, and the purpose is want. The caller must Destroy the
// returned key.
func (s *Service) usable(ctx context.Context, ref Ref, want keyring.Purpose) (*keyring.Key, error) {
	k, err := s.activeKey(ctx, ref.Scope, ref.KeyRingID, ref.KeyID)
	if err != nil {
		return nil, err
	}
	if k.Algorithm.Purpose() != want {
		return nil, errs.E(errs.InvalidArgument, "key %s has purpose %s, not %s", k.ID, k.Algorithm.Purpose(), want)
	}
	v, err := s.store.Version(ctx, k.ID, ref.Number)
	if err != nil {
		return nil, err
	}
	if v.State != VersionActive || v.WrappedMaterial == nil {
		return nil, errs.E(errs.FailedPrecondition, "version %d of key %s is %s and cannot be used", v.Number, k.ID, v.State)
	}
	material, err := s.wrap.Unwrap(v.WrappedMaterial, materialAAD(k.ID, v.Number))
	if err != nil {
		return nil, fmt.Errorf("unwrap version %d of key %s: %w", v.Number, k.ID, err)
	}
	defer clear(material)
	return keyring.Load(k.Algorithm, material)
}

// Encrypt encrypts plaintext with a symmetric or asymmetric encryption key
// version; aad (symmetric keys only) is authenticated with it.
func (s *Service) Encrypt(ctx context.Context, ref Ref, plaintext, aad []byte) ([]byte, error) {
	kk, err := s.cryptKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer kk.Destroy()
	return kk.Encrypt(plaintext, aad)
}

// Decrypt reverses Encrypt; any mismatch is errs.InvalidArgument "decryption failed".
func (s *Service) Decrypt(ctx context.Context, ref Ref, ciphertext, aad []byte) ([]byte, error) {
	kk, err := s.cryptKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer kk.Destroy()
	return kk.Decrypt(ciphertext, aad)
}

func (s *Service) cryptKey(ctx context.Context, ref Ref) (*keyring.Key, error) {
	k, err := s.Key(ctx, ref.Scope, ref.KeyRingID, ref.KeyID)
	if err != nil {
		return nil, err
	}
	p := k.Algorithm.Purpose()
	if p != keyring.SymmetricEncryptDecrypt && p != keyring.AsymmetricEncryptDecrypt {
		return nil, errs.E(errs.InvalidArgument, "key %s has purpose %s and cannot encrypt or decrypt", k.ID, p)
	}
	return s.usable(ctx, ref, p)
}

// Sign signs data with an asymmetric signing key version, or computes a MAC
// with a message authentication key version.
func (s *Service) Sign(ctx context.Context, ref Ref, data []byte) ([]byte, error) {
	kk, err := s.signKey(ctx, ref)
	if err != nil {
		return nil, err
	}
	defer kk.Destroy()
	return kk.Sign(data)
}

// Verify reports whether signature is valid for data.
func (s *Service) Verify(ctx context.Context, ref Ref, data, signature []byte) (bool, error) {
	kk, err := s.signKey(ctx, ref)
	if err != nil {
		return false, err
	}
	defer kk.Destroy()
	return kk.Verify(data, signature)
}

func (s *Service) signKey(ctx context.Context, ref Ref) (*keyring.Key, error) {
	k, err := s.Key(ctx, ref.Scope, ref.KeyRingID, ref.KeyID)
	if err != nil {
		return nil, err
	}
	p := k.Algorithm.Purpose()
	if p != keyring.AsymmetricSignVerify && p != keyring.MessageAuthenticationCode {
		return nil, errs.E(errs.InvalidArgument, "key %s has purpose %s and cannot sign or verify", k.ID, p)
	}
	return s.usable(ctx, ref, p)
}

// Describe reports what the key version is, for kmsKey validation. A key
// ring that exists in another project is reported as a project mismatch
// (the caller named its ID, so this reveals nothing new).
func (s *Service) Describe(ctx context.Context, ref Ref) (*Key, *Version, error) {
	if err := s.checkScope(ref.Scope); err != nil {
		return nil, nil, err
	}
	if _, err := s.store.KeyRing(ctx, ref.ProjectID, ref.RegionID, ref.KeyRingID); err != nil {
		if errs.Is(err, errs.NotFound) {
			if kr, err2 := s.store.KeyRingByID(ctx, ref.KeyRingID); err2 == nil && kr.ProjectID != ref.ProjectID {
				return nil, nil, errs.E(errs.NotFound, "project mismatch: key ring %s is not in project %s", ref.KeyRingID, ref.ProjectID)
			}
			return nil, nil, errs.E(errs.NotFound, "key ring %s not found in project %s, region %s", ref.KeyRingID, ref.ProjectID, ref.RegionID)
		}
		return nil, nil, err
	}
	k, err := s.store.Key(ctx, ref.ProjectID, ref.RegionID, ref.KeyRingID, ref.KeyID)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, nil, errs.E(errs.NotFound, "key %s not found in key ring %s", ref.KeyID, ref.KeyRingID)
		}
		return nil, nil, err
	}
	v, err := s.store.Version(ctx, k.ID, ref.Number)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, nil, errs.E(errs.NotFound, "version %d of key %s not found", ref.Number, ref.KeyID)
		}
		return nil, nil, err
	}
	return k, v, nil
}
