package httpapi

import (
	"time"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/httpapi/kmsapi"
	"github.com/cofferhq/coffer/internal/keyservice"
)

func kmsScope(p uuid.UUID, region string) keyservice.Scope {
	return keyservice.Scope{ProjectID: p.String(), RegionID: region}
}

func kmsRef(p uuid.UUID, region string, ring, key uuid.UUID, number int64) keyservice.Ref {
	return keyservice.Ref{Scope: kmsScope(p, region), KeyRingID: ring.String(), KeyID: key.String(), Number: number}
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func toKeyRing(kr *keyservice.KeyRing) kmsapi.KeyRing {
	return kmsapi.KeyRing{Id: mustUUID(kr.ID), DisplayName: kr.DisplayName, Description: optString(kr.Description),
		State: kmsapi.KeyRingState(kr.State), CreatedAt: kr.CreatedAt.UTC()}
}

func toKey(k *keyservice.Key) kmsapi.Key {
	return kmsapi.Key{Id: mustUUID(k.ID), KeyRingId: mustUUID(k.KeyRingID), DisplayName: k.DisplayName,
		Description: optString(k.Description), Algorithm: kmsapi.Algorithm(k.Algorithm),
		Purpose: kmsapi.Purpose(k.Algorithm.Purpose()), Protection: k.Protection, ImportOnly: k.ImportOnly,
		AccessScope: kmsapi.AccessScope(k.AccessScope), State: kmsapi.KeyState(k.State),
		CreatedAt: k.CreatedAt.UTC(), DeletionDate: optTime(k.DeletionDate)}
}

func toVersion(v *keyservice.Version) kmsapi.Version {
	return kmsapi.Version{KeyId: mustUUID(v.KeyID), KeyRingId: mustUUID(v.KeyRingID), Number: v.Number,
		State: kmsapi.VersionState(v.State), Disabled: v.State != keyservice.VersionActive,
		CreatedAt: v.CreatedAt.UTC(), DestroyDate: optTime(v.DestroyDate), PublicKey: optString(v.PublicKey)}
}
