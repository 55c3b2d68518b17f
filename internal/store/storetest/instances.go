package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/instance"
)

func testInstances(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("CreateAndGet", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		withKMS := newInstance("p1", "eu01", at(0))
		withKMS.KMSKey = newKMSKey()
		withKMS.SecretCount = 7
		updated := newInstance("p1", "eu01", at(1))
		updated.UpdateStartDate, updated.UpdateFinishedDate = at(2), at(2).Add(time.Microsecond)
		nonUTC := newInstance("p1", "eu01", at(3).In(time.FixedZone("CEST", 2*60*60)))
		noKeyring := newInstance("p1", "eu01", at(4))
		noKeyring.WrappedKeyring, noKeyring.WrappedFallbackKey = nil, nil
		binary := newInstance("p1", "eu01", at(5))
		binary.WrappedKeyring, binary.WrappedFallbackKey = allBytes(), []byte{0, 0xff, 0}
		cases := []struct {
			name string
			in   *instance.Instance
		}{
			{"without KMS key", newInstance("p1", "eu01", at(-1))},
			{"with KMS key", withKMS},
			{"with update dates", updated},
			{"non-UTC creation date", nonUTC},
			{"without wrapped keys", noKeyring},
			{"binary wrapped keys", binary},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				in := tc.in
				mustOK(t, "CreateInstance()", s.CreateInstance(t.Context(), in))
				got, err := s.Instance(t.Context(), in.ProjectID, in.RegionID, in.ID)
				mustOK(t, "Instance()", err)
				if diff := cmp.Diff(in, got); diff != "" {
					t.Errorf("Instance() mismatch (-want +got):\n%s", diff)
				}
				wantUTC(t, "Instance()", got.CreationStartDate, got.CreationFinishedDate,
					got.UpdateStartDate, got.UpdateFinishedDate)
				byID, err := s.InstanceByID(t.Context(), in.ID)
				mustOK(t, "InstanceByID()", err)
				if diff := cmp.Diff(in, byID); diff != "" {
					t.Errorf("InstanceByID() mismatch (-want +got):\n%s", diff)
				}
			})
		}
	})

	t.Run("ZeroUpdateDatesReadBackAsZero", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		in := mustCreateInstance(t, s)
		got, err := s.InstanceByID(t.Context(), in.ID)
		mustOK(t, "InstanceByID()", err)
		if !got.UpdateStartDate.IsZero() || !got.UpdateFinishedDate.IsZero() {
			t.Errorf("update dates = %v, %v; want zero times", got.UpdateStartDate, got.UpdateFinishedDate)
		}
	})

	t.Run("CreateDuplicateID", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		in := mustCreateInstance(t, s)
		dup := newInstance("other-project", "eu02", at(5))
		dup.ID = in.ID
		wantKind(t, "CreateInstance(duplicate ID)", s.CreateInstance(t.Context(), dup), errs.AlreadyExists)
	})

	t.Run("ScopedByProjectAndRegion", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		in := mustCreateInstance(t, s)
		ctx := t.Context()
		_, err := s.Instance(ctx, "other-project", in.RegionID, in.ID)
		wantKind(t, "Instance(other project)", err, errs.NotFound)
		_, err = s.Instance(ctx, in.ProjectID, "eu02", in.ID)
		wantKind(t, "Instance(other region)", err, errs.NotFound)

		moved := *in
		moved.ProjectID, moved.Name = "other-project", "renamed"
		moved.KMSKey, moved.WrappedKeyring, moved.WrappedFallbackKey = newKMSKey(), []byte("other"), []byte("other")
		wantKind(t, "UpdateInstance(other project)", s.UpdateInstance(ctx, &moved), errs.NotFound)
		moved.ProjectID, moved.RegionID = in.ProjectID, "eu02"
		wantKind(t, "UpdateInstance(other region)", s.UpdateInstance(ctx, &moved), errs.NotFound)
		wantKind(t, "DeleteInstance(other project)", s.DeleteInstance(ctx, "other-project", in.RegionID, in.ID), errs.NotFound)
		wantKind(t, "DeleteInstance(other region)", s.DeleteInstance(ctx, in.ProjectID, "eu02", in.ID), errs.NotFound)

		for _, scope := range [][2]string{{"other-project", in.RegionID}, {in.ProjectID, "eu02"}} {
			list, err := s.ListInstances(ctx, scope[0], scope[1])
			mustOK(t, "ListInstances()", err)
			if list == nil || len(list) != 0 {
				t.Errorf("ListInstances(%s, %s) = %v, want an empty non-nil slice", scope[0], scope[1], list)
			}
		}
		got, err := s.Instance(ctx, in.ProjectID, in.RegionID, in.ID)
		mustOK(t, "Instance()", err)
		if diff := cmp.Diff(in, got); diff != "" {
			t.Errorf("Instance() after foreign update and delete mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("ListOrder", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		ctx := t.Context()
		// Created out of order; two share a creation date and sort by ID.
		ins := []*instance.Instance{
			newInstance("p1", "eu01", at(10)),
			newInstance("p1", "eu01", at(-10)),
			newInstance("p1", "eu01", at(0)),
			newInstance("p1", "eu01", at(0)),
		}
		for _, in := range append(ins, newInstance("p1", "eu02", at(1)), newInstance("p2", "eu01", at(1))) {
			mustOK(t, "CreateInstance()", s.CreateInstance(ctx, in))
		}
		want := []*instance.Instance{ins[1], ins[2], ins[3], ins[0]}
		if want[1].ID > want[2].ID {
			want[1], want[2] = want[2], want[1]
		}
		got, err := s.ListInstances(ctx, "p1", "eu01")
		mustOK(t, "ListInstances()", err)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ListInstances() mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		ring, fallback := []byte("new wrapped keyring"), []byte("new wrapped fallback key")
		cases := []struct {
			name                   string
			before, after          *instance.KMSKey
			keyring, fallbackKey   []byte // after the update
			wantRing, wantFallback []byte
		}{
			{"add KMS key", nil, newKMSKey(), ring, fallback, ring, fallback},
			{"change KMS key", newKMSKey(), newKMSKey(), ring, fallback, ring, fallback},
			{"remove KMS key", newKMSKey(), nil, ring, fallback, ring, fallback},
			{"keep no KMS key", nil, nil, ring, fallback, ring, fallback},
			{"clear wrapped keys", newKMSKey(), newKMSKey(), nil, []byte{}, nil, nil},
		}
		s := open(t).Instances
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx := t.Context()
				in := newInstance("p1", "eu01", at(0))
				in.KMSKey, in.SecretCount = tc.before, 4
				mustOK(t, "CreateInstance()", s.CreateInstance(ctx, in))

				upd := *in
				upd.Name, upd.KMSKey = "renamed", tc.after
				upd.WrappedKeyring, upd.WrappedFallbackKey = tc.keyring, tc.fallbackKey
				upd.UpdateStartDate, upd.UpdateFinishedDate = at(30), at(31)
				// Only the name, KMS key, wrapped keys and update dates may change.
				upd.State, upd.SecretCount, upd.CreationStartDate = "deleting", 99, at(99)
				mustOK(t, "UpdateInstance()", s.UpdateInstance(ctx, &upd))

				want := *in
				want.Name, want.KMSKey = "renamed", tc.after
				want.WrappedKeyring, want.WrappedFallbackKey = tc.wantRing, tc.wantFallback
				want.UpdateStartDate, want.UpdateFinishedDate = at(30), at(31)
				got, err := s.Instance(ctx, in.ProjectID, in.RegionID, in.ID)
				mustOK(t, "Instance()", err)
				if diff := cmp.Diff(&want, got); diff != "" {
					t.Errorf("Instance() after update mismatch (-want +got):\n%s", diff)
				}
			})
		}
	})

	t.Run("DeleteCascades", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		ctx := t.Context()
		in := mustCreateInstance(t, s)
		other := mustCreateInstance(t, s)
		u, keep := newUser(in.ID, at(0)), newUser(other.ID, at(0))
		a := newACL(in.ID, "10.0.0.0/8")
		mustOK(t, "CreateUser()", s.CreateUser(ctx, u, 10))
		mustOK(t, "CreateUser()", s.CreateUser(ctx, keep, 10))
		mustOK(t, "CreateACL()", s.CreateACL(ctx, a, 10))

		mustOK(t, "DeleteInstance()", s.DeleteInstance(ctx, in.ProjectID, in.RegionID, in.ID))
		_, err := s.InstanceByID(ctx, in.ID)
		wantKind(t, "InstanceByID(deleted)", err, errs.NotFound)
		wantKind(t, "DeleteInstance(deleted)", s.DeleteInstance(ctx, in.ProjectID, in.RegionID, in.ID), errs.NotFound)
		_, err = s.UserByUsername(ctx, u.Username)
		wantKind(t, "UserByUsername(user of deleted instance)", err, errs.NotFound)
		_, err = s.ACL(ctx, in.ID, a.ID)
		wantKind(t, "ACL(ACL of deleted instance)", err, errs.NotFound)
		_, err = s.UserByUsername(ctx, keep.Username)
		mustOK(t, "UserByUsername(user of another instance)", err)

		// The username is free again, and so are the IDs.
		reuse := newUser(other.ID, at(1))
		reuse.ID, reuse.Username = u.ID, u.Username
		mustOK(t, "CreateUser(reused username)", s.CreateUser(ctx, reuse, 10))
		mustOK(t, "CreateACL(reused ID)", s.CreateACL(ctx, newACLWithID(a.ID, other.ID, "10.0.0.0/8"), 10))
	})
}

func newACLWithID(id, instanceID, cidr string) *instance.ACL {
	return &instance.ACL{ID: id, InstanceID: instanceID, CIDR: cidr}
}
