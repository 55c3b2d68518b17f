package httpapi

import (
	"context"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/httpapi/smapi"
	"github.com/cofferhq/coffer/internal/instance"
)

// controlPlane implements the generated strict server for v1 and v2. Both
// forms call the same service; v1 is v2 in the default region.
type controlPlane struct {
	svc *instance.Service
}

var _ smapi.StrictServerInterface = (*controlPlane)(nil)

func (h *controlPlane) v1(p uuid.UUID) instance.Scope {
	return instance.Scope{ProjectID: p.String(), RegionID: h.svc.DefaultRegion()}
}

func v2(p uuid.UUID, region string) instance.Scope {
	return instance.Scope{ProjectID: p.String(), RegionID: region}
}

// ListInstances implements GET /v1/projects/{projectId}/instances.
func (h *controlPlane) ListInstances(ctx context.Context, r smapi.ListInstancesRequestObject) (smapi.ListInstancesResponseObject, error) {
	ins, err := h.svc.ListInstances(ctx, h.v1(r.ProjectId))
	if err != nil {
		return nil, err
	}
	return smapi.ListInstances200JSONResponse{Instances: mapSlice(ins, func(in *instance.Instance) smapi.Instance {
		return toInstanceV1(in, h.svc.APIURL())
	})}, nil
}

// ListInstancesV2 implements GET /v2/projects/{projectId}/regions/{regionId}/instances.
func (h *controlPlane) ListInstancesV2(ctx context.Context, r smapi.ListInstancesV2RequestObject) (smapi.ListInstancesV2ResponseObject, error) {
	ins, err := h.svc.ListInstances(ctx, v2(r.ProjectId, r.RegionId))
	if err != nil {
		return nil, err
	}
	return smapi.ListInstancesV2200JSONResponse{Instances: mapSlice(ins, func(in *instance.Instance) smapi.InstanceV2 {
		return toInstanceV2(in, h.svc.APIURL())
	})}, nil
}

// CreateInstance implements POST /v1/projects/{projectId}/instances.
func (h *controlPlane) CreateInstance(ctx context.Context, r smapi.CreateInstanceRequestObject) (smapi.CreateInstanceResponseObject, error) {
	sc := h.v1(r.ProjectId)
	in, err := h.svc.CreateInstance(ctx, sc, instance.Spec{Name: r.Body.Name, KMSKey: kmsKeyV1(r.Body.KmsKey)})
	if err != nil {
		return nil, err
	}
	return smapi.CreateInstance201JSONResponse(toInstanceV1(in, h.svc.APIURL())), nil
}

// CreateInstanceV2 implements POST /v2/projects/{projectId}/regions/{regionId}/instances.
func (h *controlPlane) CreateInstanceV2(ctx context.Context, r smapi.CreateInstanceV2RequestObject) (smapi.CreateInstanceV2ResponseObject, error) {
	sc := v2(r.ProjectId, r.RegionId)
	in, err := h.svc.CreateInstance(ctx, sc, instance.Spec{Name: r.Body.Name, KMSKey: kmsKeyV2(r.Body.KmsKey)})
	if err != nil {
		return nil, err
	}
	return smapi.CreateInstanceV2201JSONResponse(toInstanceV2(in, h.svc.APIURL())), nil
}

// GetInstance implements GET /v1/projects/{projectId}/instances/{instanceId}.
func (h *controlPlane) GetInstance(ctx context.Context, r smapi.GetInstanceRequestObject) (smapi.GetInstanceResponseObject, error) {
	in, err := h.svc.Instance(ctx, h.v1(r.ProjectId), r.InstanceId.String())
	if err != nil {
		return nil, err
	}
	return smapi.GetInstance200JSONResponse(toInstanceV1(in, h.svc.APIURL())), nil
}

// GetInstanceV2 implements GET /v2/.../instances/{instanceId}.
func (h *controlPlane) GetInstanceV2(ctx context.Context, r smapi.GetInstanceV2RequestObject) (smapi.GetInstanceV2ResponseObject, error) {
	in, err := h.svc.Instance(ctx, v2(r.ProjectId, r.RegionId), r.InstanceId.String())
	if err != nil {
		return nil, err
	}
	return smapi.GetInstanceV2200JSONResponse(toInstanceV2(in, h.svc.APIURL())), nil
}

// UpdateInstance implements PUT /v1/projects/{projectId}/instances/{instanceId}:
// a full replace of name and kmsKey, answered 201 without a body as STACKIT does.
func (h *controlPlane) UpdateInstance(ctx context.Context, r smapi.UpdateInstanceRequestObject) (smapi.UpdateInstanceResponseObject, error) {
	sc := h.v1(r.ProjectId)
	_, err := h.svc.UpdateInstance(ctx, sc, r.InstanceId.String(),
		instance.Spec{Name: r.Body.Name, KMSKey: kmsKeyV1(r.Body.KmsKey)})
	if err != nil {
		return nil, err
	}
	return smapi.UpdateInstance201Response{}, nil
}

// UpdateInstanceV2 implements PUT /v2/.../instances/{instanceId}.
func (h *controlPlane) UpdateInstanceV2(ctx context.Context, r smapi.UpdateInstanceV2RequestObject) (smapi.UpdateInstanceV2ResponseObject, error) {
	sc := v2(r.ProjectId, r.RegionId)
	_, err := h.svc.UpdateInstance(ctx, sc, r.InstanceId.String(),
		instance.Spec{Name: r.Body.Name, KMSKey: kmsKeyV2(r.Body.KmsKey)})
	if err != nil {
		return nil, err
	}
	return smapi.UpdateInstanceV2201Response{}, nil
}

// DeleteInstance implements DELETE /v1/projects/{projectId}/instances/{instanceId}.
func (h *controlPlane) DeleteInstance(ctx context.Context, r smapi.DeleteInstanceRequestObject) (smapi.DeleteInstanceResponseObject, error) {
	if err := h.svc.DeleteInstance(ctx, h.v1(r.ProjectId), r.InstanceId.String()); err != nil {
		return nil, err
	}
	return smapi.DeleteInstance204Response{}, nil
}

// DeleteInstanceV2 implements DELETE /v2/.../instances/{instanceId}.
func (h *controlPlane) DeleteInstanceV2(ctx context.Context, r smapi.DeleteInstanceV2RequestObject) (smapi.DeleteInstanceV2ResponseObject, error) {
	if err := h.svc.DeleteInstance(ctx, v2(r.ProjectId, r.RegionId), r.InstanceId.String()); err != nil {
		return nil, err
	}
	return smapi.DeleteInstanceV2204Response{}, nil
}
