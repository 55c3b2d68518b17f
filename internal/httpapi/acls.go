package httpapi

import (
	"context"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/httpapi/smapi"
	"github.com/cofferhq/coffer/internal/instance"
)

func (h *controlPlane) listACLs(ctx context.Context, sc instance.Scope, inst uuid.UUID) (smapi.ListACLsResponse, error) {
	as, err := h.svc.ListACLs(ctx, sc, inst.String())
	if err != nil {
		return smapi.ListACLsResponse{}, err
	}
	return smapi.ListACLsResponse{Acls: mapSlice(as, toACL)}, nil
}

func (h *controlPlane) createACL(ctx context.Context, sc instance.Scope, inst uuid.UUID, b *smapi.CreateACLPayload) (smapi.ACL, error) {
	a, err := h.svc.CreateACL(ctx, sc, inst.String(), b.Cidr)
	if err != nil {
		return smapi.ACL{}, err
	}
	return toACL(a), nil
}

func (h *controlPlane) getACL(ctx context.Context, sc instance.Scope, inst, id uuid.UUID) (smapi.ACL, error) {
	a, err := h.svc.ACL(ctx, sc, inst.String(), id.String())
	if err != nil {
		return smapi.ACL{}, err
	}
	return toACL(a), nil
}

func (h *controlPlane) replaceACLs(ctx context.Context, sc instance.Scope, inst uuid.UUID, b *smapi.UpdateACLsPayload) error {
	var cidrs []string
	if b.Cidrs != nil {
		cidrs = mapSlice(*b.Cidrs, func(p smapi.UpdateACLPayload) string { return p.Cidr })
	}
	return h.svc.ReplaceACLs(ctx, sc, inst.String(), cidrs)
}

// ListACLs implements GET .../acls (v1).
func (h *controlPlane) ListACLs(ctx context.Context, r smapi.ListACLsRequestObject) (smapi.ListACLsResponseObject, error) {
	out, err := h.listACLs(ctx, h.v1(r.ProjectId), r.InstanceId)
	return smapi.ListACLs200JSONResponse(out), err
}

// ListACLsV2 implements GET .../acls (v2).
func (h *controlPlane) ListACLsV2(ctx context.Context, r smapi.ListACLsV2RequestObject) (smapi.ListACLsV2ResponseObject, error) {
	out, err := h.listACLs(ctx, v2(r.ProjectId, r.RegionId), r.InstanceId)
	return smapi.ListACLsV2200JSONResponse(out), err
}

// CreateACL implements POST .../acls (v1).
func (h *controlPlane) CreateACL(ctx context.Context, r smapi.CreateACLRequestObject) (smapi.CreateACLResponseObject, error) {
	out, err := h.createACL(ctx, h.v1(r.ProjectId), r.InstanceId, r.Body)
	return smapi.CreateACL201JSONResponse(out), err
}

// CreateACLV2 implements POST .../acls (v2).
func (h *controlPlane) CreateACLV2(ctx context.Context, r smapi.CreateACLV2RequestObject) (smapi.CreateACLV2ResponseObject, error) {
	out, err := h.createACL(ctx, v2(r.ProjectId, r.RegionId), r.InstanceId, r.Body)
	return smapi.CreateACLV2201JSONResponse(out), err
}

// UpdateACLs implements PUT .../acls (v1): replaces the whole list.
func (h *controlPlane) UpdateACLs(ctx context.Context, r smapi.UpdateACLsRequestObject) (smapi.UpdateACLsResponseObject, error) {
	return smapi.UpdateACLs200Response{}, h.replaceACLs(ctx, h.v1(r.ProjectId), r.InstanceId, r.Body)
}

// UpdateACLsV2 implements PUT .../acls (v2).
func (h *controlPlane) UpdateACLsV2(ctx context.Context, r smapi.UpdateACLsV2RequestObject) (smapi.UpdateACLsV2ResponseObject, error) {
	return smapi.UpdateACLsV2200Response{}, h.replaceACLs(ctx, v2(r.ProjectId, r.RegionId), r.InstanceId, r.Body)
}

// GetACL implements GET .../acls/{aclId} (v1).
func (h *controlPlane) GetACL(ctx context.Context, r smapi.GetACLRequestObject) (smapi.GetACLResponseObject, error) {
	out, err := h.getACL(ctx, h.v1(r.ProjectId), r.InstanceId, r.AclId)
	return smapi.GetACL200JSONResponse(out), err
}

// GetACLV2 implements GET .../acls/{aclId} (v2).
func (h *controlPlane) GetACLV2(ctx context.Context, r smapi.GetACLV2RequestObject) (smapi.GetACLV2ResponseObject, error) {
	out, err := h.getACL(ctx, v2(r.ProjectId, r.RegionId), r.InstanceId, r.AclId)
	return smapi.GetACLV2200JSONResponse(out), err
}

// UpdateACL implements PUT .../acls/{aclId} (v1).
func (h *controlPlane) UpdateACL(ctx context.Context, r smapi.UpdateACLRequestObject) (smapi.UpdateACLResponseObject, error) {
	return smapi.UpdateACL200Response{}, h.svc.UpdateACL(ctx, h.v1(r.ProjectId), r.InstanceId.String(), r.AclId.String(), r.Body.Cidr)
}

// UpdateACLV2 implements PUT .../acls/{aclId} (v2).
func (h *controlPlane) UpdateACLV2(ctx context.Context, r smapi.UpdateACLV2RequestObject) (smapi.UpdateACLV2ResponseObject, error) {
	return smapi.UpdateACLV2200Response{}, h.svc.UpdateACL(ctx, v2(r.ProjectId, r.RegionId), r.InstanceId.String(), r.AclId.String(), r.Body.Cidr)
}

// DeleteACL implements DELETE .../acls/{aclId} (v1).
func (h *controlPlane) DeleteACL(ctx context.Context, r smapi.DeleteACLRequestObject) (smapi.DeleteACLResponseObject, error) {
	return smapi.DeleteACL204Response{}, h.svc.DeleteACL(ctx, h.v1(r.ProjectId), r.InstanceId.String(), r.AclId.String())
}

// DeleteACLV2 implements DELETE .../acls/{aclId} (v2).
func (h *controlPlane) DeleteACLV2(ctx context.Context, r smapi.DeleteACLV2RequestObject) (smapi.DeleteACLV2ResponseObject, error) {
	return smapi.DeleteACLV2204Response{}, h.svc.DeleteACL(ctx, v2(r.ProjectId, r.RegionId), r.InstanceId.String(), r.AclId.String())
}
