package httpapi

import (
	"context"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/httpapi/kmsapi"
	"github.com/cofferhq/coffer/internal/keyring"
	"github.com/cofferhq/coffer/internal/keyservice"
)

// kmsAPI implements the generated KMS v1 strict server over the embedded KMS.
type kmsAPI struct {
	svc *keyservice.Service
}

var _ kmsapi.StrictServerInterface = (*kmsAPI)(nil)

// ListKeyRings implements GET .../keyrings.
func (h *kmsAPI) ListKeyRings(ctx context.Context, r kmsapi.ListKeyRingsRequestObject) (kmsapi.ListKeyRingsResponseObject, error) {
	krs, err := h.svc.ListKeyRings(ctx, kmsScope(r.ProjectId, r.RegionId))
	if err != nil {
		return nil, err
	}
	return kmsapi.ListKeyRings200JSONResponse{KeyRings: mapSlice(krs, toKeyRing)}, nil
}

// CreateKeyRing implements POST .../keyrings (202, as STACKIT answers).
func (h *kmsAPI) CreateKeyRing(ctx context.Context, r kmsapi.CreateKeyRingRequestObject) (kmsapi.CreateKeyRingResponseObject, error) {
	kr, err := h.svc.CreateKeyRing(ctx, kmsScope(r.ProjectId, r.RegionId), r.Body.DisplayName, deref(r.Body.Description))
	if err != nil {
		return nil, err
	}
	return kmsapi.CreateKeyRing202JSONResponse(toKeyRing(kr)), nil
}

// GetKeyRing implements GET .../keyrings/{keyRingId}.
func (h *kmsAPI) GetKeyRing(ctx context.Context, r kmsapi.GetKeyRingRequestObject) (kmsapi.GetKeyRingResponseObject, error) {
	kr, err := h.svc.KeyRing(ctx, kmsScope(r.ProjectId, r.RegionId), r.KeyRingId.String())
	if err != nil {
		return nil, err
	}
	return kmsapi.GetKeyRing200JSONResponse(toKeyRing(kr)), nil
}

// DeleteKeyRing implements DELETE .../keyrings/{keyRingId} (only when empty).
func (h *kmsAPI) DeleteKeyRing(ctx context.Context, r kmsapi.DeleteKeyRingRequestObject) (kmsapi.DeleteKeyRingResponseObject, error) {
	return kmsapi.DeleteKeyRing204Response{}, h.svc.DeleteKeyRing(ctx, kmsScope(r.ProjectId, r.RegionId), r.KeyRingId.String())
}

// ListKeys implements GET .../keys.
func (h *kmsAPI) ListKeys(ctx context.Context, r kmsapi.ListKeysRequestObject) (kmsapi.ListKeysResponseObject, error) {
	ks, err := h.svc.ListKeys(ctx, kmsScope(r.ProjectId, r.RegionId), r.KeyRingId.String())
	if err != nil {
		return nil, err
	}
	return kmsapi.ListKeys200JSONResponse{Keys: mapSlice(ks, toKey)}, nil
}

// CreateKey implements POST .../keys: the key and its first version.
func (h *kmsAPI) CreateKey(ctx context.Context, r kmsapi.CreateKeyRequestObject) (kmsapi.CreateKeyResponseObject, error) {
	b := r.Body
	spec := keyservice.KeySpec{DisplayName: b.DisplayName, Description: deref(b.Description),
		Algorithm: keyring.Algorithm(b.Algorithm), Purpose: keyring.Purpose(b.Purpose), Protection: b.Protection,
		ImportOnly: b.ImportOnly != nil && *b.ImportOnly}
	if b.AccessScope != nil {
		spec.AccessScope = string(*b.AccessScope)
	}
	k, err := h.svc.CreateKey(ctx, kmsScope(r.ProjectId, r.RegionId), r.KeyRingId.String(), spec)
	if err != nil {
		return nil, err
	}
	return kmsapi.CreateKey202JSONResponse(toKey(k)), nil
}

// GetKey implements GET .../keys/{keyId}.
func (h *kmsAPI) GetKey(ctx context.Context, r kmsapi.GetKeyRequestObject) (kmsapi.GetKeyResponseObject, error) {
	k, err := h.svc.Key(ctx, kmsScope(r.ProjectId, r.RegionId), r.KeyRingId.String(), r.KeyId.String())
	if err != nil {
		return nil, err
	}
	return kmsapi.GetKey200JSONResponse(toKey(k)), nil
}

// DeleteKey implements DELETE .../keys/{keyId}: schedules the deletion.
func (h *kmsAPI) DeleteKey(ctx context.Context, r kmsapi.DeleteKeyRequestObject) (kmsapi.DeleteKeyResponseObject, error) {
	return kmsapi.DeleteKey202Response{}, h.svc.DeleteKey(ctx, kmsScope(r.ProjectId, r.RegionId), r.KeyRingId.String(), r.KeyId.String())
}

// RestoreKey implements POST .../keys/{keyId}/restore.
func (h *kmsAPI) RestoreKey(ctx context.Context, r kmsapi.RestoreKeyRequestObject) (kmsapi.RestoreKeyResponseObject, error) {
	return kmsapi.RestoreKey204Response{}, h.svc.RestoreKey(ctx, kmsScope(r.ProjectId, r.RegionId), r.KeyRingId.String(), r.KeyId.String())
}

// RotateKey implements POST .../keys/{keyId}/rotate: a new active version.
func (h *kmsAPI) RotateKey(ctx context.Context, r kmsapi.RotateKeyRequestObject) (kmsapi.RotateKeyResponseObject, error) {
	v, err := h.svc.RotateKey(ctx, kmsScope(r.ProjectId, r.RegionId), r.KeyRingId.String(), r.KeyId.String())
	if err != nil {
		return nil, err
	}
	return kmsapi.RotateKey202JSONResponse(toVersion(v)), nil
}

// ImportKey answers 501 for an existing key: key import is not implemented
// yet. An unknown region is 400 and an unknown key 404, as on every route.
func (h *kmsAPI) ImportKey(ctx context.Context, r kmsapi.ImportKeyRequestObject) (kmsapi.ImportKeyResponseObject, error) {
	if _, err := h.svc.Key(ctx, kmsScope(r.ProjectId, r.RegionId), r.KeyRingId.String(), r.KeyId.String()); err != nil {
		return nil, err
	}
	return nil, errNoImport
}

var errNoImport = errs.E(errs.Unimplemented, "not implemented: key import and wrapping keys are not available in Coffer yet")

// noWrappingKeys answers 501 for an existing key ring (400 and 404 first).
func (h *kmsAPI) noWrappingKeys(ctx context.Context, project uuid.UUID, region string, ring uuid.UUID) error {
	if _, err := h.svc.KeyRing(ctx, kmsScope(project, region), ring.String()); err != nil {
		return err
	}
	return errNoImport
}

// ListVersions implements GET .../versions.
func (h *kmsAPI) ListVersions(ctx context.Context, r kmsapi.ListVersionsRequestObject) (kmsapi.ListVersionsResponseObject, error) {
	vs, err := h.svc.ListVersions(ctx, kmsScope(r.ProjectId, r.RegionId), r.KeyRingId.String(), r.KeyId.String())
	if err != nil {
		return nil, err
	}
	return kmsapi.ListVersions200JSONResponse{Versions: mapSlice(vs, toVersion)}, nil
}

// GetVersion implements GET .../versions/{versionNumber}.
func (h *kmsAPI) GetVersion(ctx context.Context, r kmsapi.GetVersionRequestObject) (kmsapi.GetVersionResponseObject, error) {
	v, err := h.svc.Version(ctx, kmsScope(r.ProjectId, r.RegionId), r.KeyRingId.String(), r.KeyId.String(), r.VersionNumber)
	if err != nil {
		return nil, err
	}
	return kmsapi.GetVersion200JSONResponse(toVersion(v)), nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
