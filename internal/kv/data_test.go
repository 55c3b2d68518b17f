package kv_test

import (
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kv"
)

func TestWriteAndReadData(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	v1 := map[string]any{"user": "alice", "big": json.Number("12345678901234567890"), "pi": 3.25,
		"nested": map[string]any{"ok": true, "list": []any{"x", nil, 2}}, "none": nil}
	sec, err := f.svc.WriteData(ctx, mount, "app/db", v1, nil)
	if err != nil {
		t.Fatalf("WriteData() error = %v", err)
	}
	want := &kv.Secret{Meta: kv.VersionMeta{Version: 1, CreatedTime: start}}
	if diff := cmp.Diff(want, sec); diff != "" {
		t.Errorf("WriteData() mismatch (-want +got):\n%s", diff)
	}
	f.clock.Advance(time.Minute)
	v2 := map[string]any{"user": "bob"}
	if got := f.write(t, "app/db", v2); got.Version != 2 || !got.CreatedTime.Equal(start.Add(time.Minute)) {
		t.Errorf("WriteData() = %+v, want version 2 created a minute later", got)
	}
	if got := f.write(t, "app/db", map[string]any{}); got.Version != 3 {
		t.Errorf("WriteData(empty data) = version %d, want 3", got.Version)
	}

	for _, tc := range []struct {
		version int
		want    *kv.Secret
	}{
		{0, &kv.Secret{Data: map[string]any{}, Meta: kv.VersionMeta{Version: 3, CreatedTime: start.Add(time.Minute)}}},
		{1, &kv.Secret{Data: decoded(t, v1), Meta: kv.VersionMeta{Version: 1, CreatedTime: start}}},
		{2, &kv.Secret{Data: map[string]any{"user": "bob"}, Meta: kv.VersionMeta{Version: 2, CreatedTime: start.Add(time.Minute)}}},
	} {
		got := f.read(t, "app/db", tc.version)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ReadData(%d) mismatch (-want +got):\n%s", tc.version, diff)
		}
	}
	// Numbers stay exact: no float64 on the way.
	if got := f.read(t, "app/db", 1).Data["big"]; got != json.Number("12345678901234567890") {
		t.Errorf("ReadData() big number = %#v, want json.Number(\"12345678901234567890\")", got)
	}

	for _, tc := range []struct {
		name    string
		path    string
		version int
		kind    errs.Kind
	}{
		{"version not yet written", "app/db", 4, errs.NotFound},
		{"unknown path", "app/nope", 0, errs.NotFound},
		{"unknown path, version", "app/nope", 1, errs.NotFound},
		{"folder", "app", 0, errs.NotFound},
		{"negative version", "app/db", -1, errs.InvalidArgument},
		{"bad path", "app/../db", 0, errs.InvalidArgument},
	} {
		_, err := f.svc.ReadData(ctx, mount, tc.path, tc.version)
		wantErr(t, "ReadData("+tc.name+")", err, tc.kind, "")
	}
}

func TestWriteDataErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tc := range []struct {
		name        string
		mount, path string
		data        map[string]any
		msg         string
	}{
		{"nil data", mount, "p", nil, "no data provided"},
		{"NaN", mount, "p", map[string]any{"x": math.NaN()}, "data cannot be encoded as JSON"},
		{"func", mount, "p", map[string]any{"x": func() {}}, "data cannot be encoded as JSON"},
		{"empty path", mount, "", map[string]any{}, ""},
		{"folder path", mount, "a/", map[string]any{}, ""},
		{"dot-dot", mount, "a/../b", map[string]any{}, ""},
		{"empty mount", "", "p", map[string]any{}, ""},
		{"mount with a slash", "a/b", "p", map[string]any{}, ""},
		{"mount with a control character", "a\tb", "p", map[string]any{}, ""},
		{"long mount", strings.Repeat("m", 129), "p", map[string]any{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.WriteData(t.Context(), tc.mount, tc.path, tc.data, nil)
			wantErr(t, "WriteData()", err, errs.InvalidArgument, tc.msg)
			if n, _ := f.svc.CountPaths(t.Context(), mount); n != 0 {
				t.Errorf("CountPaths() after a failed write = %d, want 0", n)
			}
		})
	}
}

func TestCheckAndSet(t *testing.T) {
	t.Parallel()
	const (
		mismatch = "check-and-set parameter did not match the current version"
		required = "check-and-set parameter required for this call"
	)
	for _, tc := range []struct {
		name        string
		mountCAS    bool
		pathCAS     bool // set by WriteMetadata, which creates the path
		versions    int  // written before
		cas         *int
		wantKind    errs.Kind
		wantMsg     string
		wantVersion int // 0: the write fails
	}{
		{name: "new path, no cas", wantVersion: 1},
		{name: "new path, cas 0", cas: ptr(0), wantVersion: 1},
		{name: "new path, cas 1", cas: ptr(1), wantKind: errs.FailedPrecondition, wantMsg: mismatch},
		{name: "existing path, cas 0", versions: 1, cas: ptr(0), wantKind: errs.FailedPrecondition, wantMsg: mismatch},
		{name: "existing path, right cas", versions: 2, cas: ptr(2), wantVersion: 3},
		{name: "existing path, stale cas", versions: 2, cas: ptr(1), wantKind: errs.FailedPrecondition, wantMsg: mismatch},
		{name: "existing path, future cas", versions: 2, cas: ptr(3), wantKind: errs.FailedPrecondition, wantMsg: mismatch},
		{name: "mount requires cas, none", mountCAS: true, wantKind: errs.InvalidArgument, wantMsg: required},
		{name: "mount requires cas, existing, none", mountCAS: true, versions: 1, wantKind: errs.InvalidArgument, wantMsg: required},
		{name: "mount requires cas, cas 0", mountCAS: true, cas: ptr(0), wantVersion: 1},
		{name: "mount requires cas, stale", mountCAS: true, versions: 1, cas: ptr(0), wantKind: errs.FailedPrecondition, wantMsg: mismatch},
		{name: "path requires cas, none", pathCAS: true, wantKind: errs.InvalidArgument, wantMsg: required},
		{name: "path requires cas, cas 0 on metadata only", pathCAS: true, cas: ptr(0), wantVersion: 1},
		{name: "path requires cas, right cas", pathCAS: true, versions: 1, cas: ptr(1), wantVersion: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := t.Context()
			for range tc.versions {
				f.write(t, "p", map[string]any{"v": "old"})
			}
			if tc.mountCAS {
				if err := f.svc.WriteConfig(ctx, mount, kv.ConfigUpdate{CASRequired: ptr(true)}); err != nil {
					t.Fatalf("WriteConfig() error = %v", err)
				}
			}
			if tc.pathCAS {
				if err := f.svc.WriteMetadata(ctx, mount, "p", kv.MetadataUpdate{CASRequired: ptr(true)}); err != nil {
					t.Fatalf("WriteMetadata() error = %v", err)
				}
			}
			sec, err := f.svc.WriteData(ctx, mount, "p", map[string]any{"v": "new"}, tc.cas)
			if tc.wantVersion == 0 {
				wantErr(t, "WriteData()", err, tc.wantKind, tc.wantMsg)
				if md, err := f.svc.ReadMetadata(ctx, mount, "p"); err == nil && md.CurrentVersion != tc.versions {
					t.Errorf("a rejected write moved the current version from %d to %d", tc.versions, md.CurrentVersion)
				}
				return
			}
			if err != nil {
				t.Fatalf("WriteData() error = %v", err)
			}
			if sec.Meta.Version != tc.wantVersion {
				t.Errorf("WriteData() wrote version %d, want %d", sec.Meta.Version, tc.wantVersion)
			}
		})
	}
}

func TestPatchData(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	f.write(t, "p", map[string]any{"a": "1", "b": map[string]any{"c": "2", "d": "3"}, "arr": []any{1, 2}, "x": "keep", "s": "str"})
	patch := map[string]any{"a": nil, "b": map[string]any{"c": nil, "e": "4"}, "arr": []any{3, nil},
		"new": map[string]any{"deep": nil, "k": "v"}, "s": map[string]any{"now": "an object"}, "gone": nil}
	sec, err := f.svc.PatchData(ctx, mount, "p", patch, nil)
	if err != nil {
		t.Fatalf("PatchData() error = %v", err)
	}
	if sec.Meta.Version != 2 || sec.Data != nil {
		t.Errorf("PatchData() = %+v, want version 2 without data", sec)
	}
	want := decoded(t, map[string]any{"b": map[string]any{"d": "3", "e": "4"}, "arr": []any{3, nil}, "x": "keep",
		"new": map[string]any{"k": "v"}, "s": map[string]any{"now": "an object"}})
	if diff := cmp.Diff(want, f.read(t, "p", 0).Data); diff != "" {
		t.Errorf("ReadData() after PatchData() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(decoded(t, map[string]any{"a": nil, "b": map[string]any{"c": nil, "e": "4"}, "arr": []any{3, nil},
		"new": map[string]any{"deep": nil, "k": "v"}, "s": map[string]any{"now": "an object"}, "gone": nil}), decoded(t, patch)); diff != "" {
		t.Errorf("PatchData() modified the patch (-want +got):\n%s", diff)
	}

	// check-and-set, as for writes.
	_, err = f.svc.PatchData(ctx, mount, "p", map[string]any{"y": "1"}, ptr(1))
	wantErr(t, "PatchData(stale cas)", err, errs.FailedPrecondition, "check-and-set parameter did not match the current version")
	if sec, err := f.svc.PatchData(ctx, mount, "p", map[string]any{"y": "1"}, ptr(2)); err != nil || sec.Meta.Version != 3 {
		t.Errorf("PatchData(right cas) = %+v, %v; want version 3", sec, err)
	}
	if err := f.svc.WriteMetadata(ctx, mount, "p", kv.MetadataUpdate{CASRequired: ptr(true)}); err != nil {
		t.Fatalf("WriteMetadata() error = %v", err)
	}
	_, err = f.svc.PatchData(ctx, mount, "p", map[string]any{"y": "2"}, nil)
	wantErr(t, "PatchData(cas required)", err, errs.InvalidArgument, "check-and-set parameter required for this call")

	_, err = f.svc.PatchData(ctx, mount, "p", nil, ptr(3))
	wantErr(t, "PatchData(nil)", err, errs.InvalidArgument, "no data provided")
	_, err = f.svc.PatchData(ctx, mount, "nope", map[string]any{"y": "1"}, nil)
	wantErr(t, "PatchData(unknown path)", err, errs.NotFound, "")
	if err := f.svc.WriteMetadata(ctx, mount, "meta-only", kv.MetadataUpdate{}); err != nil {
		t.Fatalf("WriteMetadata() error = %v", err)
	}
	_, err = f.svc.PatchData(ctx, mount, "meta-only", map[string]any{"y": "1"}, nil)
	wantErr(t, "PatchData(path without versions)", err, errs.NotFound, "")

	// The current version must be live.
	f.write(t, "del", map[string]any{"a": "1"})
	f.write(t, "del", map[string]any{"a": "2"})
	if err := f.svc.DeleteLatest(ctx, mount, "del"); err != nil {
		t.Fatalf("DeleteLatest() error = %v", err)
	}
	_, err = f.svc.PatchData(ctx, mount, "del", map[string]any{"y": "1"}, nil)
	wantErr(t, "PatchData(current version deleted)", err, errs.NotFound, "")
	if err := f.svc.Destroy(ctx, mount, "del", []int{2}); err != nil {
		t.Fatalf("Destroy() error = %v", err)
	}
	_, err = f.svc.PatchData(ctx, mount, "del", map[string]any{"y": "1"}, nil)
	wantErr(t, "PatchData(current version destroyed)", err, errs.NotFound, "")
}

// TestConcurrentPatches checks that patches racing on one path all land:
// a patch that lost the race to another write starts over.
func TestConcurrentPatches(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.write(t, "p", map[string]any{"base": "1"})
	const patchers = 8
	var wg sync.WaitGroup
	for i := range patchers {
		wg.Go(func() {
			key := string(rune('a' + i))
			if _, err := f.svc.PatchData(t.Context(), mount, "p", map[string]any{key: i}, nil); err != nil {
				t.Errorf("PatchData(%s) error = %v", key, err)
			}
		})
	}
	wg.Wait()
	want := map[string]any{"base": "1"}
	for i := range patchers {
		want[string(rune('a'+i))] = json.Number(string(rune('0' + i)))
	}
	sec := f.read(t, "p", 0)
	if diff := cmp.Diff(want, sec.Data); diff != "" {
		t.Errorf("ReadData() after concurrent patches mismatch (-want +got):\n%s", diff)
	}
	if sec.Meta.Version != patchers+1 {
		t.Errorf("current version = %d, want %d", sec.Meta.Version, patchers+1)
	}
}

func TestSubkeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	f.write(t, "p", map[string]any{"foo": "abc", "bar": map[string]any{"baz": "def", "q": map[string]any{"r": 1}},
		"arr": []any{map[string]any{"x": 1}}, "empty": map[string]any{}, "nil": nil})
	f.write(t, "p", map[string]any{"only": "v2"})
	for _, tc := range []struct {
		version, depth int
		want           map[string]any
	}{
		{1, 0, map[string]any{"foo": nil, "bar": map[string]any{"baz": nil, "q": map[string]any{"r": nil}}, "arr": nil,
			"empty": map[string]any{}, "nil": nil}},
		{1, 1, map[string]any{"foo": nil, "bar": nil, "arr": nil, "empty": nil, "nil": nil}},
		{1, 2, map[string]any{"foo": nil, "bar": map[string]any{"baz": nil, "q": nil}, "arr": nil, "empty": map[string]any{}, "nil": nil}},
		{1, 3, map[string]any{"foo": nil, "bar": map[string]any{"baz": nil, "q": map[string]any{"r": nil}}, "arr": nil,
			"empty": map[string]any{}, "nil": nil}},
		{0, 0, map[string]any{"only": nil}},
	} {
		sec, err := f.svc.Subkeys(ctx, mount, "p", tc.version, tc.depth)
		if err != nil {
			t.Fatalf("Subkeys(%d, %d) error = %v", tc.version, tc.depth, err)
		}
		if diff := cmp.Diff(tc.want, sec.Data); diff != "" {
			t.Errorf("Subkeys(%d, %d) mismatch (-want +got):\n%s", tc.version, tc.depth, diff)
		}
		if want := max(tc.version, 1); tc.version != 0 && sec.Meta.Version != want {
			t.Errorf("Subkeys(%d, %d) version = %d, want %d", tc.version, tc.depth, sec.Meta.Version, want)
		}
	}
	_, err := f.svc.Subkeys(ctx, mount, "p", 0, -1)
	wantErr(t, "Subkeys(negative depth)", err, errs.InvalidArgument, "")
	_, err = f.svc.Subkeys(ctx, mount, "p", -1, 0)
	wantErr(t, "Subkeys(negative version)", err, errs.InvalidArgument, "")
	_, err = f.svc.Subkeys(ctx, mount, "p", 3, 0)
	wantErr(t, "Subkeys(unknown version)", err, errs.NotFound, "")
	_, err = f.svc.Subkeys(ctx, mount, "nope", 0, 0)
	wantErr(t, "Subkeys(unknown path)", err, errs.NotFound, "")

	if err := f.svc.DeleteVersions(ctx, mount, "p", []int{1}); err != nil {
		t.Fatalf("DeleteVersions() error = %v", err)
	}
	sec, err := f.svc.Subkeys(ctx, mount, "p", 1, 0)
	wantGone(t, "Subkeys(deleted version)", sec, err, kv.VersionMeta{Version: 1, CreatedTime: start, DeletionTime: start})
}
