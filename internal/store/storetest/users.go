package storetest

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/instance"
)

func testUsers(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("CRUD", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		ctx := t.Context()
		in := mustCreateInstance(t, s)

		empty, err := s.ListUsers(ctx, in.ID)
		mustOK(t, "ListUsers()", err)
		if empty == nil || len(empty) != 0 {
			t.Errorf("ListUsers() of a new instance = %v, want an empty non-nil slice", empty)
		}

		later, first := newUser(in.ID, at(5)), newUser(in.ID, at(1))
		later.Write = false
		mustOK(t, "CreateUser()", s.CreateUser(ctx, later, 10))
		mustOK(t, "CreateUser()", s.CreateUser(ctx, first, 10))

		got, err := s.User(ctx, in.ID, first.ID)
		mustOK(t, "User()", err)
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("User() mismatch (-want +got):\n%s", diff)
		}
		wantUTC(t, "User()", got.CreatedAt)
		got, err = s.UserByUsername(ctx, later.Username)
		mustOK(t, "UserByUsername()", err)
		if diff := cmp.Diff(later, got); diff != "" {
			t.Errorf("UserByUsername() mismatch (-want +got):\n%s", diff)
		}
		list, err := s.ListUsers(ctx, in.ID)
		mustOK(t, "ListUsers()", err)
		if diff := cmp.Diff([]*instance.User{first, later}, list); diff != "" {
			t.Errorf("ListUsers() mismatch (-want +got):\n%s", diff)
		}

		// Only Write and Description may change.
		upd := *first
		upd.Write, upd.Description = false, "changed"
		upd.Username, upd.PasswordHash, upd.CreatedAt = "renamed", []byte("other"), at(60)
		mustOK(t, "UpdateUser()", s.UpdateUser(ctx, &upd))
		want := *first
		want.Write, want.Description = false, "changed"
		got, err = s.User(ctx, in.ID, first.ID)
		mustOK(t, "User()", err)
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("User() after update mismatch (-want +got):\n%s", diff)
		}

		mustOK(t, "DeleteUser()", s.DeleteUser(ctx, in.ID, first.ID))
		_, err = s.User(ctx, in.ID, first.ID)
		wantKind(t, "User(deleted)", err, errs.NotFound)
		wantKind(t, "DeleteUser(deleted)", s.DeleteUser(ctx, in.ID, first.ID), errs.NotFound)
		list, err = s.ListUsers(ctx, in.ID)
		mustOK(t, "ListUsers()", err)
		if diff := cmp.Diff([]*instance.User{later}, list); diff != "" {
			t.Errorf("ListUsers() after delete mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("ListOrderTiesByID", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		in := mustCreateInstance(t, s)
		var want []*instance.User
		for range 4 {
			u := newUser(in.ID, at(0))
			mustOK(t, "CreateUser()", s.CreateUser(t.Context(), u, 10))
			want = append(want, u)
		}
		sort.Slice(want, func(i, j int) bool { return want[i].ID < want[j].ID })
		got, err := s.ListUsers(t.Context(), in.ID)
		mustOK(t, "ListUsers()", err)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ListUsers() mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("ScopedByInstance", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		ctx := t.Context()
		in, other := mustCreateInstance(t, s), mustCreateInstance(t, s)
		u := newUser(in.ID, at(0))
		mustOK(t, "CreateUser()", s.CreateUser(ctx, u, 10))

		_, err := s.User(ctx, other.ID, u.ID)
		wantKind(t, "User(other instance)", err, errs.NotFound)
		moved := *u
		moved.InstanceID, moved.Description = other.ID, "moved"
		wantKind(t, "UpdateUser(other instance)", s.UpdateUser(ctx, &moved), errs.NotFound)
		wantKind(t, "DeleteUser(other instance)", s.DeleteUser(ctx, other.ID, u.ID), errs.NotFound)
		list, err := s.ListUsers(ctx, other.ID)
		mustOK(t, "ListUsers(other instance)", err)
		if len(list) != 0 {
			t.Errorf("ListUsers(other instance) = %v, want none", list)
		}
		got, err := s.User(ctx, in.ID, u.ID)
		mustOK(t, "User()", err)
		if diff := cmp.Diff(u, got); diff != "" {
			t.Errorf("User() after foreign update and delete mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("Duplicates", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		ctx := t.Context()
		in, other := mustCreateInstance(t, s), mustCreateInstance(t, s)
		u := newUser(in.ID, at(0))
		mustOK(t, "CreateUser()", s.CreateUser(ctx, u, 10))

		sameName := newUser(other.ID, at(1))
		sameName.Username = u.Username
		wantKind(t, "CreateUser(duplicate username, other instance)", s.CreateUser(ctx, sameName, 10), errs.AlreadyExists)
		sameID := newUser(in.ID, at(1))
		sameID.ID = u.ID
		wantKind(t, "CreateUser(duplicate ID)", s.CreateUser(ctx, sameID, 10), errs.AlreadyExists)
		list, err := s.ListUsers(ctx, other.ID)
		mustOK(t, "ListUsers()", err)
		if len(list) != 0 {
			t.Errorf("ListUsers() = %v, want no user stored by the failed create", list)
		}
	})

	t.Run("Limit", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		ctx := t.Context()
		in, other := mustCreateInstance(t, s), mustCreateInstance(t, s)
		for range 2 {
			mustOK(t, "CreateUser(under limit)", s.CreateUser(ctx, newUser(in.ID, at(0)), 2))
		}
		over := newUser(in.ID, at(1))
		wantKind(t, "CreateUser(over limit)", s.CreateUser(ctx, over, 2), errs.ResourceExhausted)
		_, err := s.UserByUsername(ctx, over.Username)
		wantKind(t, "UserByUsername(over-limit user)", err, errs.NotFound)
		list, err := s.ListUsers(ctx, in.ID)
		mustOK(t, "ListUsers()", err)
		if len(list) != 2 {
			t.Errorf("ListUsers() has %d users, want 2", len(list))
		}
		// The limit is per instance.
		mustOK(t, "CreateUser(other instance)", s.CreateUser(ctx, newUser(other.ID, at(0)), 2))
		wantKind(t, "CreateUser(limit 0)", s.CreateUser(ctx, newUser(other.ID, at(0)), 0), errs.ResourceExhausted)
	})

	t.Run("ReturnedBytesAreCopies", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		ctx := t.Context()
		in := mustCreateInstance(t, s)
		u := newUser(in.ID, at(0))
		want := *u
		want.PasswordHash = clone(u.PasswordHash)
		mustOK(t, "CreateUser()", s.CreateUser(ctx, u, 10))
		scribble(u.PasswordHash)
		kept, err := s.User(ctx, in.ID, u.ID)
		mustOK(t, "User()", err)
		other := newUser(in.ID, at(1))
		mustOK(t, "CreateUser()", s.CreateUser(ctx, other, 10))
		list, err := s.ListUsers(ctx, in.ID)
		mustOK(t, "ListUsers()", err)
		scribble(list[0].PasswordHash, list[1].PasswordHash)
		got, err := s.UserByUsername(ctx, u.Username)
		mustOK(t, "UserByUsername()", err)
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("UserByUsername() after mutating slices mismatch (-want +got):\n%s", diff)
		}
		// Later reads must not reuse the memory of an earlier result.
		if diff := cmp.Diff(&want, kept); diff != "" {
			t.Errorf("User() result changed by later calls (-want +got):\n%s", diff)
		}
	})

	t.Run("ConcurrentLimit", func(t *testing.T) {
		t.Parallel()
		s := open(t).Instances
		in := mustCreateInstance(t, s)
		const limit = 5
		create := func(i int) error { return s.CreateUser(t.Context(), newUser(in.ID, at(i)), limit) }
		wantExactly(t, 20, limit, create)
		list, err := s.ListUsers(t.Context(), in.ID)
		mustOK(t, "ListUsers()", err)
		if len(list) != limit {
			t.Errorf("ListUsers() has %d users, want %d", len(list), limit)
		}
	})
}

// wantExactly calls create from n goroutines at once and fails t unless
// exactly ok of them succeed and all others fail with ResourceExhausted.
func wantExactly(t *testing.T, n, ok int, create func(i int) error) {
	t.Helper()
	start := make(chan struct{})
	results := make(chan error, n)
	for i := range n {
		go func() {
			<-start
			results <- create(i)
		}()
	}
	close(start)
	succeeded := 0
	for range n {
		err := <-results
		switch {
		case err == nil:
			succeeded++
		case errs.KindOf(err) != errs.ResourceExhausted:
			t.Errorf("concurrent create error = %v (kind %v), want nil or kind %v",
				err, errs.KindOf(err), errs.ResourceExhausted)
		}
	}
	if succeeded != ok {
		t.Errorf("%d of %d concurrent creates succeeded, want exactly %d", succeeded, n, ok)
	}
}
