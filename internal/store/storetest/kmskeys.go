package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/keyring"
	"github.com/cofferhq/coffer/internal/keyservice"
)

func testKeys(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("CRUD", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		ctx := t.Context()
		kr := mustCreateKeyRing(t, s)
		wantKeys(t, s, kr, []*keyservice.Key{})

		bare := newKey(kr, at(5)) // without a first version
		bare.ImportOnly, bare.AccessScope = true, "SNA"
		mustOK(t, "CreateKey(no first version)", s.CreateKey(ctx, bare, nil))
		wantVersions(t, s, bare.ID, []*keyservice.Version{})

		signing := newKey(kr, at(1))
		signing.Algorithm = keyring.ECDSAP256SHA256
		first := newVersion(at(1))
		first.KeyID, first.KeyRingID, first.Number = signing.ID, signing.KeyRingID, 1
		first.PublicKey = "-----BEGIN PUBLIC KEY-----\nMFkw...\n-----END PUBLIC KEY-----\n"
		mustOK(t, "CreateKey()", s.CreateKey(ctx, signing, first))

		for _, k := range []*keyservice.Key{bare, signing} {
			got, err := s.Key(ctx, k.ProjectID, k.RegionID, k.KeyRingID, k.ID)
			mustOK(t, "Key()", err)
			if diff := cmp.Diff(k, got); diff != "" {
				t.Errorf("Key() mismatch (-want +got):\n%s", diff)
			}
			wantUTC(t, "Key()", got.CreatedAt, got.DeletionDate)
		}
		wantKeys(t, s, kr, []*keyservice.Key{signing, bare})
		got, err := s.Version(ctx, signing.ID, 1)
		mustOK(t, "Version()", err)
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("Version() of the first version mismatch (-want +got):\n%s", diff)
		}

		mustOK(t, "PurgeKey()", s.PurgeKey(ctx, signing.ID))
		_, err = s.Key(ctx, kr.ProjectID, kr.RegionID, kr.ID, signing.ID)
		wantKind(t, "Key(purged)", err, errs.NotFound)
		_, err = s.Version(ctx, signing.ID, 1)
		wantKind(t, "Version(of a purged key)", err, errs.NotFound)
		_, err = s.ListVersions(ctx, signing.ID)
		wantKind(t, "ListVersions(of a purged key)", err, errs.NotFound)
		wantKind(t, "PurgeKey(purged)", s.PurgeKey(ctx, signing.ID), errs.NotFound)
		wantKeys(t, s, kr, []*keyservice.Key{bare})
		// The IDs are free again.
		mustOK(t, "CreateKey(reused ID)", s.CreateKey(ctx, signing, first))
	})

	t.Run("FirstVersionIsNumberedOne", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		kr := mustCreateKeyRing(t, s)
		k := newKey(kr, at(0))
		first := newVersion(at(0)) // no KeyID, KeyRingID or Number yet
		mustOK(t, "CreateKey()", s.CreateKey(t.Context(), k, first))
		if first.KeyID != k.ID || first.KeyRingID != kr.ID || first.Number != 1 {
			t.Errorf("CreateKey() left first version at %s/%s/%d, want %s/%s/1",
				first.KeyRingID, first.KeyID, first.Number, kr.ID, k.ID)
		}
		wantVersions(t, s, k.ID, []*keyservice.Version{first})
	})

	t.Run("CreateErrors", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		ctx := t.Context()
		kr, other := mustCreateKeyRing(t, s), mustCreateKeyRing(t, s)
		k, first := newKey(kr, at(0)), newVersion(at(0))
		mustOK(t, "CreateKey()", s.CreateKey(ctx, k, first))

		cases := []struct {
			name  string
			key   func() *keyservice.Key
			first func(k *keyservice.Key) *keyservice.Version
			want  errs.Kind
		}{
			{"duplicate ID", func() *keyservice.Key { d := newKey(kr, at(1)); d.ID = k.ID; return d }, nil, errs.AlreadyExists},
			{"duplicate ID in another ring", func() *keyservice.Key { d := newKey(other, at(1)); d.ID = k.ID; return d }, nil, errs.AlreadyExists},
			{"unknown key ring", func() *keyservice.Key {
				return newKey(&keyservice.KeyRing{ID: uuid.NewString(), ProjectID: kr.ProjectID, RegionID: kr.RegionID}, at(1))
			}, nil, errs.NotFound},
			{"key ring of another project", func() *keyservice.Key { d := newKey(kr, at(1)); d.ProjectID = other.ProjectID; return d }, nil, errs.NotFound},
			{"key ring of another region", func() *keyservice.Key { d := newKey(kr, at(1)); d.RegionID = "eu02"; return d }, nil, errs.NotFound},
			{"first version numbered 2", func() *keyservice.Key { return newKey(kr, at(1)) },
				func(*keyservice.Key) *keyservice.Version { v := newVersion(at(1)); v.Number = 2; return v }, errs.InvalidArgument},
			{"first version of another key", func() *keyservice.Key { return newKey(kr, at(1)) },
				func(*keyservice.Key) *keyservice.Version { v := newVersion(at(1)); v.KeyID = k.ID; return v }, errs.InvalidArgument},
			{"first version in another ring", func() *keyservice.Key { return newKey(kr, at(1)) },
				func(*keyservice.Key) *keyservice.Version { v := newVersion(at(1)); v.KeyRingID = other.ID; return v }, errs.InvalidArgument},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				key := tc.key()
				v := newVersion(at(1))
				if tc.first != nil {
					v = tc.first(key)
				}
				wantKind(t, "CreateKey("+tc.name+")", s.CreateKey(t.Context(), key, v), tc.want)
			})
		}
		// Nothing of the failed creates was stored.
		wantKeys(t, s, kr, []*keyservice.Key{k})
		wantKeys(t, s, other, []*keyservice.Key{})
		wantVersions(t, s, k.ID, []*keyservice.Version{first})
	})

	t.Run("ListOrder", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		kr, other := mustCreateKeyRing(t, s), mustCreateKeyRing(t, s)
		keys := []*keyservice.Key{newKey(kr, at(10)), newKey(kr, at(-10)), newKey(kr, at(0)), newKey(kr, at(0))}
		keys[2].ID, keys[3].ID = maxUUID(), minUUID()
		for _, k := range append(keys, newKey(other, at(1))) {
			mustOK(t, "CreateKey()", s.CreateKey(t.Context(), k, nil))
		}
		wantKeys(t, s, kr, []*keyservice.Key{keys[1], keys[3], keys[2], keys[0]})
	})

	t.Run("ScopedByProjectRegionAndRing", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		ctx := t.Context()
		kr := mustCreateKeyRing(t, s)
		sibling := newKeyRing(kr.ProjectID, kr.RegionID, at(0))
		mustOK(t, "CreateKeyRing()", s.CreateKeyRing(ctx, sibling))
		k := newKey(kr, at(0))
		mustOK(t, "CreateKey()", s.CreateKey(ctx, k, nil))

		for _, scope := range []struct{ name, project, region, ring string }{
			{"other project", "other-project", k.RegionID, k.KeyRingID},
			{"other region", k.ProjectID, "eu02", k.KeyRingID},
			{"other ring", k.ProjectID, k.RegionID, sibling.ID},
			{"unknown ring", k.ProjectID, k.RegionID, uuid.NewString()},
		} {
			_, err := s.Key(ctx, scope.project, scope.region, scope.ring, k.ID)
			wantKind(t, "Key("+scope.name+")", err, errs.NotFound)
		}
		wantKeys(t, s, sibling, []*keyservice.Key{})
		wantKeys(t, s, kr, []*keyservice.Key{k})
	})

	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		ctx := t.Context()
		kr := mustCreateKeyRing(t, s)
		k := newKey(kr, at(0))
		mustOK(t, "CreateKey()", s.CreateKey(ctx, k, nil))

		upd := *k
		upd.State, upd.DeletionDate = keyservice.KeyDeleted, at(60).In(time.FixedZone("CEST", 2*60*60))
		// Only State and DeletionDate may change.
		upd.DisplayName, upd.Description, upd.Algorithm, upd.CreatedAt = "renamed", "changed", keyring.HMACSHA256, at(99)
		upd.ProjectID, upd.RegionID, upd.KeyRingID, upd.ImportOnly = "other-project", "eu02", uuid.NewString(), true
		mustOK(t, "UpdateKey()", s.UpdateKey(ctx, &upd))
		want := *k
		want.State, want.DeletionDate = keyservice.KeyDeleted, at(60)
		got, err := s.Key(ctx, k.ProjectID, k.RegionID, k.KeyRingID, k.ID)
		mustOK(t, "Key()", err)
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("Key() after scheduling deletion mismatch (-want +got):\n%s", diff)
		}
		wantUTC(t, "Key()", got.DeletionDate)

		// Restoring clears the deletion date.
		mustOK(t, "UpdateKey(restore)", s.UpdateKey(ctx, k))
		got, err = s.Key(ctx, k.ProjectID, k.RegionID, k.KeyRingID, k.ID)
		mustOK(t, "Key()", err)
		if diff := cmp.Diff(k, got); diff != "" {
			t.Errorf("Key() after restore mismatch (-want +got):\n%s", diff)
		}
		if !got.DeletionDate.IsZero() {
			t.Errorf("Key().DeletionDate after restore = %v, want the zero time", got.DeletionDate)
		}
	})

	t.Run("DueForDeletion", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		ctx := t.Context()
		kr, elsewhere := mustCreateKeyRing(t, s), mustCreateKeyRing(t, s)
		now := at(100)
		due := func(ring *keyservice.KeyRing, state string, deletion time.Time) *keyservice.Key {
			t.Helper()
			k := newKey(ring, at(0))
			k.State, k.DeletionDate = state, deletion
			mustOK(t, "CreateKey()", s.CreateKey(ctx, k, newVersion(at(0))))
			return k
		}
		atNow := due(kr, keyservice.KeyDeleted, now)
		overdue := due(elsewhere, keyservice.KeyDeleted, now.Add(-time.Hour)) // any project
		due(kr, keyservice.KeyDeleted, now.Add(time.Microsecond))             // not yet
		due(kr, keyservice.KeyActive, now.Add(-time.Hour))                    // restored: not deleted
		due(kr, keyservice.KeyActive, time.Time{})

		want := []*keyservice.Key{overdue, atNow}
		for _, t0 := range []time.Time{now, now.In(time.FixedZone("PDT", -7*60*60))} {
			got, err := s.KeysDueForDeletion(ctx, t0)
			mustOK(t, "KeysDueForDeletion()", err)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("KeysDueForDeletion(%v) mismatch (-want +got):\n%s", t0, diff)
			}
		}
		got, err := s.KeysDueForDeletion(ctx, now.Add(-2*time.Hour))
		mustOK(t, "KeysDueForDeletion(early)", err)
		if got == nil || len(got) != 0 {
			t.Errorf("KeysDueForDeletion(early) = %v, want an empty non-nil slice", got)
		}

		// Purging a due key (with its versions) leaves the ring's others.
		mustOK(t, "PurgeKey()", s.PurgeKey(ctx, overdue.ID))
		got, err = s.KeysDueForDeletion(ctx, now)
		mustOK(t, "KeysDueForDeletion()", err)
		if diff := cmp.Diff([]*keyservice.Key{atNow}, got); diff != "" {
			t.Errorf("KeysDueForDeletion() after purge mismatch (-want +got):\n%s", diff)
		}
		mustOK(t, "DeleteKeyRing(emptied by purge)", s.DeleteKeyRing(ctx, elsewhere.ProjectID, elsewhere.RegionID, elsewhere.ID))
	})

	t.Run("DueForDeletionTiesByID", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		kr := mustCreateKeyRing(t, s)
		var want []*keyservice.Key
		for range 4 {
			k := newKey(kr, at(0))
			k.State, k.DeletionDate = keyservice.KeyDeleted, at(1)
			mustOK(t, "CreateKey()", s.CreateKey(t.Context(), k, nil))
			want = append(want, k)
		}
		got, err := s.KeysDueForDeletion(t.Context(), at(1))
		mustOK(t, "KeysDueForDeletion()", err)
		if diff := cmp.Diff(byKeyID(want), got); diff != "" {
			t.Errorf("KeysDueForDeletion() mismatch (-want +got):\n%s", diff)
		}
	})
}
