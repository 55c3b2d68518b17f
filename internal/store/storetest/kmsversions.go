package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/keyservice"
)

func testVersions(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("AddAndList", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		ctx := t.Context()
		k, first := mustCreateKey(t, s)

		v2 := newVersion(at(1))
		v2.KeyID, v2.KeyRingID, v2.WrappedMaterial = k.ID, k.KeyRingID, nil
		v2.PublicKey = "public key of v2"
		mustOK(t, "AddVersion()", s.AddVersion(ctx, v2, wrapFor(k.ID)))
		if v2.Number != 2 {
			t.Errorf("AddVersion() numbered the version %d, want 2", v2.Number)
		}
		if diff := cmp.Diff(materialFor(k.ID, 2), v2.WrappedMaterial); diff != "" {
			t.Errorf("AddVersion() set WrappedMaterial to other than wrap(2) (-want +got):\n%s", diff)
		}

		// A nil wrap stores the given material; an empty KeyRingID is filled in.
		v3 := newVersion(at(2).In(time.FixedZone("CEST", 2*60*60)))
		v3.KeyID, v3.DestroyDate = k.ID, at(50)
		mustOK(t, "AddVersion(nil wrap)", s.AddVersion(ctx, v3, nil))
		if v3.Number != 3 || v3.KeyRingID != k.KeyRingID {
			t.Errorf("AddVersion() left version at %s/%d, want %s/3", v3.KeyRingID, v3.Number, k.KeyRingID)
		}

		got, err := s.Version(ctx, k.ID, 2)
		mustOK(t, "Version()", err)
		if diff := cmp.Diff(v2, got); diff != "" {
			t.Errorf("Version(2) mismatch (-want +got):\n%s", diff)
		}
		got, err = s.Version(ctx, k.ID, 3)
		mustOK(t, "Version()", err)
		if diff := cmp.Diff(v3, got); diff != "" {
			t.Errorf("Version(3) mismatch (-want +got):\n%s", diff)
		}
		wantUTC(t, "Version()", got.CreatedAt, got.DestroyDate)
		wantVersions(t, s, k.ID, []*keyservice.Version{first, v2, v3})
		_, err = s.Version(ctx, k.ID, 4)
		wantKind(t, "Version(not yet added)", err, errs.NotFound)
		_, err = s.Version(ctx, k.ID, 0)
		wantKind(t, "Version(0)", err, errs.NotFound)
	})

	t.Run("NumbersArePerKey", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		a, _ := mustCreateKey(t, s)
		b := newKey(mustCreateKeyRing(t, s), at(0))
		mustOK(t, "CreateKey(no first version)", s.CreateKey(t.Context(), b, nil))
		for _, want := range []struct {
			key    *keyservice.Key
			number int64
		}{{b, 1}, {a, 2}, {b, 2}, {a, 3}, {b, 3}} {
			v := newVersion(at(1))
			v.KeyID = want.key.ID
			mustOK(t, "AddVersion()", s.AddVersion(t.Context(), v, wrapFor(want.key.ID)))
			if v.Number != want.number {
				t.Errorf("AddVersion() to key %s numbered the version %d, want %d", want.key.ID, v.Number, want.number)
			}
		}
	})

	t.Run("AddErrors", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		ctx := t.Context()
		k, first := mustCreateKey(t, s)
		other, _ := mustCreateKey(t, s)

		// An error from wrap aborts: nothing is stored, v is unchanged, and
		// the number is not used up.
		errWrap := errors.New("seal is sealed")
		v := newVersion(at(1))
		v.KeyID = k.ID
		before := *v
		var called []int64
		err := s.AddVersion(ctx, v, func(n int64) ([]byte, error) { called = append(called, n); return nil, errWrap })
		if !errors.Is(err, errWrap) {
			t.Errorf("AddVersion(failing wrap) error = %v, want one that wraps %v", err, errWrap)
		}
		if diff := cmp.Diff([]int64{2}, called); diff != "" {
			t.Errorf("AddVersion() called wrap with (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(&before, v); diff != "" {
			t.Errorf("AddVersion(failing wrap) changed v (-want +got):\n%s", diff)
		}
		wantVersions(t, s, k.ID, []*keyservice.Version{first})

		wrongRing := newVersion(at(1))
		wrongRing.KeyID, wrongRing.KeyRingID = k.ID, other.KeyRingID
		wantKind(t, "AddVersion(key of another ring)", s.AddVersion(ctx, wrongRing, wrapFor(k.ID)), errs.NotFound)
		wantVersions(t, s, k.ID, []*keyservice.Version{first})

		mustOK(t, "AddVersion()", s.AddVersion(ctx, v, wrapFor(k.ID)))
		if v.Number != 2 {
			t.Errorf("AddVersion() after a failed one numbered the version %d, want 2", v.Number)
		}
	})

	t.Run("ConcurrentAdd", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		k, first := mustCreateKey(t, s)
		const n = 20
		start := make(chan struct{})
		added := make([]*keyservice.Version, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				v := newVersion(at(i))
				v.KeyID, v.KeyRingID = k.ID, k.KeyRingID
				<-start
				if err := s.AddVersion(t.Context(), v, wrapFor(k.ID)); err != nil {
					t.Errorf("AddVersion() error = %v", err)
					return
				}
				added[i] = v
			})
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			return
		}
		numbers := make([]int64, n)
		for i, v := range added {
			numbers[i] = v.Number
		}
		slices.Sort(numbers)
		want := make([]int64, n)
		for i := range want {
			want[i] = int64(i + 2)
		}
		if diff := cmp.Diff(want, numbers); diff != "" {
			t.Errorf("concurrent AddVersion() numbers mismatch (-want +got):\n%s", diff)
		}
		// Each stored version holds the material bound to its own number.
		slices.SortFunc(added, func(a, b *keyservice.Version) int { return int(a.Number - b.Number) })
		wantVersions(t, s, k.ID, append([]*keyservice.Version{first}, added...))
		for _, v := range added {
			if got := v.WrappedMaterial; string(got) != string(materialFor(k.ID, v.Number)) {
				t.Errorf("version %d holds %q, want the material bound to it", v.Number, got)
			}
		}
	})

	t.Run("UpdateAndErase", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		ctx := t.Context()
		k, first := mustCreateKey(t, s)

		upd := *first
		upd.State, upd.DestroyDate = keyservice.VersionDestroyed, at(30)
		// Only State, DestroyDate and WrappedMaterial may change.
		upd.KeyRingID, upd.CreatedAt, upd.PublicKey = uuid.NewString(), at(99), "changed"
		mustOK(t, "UpdateVersion(schedule destruction)", s.UpdateVersion(ctx, &upd))
		want := *first
		want.State, want.DestroyDate = keyservice.VersionDestroyed, at(30)
		wantVersions(t, s, k.ID, []*keyservice.Version{&want})

		upd.WrappedMaterial = nil
		mustOK(t, "UpdateVersion(erase)", s.UpdateVersion(ctx, &upd))
		got, err := s.Version(ctx, k.ID, 1)
		mustOK(t, "Version()", err)
		if got.WrappedMaterial != nil {
			t.Errorf("Version().WrappedMaterial after erasure = %q, want nil", got.WrappedMaterial)
		}
		want.WrappedMaterial = nil
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("Version() after erasure mismatch (-want +got):\n%s", diff)
		}

		// A version can get material back (as an import would), and lose
		// its destroy date.
		upd.State, upd.DestroyDate, upd.WrappedMaterial = keyservice.VersionDisabled, time.Time{}, []byte("re-imported")
		mustOK(t, "UpdateVersion(restore)", s.UpdateVersion(ctx, &upd))
		want.State, want.DestroyDate, want.WrappedMaterial = keyservice.VersionDisabled, time.Time{}, []byte("re-imported")
		wantVersions(t, s, k.ID, []*keyservice.Version{&want})

		// Empty material is material, not an erasure.
		upd.WrappedMaterial = []byte{}
		mustOK(t, "UpdateVersion(empty material)", s.UpdateVersion(ctx, &upd))
		got, err = s.Version(ctx, k.ID, 1)
		mustOK(t, "Version()", err)
		if got.WrappedMaterial == nil || len(got.WrappedMaterial) != 0 {
			t.Errorf("Version().WrappedMaterial after storing empty material = %#v, want []byte{}", got.WrappedMaterial)
		}
		want.WrappedMaterial = []byte{}

		missing := *first
		missing.Number = 2
		wantKind(t, "UpdateVersion(unknown number)", s.UpdateVersion(ctx, &missing), errs.NotFound)
		wantVersions(t, s, k.ID, []*keyservice.Version{&want})
	})

	t.Run("DueForErasure", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		ctx := t.Context()
		a, b := newKey(mustCreateKeyRing(t, s), at(0)), newKey(mustCreateKeyRing(t, s), at(0))
		mustOK(t, "CreateKey()", s.CreateKey(ctx, a, nil))
		mustOK(t, "CreateKey()", s.CreateKey(ctx, b, nil))
		now := at(100)
		add := func(k *keyservice.Key, state string, destroy time.Time, material []byte) *keyservice.Version {
			t.Helper()
			v := newVersion(at(0))
			v.KeyID, v.State, v.DestroyDate, v.WrappedMaterial = k.ID, state, destroy, material
			mustOK(t, "AddVersion()", s.AddVersion(ctx, v, nil))
			return v
		}
		held := []byte("wrapped material")
		atNow := add(a, keyservice.VersionDestroyed, now, held)                         // a/1
		add(a, keyservice.VersionDestroyed, now.Add(time.Microsecond), held)            // a/2: not yet
		add(a, keyservice.VersionDestroyed, now.Add(-time.Hour), nil)                   // a/3: already erased
		add(a, keyservice.VersionDisabled, now.Add(-time.Hour), held)                   // a/4: not destroyed
		add(a, keyservice.VersionDestroyed, time.Time{}, held)                          // a/5: no date
		overdueB := add(b, keyservice.VersionDestroyed, now.Add(-time.Hour), held)      // b/1, any project
		sameTimeA := add(a, keyservice.VersionDestroyed, now.Add(-time.Minute), held)   // a/6
		sameTimeB := add(b, keyservice.VersionDestroyed, now.Add(-time.Minute), held)   // b/2
		laterNumber := add(a, keyservice.VersionDestroyed, now.Add(-time.Minute), held) // a/7
		add(b, keyservice.VersionActive, time.Time{}, held)                             // b/3

		ties := []*keyservice.Version{sameTimeA, laterNumber, sameTimeB} // by key ID, then number
		if b.ID < a.ID {
			ties = []*keyservice.Version{sameTimeB, sameTimeA, laterNumber}
		}
		want := append(append([]*keyservice.Version{overdueB}, ties...), atNow)
		for _, t0 := range []time.Time{now, now.In(time.FixedZone("PDT", -7*60*60))} {
			got, err := s.VersionsDueForErasure(ctx, t0)
			mustOK(t, "VersionsDueForErasure()", err)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("VersionsDueForErasure(%v) mismatch (-want +got):\n%s", t0, diff)
			}
		}

		// Erasing one takes it off the list.
		erased := *atNow
		erased.WrappedMaterial = nil
		mustOK(t, "UpdateVersion(erase)", s.UpdateVersion(ctx, &erased))
		got, err := s.VersionsDueForErasure(ctx, now)
		mustOK(t, "VersionsDueForErasure()", err)
		if diff := cmp.Diff(want[:len(want)-1], got); diff != "" {
			t.Errorf("VersionsDueForErasure() after erasure mismatch (-want +got):\n%s", diff)
		}
		got, err = s.VersionsDueForErasure(ctx, now.Add(-2*time.Hour))
		mustOK(t, "VersionsDueForErasure(early)", err)
		if got == nil || len(got) != 0 {
			t.Errorf("VersionsDueForErasure(early) = %v, want an empty non-nil slice", got)
		}
	})

	t.Run("ReturnedBytesAreCopies", func(t *testing.T) {
		t.Parallel()
		s := open(t).KMS
		ctx := t.Context()
		kr := mustCreateKeyRing(t, s)
		k, first := newKey(kr, at(0)), newVersion(at(0))
		first.State, first.DestroyDate = keyservice.VersionDestroyed, at(1)
		wantFirst := *first
		wantFirst.KeyID, wantFirst.KeyRingID, wantFirst.Number = k.ID, k.KeyRingID, 1
		wantFirst.WrappedMaterial = clone(first.WrappedMaterial)
		mustOK(t, "CreateKey()", s.CreateKey(ctx, k, first))
		scribble(first.WrappedMaterial)

		wrapped := []byte("wrapped by the seal")
		v := newVersion(at(1))
		v.KeyID = k.ID
		mustOK(t, "AddVersion()", s.AddVersion(ctx, v, func(int64) ([]byte, error) { return wrapped, nil }))
		wantV := *v
		wantV.WrappedMaterial = clone(wrapped)
		scribble(wrapped)

		kept, err := s.Version(ctx, k.ID, 1)
		mustOK(t, "Version()", err)
		list, err := s.ListVersions(ctx, k.ID)
		mustOK(t, "ListVersions()", err)
		scribble(list[0].WrappedMaterial, list[1].WrappedMaterial)
		due, err := s.VersionsDueForErasure(ctx, at(1))
		mustOK(t, "VersionsDueForErasure()", err)
		scribble(due[0].WrappedMaterial)
		got, err := s.Version(ctx, k.ID, 2)
		mustOK(t, "Version()", err)
		scribble(got.WrappedMaterial)

		wantVersions(t, s, k.ID, []*keyservice.Version{&wantFirst, &wantV})
		if diff := cmp.Diff(&wantFirst, kept); diff != "" {
			t.Errorf("Version() result changed by later calls (-want +got):\n%s", diff)
		}
	})
}
