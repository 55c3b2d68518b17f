package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/instance"
)

func testACLs(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("CRUD", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		ctx := t.Context()
		in := mustCreateInstance(t, s)

		empty, err := s.ListACLs(ctx, in.ID)
		mustOK(t, "ListACLs()", err)
		if empty == nil || len(empty) != 0 {
			t.Errorf("ListACLs() of a new instance = %v, want an empty non-nil slice", empty)
		}

		acls := []*instance.ACL{
			newACL(in.ID, "192.168.0.0/16"), newACL(in.ID, "10.0.0.0/8"), newACL(in.ID, "172.16.0.0/12"),
		}
		for _, a := range acls {
			mustOK(t, "CreateACL()", s.CreateACL(ctx, a, 10))
		}
		got, err := s.ACL(ctx, in.ID, acls[1].ID)
		mustOK(t, "ACL()", err)
		if diff := cmp.Diff(acls[1], got); diff != "" {
			t.Errorf("ACL() mismatch (-want +got):\n%s", diff)
		}
		wantACLs(t, s, in.ID, acls)

		// An update keeps the ACL's place in the list.
		upd := *acls[0]
		upd.CIDR = "192.168.1.0/24"
		mustOK(t, "UpdateACL()", s.UpdateACL(ctx, &upd))
		wantACLs(t, s, in.ID, []*instance.ACL{&upd, acls[1], acls[2]})

		mustOK(t, "DeleteACL()", s.DeleteACL(ctx, in.ID, acls[1].ID))
		_, err = s.ACL(ctx, in.ID, acls[1].ID)
		wantKind(t, "ACL(deleted)", err, errs.NotFound)
		wantKind(t, "DeleteACL(deleted)", s.DeleteACL(ctx, in.ID, acls[1].ID), errs.NotFound)
		// New ACLs go to the end, even after a delete.
		last := newACL(in.ID, "0.0.0.0/0")
		mustOK(t, "CreateACL()", s.CreateACL(ctx, last, 10))
		wantACLs(t, s, in.ID, []*instance.ACL{&upd, acls[2], last})
	})

	t.Run("ScopedByInstance", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		ctx := t.Context()
		in, other := mustCreateInstance(t, s), mustCreateInstance(t, s)
		a := newACL(in.ID, "10.0.0.0/8")
		mustOK(t, "CreateACL()", s.CreateACL(ctx, a, 10))

		_, err := s.ACL(ctx, other.ID, a.ID)
		wantKind(t, "ACL(other instance)", err, errs.NotFound)
		moved := *a
		moved.InstanceID, moved.CIDR = other.ID, "0.0.0.0/0"
		wantKind(t, "UpdateACL(other instance)", s.UpdateACL(ctx, &moved), errs.NotFound)
		wantKind(t, "DeleteACL(other instance)", s.DeleteACL(ctx, other.ID, a.ID), errs.NotFound)
		mustOK(t, "ReplaceACLs(other instance)", s.ReplaceACLs(ctx, other.ID, nil, 10))
		wantACLs(t, s, in.ID, []*instance.ACL{a})
		wantACLs(t, s, other.ID, []*instance.ACL{})
	})

	t.Run("DuplicateID", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		ctx := t.Context()
		in := mustCreateInstance(t, s)
		a := newACL(in.ID, "10.0.0.0/8")
		mustOK(t, "CreateACL()", s.CreateACL(ctx, a, 10))
		wantKind(t, "CreateACL(duplicate ID)", s.CreateACL(ctx, newACLWithID(a.ID, in.ID, "0.0.0.0/0"), 10), errs.AlreadyExists)
		wantACLs(t, s, in.ID, []*instance.ACL{a})
	})

	t.Run("Limit", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		ctx := t.Context()
		in := mustCreateInstance(t, s)
		a, b := newACL(in.ID, "10.0.0.0/8"), newACL(in.ID, "172.16.0.0/12")
		mustOK(t, "CreateACL()", s.CreateACL(ctx, a, 2))
		mustOK(t, "CreateACL()", s.CreateACL(ctx, b, 2))
		over := newACL(in.ID, "192.168.0.0/16")
		wantKind(t, "CreateACL(over limit)", s.CreateACL(ctx, over, 2), errs.ResourceExhausted)
		_, err := s.ACL(ctx, in.ID, over.ID)
		wantKind(t, "ACL(over-limit ACL)", err, errs.NotFound)
		wantACLs(t, s, in.ID, []*instance.ACL{a, b})
	})

	t.Run("ReplaceACLs", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		ctx := t.Context()
		in := mustCreateInstance(t, s)
		old := []*instance.ACL{newACL(in.ID, "10.0.0.0/8"), newACL(in.ID, "172.16.0.0/12")}
		for _, a := range old {
			mustOK(t, "CreateACL()", s.CreateACL(ctx, a, 10))
		}
		// Keeps the given order, which is not the order of IDs or CIDRs.
		repl := []*instance.ACL{
			newACL(in.ID, "192.168.0.0/16"), newACL(in.ID, "0.0.0.0/0"), newACL(in.ID, "10.1.0.0/16"),
		}
		repl[0].ID, repl[1].ID, repl[2].ID = maxUUID(), minUUID(), old[0].ID // an old ID may come back
		mustOK(t, "ReplaceACLs()", s.ReplaceACLs(ctx, in.ID, repl, 3))
		wantACLs(t, s, in.ID, repl)

		tooMany := append([]*instance.ACL{newACL(in.ID, "127.0.0.0/8")}, repl...)
		wantKind(t, "ReplaceACLs(over limit)", s.ReplaceACLs(ctx, in.ID, tooMany, 3), errs.ResourceExhausted)
		wantACLs(t, s, in.ID, repl)

		dup := newACL(in.ID, "127.0.0.0/8")
		withDup := []*instance.ACL{dup, newACLWithID(dup.ID, in.ID, "127.0.0.1/32")}
		wantKind(t, "ReplaceACLs(duplicate IDs)", s.ReplaceACLs(ctx, in.ID, withDup, 3), errs.AlreadyExists)
		wantACLs(t, s, in.ID, repl)

		mustOK(t, "ReplaceACLs(empty)", s.ReplaceACLs(ctx, in.ID, []*instance.ACL{}, 3))
		wantACLs(t, s, in.ID, []*instance.ACL{})
	})

	t.Run("ConcurrentLimit", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		in := mustCreateInstance(t, s)
		const limit = 7
		create := func(int) error { return s.CreateACL(t.Context(), newACL(in.ID, "10.0.0.0/8"), limit) }
		wantExactly(t, 20, limit, create)
		list, err := s.ListACLs(t.Context(), in.ID)
		mustOK(t, "ListACLs()", err)
		if len(list) != limit {
			t.Errorf("ListACLs() has %d ACLs, want %d", len(list), limit)
		}
	})
}

// wantACLs fails t unless instanceID's ACLs are want, in that order.
func wantACLs(t *testing.T, s instance.Store, instanceID string, want []*instance.ACL) {
	t.Helper()
	got, err := s.ListACLs(t.Context(), instanceID)
	mustOK(t, "ListACLs()", err)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListACLs() mismatch (-want +got):\n%s", diff)
	}
}

func minUUID() string { return uuid.UUID{0: 0x00, 15: 0x01}.String() }

func maxUUID() string { return uuid.Max.String() }
