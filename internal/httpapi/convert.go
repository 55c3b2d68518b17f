package httpapi

import (
	"time"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/httpapi/smapi"
	"github.com/cofferhq/coffer/internal/instance"
)

// timestamp renders a time as RFC 3339 in UTC; nil for the zero time.
func timestamp(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

func mustUUID(s string) uuid.UUID {
	u, _ := uuid.Parse(s) // IDs come from the store, which only holds UUIDs
	return u
}

func toInstanceV2(in *instance.Instance, apiURL string) smapi.InstanceV2 {
	out := smapi.InstanceV2{
		Id: mustUUID(in.ID), Name: in.Name, ApiUrl: apiURL, SecretsEngine: instance.SecretsEngine,
		State: in.State, SecretCount: int(in.SecretCount), CreationStartDate: *timestamp(in.CreationStartDate),
		CreationFinishedDate: timestamp(in.CreationFinishedDate), UpdateStartDate: timestamp(in.UpdateStartDate),
		UpdateFinishedDate: timestamp(in.UpdateFinishedDate),
	}
	if k := in.KMSKey; k != nil {
		out.KmsKey = &smapi.KmsKeyV2{RegionId: k.RegionID, ProjectId: mustUUID(k.ProjectID),
			ServiceAccountEmail: k.ServiceAccountEmail, KeyRingId: mustUUID(k.KeyRingID),
			KeyId: mustUUID(k.KeyID), KeyVersion: k.KeyVersion}
	}
	return out
}

// toInstanceV1 is the v2 form without the kmsKey's regionId and projectId,
// which the published v1 model does not have.
func toInstanceV1(in *instance.Instance, apiURL string) smapi.Instance {
	v2 := toInstanceV2(in, apiURL)
	out := smapi.Instance{Id: v2.Id, Name: v2.Name, ApiUrl: v2.ApiUrl, SecretsEngine: v2.SecretsEngine,
		State: v2.State, SecretCount: v2.SecretCount, CreationStartDate: v2.CreationStartDate,
		CreationFinishedDate: v2.CreationFinishedDate, UpdateStartDate: v2.UpdateStartDate,
		UpdateFinishedDate: v2.UpdateFinishedDate}
	if k := v2.KmsKey; k != nil {
		out.KmsKey = &smapi.KmsKeyPayload{ServiceAccountEmail: k.ServiceAccountEmail, KeyRingId: k.KeyRingId,
			KeyId: k.KeyId, KeyVersion: k.KeyVersion}
	}
	return out
}

// kmsKeyV1 maps a v1 kmsKey, which has no regionId or projectId: the
// service fills them (see instance.Service.UpdateInstance).
func kmsKeyV1(k *smapi.KmsKeyPayload) *instance.KMSKey {
	if k == nil {
		return nil
	}
	return &instance.KMSKey{ServiceAccountEmail: k.ServiceAccountEmail, KeyRingID: k.KeyRingId.String(),
		KeyID: k.KeyId.String(), KeyVersion: k.KeyVersion}
}

// kmsKeyV2 maps a v2 kmsKey; omitted regionId/projectId are left empty for
// the service to fill.
func kmsKeyV2(k *smapi.KmsKey) *instance.KMSKey {
	if k == nil {
		return nil
	}
	out := &instance.KMSKey{ServiceAccountEmail: k.ServiceAccountEmail, KeyRingID: k.KeyRingId.String(),
		KeyID: k.KeyId.String(), KeyVersion: k.KeyVersion}
	if k.RegionId != nil {
		out.RegionID = *k.RegionId
	}
	if k.ProjectId != nil {
		out.ProjectID = k.ProjectId.String()
	}
	return out
}

// toUser renders a user; the password is "" except in the create answer,
// as the STACKIT API does (the SDK requires the key to be present).
func toUser(u *instance.User, password string) smapi.User {
	return smapi.User{Id: mustUUID(u.ID), Username: u.Username, Password: password, Write: u.Write,
		Description: u.Description}
}

func toACL(a *instance.ACL) smapi.ACL { return smapi.ACL{Id: mustUUID(a.ID), Cidr: a.CIDR} }

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}
