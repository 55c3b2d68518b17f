package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/transit"
)

func testTransit(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("CRUD", func(t *testing.T) { testTransitCRUD(t, open) })
	t.Run("Errors", func(t *testing.T) { testTransitErrors(t, open) })
	t.Run("RevisionConflict", func(t *testing.T) { testTransitConflict(t, open) })
	t.Run("ConcurrentUpdates", func(t *testing.T) { testTransitConcurrent(t, open) })
	t.Run("ListOrder", func(t *testing.T) { testTransitList(t, open) })
	t.Run("Copies", func(t *testing.T) { testTransitCopies(t, open) })
	t.Run("DeleteMount", func(t *testing.T) { testTransitDeleteMount(t, open) })
}

func newStoredKey(mount, name string) *transit.StoredKey {
	return &transit.StoredKey{Mount: mount, Name: name, Revision: 1,
		Sealed: []byte("sealed " + unique(name)), UpdatedAt: base}
}

func cloneStoredKey(k *transit.StoredKey) *transit.StoredKey {
	c := *k
	c.Sealed = bytes.Clone(k.Sealed)
	return &c
}

// wantStoredKey fails t unless s holds want.
func wantStoredKey(t *testing.T, s transit.Store, want *transit.StoredKey) {
	t.Helper()
	got, err := s.Get(t.Context(), want.Mount, want.Name)
	if err != nil {
		t.Fatalf("Get(%s/%s) error = %v", want.Mount, want.Name, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get(%s/%s) mismatch (-want +got):\n%s", want.Mount, want.Name, diff)
	}
	wantUTC(t, "Get()", got.UpdatedAt)
}

// wantNames fails t unless mount's keys are named want, in that order.
func wantNames(t *testing.T, s transit.Store, mount string, want []string) {
	t.Helper()
	got, err := s.List(t.Context(), mount)
	if err != nil {
		t.Fatalf("List(%s) error = %v", mount, err)
	}
	if got == nil {
		t.Errorf("List(%s) = nil, want a non-nil slice", mount)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List(%s) mismatch (-want +got):\n%s", mount, diff)
	}
}

func testTransitCRUD(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Transit
	ctx := t.Context()
	k := newStoredKey("transit", "orders")
	// A time in another zone with nanoseconds comes back in UTC, to the microsecond.
	k.UpdatedAt = time.Date(2025, 6, 1, 12, 30, 0, 123456789, time.FixedZone("CEST", 2*3600))
	mustOK(t, "Create()", s.Create(ctx, cloneStoredKey(k)))
	k.UpdatedAt = time.Date(2025, 6, 1, 10, 30, 0, 123456000, time.UTC)
	wantStoredKey(t, s, k)
	wantNames(t, s, "transit", []string{"orders"})

	k.Revision, k.Sealed, k.UpdatedAt = 2, []byte("rotated"), at(5)
	mustOK(t, "Update()", s.Update(ctx, cloneStoredKey(k)))
	wantStoredKey(t, s, k)

	mustOK(t, "Delete()", s.Delete(ctx, k.Mount, k.Name))
	_, err := s.Get(ctx, k.Mount, k.Name)
	wantKind(t, "Get(deleted)", err, errs.NotFound)
	wantKind(t, "Delete(again)", s.Delete(ctx, k.Mount, k.Name), errs.NotFound)
	wantNames(t, s, "transit", []string{})

	// The name is free again.
	k.Revision = 1
	mustOK(t, "Create(again)", s.Create(ctx, cloneStoredKey(k)))
	wantStoredKey(t, s, k)
}

func testTransitErrors(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Transit
	ctx := t.Context()
	k := newStoredKey("transit", "k")
	mustOK(t, "Create()", s.Create(ctx, cloneStoredKey(k)))

	dup := newStoredKey("transit", "k")
	wantKind(t, "Create(taken name)", s.Create(ctx, dup), errs.AlreadyExists)
	wantStoredKey(t, s, k)
	// The same name in another mount is another key.
	mustOK(t, "Create(other mount)", s.Create(ctx, newStoredKey("other", "k")))

	_, err := s.Get(ctx, "transit", "missing")
	wantKind(t, "Get(unknown)", err, errs.NotFound)
	_, err = s.Get(ctx, "missing", "k")
	wantKind(t, "Get(unknown mount)", err, errs.NotFound)
	missing := newStoredKey("transit", "missing")
	missing.Revision = 2
	wantKind(t, "Update(unknown)", s.Update(ctx, missing), errs.NotFound)
	wantKind(t, "Delete(unknown)", s.Delete(ctx, "transit", "missing"), errs.NotFound)

	for name, mutate := range map[string]func(*transit.StoredKey){
		"no mount":      func(k *transit.StoredKey) { k.Mount = "" },
		"no name":       func(k *transit.StoredKey) { k.Name = "" },
		"zero revision": func(k *transit.StoredKey) { k.Revision = 0 },
		"no sealed key": func(k *transit.StoredKey) { k.Sealed = nil },
	} {
		bad := newStoredKey("transit", "bad")
		mutate(bad)
		wantKind(t, "Create("+name+")", s.Create(ctx, bad), errs.InvalidArgument)
		bad = cloneStoredKey(k)
		bad.Revision++
		mutate(bad)
		wantKind(t, "Update("+name+")", s.Update(ctx, bad), errs.InvalidArgument)
	}
	wantStoredKey(t, s, k)
	wantNames(t, s, "transit", []string{"k"})
}

func testTransitConflict(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Transit
	ctx := t.Context()
	k := newStoredKey("transit", "k")
	mustOK(t, "Create()", s.Create(ctx, cloneStoredKey(k)))
	for _, rev := range []int64{1, 3, 7} { // the same revision, and ones that skip
		stale := cloneStoredKey(k)
		stale.Revision, stale.Sealed = rev, []byte("stale")
		wantKind(t, fmt.Sprintf("Update(revision %d over 1)", rev), s.Update(ctx, stale), errs.FailedPrecondition)
	}
	wantStoredKey(t, s, k)

	// Two writers that read revision 1: the first wins, the second loses.
	first, second := cloneStoredKey(k), cloneStoredKey(k)
	first.Revision, first.Sealed = 2, []byte("first")
	second.Revision, second.Sealed = 2, []byte("second")
	mustOK(t, "Update(first)", s.Update(ctx, first))
	err := s.Update(ctx, second)
	wantKind(t, "Update(second)", err, errs.FailedPrecondition)
	wantStoredKey(t, s, first)
}

// testTransitConcurrent has writers append their mark to one key by
// read-modify-write, retrying on conflicts: every mark must survive.
func testTransitConcurrent(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Transit
	ctx := t.Context()
	const writers = 20
	k := newStoredKey("transit", "hot")
	k.Sealed = []byte("start")
	mustOK(t, "Create()", s.Create(ctx, cloneStoredKey(k)))
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			for {
				cur, err := s.Get(ctx, k.Mount, k.Name)
				if err != nil {
					errc <- err
					return
				}
				cur.Revision++
				cur.Sealed = fmt.Appendf(cur.Sealed, "|w%d", i)
				err = s.Update(ctx, cur)
				if errs.KindOf(err) == errs.FailedPrecondition {
					continue
				}
				if err != nil {
					errc <- err
				}
				return
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Errorf("read-modify-write error = %v", err)
	}
	got, err := s.Get(ctx, k.Mount, k.Name)
	mustOK(t, "Get()", err)
	if got.Revision != writers+1 {
		t.Errorf("Revision = %d, want %d", got.Revision, writers+1)
	}
	marks := strings.Split(string(got.Sealed), "|")
	slices.Sort(marks)
	want := []string{"start"}
	for i := range writers {
		want = append(want, fmt.Sprintf("w%d", i))
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, marks); diff != "" {
		t.Errorf("marks of the writers mismatch (-want +got):\n%s", diff)
	}
}

func testTransitList(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Transit
	ctx := t.Context()
	names := []string{"b", "a", "B", "a-b", "a/b", "ä", "aa", "_"}
	for _, n := range names {
		mustOK(t, "Create("+n+")", s.Create(ctx, newStoredKey("transit", n)))
	}
	mustOK(t, "Create(other mount)", s.Create(ctx, newStoredKey("transit2", "z")))
	// Bytewise, as Go sorts strings.
	wantNames(t, s, "transit", []string{"B", "_", "a", "a-b", "a/b", "aa", "b", "ä"})
	wantNames(t, s, "transit2", []string{"z"})
	wantNames(t, s, "transi", []string{})
	wantNames(t, s, "missing", []string{})
}

func testTransitCopies(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Transit
	ctx := t.Context()
	k := newStoredKey("transit", "k")
	in := cloneStoredKey(k)
	mustOK(t, "Create()", s.Create(ctx, in))
	in.Sealed[0] ^= 0xff
	wantStoredKey(t, s, k)

	got, err := s.Get(ctx, k.Mount, k.Name)
	mustOK(t, "Get()", err)
	got.Sealed[0] ^= 0xff
	wantStoredKey(t, s, k)

	up := cloneStoredKey(k)
	up.Revision, up.Sealed = 2, []byte("updated")
	in = cloneStoredKey(up)
	mustOK(t, "Update()", s.Update(ctx, in))
	in.Sealed[0] ^= 0xff
	wantStoredKey(t, s, up)
}

func testTransitDeleteMount(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Transit
	ctx := t.Context()
	keep := newStoredKey("keep", "k")
	mustOK(t, "Create(keep)", s.Create(ctx, cloneStoredKey(keep)))
	for _, n := range []string{"x", "y", "z"} {
		mustOK(t, "Create("+n+")", s.Create(ctx, newStoredKey("gone", n)))
	}
	mustOK(t, "DeleteMount()", s.DeleteMount(ctx, "gone"))
	wantNames(t, s, "gone", []string{})
	_, err := s.Get(ctx, "gone", "x")
	wantKind(t, "Get(deleted mount's key)", err, errs.NotFound)
	wantStoredKey(t, s, keep)
	mustOK(t, "DeleteMount(again)", s.DeleteMount(ctx, "gone"))
	mustOK(t, "DeleteMount(never used)", s.DeleteMount(ctx, "never"))
	// The mount's names are free again.
	mustOK(t, "Create(after DeleteMount)", s.Create(ctx, newStoredKey("gone", "x")))
}
