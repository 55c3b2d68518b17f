package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kv"
)

func testKVWriteMetadata(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).KV
	ctx := t.Context()
	set := &kv.Metadata{Mount: "m", Path: "a/b", MaxVersions: 5, CASRequired: true, DeleteVersionAfter: time.Hour,
		CustomMetadata: map[string]string{"owner": "ops", "ünïcödé": "välüé ✓", "empty": ""}}
	// Fields that are not settable are ignored.
	given := *set
	given.CurrentVersion, given.OldestVersion, given.CreatedTime = 7, 3, at(-50)
	given.Versions = []kv.VersionMeta{{Version: 7}}
	mustOK(t, "WriteMetadata(new path)", s.WriteMetadata(ctx, &given, at(0)))
	want := *set
	want.CreatedTime, want.UpdatedTime = at(0), at(0)
	wantMetadata(t, s, &want)
	_, _, _, err := s.Read(ctx, "m", "a/b", 0)
	wantKind(t, "Read(metadata without versions)", err, errs.NotFound)

	var seen *kv.Metadata
	md, err := s.Put(ctx, "m", "a/b", at(1), func(md *kv.Metadata, _ *kv.MountConfig) error {
		seen = md
		return nil
	}, sealFor("m", "a/b"))
	mustOK(t, "Put()", err)
	if diff := cmp.Diff(&want, seen, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Put() gave check other metadata (-want +got):\n%s", diff)
	}
	want.CurrentVersion, want.UpdatedTime = 1, at(1)
	want.Versions = []kv.VersionMeta{{Version: 1, CreatedTime: at(1), DeletionTime: at(61)}}
	if diff := cmp.Diff(&want, md); diff != "" {
		t.Errorf("Put() metadata mismatch (-want +got):\n%s", diff)
	}
	wantRead(t, s, md, 1, sealedFor("m", "a/b", 1), want.Versions[0])

	// An update replaces the settable fields and keeps the rest.
	mustOK(t, "WriteMetadata(update)", s.WriteMetadata(ctx, &kv.Metadata{Mount: "m", Path: "a/b"}, at(2)))
	want.MaxVersions, want.CASRequired, want.DeleteVersionAfter, want.CustomMetadata = 0, false, 0, nil
	want.UpdatedTime = at(2)
	wantMetadata(t, s, &want)

	wantKind(t, "WriteMetadata(negative max_versions)",
		s.WriteMetadata(ctx, &kv.Metadata{Mount: "m", Path: "a/b", MaxVersions: -1}, at(3)), errs.InvalidArgument)
	wantKind(t, "WriteMetadata(negative delete_version_after)",
		s.WriteMetadata(ctx, &kv.Metadata{Mount: "m", Path: "a/b", DeleteVersionAfter: -1}, at(3)), errs.InvalidArgument)
	wantMetadata(t, s, &want)
}

func testKVLowerMaxVersions(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).KV
	ctx := t.Context()
	for i := range 6 {
		mustPut(t, s, "m", "p", at(i))
	}
	mustOK(t, "WriteMetadata(max 2)", s.WriteMetadata(ctx, &kv.Metadata{Mount: "m", Path: "p", MaxVersions: 2}, at(10)))
	wantVersionNumbers(t, s, "m", "p", 5, 5, 6)
	_, _, _, err := s.Read(ctx, "m", "p", 4)
	wantKind(t, "Read(pruned version)", err, errs.NotFound)
	// Raising it again brings nothing back; later writes are kept.
	mustOK(t, "WriteMetadata(max 10)", s.WriteMetadata(ctx, &kv.Metadata{Mount: "m", Path: "p", MaxVersions: 10}, at(11)))
	mustPut(t, s, "m", "p", at(12))
	wantVersionNumbers(t, s, "m", "p", 5, 5, 6, 7)
	// Back to the mount's setting.
	mustOK(t, "SetMountConfig()", s.SetMountConfig(ctx, "m", &kv.MountConfig{MaxVersions: 1}))
	mustOK(t, "WriteMetadata(max 0)", s.WriteMetadata(ctx, &kv.Metadata{Mount: "m", Path: "p"}, at(13)))
	wantVersionNumbers(t, s, "m", "p", 7, 7)
}

func testKVDeleteMetadata(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).KV
	ctx := t.Context()
	for i := range 3 {
		mustPut(t, s, "m", "p", at(i))
	}
	keep := mustPut(t, s, "m", "p2", at(0))
	mustOK(t, "DeleteMetadata()", s.DeleteMetadata(ctx, "m", "p"))
	_, err := s.Metadata(ctx, "m", "p")
	wantKind(t, "Metadata(deleted)", err, errs.NotFound)
	_, _, _, err = s.Read(ctx, "m", "p", 2)
	wantKind(t, "Read(deleted)", err, errs.NotFound)
	wantKind(t, "DeleteMetadata(again)", s.DeleteMetadata(ctx, "m", "p"), errs.NotFound)
	wantMetadata(t, s, keep)

	// The path starts over, with nothing left of before.
	md := mustPut(t, s, "m", "p", at(5))
	want := &kv.Metadata{Mount: "m", Path: "p", CurrentVersion: 1, CreatedTime: at(5), UpdatedTime: at(5),
		Versions: []kv.VersionMeta{{Version: 1, CreatedTime: at(5)}}}
	if diff := cmp.Diff(want, md, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Put() after DeleteMetadata() mismatch (-want +got):\n%s", diff)
	}
	wantMetadata(t, s, want)
}

func testKVNotFound(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).KV
	ctx := t.Context()
	mustPut(t, s, "m", "p", at(0))
	mustOK(t, "WriteMetadata()", s.WriteMetadata(ctx, &kv.Metadata{Mount: "m", Path: "empty"}, at(0)))
	for _, path := range []string{"q", "P", "p/", "p/x"} {
		_, err := s.Metadata(ctx, "m", path)
		wantKind(t, "Metadata(unknown path)", err, errs.NotFound)
		_, _, _, err = s.Read(ctx, "m", path, 0)
		wantKind(t, "Read(unknown path)", err, errs.NotFound)
		wantKind(t, "SetDeletionTime(unknown path)", s.SetDeletionTime(ctx, "m", path, []int{1}, at(1)), errs.NotFound)
		wantKind(t, "SetDeletionTime(unknown path, zero)", s.SetDeletionTime(ctx, "m", path, []int{1}, time.Time{}), errs.NotFound)
		wantKind(t, "Destroy(unknown path)", s.Destroy(ctx, "m", path, []int{1}), errs.NotFound)
		wantKind(t, "DeleteMetadata(unknown path)", s.DeleteMetadata(ctx, "m", path), errs.NotFound)
	}
	_, err := s.Metadata(ctx, "other", "p")
	wantKind(t, "Metadata(other mount)", err, errs.NotFound)
	for _, v := range []int{2, -1} {
		_, _, _, err = s.Read(ctx, "m", "p", v)
		wantKind(t, fmt.Sprintf("Read(version %d)", v), err, errs.NotFound)
	}
	_, _, _, err = s.Read(ctx, "m", "empty", 0)
	wantKind(t, "Read(path without versions)", err, errs.NotFound)
	_, _, _, err = s.Read(ctx, "m", "empty", 1)
	wantKind(t, "Read(path without versions, 1)", err, errs.NotFound)
}

func testKVList(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).KV
	ctx := t.Context()
	for _, p := range []string{"a", "a/b", "a/b/c", "a/d/e", "ab", "a_/z", "B", "b%c", "b_c", "bxc", "b%/x", "é/x", `z\/q`} {
		mustPut(t, s, "m", p, at(0))
	}
	mustPut(t, s, "other", "a/other", at(0))
	mustOK(t, "WriteMetadata()", s.WriteMetadata(ctx, &kv.Metadata{Mount: "m", Path: "a/meta-only"}, at(0)))
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"B", "a", "a/", "a_/", "ab", "b%/", "b%c", "b_c", "bxc", "z\\/", "é/"}},
		{"a/", []string{"b", "b/", "d/", "meta-only"}},
		{"a/b/", []string{"c"}},
		{"a/d/", []string{"e"}},
		{"a_/", []string{"z"}},
		{"b%/", []string{"x"}},
		{"b_/", []string{}}, // "_" is no wildcard
		{"a%/", []string{}}, // nor is "%"
		{"A/", []string{}},  // case counts
		{"é/", []string{"x"}},
		{`z\/`, []string{"q"}},
		{"nope/", []string{}},
		{"a/b/c/", []string{}},
	} {
		got, err := s.List(ctx, "m", tc.prefix)
		mustOK(t, "List()", err)
		if got == nil {
			t.Errorf("List(%q) = nil, want a non-nil slice", tc.prefix)
		}
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("List(%q) mismatch (-want +got):\n%s", tc.prefix, diff)
		}
	}
}

func testKVCountAndDeleteMount(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).KV
	ctx := t.Context()
	count := func(mount string, want int) {
		t.Helper()
		n, err := s.CountPaths(ctx, mount)
		mustOK(t, "CountPaths()", err)
		if n != want {
			t.Errorf("CountPaths(%s) = %d, want %d", mount, n, want)
		}
	}
	count("m", 0)
	for _, p := range []string{"a", "a/b", "c"} {
		mustPut(t, s, "m", p, at(0))
		mustPut(t, s, "m", p, at(1))
	}
	mustOK(t, "WriteMetadata()", s.WriteMetadata(ctx, &kv.Metadata{Mount: "m", Path: "meta-only"}, at(0)))
	mustOK(t, "SetMountConfig()", s.SetMountConfig(ctx, "m", &kv.MountConfig{MaxVersions: 3, CASRequired: true}))
	keep := mustPut(t, s, "keep", "a", at(0))
	mustOK(t, "SetMountConfig()", s.SetMountConfig(ctx, "keep", &kv.MountConfig{MaxVersions: 7}))
	count("m", 4)
	count("keep", 1)

	mustOK(t, "DeleteMount()", s.DeleteMount(ctx, "m"))
	count("m", 0)
	mc, err := s.MountConfig(ctx, "m")
	mustOK(t, "MountConfig()", err)
	if diff := cmp.Diff(&kv.MountConfig{}, mc); diff != "" {
		t.Errorf("MountConfig() of a deleted mount mismatch (-want +got):\n%s", diff)
	}
	_, _, _, err = s.Read(ctx, "m", "a", 1)
	wantKind(t, "Read() in a deleted mount", err, errs.NotFound)
	list, err := s.List(ctx, "m", "")
	mustOK(t, "List()", err)
	if len(list) != 0 {
		t.Errorf("List() of a deleted mount = %q, want none", list)
	}
	mustOK(t, "DeleteMount(again)", s.DeleteMount(ctx, "m"))

	count("keep", 1)
	wantMetadata(t, s, keep)
	mc, err = s.MountConfig(ctx, "keep")
	mustOK(t, "MountConfig()", err)
	if mc.MaxVersions != 7 {
		t.Errorf("MountConfig(kept mount) = %+v, want MaxVersions 7", mc)
	}
	// A deleted mount's paths start over.
	if md := mustPut(t, s, "m", "a", at(2)); md.CurrentVersion != 1 {
		t.Errorf("Put() after DeleteMount() numbered the version %d, want 1", md.CurrentVersion)
	}
}

// testKVConcurrentPuts races writers on one path, each with a CAS check:
// the check rejects unless the path is at the version the writer last saw,
// and a rejected writer reads again and retries. Every accepted write must
// get its own version, and none may be lost.
func testKVConcurrentPuts(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).KV
	ctx := t.Context()
	const writers, mount, path = 50, "m", "contended"
	mustOK(t, "SetMountConfig()", s.SetMountConfig(ctx, mount, &kv.MountConfig{MaxVersions: 2 * writers}))
	errCAS := errs.E(errs.FailedPrecondition, "check-and-set parameter did not match the current version")

	var (
		mu       sync.Mutex
		accepted = map[int][]byte{} // version -> what its writer sealed
		rejected int
		wg       sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			for attempt := 0; attempt < 10*writers; attempt++ {
				expected := 0
				md, err := s.Metadata(ctx, mount, path)
				switch {
				case err == nil:
					expected = md.CurrentVersion
				case errs.KindOf(err) != errs.NotFound:
					t.Errorf("writer %d: Metadata() error = %v", w, err)
					return
				}
				sealed := fmt.Appendf(nil, "writer %d attempt %d", w, attempt)
				md, err = s.Put(ctx, mount, path, at(w), func(md *kv.Metadata, _ *kv.MountConfig) error {
					cur := 0
					if md != nil {
						cur = md.CurrentVersion
					}
					if cur != expected {
						return errCAS
					}
					return nil
				}, func(int) ([]byte, error) { return sealed, nil })
				if errors.Is(err, errCAS) {
					mu.Lock()
					rejected++
					mu.Unlock()
					continue
				}
				if err != nil {
					t.Errorf("writer %d: Put() error = %v, want nil or the check's error", w, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if prev, dup := accepted[md.CurrentVersion]; dup {
					t.Errorf("writer %d got version %d, already given to %q", w, md.CurrentVersion, prev)
				}
				if md.CurrentVersion != expected+1 {
					t.Errorf("writer %d expected version %d and got %d", w, expected+1, md.CurrentVersion)
				}
				accepted[md.CurrentVersion] = sealed
				return
			}
			t.Errorf("writer %d was never accepted", w)
		})
	}
	wg.Wait()
	t.Logf("%d writes accepted, %d rejected by the check", len(accepted), rejected)

	md, err := s.Metadata(ctx, mount, path)
	mustOK(t, "Metadata()", err)
	if md.CurrentVersion != len(accepted) || len(accepted) != writers {
		t.Errorf("CurrentVersion = %d after %d accepted writes of %d writers", md.CurrentVersion, len(accepted), writers)
	}
	var versions []int
	for _, v := range md.Versions {
		versions = append(versions, v.Version)
	}
	if !slices.Equal(versions, seq(1, writers)) {
		t.Errorf("versions = %v, want 1..%d", versions, writers)
	}
	for v, want := range accepted {
		ct, _, _, err := s.Read(ctx, mount, path, v)
		mustOK(t, "Read()", err)
		if string(ct) != string(want) {
			t.Errorf("Read(%d) = %q, want %q (its writer's)", v, ct, want)
		}
	}
}

// seq returns from, from+1, ..., to.
func seq(from, to int) []int {
	var s []int
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}
