package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kv"
)

func testKV(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("MountConfig", func(t *testing.T) { testKVMountConfig(t, open) })
	t.Run("PutAndRead", func(t *testing.T) { testKVPutAndRead(t, open) })
	t.Run("PutAborts", func(t *testing.T) { testKVPutAborts(t, open) })
	t.Run("ReturnedBytesAreCopies", func(t *testing.T) { testKVCopies(t, open) })
	t.Run("Retention", func(t *testing.T) { testKVRetention(t, open) })
	t.Run("DeleteVersionAfter", func(t *testing.T) { testKVDeleteVersionAfter(t, open) })
	t.Run("DeleteUndeleteDestroy", func(t *testing.T) { testKVDeleteUndeleteDestroy(t, open) })
	t.Run("WriteMetadata", func(t *testing.T) { testKVWriteMetadata(t, open) })
	t.Run("LoweringMaxVersionsPrunes", func(t *testing.T) { testKVLowerMaxVersions(t, open) })
	t.Run("DeleteMetadata", func(t *testing.T) { testKVDeleteMetadata(t, open) })
	t.Run("NotFound", func(t *testing.T) { testKVNotFound(t, open) })
	t.Run("List", func(t *testing.T) { testKVList(t, open) })
	t.Run("CountPathsAndDeleteMount", func(t *testing.T) { testKVCountAndDeleteMount(t, open) })
	t.Run("ConcurrentPutsWithCAS", func(t *testing.T) { testKVConcurrentPuts(t, open) })
}

// sealedFor returns a stand-in for the ciphertext of version of path.
func sealedFor(mount, path string, version int) []byte {
	return fmt.Appendf(nil, "sealed %s|%s|v%d", mount, path, version)
}

// sealFor returns a seal function that makes sealedFor's stand-ins.
func sealFor(mount, path string) func(int) ([]byte, error) {
	return func(v int) ([]byte, error) { return sealedFor(mount, path, v), nil }
}

func acceptAll(*kv.Metadata, *kv.MountConfig) error { return nil }

// mustPut writes the next version of path at now and returns the metadata.
func mustPut(t *testing.T, s kv.Store, mount, path string, now time.Time) *kv.Metadata {
	t.Helper()
	md, err := s.Put(t.Context(), mount, path, now, acceptAll, sealFor(mount, path))
	mustOK(t, fmt.Sprintf("Put(%s, %s)", mount, path), err)
	return md
}

// wantMetadata fails t unless Metadata(mount, path) is want.
func wantMetadata(t *testing.T, s kv.Store, want *kv.Metadata) {
	t.Helper()
	got, err := s.Metadata(t.Context(), want.Mount, want.Path)
	mustOK(t, "Metadata()", err)
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Metadata(%s) mismatch (-want +got):\n%s", want.Path, diff)
	}
	wantUTC(t, "Metadata()", got.CreatedTime, got.UpdatedTime)
	for _, v := range got.Versions {
		wantUTC(t, "Metadata() versions", v.CreatedTime, v.DeletionTime)
	}
}

// wantVersionNumbers fails t unless the path retains exactly versions.
func wantVersionNumbers(t *testing.T, s kv.Store, mount, path string, oldest int, versions ...int) {
	t.Helper()
	md, err := s.Metadata(t.Context(), mount, path)
	mustOK(t, "Metadata()", err)
	var got []int
	for _, v := range md.Versions {
		got = append(got, v.Version)
	}
	if diff := cmp.Diff(versions, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("versions of %s mismatch (-want +got):\n%s", path, diff)
	}
	if md.OldestVersion != oldest {
		t.Errorf("OldestVersion of %s = %d, want %d", path, md.OldestVersion, oldest)
	}
}

// withoutVersions returns a copy of md without its Versions, as Read
// returns the metadata.
func withoutVersions(md *kv.Metadata) *kv.Metadata {
	c := *md
	c.Versions = nil
	return &c
}

// wantRead fails t unless Read(version) returns the ciphertext, version
// metadata and metadata wanted.
func wantRead(t *testing.T, s kv.Store, md *kv.Metadata, version int, wantCT []byte, wantVM kv.VersionMeta) {
	t.Helper()
	ct, vm, gotMD, err := s.Read(t.Context(), md.Mount, md.Path, version)
	mustOK(t, fmt.Sprintf("Read(%s, %d)", md.Path, version), err)
	if diff := cmp.Diff(wantCT, ct); diff != "" {
		t.Errorf("Read(%s, %d) ciphertext mismatch (-want +got):\n%s", md.Path, version, diff)
	}
	if diff := cmp.Diff(&wantVM, vm); diff != "" {
		t.Errorf("Read(%s, %d) version mismatch (-want +got):\n%s", md.Path, version, diff)
	}
	if diff := cmp.Diff(withoutVersions(md), gotMD, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Read(%s, %d) metadata mismatch (-want +got):\n%s", md.Path, version, diff)
	}
	wantUTC(t, "Read()", vm.CreatedTime, vm.DeletionTime, gotMD.CreatedTime, gotMD.UpdatedTime)
}

func testKVMountConfig(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).KV
	ctx := t.Context()
	got, err := s.MountConfig(ctx, "m1")
	mustOK(t, "MountConfig(unset)", err)
	if diff := cmp.Diff(&kv.MountConfig{}, got); diff != "" {
		t.Errorf("MountConfig(unset) mismatch (-want +got):\n%s", diff)
	}
	want := &kv.MountConfig{MaxVersions: 4, CASRequired: true, DeleteVersionAfter: 90*time.Minute + time.Nanosecond}
	mustOK(t, "SetMountConfig()", s.SetMountConfig(ctx, "m1", want))
	for _, c := range []*kv.MountConfig{want, {}} {
		mustOK(t, "SetMountConfig()", s.SetMountConfig(ctx, "m1", c))
		got, err = s.MountConfig(ctx, "m1")
		mustOK(t, "MountConfig()", err)
		if diff := cmp.Diff(c, got); diff != "" {
			t.Errorf("MountConfig() mismatch (-want +got):\n%s", diff)
		}
	}
	mustOK(t, "SetMountConfig()", s.SetMountConfig(ctx, "m1", want))
	got, err = s.MountConfig(ctx, "m2")
	mustOK(t, "MountConfig(other mount)", err)
	if diff := cmp.Diff(&kv.MountConfig{}, got); diff != "" {
		t.Errorf("MountConfig(other mount) mismatch (-want +got):\n%s", diff)
	}
	wantKind(t, "SetMountConfig(negative max_versions)",
		s.SetMountConfig(ctx, "m1", &kv.MountConfig{MaxVersions: -1}), errs.InvalidArgument)
	wantKind(t, "SetMountConfig(negative delete_version_after)",
		s.SetMountConfig(ctx, "m1", &kv.MountConfig{DeleteVersionAfter: -time.Second}), errs.InvalidArgument)
}

func testKVPutAndRead(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).KV
	ctx := t.Context()
	const mount, path = "m", "app/db/password"
	var (
		seenMD     []*kv.Metadata
		seenMC     []*kv.MountConfig
		sealedWith []int
	)
	put := func(now time.Time) *kv.Metadata {
		t.Helper()
		md, err := s.Put(ctx, mount, path, now, func(md *kv.Metadata, mc *kv.MountConfig) error {
			seenMD, seenMC = append(seenMD, md), append(seenMC, mc)
			return nil
		}, func(v int) ([]byte, error) {
			sealedWith = append(sealedWith, v)
			return sealedFor(mount, path, v), nil
		})
		mustOK(t, "Put()", err)
		return md
	}

	// A time in another zone is stored as the same instant, returned in UTC.
	md1 := put(at(0).In(time.FixedZone("CEST", 2*60*60)))
	want1 := &kv.Metadata{Mount: mount, Path: path, CurrentVersion: 1, CreatedTime: at(0), UpdatedTime: at(0),
		Versions: []kv.VersionMeta{{Version: 1, CreatedTime: at(0)}}}
	if diff := cmp.Diff(want1, md1, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Put() metadata mismatch (-want +got):\n%s", diff)
	}
	if seenMD[0] != nil {
		t.Errorf("Put() of a new path gave check metadata %+v, want nil", seenMD[0])
	}
	if diff := cmp.Diff(&kv.MountConfig{}, seenMC[0]); diff != "" {
		t.Errorf("Put() gave check a mount config other than the zero one (-want +got):\n%s", diff)
	}
	wantMetadata(t, s, want1)

	md2 := put(at(1))
	want2 := &kv.Metadata{Mount: mount, Path: path, CurrentVersion: 2, CreatedTime: at(0), UpdatedTime: at(1),
		Versions: []kv.VersionMeta{{Version: 1, CreatedTime: at(0)}, {Version: 2, CreatedTime: at(1)}}}
	if diff := cmp.Diff(want2, md2, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Put() metadata mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want1, seenMD[1], cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Put() gave check other metadata than the path's (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{1, 2}, sealedWith); diff != "" {
		t.Errorf("Put() called seal with other versions (-want +got):\n%s", diff)
	}
	wantMetadata(t, s, want2)
	wantRead(t, s, want2, 0, sealedFor(mount, path, 2), kv.VersionMeta{Version: 2, CreatedTime: at(1)})
	wantRead(t, s, want2, 2, sealedFor(mount, path, 2), kv.VersionMeta{Version: 2, CreatedTime: at(1)})
	wantRead(t, s, want2, 1, sealedFor(mount, path, 1), kv.VersionMeta{Version: 1, CreatedTime: at(0)})

	// Numbers are per path and per mount.
	if md := mustPut(t, s, mount, "app/db", at(2)); md.CurrentVersion != 1 {
		t.Errorf("Put(another path) numbered the version %d, want 1", md.CurrentVersion)
	}
	if md := mustPut(t, s, "other", path, at(2)); md.CurrentVersion != 1 {
		t.Errorf("Put(same path, another mount) numbered the version %d, want 1", md.CurrentVersion)
	}
	wantMetadata(t, s, want2)
}

func testKVPutAborts(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).KV
	ctx := t.Context()
	errCheck := errs.E(errs.FailedPrecondition, "check says no")
	errSeal := errors.New("seal says no")
	reject := func(*kv.Metadata, *kv.MountConfig) error { return errCheck }
	failSeal := func(int) ([]byte, error) { return nil, errSeal }

	_, err := s.Put(ctx, "m", "new", at(0), reject, sealFor("m", "new"))
	if !errors.Is(err, errCheck) || errs.KindOf(err) != errs.FailedPrecondition {
		t.Errorf("Put(check fails) error = %v, want the check's error", err)
	}
	_, err = s.Put(ctx, "m", "new", at(0), acceptAll, failSeal)
	if !errors.Is(err, errSeal) {
		t.Errorf("Put(seal fails) error = %v, want the seal's error wrapped", err)
	}
	_, err = s.Metadata(ctx, "m", "new")
	wantKind(t, "Metadata() after aborted Puts of a new path", err, errs.NotFound)
	n, err := s.CountPaths(ctx, "m")
	mustOK(t, "CountPaths()", err)
	if n != 0 {
		t.Errorf("CountPaths() after aborted Puts = %d, want 0", n)
	}

	want := mustPut(t, s, "m", "old", at(0))
	if _, err := s.Put(ctx, "m", "old", at(1), reject, sealFor("m", "old")); !errors.Is(err, errCheck) {
		t.Errorf("Put(check fails) error = %v, want the check's error", err)
	}
	if _, err := s.Put(ctx, "m", "old", at(1), acceptAll, failSeal); !errors.Is(err, errSeal) {
		t.Errorf("Put(seal fails) error = %v, want the seal's error wrapped", err)
	}
	wantMetadata(t, s, want)
}

func testKVCopies(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).KV
	ctx := t.Context()
	var given []byte
	_, err := s.Put(ctx, "m", "p", at(0), acceptAll, func(int) ([]byte, error) {
		given = allBytes()
		return given, nil
	})
	mustOK(t, "Put()", err)
	scribble(given)
	ct, _, _, err := s.Read(ctx, "m", "p", 1)
	mustOK(t, "Read()", err)
	if diff := cmp.Diff(allBytes(), ct); diff != "" {
		t.Errorf("Read() after mutating the sealed slice mismatch (-want +got):\n%s", diff)
	}
	scribble(ct)
	ct, _, _, err = s.Read(ctx, "m", "p", 0)
	mustOK(t, "Read()", err)
	if diff := cmp.Diff(allBytes(), ct); diff != "" {
		t.Errorf("Read() after mutating a returned slice mismatch (-want +got):\n%s", diff)
	}
}

func testKVRetention(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).KV
	ctx := t.Context()
	// Neither path nor mount sets max_versions: 10 are kept.
	for i := range 12 {
		mustPut(t, s, "m", "default", at(i))
	}
	wantVersionNumbers(t, s, "m", "default", 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
	_, _, _, err := s.Read(ctx, "m", "default", 2)
	wantKind(t, "Read(pruned version)", err, errs.NotFound)
	md := mustPut(t, s, "m", "default", at(12))
	if md.OldestVersion != 4 || len(md.Versions) != 10 || md.Versions[0].Version != 4 {
		t.Errorf("Put() returned oldest %d and %d versions from %d, want 4, 10, 4", md.OldestVersion, len(md.Versions), md.Versions[0].Version)
	}

	// The mount's setting applies to paths without their own.
	mustOK(t, "SetMountConfig()", s.SetMountConfig(ctx, "m3", &kv.MountConfig{MaxVersions: 3}))
	for i := range 5 {
		mustPut(t, s, "m3", "mount", at(i))
	}
	wantVersionNumbers(t, s, "m3", "mount", 3, 3, 4, 5)

	// The path's setting wins over the mount's.
	mustOK(t, "WriteMetadata()", s.WriteMetadata(ctx, &kv.Metadata{Mount: "m3", Path: "path", MaxVersions: 2}, at(0)))
	for i := range 4 {
		mustPut(t, s, "m3", "path", at(i))
	}
	wantVersionNumbers(t, s, "m3", "path", 3, 3, 4)
	mustOK(t, "WriteMetadata()", s.WriteMetadata(ctx, &kv.Metadata{Mount: "m3", Path: "big", MaxVersions: 5}, at(0)))
	for i := range 5 {
		mustPut(t, s, "m3", "big", at(i))
	}
	wantVersionNumbers(t, s, "m3", "big", 0, 1, 2, 3, 4, 5)
}

func testKVDeleteVersionAfter(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).KV
	ctx := t.Context()
	for _, tc := range []struct {
		name        string
		mount, path time.Duration
		want        time.Time
	}{
		{"neither", 0, 0, time.Time{}},
		{"mount", time.Hour, 0, at(60)},
		{"path", 0, 30 * time.Minute, at(30)},
		{"path below mount", time.Hour, 30 * time.Minute, at(30)},
		{"mount caps path", time.Hour, 2 * time.Hour, at(60)},
		{"kept to the microsecond", time.Hour + time.Nanosecond, 0, at(60)},
	} {
		mount := unique("m")
		mustOK(t, "SetMountConfig()", s.SetMountConfig(ctx, mount, &kv.MountConfig{DeleteVersionAfter: tc.mount}))
		mustOK(t, "WriteMetadata()", s.WriteMetadata(ctx, &kv.Metadata{Mount: mount, Path: "p", DeleteVersionAfter: tc.path}, at(0)))
		md := mustPut(t, s, mount, "p", at(0))
		want := kv.VersionMeta{Version: 1, CreatedTime: at(0), DeletionTime: tc.want}
		if diff := cmp.Diff([]kv.VersionMeta{want}, md.Versions); diff != "" {
			t.Errorf("%s: Put() versions mismatch (-want +got):\n%s", tc.name, diff)
		}
		wantRead(t, s, md, 1, sealedFor(mount, "p", 1), want)
	}
}

func testKVDeleteUndeleteDestroy(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).KV
	ctx := t.Context()
	const m, p = "m", "p"
	var md *kv.Metadata
	for i := range 4 {
		md = mustPut(t, s, m, p, at(i))
	}
	vm := func(v int, deleted time.Time, destroyed bool) kv.VersionMeta {
		return kv.VersionMeta{Version: v, CreatedTime: at(v - 1), DeletionTime: deleted, Destroyed: destroyed}
	}
	want := func(versions ...kv.VersionMeta) {
		t.Helper()
		w := *md
		w.Versions = versions
		wantMetadata(t, s, &w)
	}

	mustOK(t, "SetDeletionTime()", s.SetDeletionTime(ctx, m, p, []int{1, 2, 99}, at(10)))
	want(vm(1, at(10), false), vm(2, at(10), false), vm(3, time.Time{}, false), vm(4, time.Time{}, false))
	// A soft-deleted version keeps its ciphertext, for Undelete.
	wantRead(t, s, md, 1, sealedFor(m, p, 1), vm(1, at(10), false))

	// An earlier deletion time stays; a later one is brought forward.
	mustOK(t, "SetDeletionTime()", s.SetDeletionTime(ctx, m, p, []int{1}, at(20)))
	mustOK(t, "SetDeletionTime()", s.SetDeletionTime(ctx, m, p, []int{3}, at(100)))
	mustOK(t, "SetDeletionTime()", s.SetDeletionTime(ctx, m, p, []int{3}, at(30)))
	want(vm(1, at(10), false), vm(2, at(10), false), vm(3, at(30), false), vm(4, time.Time{}, false))

	mustOK(t, "Destroy()", s.Destroy(ctx, m, p, []int{2, 4, 99}))
	want(vm(1, at(10), false), vm(2, at(10), true), vm(3, at(30), false), vm(4, time.Time{}, true))
	wantRead(t, s, md, 2, nil, vm(2, at(10), true))
	wantRead(t, s, md, 0, nil, vm(4, time.Time{}, true))

	// Undelete and delete skip destroyed versions.
	mustOK(t, "SetDeletionTime(zero)", s.SetDeletionTime(ctx, m, p, []int{1, 2, 3, 99}, time.Time{}))
	mustOK(t, "SetDeletionTime()", s.SetDeletionTime(ctx, m, p, []int{4}, at(40)))
	want(vm(1, time.Time{}, false), vm(2, at(10), true), vm(3, time.Time{}, false), vm(4, time.Time{}, true))
	wantRead(t, s, md, 1, sealedFor(m, p, 1), vm(1, time.Time{}, false))

	mustOK(t, "SetDeletionTime(no versions)", s.SetDeletionTime(ctx, m, p, nil, at(50)))
	mustOK(t, "Destroy(no versions)", s.Destroy(ctx, m, p, []int{}))
	want(vm(1, time.Time{}, false), vm(2, at(10), true), vm(3, time.Time{}, false), vm(4, time.Time{}, true))

	// Versions survive later writes with their state.
	md = mustPut(t, s, m, p, at(4))
	want(vm(1, time.Time{}, false), vm(2, at(10), true), vm(3, time.Time{}, false), vm(4, time.Time{}, true), vm(5, time.Time{}, false))
}
