package storetest

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/keyring"
	"github.com/cofferhq/coffer/internal/keyservice"
)

func testKMS(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("KeyRings", func(t *testing.T) { testKeyRings(t, open) })
	t.Run("Keys", func(t *testing.T) { testKeys(t, open) })
	t.Run("Versions", func(t *testing.T) { testVersions(t, open) })
	t.Run("UnknownIDs", func(t *testing.T) { testKMSUnknownIDs(t, open) })
}

func testKeyRings(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("CRUD", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		ctx := t.Context()
		empty, err := s.ListKeyRings(ctx, "p1", "eu01")
		mustOK(t, "ListKeyRings()", err)
		if empty == nil || len(empty) != 0 {
			t.Errorf("ListKeyRings() of a new store = %v, want an empty non-nil slice", empty)
		}

		kr := newKeyRing("p1", "eu01", at(0))
		mustOK(t, "CreateKeyRing()", s.CreateKeyRing(ctx, kr))
		// Display names need not be unique.
		twin := newKeyRing("p1", "eu01", at(1))
		twin.DisplayName, twin.Description = kr.DisplayName, ""
		mustOK(t, "CreateKeyRing(same display name)", s.CreateKeyRing(ctx, twin))

		got, err := s.KeyRing(ctx, kr.ProjectID, kr.RegionID, kr.ID)
		mustOK(t, "KeyRing()", err)
		if diff := cmp.Diff(kr, got); diff != "" {
			t.Errorf("KeyRing() mismatch (-want +got):\n%s", diff)
		}
		wantUTC(t, "KeyRing()", got.CreatedAt)
		got, err = s.KeyRingByID(ctx, twin.ID)
		mustOK(t, "KeyRingByID()", err)
		if diff := cmp.Diff(twin, got); diff != "" {
			t.Errorf("KeyRingByID() mismatch (-want +got):\n%s", diff)
		}
		wantKeyRings(t, s, "p1", "eu01", []*keyservice.KeyRing{kr, twin})

		mustOK(t, "DeleteKeyRing()", s.DeleteKeyRing(ctx, kr.ProjectID, kr.RegionID, kr.ID))
		_, err = s.KeyRing(ctx, kr.ProjectID, kr.RegionID, kr.ID)
		wantKind(t, "KeyRing(deleted)", err, errs.NotFound)
		_, err = s.KeyRingByID(ctx, kr.ID)
		wantKind(t, "KeyRingByID(deleted)", err, errs.NotFound)
		wantKind(t, "DeleteKeyRing(deleted)", s.DeleteKeyRing(ctx, kr.ProjectID, kr.RegionID, kr.ID), errs.NotFound)
		wantKeyRings(t, s, "p1", "eu01", []*keyservice.KeyRing{twin})
		// The ID is free again.
		mustOK(t, "CreateKeyRing(reused ID)", s.CreateKeyRing(ctx, kr))
	})

	t.Run("NonUTCCreationTime", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		kr := newKeyRing("p1", "eu01", at(0).In(time.FixedZone("CEST", 2*60*60)))
		mustOK(t, "CreateKeyRing()", s.CreateKeyRing(t.Context(), kr))
		got, err := s.KeyRingByID(t.Context(), kr.ID)
		mustOK(t, "KeyRingByID()", err)
		if diff := cmp.Diff(kr, got); diff != "" {
			t.Errorf("KeyRingByID() mismatch (-want +got):\n%s", diff)
		}
		wantUTC(t, "KeyRingByID()", got.CreatedAt)
	})

	t.Run("DuplicateID", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		kr := mustCreateKeyRing(t, s)
		dup := newKeyRing("other-project", "eu02", at(5))
		dup.ID = kr.ID
		wantKind(t, "CreateKeyRing(duplicate ID)", s.CreateKeyRing(t.Context(), dup), errs.AlreadyExists)
		wantKeyRings(t, s, "other-project", "eu02", []*keyservice.KeyRing{})
	})

	t.Run("ListOrder", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		// Created out of order; two share a creation time and sort by ID.
		rings := []*keyservice.KeyRing{
			newKeyRing("p1", "eu01", at(10)),
			newKeyRing("p1", "eu01", at(-10)),
			newKeyRing("p1", "eu01", at(0)),
			newKeyRing("p1", "eu01", at(0)),
		}
		rings[2].ID, rings[3].ID = maxUUID(), minUUID()
		for _, kr := range append(rings, newKeyRing("p1", "eu02", at(1)), newKeyRing("p2", "eu01", at(1))) {
			mustOK(t, "CreateKeyRing()", s.CreateKeyRing(t.Context(), kr))
		}
		wantKeyRings(t, s, "p1", "eu01", []*keyservice.KeyRing{rings[1], rings[3], rings[2], rings[0]})
	})

	t.Run("ScopedByProjectAndRegion", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		ctx := t.Context()
		kr := mustCreateKeyRing(t, s)
		_, err := s.KeyRing(ctx, "other-project", kr.RegionID, kr.ID)
		wantKind(t, "KeyRing(other project)", err, errs.NotFound)
		_, err = s.KeyRing(ctx, kr.ProjectID, "eu02", kr.ID)
		wantKind(t, "KeyRing(other region)", err, errs.NotFound)
		wantKind(t, "DeleteKeyRing(other project)", s.DeleteKeyRing(ctx, "other-project", kr.RegionID, kr.ID), errs.NotFound)
		wantKind(t, "DeleteKeyRing(other region)", s.DeleteKeyRing(ctx, kr.ProjectID, "eu02", kr.ID), errs.NotFound)
		_, err = s.ListKeys(ctx, "other-project", kr.RegionID, kr.ID)
		wantKind(t, "ListKeys(other project)", err, errs.NotFound)
		_, err = s.ListKeys(ctx, kr.ProjectID, "eu02", kr.ID)
		wantKind(t, "ListKeys(other region)", err, errs.NotFound)
		wantKeyRings(t, s, "other-project", kr.RegionID, []*keyservice.KeyRing{})
		wantKeyRings(t, s, kr.ProjectID, "eu02", []*keyservice.KeyRing{})

		// KeyRingByID finds it from anywhere, and it survived.
		got, err := s.KeyRingByID(ctx, kr.ID)
		mustOK(t, "KeyRingByID()", err)
		if diff := cmp.Diff(kr, got); diff != "" {
			t.Errorf("KeyRingByID() mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("DeleteNonEmpty", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		ctx := t.Context()
		kr := mustCreateKeyRing(t, s)
		k := newKey(kr, at(0))
		mustOK(t, "CreateKey()", s.CreateKey(ctx, k, newVersion(at(0))))
		// A key scheduled for deletion still holds the ring.
		k.State, k.DeletionDate = keyservice.KeyDeleted, at(60)
		mustOK(t, "UpdateKey()", s.UpdateKey(ctx, k))

		err := s.DeleteKeyRing(ctx, kr.ProjectID, kr.RegionID, kr.ID)
		wantKind(t, "DeleteKeyRing(non-empty)", err, errs.FailedPrecondition)
		if want := fmt.Sprintf("key ring %s is not empty", kr.ID); errs.Message(err) != want {
			t.Errorf("DeleteKeyRing(non-empty) message = %q, want %q", errs.Message(err), want)
		}
		_, err = s.KeyRing(ctx, kr.ProjectID, kr.RegionID, kr.ID)
		mustOK(t, "KeyRing() after a refused delete", err)
		wantKeys(t, s, kr, []*keyservice.Key{k})

		mustOK(t, "PurgeKey()", s.PurgeKey(ctx, k.ID))
		mustOK(t, "DeleteKeyRing(emptied)", s.DeleteKeyRing(ctx, kr.ProjectID, kr.RegionID, kr.ID))
	})

	t.Run("DeleteRacesCreateKey", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		// Each round, a delete of the ring and a create of a key in it run
		// at once: either the key exists in the ring, or neither does.
		for range 10 {
			kr := mustCreateKeyRing(t, s)
			k := newKey(kr, at(0))
			created, deleted := make(chan error, 1), make(chan error, 1)
			go func() { created <- s.CreateKey(t.Context(), k, newVersion(at(0))) }()
			go func() { deleted <- s.DeleteKeyRing(t.Context(), kr.ProjectID, kr.RegionID, kr.ID) }()
			cErr, dErr := <-created, <-deleted
			switch {
			case cErr == nil && errs.KindOf(dErr) == errs.FailedPrecondition:
				wantKeys(t, s, kr, []*keyservice.Key{k})
			case dErr == nil && errs.KindOf(cErr) == errs.NotFound:
				_, err := s.KeyRingByID(t.Context(), kr.ID)
				wantKind(t, "KeyRingByID(deleted)", err, errs.NotFound)
				_, err = s.ListVersions(t.Context(), k.ID)
				wantKind(t, "ListVersions(key of a deleted ring)", err, errs.NotFound)
			default:
				t.Fatalf("CreateKey() error = %v and DeleteKeyRing() error = %v; want one to win cleanly", cErr, dErr)
			}
		}
	})
}

func newKeyRing(projectID, regionID string, created time.Time) *keyservice.KeyRing {
	return &keyservice.KeyRing{
		ID:          uuid.NewString(),
		ProjectID:   projectID,
		RegionID:    regionID,
		DisplayName: unique("ring"),
		Description: "a key ring",
		State:       keyservice.KeyRingActive,
		CreatedAt:   created,
	}
}

// newKey returns an active AES key in kr.
func newKey(kr *keyservice.KeyRing, created time.Time) *keyservice.Key {
	return &keyservice.Key{
		ID:          uuid.NewString(),
		KeyRingID:   kr.ID,
		ProjectID:   kr.ProjectID,
		RegionID:    kr.RegionID,
		DisplayName: unique("key"),
		Description: "a key",
		Algorithm:   keyring.AES256GCM,
		Protection:  "software",
		AccessScope: "PUBLIC",
		State:       keyservice.KeyActive,
		CreatedAt:   created,
	}
}

// newVersion returns an active version with material, of no key yet.
func newVersion(created time.Time) *keyservice.Version {
	return &keyservice.Version{
		State:           keyservice.VersionActive,
		CreatedAt:       created,
		WrappedMaterial: []byte("wrapped material " + unique("v")),
	}
}

// mustCreateKeyRing creates a key ring in a fresh project and region "eu01".
func mustCreateKeyRing(t *testing.T, s keyservice.Store) *keyservice.KeyRing {
	t.Helper()
	kr := newKeyRing(uuid.NewString(), "eu01", base)
	mustOK(t, "CreateKeyRing()", s.CreateKeyRing(t.Context(), kr))
	return kr
}

// mustCreateKey creates a key in a fresh key ring, with its first version,
// and returns both.
func mustCreateKey(t *testing.T, s keyservice.Store) (*keyservice.Key, *keyservice.Version) {
	t.Helper()
	k := newKey(mustCreateKeyRing(t, s), base)
	v := newVersion(base)
	v.KeyID, v.KeyRingID, v.Number = k.ID, k.KeyRingID, 1
	mustOK(t, "CreateKey()", s.CreateKey(t.Context(), k, v))
	return k, v
}

// wrapFor returns a stand-in for the seal's wrap of key keyID's material:
// its result names the version number it was bound to.
func wrapFor(keyID string) func(number int64) ([]byte, error) {
	return func(number int64) ([]byte, error) { return materialFor(keyID, number), nil }
}

func materialFor(keyID string, number int64) []byte {
	return fmt.Appendf(nil, "material of key %s bound to version %d", keyID, number)
}

// wantKeyRings fails t unless the key rings of projectID in regionID are
// want, in that order, in a non-nil slice.
func wantKeyRings(t *testing.T, s keyservice.Store, projectID, regionID string, want []*keyservice.KeyRing) {
	t.Helper()
	got, err := s.ListKeyRings(t.Context(), projectID, regionID)
	mustOK(t, "ListKeyRings()", err)
	if got == nil {
		t.Errorf("ListKeyRings(%s, %s) = nil, want a non-nil slice", projectID, regionID)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListKeyRings(%s, %s) mismatch (-want +got):\n%s", projectID, regionID, diff)
	}
}

// wantKeys fails t unless the keys of kr are want, in that order, in a
// non-nil slice.
func wantKeys(t *testing.T, s keyservice.Store, kr *keyservice.KeyRing, want []*keyservice.Key) {
	t.Helper()
	got, err := s.ListKeys(t.Context(), kr.ProjectID, kr.RegionID, kr.ID)
	mustOK(t, "ListKeys()", err)
	if got == nil {
		t.Errorf("ListKeys(%s) = nil, want a non-nil slice", kr.ID)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListKeys(%s) mismatch (-want +got):\n%s", kr.ID, diff)
	}
}

// wantVersions fails t unless the versions of keyID are want, in that
// order, in a non-nil slice.
func wantVersions(t *testing.T, s keyservice.Store, keyID string, want []*keyservice.Version) {
	t.Helper()
	got, err := s.ListVersions(t.Context(), keyID)
	mustOK(t, "ListVersions()", err)
	if got == nil {
		t.Errorf("ListVersions(%s) = nil, want a non-nil slice", keyID)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListVersions(%s) mismatch (-want +got):\n%s", keyID, diff)
	}
}

// byKeyID sorts keys by ID, for expectations whose order ties on time.
func byKeyID(keys []*keyservice.Key) []*keyservice.Key {
	sort.Slice(keys, func(i, j int) bool { return keys[i].ID < keys[j].ID })
	return keys
}
