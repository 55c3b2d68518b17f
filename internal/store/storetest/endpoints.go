package storetest

import (
	"bytes"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/services"
)

func testEndpoints(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("CRUD", func(t *testing.T) { testEndpointsCRUD(t, open) })
	t.Run("Errors", func(t *testing.T) { testEndpointsErrors(t, open) })
	t.Run("Conflict", func(t *testing.T) { testEndpointsConflict(t, open) })
	t.Run("ConcurrentReplace", func(t *testing.T) { testEndpointsConcurrent(t, open) })
	t.Run("ListOrder", func(t *testing.T) { testEndpointsList(t, open) })
	t.Run("Copies", func(t *testing.T) { testEndpointsCopies(t, open) })
}

func newEndpoint(id string) *services.StoredEndpoint {
	return &services.StoredEndpoint{ID: id, Service: "vault-kms",
		Policies: []string{"default", "transit-admin-" + id, "transit-sign-" + id},
		Accessor: unique("accessor"), WrappedToken: []byte("wrapped " + unique(id)), UpdatedAt: base}
}

func cloneEndpoint(e *services.StoredEndpoint) *services.StoredEndpoint {
	c := *e
	c.Policies = slices.Clone(e.Policies)
	c.WrappedToken = bytes.Clone(e.WrappedToken)
	return &c
}

// wantEndpoint fails t unless s holds want.
func wantEndpoint(t *testing.T, s services.Store, want *services.StoredEndpoint) {
	t.Helper()
	got, err := s.Endpoint(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("Endpoint(%s) error = %v", want.ID, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Endpoint(%s) mismatch (-want +got):\n%s", want.ID, diff)
	}
	wantUTC(t, "Endpoint()", got.UpdatedAt)
}

// wantEndpointIDs fails t unless s lists endpoints ids, in that order.
func wantEndpointIDs(t *testing.T, s services.Store, ids []string) {
	t.Helper()
	list, err := s.ListEndpoints(t.Context())
	if err != nil {
		t.Fatalf("ListEndpoints() error = %v", err)
	}
	if list == nil {
		t.Error("ListEndpoints() = nil, want a non-nil slice")
	}
	got := []string{}
	for _, e := range list {
		got = append(got, e.ID)
	}
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Errorf("ListEndpoints() ids mismatch (-want +got):\n%s", diff)
	}
}

func testEndpointsCRUD(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Endpoints
	ctx := t.Context()
	wantEndpointIDs(t, s, []string{})
	e := newEndpoint("manage_keys")
	// A time in another zone with nanoseconds comes back in UTC, to the microsecond.
	e.UpdatedAt = time.Date(2025, 6, 1, 12, 30, 0, 123456789, time.FixedZone("CEST", 2*3600))
	mustOK(t, "CreateEndpoint()", s.CreateEndpoint(ctx, cloneEndpoint(e)))
	e.UpdatedAt = time.Date(2025, 6, 1, 10, 30, 0, 123456000, time.UTC)
	wantEndpoint(t, s, e)
	wantEndpointIDs(t, s, []string{"manage_keys"})

	next := newEndpoint("manage_keys")
	next.Service, next.Policies, next.UpdatedAt = "kms", []string{"default", "transit-verify-k"}, at(5)
	mustOK(t, "ReplaceEndpoint()", s.ReplaceEndpoint(ctx, cloneEndpoint(next), e.Accessor))
	wantEndpoint(t, s, next)
	list, err := s.ListEndpoints(ctx)
	mustOK(t, "ListEndpoints()", err)
	if len(list) != 1 || !cmp.Equal(list[0], next) {
		t.Errorf("ListEndpoints() = %v, want [%v]", list, next)
	}

	mustOK(t, "DeleteEndpoint()", s.DeleteEndpoint(ctx, e.ID))
	_, err = s.Endpoint(ctx, e.ID)
	wantKind(t, "Endpoint(deleted)", err, errs.NotFound)
	wantKind(t, "DeleteEndpoint(again)", s.DeleteEndpoint(ctx, e.ID), errs.NotFound)
	wantEndpointIDs(t, s, []string{})

	// The id is free again.
	mustOK(t, "CreateEndpoint(again)", s.CreateEndpoint(ctx, cloneEndpoint(e)))
	wantEndpoint(t, s, e)
}

func testEndpointsErrors(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Endpoints
	ctx := t.Context()
	e := newEndpoint("e")
	mustOK(t, "CreateEndpoint()", s.CreateEndpoint(ctx, cloneEndpoint(e)))
	wantKind(t, "CreateEndpoint(taken id)", s.CreateEndpoint(ctx, newEndpoint("e")), errs.AlreadyExists)
	wantEndpoint(t, s, e)

	_, err := s.Endpoint(ctx, "missing")
	wantKind(t, "Endpoint(unknown)", err, errs.NotFound)
	wantKind(t, "ReplaceEndpoint(unknown)", s.ReplaceEndpoint(ctx, newEndpoint("missing"), "acc"), errs.NotFound)
	wantKind(t, "DeleteEndpoint(unknown)", s.DeleteEndpoint(ctx, "missing"), errs.NotFound)

	for name, mutate := range map[string]func(*services.StoredEndpoint){
		"no id":            func(e *services.StoredEndpoint) { e.ID = "" },
		"no service":       func(e *services.StoredEndpoint) { e.Service = "" },
		"no accessor":      func(e *services.StoredEndpoint) { e.Accessor = "" },
		"no policies":      func(e *services.StoredEndpoint) { e.Policies = nil },
		"an empty policy":  func(e *services.StoredEndpoint) { e.Policies = []string{"default", ""} },
		"no wrapped token": func(e *services.StoredEndpoint) { e.WrappedToken = nil },
	} {
		bad := newEndpoint("bad")
		mutate(bad)
		wantKind(t, "CreateEndpoint("+name+")", s.CreateEndpoint(ctx, bad), errs.InvalidArgument)
		bad = newEndpoint("e")
		mutate(bad)
		wantKind(t, "ReplaceEndpoint("+name+")", s.ReplaceEndpoint(ctx, bad, e.Accessor), errs.InvalidArgument)
	}
	wantEndpoint(t, s, e)
	wantEndpointIDs(t, s, []string{"e"})
}

func testEndpointsConflict(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Endpoints
	ctx := t.Context()
	e := newEndpoint("e")
	mustOK(t, "CreateEndpoint()", s.CreateEndpoint(ctx, cloneEndpoint(e)))
	stale := newEndpoint("e")
	wantKind(t, "ReplaceEndpoint(wrong accessor)", s.ReplaceEndpoint(ctx, stale, "not-"+e.Accessor), errs.FailedPrecondition)
	wantEndpoint(t, s, e)

	// Two writers that read the same accessor: the first wins, the second loses.
	first, second := newEndpoint("e"), newEndpoint("e")
	mustOK(t, "ReplaceEndpoint(first)", s.ReplaceEndpoint(ctx, cloneEndpoint(first), e.Accessor))
	wantKind(t, "ReplaceEndpoint(second)", s.ReplaceEndpoint(ctx, second, e.Accessor), errs.FailedPrecondition)
	wantEndpoint(t, s, first)
}

// testEndpointsConcurrent has writers replace one endpoint from the same
// accessor at once: exactly one wins.
func testEndpointsConcurrent(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Endpoints
	ctx := t.Context()
	const writers = 10
	e := newEndpoint("hot")
	mustOK(t, "CreateEndpoint()", s.CreateEndpoint(ctx, cloneEndpoint(e)))
	var wins atomic.Int32
	var winner atomic.Pointer[services.StoredEndpoint]
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			next := newEndpoint("hot")
			err := s.ReplaceEndpoint(ctx, cloneEndpoint(next), e.Accessor)
			switch {
			case err == nil:
				wins.Add(1)
				winner.Store(next)
			case errs.KindOf(err) != errs.FailedPrecondition:
				t.Errorf("ReplaceEndpoint() error = %v, want nil or kind %v", err, errs.FailedPrecondition)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d writers won, want 1", wins.Load())
	}
	wantEndpoint(t, s, winner.Load())
}

func testEndpointsList(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Endpoints
	ctx := t.Context()
	for _, id := range []string{"b", "a", "B", "a-b", "a_b", "aa", "Z9"} {
		mustOK(t, "CreateEndpoint("+id+")", s.CreateEndpoint(ctx, newEndpoint(id)))
	}
	// Bytewise, as Go sorts strings.
	wantEndpointIDs(t, s, []string{"B", "Z9", "a", "a-b", "a_b", "aa", "b"})
}

func testEndpointsCopies(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Endpoints
	ctx := t.Context()
	e := newEndpoint("e")
	in := cloneEndpoint(e)
	mustOK(t, "CreateEndpoint()", s.CreateEndpoint(ctx, in))
	in.WrappedToken[0] ^= 0xff
	in.Policies[0] = "changed"
	wantEndpoint(t, s, e)

	got, err := s.Endpoint(ctx, e.ID)
	mustOK(t, "Endpoint()", err)
	got.WrappedToken[0] ^= 0xff
	got.Policies[0] = "changed"
	wantEndpoint(t, s, e)

	next := newEndpoint("e")
	in = cloneEndpoint(next)
	mustOK(t, "ReplaceEndpoint()", s.ReplaceEndpoint(ctx, in, e.Accessor))
	in.WrappedToken[0] ^= 0xff
	in.Policies[1] = "changed"
	wantEndpoint(t, s, next)
}
