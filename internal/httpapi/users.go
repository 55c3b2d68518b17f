package httpapi

import (
	"context"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/httpapi/smapi"
	"github.com/cofferhq/coffer/internal/instance"
)

func (h *controlPlane) listUsers(ctx context.Context, sc instance.Scope, inst uuid.UUID) (smapi.ListUsersResponse, error) {
	us, err := h.svc.ListUsers(ctx, sc, inst.String())
	if err != nil {
		return smapi.ListUsersResponse{}, err
	}
	return smapi.ListUsersResponse{Users: mapSlice(us, func(u *instance.User) smapi.User { return toUser(u, "") })}, nil
}

func (h *controlPlane) createUser(ctx context.Context, sc instance.Scope, inst uuid.UUID, b *smapi.CreateUserPayload) (smapi.User, error) {
	nu, err := h.svc.CreateUser(ctx, sc, inst.String(), b.Description, b.Write)
	if err != nil {
		return smapi.User{}, err
	}
	return toUser(nu.User, nu.Password), nil
}

func (h *controlPlane) getUser(ctx context.Context, sc instance.Scope, inst, id uuid.UUID) (smapi.User, error) {
	u, err := h.svc.User(ctx, sc, inst.String(), id.String())
	if err != nil {
		return smapi.User{}, err
	}
	return toUser(u, ""), nil
}

func (h *controlPlane) updateUser(ctx context.Context, sc instance.Scope, inst, id uuid.UUID, b *smapi.UpdateUserPayload) error {
	return h.svc.UpdateUser(ctx, sc, inst.String(), id.String(),
		instance.UserPatch{Description: b.Description, Write: b.Write})
}

// ListUsers implements GET .../instances/{instanceId}/users (v1).
func (h *controlPlane) ListUsers(ctx context.Context, r smapi.ListUsersRequestObject) (smapi.ListUsersResponseObject, error) {
	out, err := h.listUsers(ctx, h.v1(r.ProjectId), r.InstanceId)
	return smapi.ListUsers200JSONResponse(out), err
}

// ListUsersV2 implements GET .../instances/{instanceId}/users (v2).
func (h *controlPlane) ListUsersV2(ctx context.Context, r smapi.ListUsersV2RequestObject) (smapi.ListUsersV2ResponseObject, error) {
	out, err := h.listUsers(ctx, v2(r.ProjectId, r.RegionId), r.InstanceId)
	return smapi.ListUsersV2200JSONResponse(out), err
}

// CreateUser implements POST .../users (v1); STACKIT answers 200, not 201.
func (h *controlPlane) CreateUser(ctx context.Context, r smapi.CreateUserRequestObject) (smapi.CreateUserResponseObject, error) {
	out, err := h.createUser(ctx, h.v1(r.ProjectId), r.InstanceId, r.Body)
	return smapi.CreateUser200JSONResponse(out), err
}

// CreateUserV2 implements POST .../users (v2).
func (h *controlPlane) CreateUserV2(ctx context.Context, r smapi.CreateUserV2RequestObject) (smapi.CreateUserV2ResponseObject, error) {
	out, err := h.createUser(ctx, v2(r.ProjectId, r.RegionId), r.InstanceId, r.Body)
	return smapi.CreateUserV2200JSONResponse(out), err
}

// GetUser implements GET .../users/{userId} (v1).
func (h *controlPlane) GetUser(ctx context.Context, r smapi.GetUserRequestObject) (smapi.GetUserResponseObject, error) {
	out, err := h.getUser(ctx, h.v1(r.ProjectId), r.InstanceId, r.UserId)
	return smapi.GetUser200JSONResponse(out), err
}

// GetUserV2 implements GET .../users/{userId} (v2).
func (h *controlPlane) GetUserV2(ctx context.Context, r smapi.GetUserV2RequestObject) (smapi.GetUserV2ResponseObject, error) {
	out, err := h.getUser(ctx, v2(r.ProjectId, r.RegionId), r.InstanceId, r.UserId)
	return smapi.GetUserV2200JSONResponse(out), err
}

// UpdateUser implements PUT .../users/{userId} (v1): a partial update.
func (h *controlPlane) UpdateUser(ctx context.Context, r smapi.UpdateUserRequestObject) (smapi.UpdateUserResponseObject, error) {
	return smapi.UpdateUser200Response{}, h.updateUser(ctx, h.v1(r.ProjectId), r.InstanceId, r.UserId, r.Body)
}

// UpdateUserV2 implements PUT .../users/{userId} (v2).
func (h *controlPlane) UpdateUserV2(ctx context.Context, r smapi.UpdateUserV2RequestObject) (smapi.UpdateUserV2ResponseObject, error) {
	return smapi.UpdateUserV2200Response{}, h.updateUser(ctx, v2(r.ProjectId, r.RegionId), r.InstanceId, r.UserId, r.Body)
}

// DeleteUser implements DELETE .../users/{userId} (v1).
func (h *controlPlane) DeleteUser(ctx context.Context, r smapi.DeleteUserRequestObject) (smapi.DeleteUserResponseObject, error) {
	return smapi.DeleteUser204Response{}, h.svc.DeleteUser(ctx, h.v1(r.ProjectId), r.InstanceId.String(), r.UserId.String())
}

// DeleteUserV2 implements DELETE .../users/{userId} (v2).
func (h *controlPlane) DeleteUserV2(ctx context.Context, r smapi.DeleteUserV2RequestObject) (smapi.DeleteUserV2ResponseObject, error) {
	return smapi.DeleteUserV2204Response{}, h.svc.DeleteUser(ctx, v2(r.ProjectId, r.RegionId), r.InstanceId.String(), r.UserId.String())
}
