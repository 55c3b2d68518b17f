package kv_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kv"
)

func TestMetadata(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()

	// Writing metadata of a missing path creates it, without versions.
	err := f.svc.WriteMetadata(ctx, mount, "p", kv.MetadataUpdate{MaxVersions: ptr(5), DeleteVersionAfter: ptr(time.Hour),
		CustomMetadata: map[string]*string{"owner": ptr("ops"), "team": ptr("core"), "dropped": nil}})
	if err != nil {
		t.Fatalf("WriteMetadata(new path) error = %v", err)
	}
	want := &kv.Metadata{Mount: mount, Path: "p", MaxVersions: 5, DeleteVersionAfter: time.Hour,
		CustomMetadata: map[string]string{"owner": "ops", "team": "core"}, CreatedTime: start, UpdatedTime: start}
	wantMetadata(t, f, want)
	_, err = f.svc.ReadData(ctx, mount, "p", 0)
	wantErr(t, "ReadData(path without versions)", err, errs.NotFound, "")

	// Custom metadata comes with data reads and writes.
	f.clock.Advance(time.Minute)
	sec, err := f.svc.WriteData(ctx, mount, "p", map[string]any{"k": "v"}, nil)
	if err != nil {
		t.Fatalf("WriteData() error = %v", err)
	}
	if diff := cmp.Diff(want.CustomMetadata, sec.CustomMetadata); diff != "" {
		t.Errorf("WriteData() custom metadata mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want.CustomMetadata, f.read(t, "p", 1).CustomMetadata); diff != "" {
		t.Errorf("ReadData() custom metadata mismatch (-want +got):\n%s", diff)
	}
	want.CurrentVersion, want.UpdatedTime = 1, f.clock.Now()
	want.Versions = []kv.VersionMeta{{Version: 1, CreatedTime: f.clock.Now(), DeletionTime: f.clock.Now().Add(time.Hour)}}
	wantMetadata(t, f, want)

	// A patch merges custom metadata (nil removes) and keeps unset fields.
	f.clock.Advance(time.Minute)
	err = f.svc.PatchMetadata(ctx, mount, "p", kv.MetadataUpdate{CASRequired: ptr(true),
		CustomMetadata: map[string]*string{"team": nil, "tier": ptr("1"), "absent": nil}})
	if err != nil {
		t.Fatalf("PatchMetadata() error = %v", err)
	}
	want.CASRequired, want.UpdatedTime = true, f.clock.Now()
	want.CustomMetadata = map[string]string{"owner": "ops", "tier": "1"}
	wantMetadata(t, f, want)
	// So does a write; its custom metadata replaces the old.
	err = f.svc.WriteMetadata(ctx, mount, "p", kv.MetadataUpdate{MaxVersions: ptr(0),
		CustomMetadata: map[string]*string{"only": ptr("this")}})
	if err != nil {
		t.Fatalf("WriteMetadata() error = %v", err)
	}
	want.MaxVersions, want.CustomMetadata = 0, map[string]string{"only": "this"}
	wantMetadata(t, f, want)
	if err := f.svc.WriteMetadata(ctx, mount, "p", kv.MetadataUpdate{}); err != nil {
		t.Fatalf("WriteMetadata(nothing) error = %v", err)
	}
	wantMetadata(t, f, want)
	if err := f.svc.PatchMetadata(ctx, mount, "p", kv.MetadataUpdate{CustomMetadata: map[string]*string{}}); err != nil {
		t.Fatalf("PatchMetadata(empty custom metadata) error = %v", err)
	}
	wantMetadata(t, f, want)
	if err := f.svc.WriteMetadata(ctx, mount, "p", kv.MetadataUpdate{CustomMetadata: map[string]*string{}}); err != nil {
		t.Fatalf("WriteMetadata(empty custom metadata) error = %v", err)
	}
	want.CustomMetadata = nil
	wantMetadata(t, f, want)

	if err := f.svc.DeleteMetadata(ctx, mount, "p"); err != nil {
		t.Fatalf("DeleteMetadata() error = %v", err)
	}
	_, err = f.svc.ReadMetadata(ctx, mount, "p")
	wantErr(t, "ReadMetadata(deleted)", err, errs.NotFound, "")
	_, err = f.svc.ReadData(ctx, mount, "p", 1)
	wantErr(t, "ReadData(deleted metadata)", err, errs.NotFound, "")
	_, err = f.svc.ReadMetadata(ctx, mount, "a/../p")
	wantErr(t, "ReadMetadata(bad path)", err, errs.InvalidArgument, "")
}

func wantMetadata(t *testing.T, f *fixture, want *kv.Metadata) {
	t.Helper()
	got, err := f.svc.ReadMetadata(t.Context(), want.Mount, want.Path)
	if err != nil {
		t.Fatalf("ReadMetadata() error = %v", err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("ReadMetadata() mismatch (-want +got):\n%s", diff)
	}
}

func TestRetention(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	versions := func(path string) []int {
		t.Helper()
		md, err := f.svc.ReadMetadata(ctx, mount, path)
		if err != nil {
			t.Fatalf("ReadMetadata() error = %v", err)
		}
		var got []int
		for _, v := range md.Versions {
			got = append(got, v.Version)
		}
		return got
	}
	for range 12 {
		f.write(t, "default", map[string]any{})
	}
	if diff := cmp.Diff([]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, versions("default")); diff != "" {
		t.Errorf("versions kept by default mismatch (-want +got):\n%s", diff)
	}
	_, err := f.svc.ReadData(ctx, mount, "default", 2)
	wantErr(t, "ReadData(pruned)", err, errs.NotFound, "")

	if err := f.svc.WriteConfig(ctx, mount, kv.ConfigUpdate{MaxVersions: ptr(3)}); err != nil {
		t.Fatalf("WriteConfig() error = %v", err)
	}
	for range 5 {
		f.write(t, "mount", map[string]any{})
	}
	if diff := cmp.Diff([]int{3, 4, 5}, versions("mount")); diff != "" {
		t.Errorf("versions kept by the mount's setting mismatch (-want +got):\n%s", diff)
	}
	// Lowering a path's max_versions prunes at once.
	if err := f.svc.WriteMetadata(ctx, mount, "default", kv.MetadataUpdate{MaxVersions: ptr(2)}); err != nil {
		t.Fatalf("WriteMetadata() error = %v", err)
	}
	if diff := cmp.Diff([]int{11, 12}, versions("default")); diff != "" {
		t.Errorf("versions kept after lowering max_versions mismatch (-want +got):\n%s", diff)
	}
	_, err = f.svc.ReadData(ctx, mount, "default", 10)
	wantErr(t, "ReadData(pruned by metadata)", err, errs.NotFound, "")
	if got := f.read(t, "default", 11); got.Meta.Version != 11 {
		t.Errorf("ReadData(11) = version %d", got.Meta.Version)
	}
}

func TestMetadataValidation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	many := func(n int) map[string]*string {
		m := map[string]*string{}
		for i := range n {
			m[fmt.Sprintf("k%02d", i)] = ptr("v")
		}
		return m
	}
	for _, tc := range []struct {
		name string
		u    kv.MetadataUpdate
		ok   bool
	}{
		{"limits", kv.MetadataUpdate{CustomMetadata: many(64)}, true},
		{"longest key and value", kv.MetadataUpdate{CustomMetadata: map[string]*string{
			strings.Repeat("k", 128): ptr(strings.Repeat("v", 512))}}, true},
		{"empty value", kv.MetadataUpdate{CustomMetadata: map[string]*string{"k": ptr("")}}, true},
		{"unicode", kv.MetadataUpdate{CustomMetadata: map[string]*string{"ключ": ptr("значение ✓")}}, true},
		{"max_versions 0", kv.MetadataUpdate{MaxVersions: ptr(0)}, true},
		{"negative max_versions", kv.MetadataUpdate{MaxVersions: ptr(-1)}, false},
		{"huge max_versions", kv.MetadataUpdate{MaxVersions: ptr(1 << 40)}, false},
		{"negative delete_version_after", kv.MetadataUpdate{DeleteVersionAfter: ptr(-time.Second)}, false},
		{"65 keys", kv.MetadataUpdate{CustomMetadata: many(65)}, false},
		{"long key", kv.MetadataUpdate{CustomMetadata: map[string]*string{strings.Repeat("k", 129): ptr("v")}}, false},
		{"long value", kv.MetadataUpdate{CustomMetadata: map[string]*string{"k": ptr(strings.Repeat("v", 513))}}, false},
		{"empty key", kv.MetadataUpdate{CustomMetadata: map[string]*string{"": ptr("v")}}, false},
		{"control in key", kv.MetadataUpdate{CustomMetadata: map[string]*string{"a\nb": ptr("v")}}, false},
		{"control in value", kv.MetadataUpdate{CustomMetadata: map[string]*string{"k": ptr("a\x00b")}}, false},
		{"invalid UTF-8 value", kv.MetadataUpdate{CustomMetadata: map[string]*string{"k": ptr("\xff")}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "p/" + strings.ReplaceAll(tc.name, " ", "-")
			for name, op := range map[string]func(string, kv.MetadataUpdate) error{
				"WriteMetadata": func(p string, u kv.MetadataUpdate) error { return f.svc.WriteMetadata(t.Context(), mount, p, u) },
				"PatchMetadata": func(p string, u kv.MetadataUpdate) error { return f.svc.PatchMetadata(t.Context(), mount, p, u) },
			} {
				err := op(path+"-"+name, tc.u)
				if tc.ok {
					if err != nil {
						t.Errorf("%s() error = %v", name, err)
					}
					continue
				}
				wantErr(t, name+"()", err, errs.InvalidArgument, "")
				_, err = f.svc.ReadMetadata(t.Context(), mount, path+"-"+name)
				wantErr(t, "ReadMetadata() after a rejected "+name+"()", err, errs.NotFound, "")
			}
		})
	}
	// The limit counts the merged result.
	if err := f.svc.WriteMetadata(t.Context(), mount, "full", kv.MetadataUpdate{CustomMetadata: many(64)}); err != nil {
		t.Fatalf("WriteMetadata() error = %v", err)
	}
	err := f.svc.PatchMetadata(t.Context(), mount, "full", kv.MetadataUpdate{CustomMetadata: map[string]*string{"one-more": ptr("v")}})
	wantErr(t, "PatchMetadata(65th key)", err, errs.InvalidArgument, "custom_metadata: at most 64 keys are allowed, got 65")
	err = f.svc.PatchMetadata(t.Context(), mount, "full", kv.MetadataUpdate{CustomMetadata: map[string]*string{"k00": nil, "one-more": ptr("v")}})
	if err != nil {
		t.Errorf("PatchMetadata(swap a key) error = %v", err)
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	for _, p := range []string{"a", "a/b", "a/b/c", "a/d/e", "x/y", "100%_sure/z"} {
		f.write(t, p, map[string]any{"k": "v"})
	}
	if err := f.svc.WriteMetadata(ctx, mount, "m/only", kv.MetadataUpdate{}); err != nil {
		t.Fatalf("WriteMetadata() error = %v", err)
	}
	if _, err := f.svc.WriteData(ctx, "other-mount", "a/z", map[string]any{}, nil); err != nil {
		t.Fatalf("WriteData(other mount) error = %v", err)
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", []string{"100%_sure/", "a", "a/", "m/", "x/"}},
		{"a", []string{"b", "b/", "d/"}},
		{"a/", []string{"b", "b/", "d/"}},
		{"a/b", []string{"c"}},
		{"a/d/", []string{"e"}},
		{"m", []string{"only"}},
		{"100%_sure", []string{"z"}},
	} {
		got, err := f.svc.List(ctx, mount, tc.prefix)
		if err != nil {
			t.Errorf("List(%q) error = %v", tc.prefix, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("List(%q) mismatch (-want +got):\n%s", tc.prefix, diff)
		}
	}
	for _, prefix := range []string{"nope", "a/b/c", "100%", "A"} {
		_, err := f.svc.List(ctx, mount, prefix)
		wantErr(t, fmt.Sprintf("List(%q)", prefix), err, errs.NotFound, "")
	}
	for _, prefix := range []string{"/", "/a", "a//", "../a", "a/./", "a\x00"} {
		_, err := f.svc.List(ctx, mount, prefix)
		wantErr(t, fmt.Sprintf("List(%q)", prefix), err, errs.InvalidArgument, "")
	}
	// Deleting a path's versions keeps it listed; deleting its metadata does not.
	if err := f.svc.Destroy(ctx, mount, "x/y", []int{1}); err != nil {
		t.Fatalf("Destroy() error = %v", err)
	}
	if got, err := f.svc.List(ctx, mount, "x"); err != nil || !cmp.Equal(got, []string{"y"}) {
		t.Errorf("List(x) after Destroy() = %q, %v; want [y]", got, err)
	}
	if err := f.svc.DeleteMetadata(ctx, mount, "x/y"); err != nil {
		t.Fatalf("DeleteMetadata() error = %v", err)
	}
	_, err := f.svc.List(ctx, mount, "x")
	wantErr(t, "List(x) after DeleteMetadata()", err, errs.NotFound, "")
}

func TestConfig(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	got, err := f.svc.ReadConfig(ctx, mount)
	if err != nil || *got != (kv.MountConfig{}) {
		t.Fatalf("ReadConfig(unset) = %+v, %v; want the zero config", got, err)
	}
	steps := []struct {
		u    kv.ConfigUpdate
		want kv.MountConfig
	}{
		{kv.ConfigUpdate{MaxVersions: ptr(4)}, kv.MountConfig{MaxVersions: 4}},
		{kv.ConfigUpdate{CASRequired: ptr(true)}, kv.MountConfig{MaxVersions: 4, CASRequired: true}},
		{kv.ConfigUpdate{DeleteVersionAfter: ptr(time.Hour)}, kv.MountConfig{MaxVersions: 4, CASRequired: true, DeleteVersionAfter: time.Hour}},
		{kv.ConfigUpdate{}, kv.MountConfig{MaxVersions: 4, CASRequired: true, DeleteVersionAfter: time.Hour}},
		{kv.ConfigUpdate{MaxVersions: ptr(0), CASRequired: ptr(false), DeleteVersionAfter: ptr(time.Duration(0))}, kv.MountConfig{}},
	}
	for _, st := range steps {
		if err := f.svc.WriteConfig(ctx, mount, st.u); err != nil {
			t.Fatalf("WriteConfig(%+v) error = %v", st.u, err)
		}
		got, err := f.svc.ReadConfig(ctx, mount)
		if err != nil || *got != st.want {
			t.Errorf("ReadConfig() = %+v, %v; want %+v", got, err, st.want)
		}
	}
	wantErr(t, "WriteConfig(negative max_versions)",
		f.svc.WriteConfig(ctx, mount, kv.ConfigUpdate{MaxVersions: ptr(-1)}), errs.InvalidArgument, "")
	wantErr(t, "WriteConfig(negative delete_version_after)",
		f.svc.WriteConfig(ctx, mount, kv.ConfigUpdate{DeleteVersionAfter: ptr(-time.Hour)}), errs.InvalidArgument, "")
	wantErr(t, "WriteConfig(bad mount)", f.svc.WriteConfig(ctx, "a/b", kv.ConfigUpdate{}), errs.InvalidArgument, "")
	_, err = f.svc.ReadConfig(ctx, "")
	wantErr(t, "ReadConfig(empty mount)", err, errs.InvalidArgument, "")
}

func TestCountPathsAndDeleteMount(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	count := func(m string, want int) {
		t.Helper()
		n, err := f.svc.CountPaths(ctx, m)
		if err != nil || n != want {
			t.Errorf("CountPaths(%s) = %d, %v; want %d", m, n, err, want)
		}
	}
	count(mount, 0)
	for _, p := range []string{"a", "a/b", "c"} {
		f.write(t, p, map[string]any{"k": "v"})
		f.write(t, p, map[string]any{"k": "w"})
	}
	if err := f.svc.WriteMetadata(ctx, mount, "meta", kv.MetadataUpdate{}); err != nil {
		t.Fatalf("WriteMetadata() error = %v", err)
	}
	if _, err := f.svc.WriteData(ctx, "kept", "a", map[string]any{}, nil); err != nil {
		t.Fatalf("WriteData() error = %v", err)
	}
	if err := f.svc.WriteConfig(ctx, mount, kv.ConfigUpdate{CASRequired: ptr(true)}); err != nil {
		t.Fatalf("WriteConfig() error = %v", err)
	}
	count(mount, 4)
	count("kept", 1)
	if err := f.svc.DeleteMount(ctx, mount); err != nil {
		t.Fatalf("DeleteMount() error = %v", err)
	}
	count(mount, 0)
	count("kept", 1)
	if mc, err := f.svc.ReadConfig(ctx, mount); err != nil || mc.CASRequired {
		t.Errorf("ReadConfig() after DeleteMount() = %+v, %v; want the zero config", mc, err)
	}
	_, err := f.svc.ReadData(ctx, mount, "a", 1)
	wantErr(t, "ReadData() after DeleteMount()", err, errs.NotFound, "")
	if err := f.svc.DeleteMount(ctx, mount); err != nil {
		t.Errorf("DeleteMount(empty) error = %v", err)
	}
	_, err = f.svc.CountPaths(ctx, "")
	wantErr(t, "CountPaths(empty mount)", err, errs.InvalidArgument, "")
}
