package httpapi

import (
	"context"

	"github.com/cofferhq/coffer/internal/httpapi/kmsapi"
)

// DisableVersion implements POST .../versions/{n}/disable.
func (h *kmsAPI) DisableVersion(ctx context.Context, r kmsapi.DisableVersionRequestObject) (kmsapi.DisableVersionResponseObject, error) {
	return kmsapi.DisableVersion204Response{}, h.svc.DisableVersion(ctx, kmsScope(r.ProjectId, r.RegionId),
		r.KeyRingId.String(), r.KeyId.String(), r.VersionNumber)
}

// EnableVersion implements POST .../versions/{n}/enable.
func (h *kmsAPI) EnableVersion(ctx context.Context, r kmsapi.EnableVersionRequestObject) (kmsapi.EnableVersionResponseObject, error) {
	return kmsapi.EnableVersion204Response{}, h.svc.EnableVersion(ctx, kmsScope(r.ProjectId, r.RegionId),
		r.KeyRingId.String(), r.KeyId.String(), r.VersionNumber)
}

// DestroyVersion implements POST .../versions/{n}/destroy.
func (h *kmsAPI) DestroyVersion(ctx context.Context, r kmsapi.DestroyVersionRequestObject) (kmsapi.DestroyVersionResponseObject, error) {
	return kmsapi.DestroyVersion204Response{}, h.svc.DestroyVersion(ctx, kmsScope(r.ProjectId, r.RegionId),
		r.KeyRingId.String(), r.KeyId.String(), r.VersionNumber)
}

// RestoreVersion implements POST .../versions/{n}/restore.
func (h *kmsAPI) RestoreVersion(ctx context.Context, r kmsapi.RestoreVersionRequestObject) (kmsapi.RestoreVersionResponseObject, error) {
	return kmsapi.RestoreVersion204Response{}, h.svc.RestoreVersion(ctx, kmsScope(r.ProjectId, r.RegionId),
		r.KeyRingId.String(), r.KeyId.String(), r.VersionNumber)
}

// Encrypt implements POST .../versions/{n}/encrypt.
func (h *kmsAPI) Encrypt(ctx context.Context, r kmsapi.EncryptRequestObject) (kmsapi.EncryptResponseObject, error) {
	ct, err := h.svc.Encrypt(ctx, kmsRef(r.ProjectId, r.RegionId, r.KeyRingId, r.KeyId, r.VersionNumber), r.Body.Data, nil)
	if err != nil {
		return nil, err
	}
	return kmsapi.Encrypt200JSONResponse{Data: ct}, nil
}

// Decrypt implements POST .../versions/{n}/decrypt.
func (h *kmsAPI) Decrypt(ctx context.Context, r kmsapi.DecryptRequestObject) (kmsapi.DecryptResponseObject, error) {
	pt, err := h.svc.Decrypt(ctx, kmsRef(r.ProjectId, r.RegionId, r.KeyRingId, r.KeyId, r.VersionNumber), r.Body.Data, nil)
	if err != nil {
		return nil, err
	}
	if pt == nil {
		pt = []byte{} // "data" is required: an empty plaintext is "", never null
	}
	return kmsapi.Decrypt200JSONResponse{Data: pt}, nil
}

// Sign implements POST .../versions/{n}/sign.
func (h *kmsAPI) Sign(ctx context.Context, r kmsapi.SignRequestObject) (kmsapi.SignResponseObject, error) {
	sig, err := h.svc.Sign(ctx, kmsRef(r.ProjectId, r.RegionId, r.KeyRingId, r.KeyId, r.VersionNumber), r.Body.Data)
	if err != nil {
		return nil, err
	}
	return kmsapi.Sign200JSONResponse{Data: r.Body.Data, Signature: sig}, nil
}

// Verify implements POST .../versions/{n}/verify.
func (h *kmsAPI) Verify(ctx context.Context, r kmsapi.VerifyRequestObject) (kmsapi.VerifyResponseObject, error) {
	ok, err := h.svc.Verify(ctx, kmsRef(r.ProjectId, r.RegionId, r.KeyRingId, r.KeyId, r.VersionNumber), r.Body.Data, r.Body.Signature)
	if err != nil {
		return nil, err
	}
	return kmsapi.Verify200JSONResponse{Valid: ok}, nil
}

// ListWrappingKeys answers 501.
func (h *kmsAPI) ListWrappingKeys(ctx context.Context, r kmsapi.ListWrappingKeysRequestObject) (kmsapi.ListWrappingKeysResponseObject, error) {
	return nil, h.noWrappingKeys(ctx, r.ProjectId, r.RegionId, r.KeyRingId)
}

// CreateWrappingKey answers 501.
func (h *kmsAPI) CreateWrappingKey(ctx context.Context, r kmsapi.CreateWrappingKeyRequestObject) (kmsapi.CreateWrappingKeyResponseObject, error) {
	return nil, h.noWrappingKeys(ctx, r.ProjectId, r.RegionId, r.KeyRingId)
}

// GetWrappingKey answers 501.
func (h *kmsAPI) GetWrappingKey(ctx context.Context, r kmsapi.GetWrappingKeyRequestObject) (kmsapi.GetWrappingKeyResponseObject, error) {
	return nil, h.noWrappingKeys(ctx, r.ProjectId, r.RegionId, r.KeyRingId)
}

// DeleteWrappingKey answers 501.
func (h *kmsAPI) DeleteWrappingKey(ctx context.Context, r kmsapi.DeleteWrappingKeyRequestObject) (kmsapi.DeleteWrappingKeyResponseObject, error) {
	return nil, h.noWrappingKeys(ctx, r.ProjectId, r.RegionId, r.KeyRingId)
}
