package kv_test

import (
	"testing"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kv"
)

func TestDeleteUndeleteDestroy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	for i := range 3 {
		f.write(t, "p", map[string]any{"v": i + 1})
		f.clock.Advance(time.Minute)
	}
	created := func(v int) time.Time { return start.Add(time.Duration(v-1) * time.Minute) }
	deletedAt := f.clock.Now()

	if err := f.svc.DeleteLatest(ctx, mount, "p"); err != nil {
		t.Fatalf("DeleteLatest() error = %v", err)
	}
	sec, err := f.svc.ReadData(ctx, mount, "p", 0)
	wantGone(t, "ReadData(deleted latest)", sec, err, kv.VersionMeta{Version: 3, CreatedTime: created(3), DeletionTime: deletedAt})
	sec, err = f.svc.ReadData(ctx, mount, "p", 3)
	wantGone(t, "ReadData(3)", sec, err, kv.VersionMeta{Version: 3, CreatedTime: created(3), DeletionTime: deletedAt})
	if got := f.read(t, "p", 2).Data["v"]; got != jsonNumber("2") {
		t.Errorf("ReadData(2) = %v, want 2", got)
	}
	// Deleting again keeps the first deletion time.
	f.clock.Advance(time.Minute)
	if err := f.svc.DeleteLatest(ctx, mount, "p"); err != nil {
		t.Fatalf("DeleteLatest(again) error = %v", err)
	}
	sec, err = f.svc.ReadData(ctx, mount, "p", 3)
	wantGone(t, "ReadData(deleted twice)", sec, err, kv.VersionMeta{Version: 3, CreatedTime: created(3), DeletionTime: deletedAt})

	if err := f.svc.DeleteVersions(ctx, mount, "p", []int{1, 99}); err != nil {
		t.Fatalf("DeleteVersions() error = %v", err)
	}
	sec, err = f.svc.ReadData(ctx, mount, "p", 1)
	wantGone(t, "ReadData(1)", sec, err, kv.VersionMeta{Version: 1, CreatedTime: created(1), DeletionTime: f.clock.Now()})

	if err := f.svc.Undelete(ctx, mount, "p", []int{1, 3, 99}); err != nil {
		t.Fatalf("Undelete() error = %v", err)
	}
	for v := 1; v <= 3; v++ {
		sec := f.read(t, "p", v)
		if sec.Data["v"] != jsonNumber(string(rune('0'+v))) || !sec.Meta.DeletionTime.IsZero() {
			t.Errorf("ReadData(%d) after Undelete() = %+v, want live data %d", v, sec, v)
		}
	}

	if err := f.svc.Destroy(ctx, mount, "p", []int{2, 99}); err != nil {
		t.Fatalf("Destroy() error = %v", err)
	}
	sec, err = f.svc.ReadData(ctx, mount, "p", 2)
	wantGone(t, "ReadData(destroyed)", sec, err, kv.VersionMeta{Version: 2, CreatedTime: created(2), Destroyed: true})
	ciphertext, _, _, err := f.store.Read(ctx, mount, "p", 2)
	if err != nil || ciphertext != nil {
		t.Errorf("store Read() of a destroyed version = %d bytes, %v; want no ciphertext", len(ciphertext), err)
	}
	// Undelete skips destroyed versions; delete skips them too.
	if err := f.svc.Undelete(ctx, mount, "p", []int{2}); err != nil {
		t.Fatalf("Undelete(destroyed) error = %v", err)
	}
	if err := f.svc.DeleteVersions(ctx, mount, "p", []int{2}); err != nil {
		t.Fatalf("DeleteVersions(destroyed) error = %v", err)
	}
	sec, err = f.svc.ReadData(ctx, mount, "p", 2)
	wantGone(t, "ReadData(destroyed, after undelete)", sec, err, kv.VersionMeta{Version: 2, CreatedTime: created(2), Destroyed: true})

	// The metadata shows every version's state.
	md, err := f.svc.ReadMetadata(ctx, mount, "p")
	if err != nil {
		t.Fatalf("ReadMetadata() error = %v", err)
	}
	if len(md.Versions) != 3 || md.Versions[1].Destroyed != true || !md.Versions[0].DeletionTime.IsZero() {
		t.Errorf("ReadMetadata() versions = %+v, want 1 and 3 live, 2 destroyed", md.Versions)
	}
}

func TestDeleteOfMissingPaths(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	if err := f.svc.WriteMetadata(ctx, mount, "meta-only", kv.MetadataUpdate{}); err != nil {
		t.Fatalf("WriteMetadata() error = %v", err)
	}
	// Vault answers 204 for these.
	for _, path := range []string{"nope", "meta-only"} {
		for name, err := range map[string]error{
			"DeleteLatest":   f.svc.DeleteLatest(ctx, mount, path),
			"DeleteVersions": f.svc.DeleteVersions(ctx, mount, path, []int{1}),
			"Undelete":       f.svc.Undelete(ctx, mount, path, []int{1}),
			"Destroy":        f.svc.Destroy(ctx, mount, path, []int{1}),
			"DeleteMetadata": f.svc.DeleteMetadata(ctx, mount, path),
		} {
			if err != nil {
				t.Errorf("%s(%s) error = %v, want nil", name, path, err)
			}
		}
	}
	f.write(t, "p", map[string]any{"a": "b"})
	for name, op := range map[string]func([]int) error{
		"DeleteVersions": func(v []int) error { return f.svc.DeleteVersions(ctx, mount, "p", v) },
		"Undelete":       func(v []int) error { return f.svc.Undelete(ctx, mount, "p", v) },
		"Destroy":        func(v []int) error { return f.svc.Destroy(ctx, mount, "p", v) },
	} {
		wantErr(t, name+"(no versions)", op(nil), errs.InvalidArgument, "no version number provided")
		wantErr(t, name+"(version 0)", op([]int{1, 0}), errs.InvalidArgument, "")
		wantErr(t, name+"(negative version)", op([]int{-2}), errs.InvalidArgument, "")
	}
	wantErr(t, "DeleteLatest(bad path)", f.svc.DeleteLatest(ctx, mount, "../p"), errs.InvalidArgument, "")
	if got := f.read(t, "p", 1).Data; got["a"] != "b" {
		t.Errorf("ReadData() after rejected calls = %v, want the data untouched", got)
	}
}

func TestDeleteVersionAfter(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	if err := f.svc.WriteConfig(ctx, mount, kv.ConfigUpdate{DeleteVersionAfter: ptr(time.Hour)}); err != nil {
		t.Fatalf("WriteConfig() error = %v", err)
	}
	vm := f.write(t, "p", map[string]any{"a": "1"})
	want := kv.VersionMeta{Version: 1, CreatedTime: start, DeletionTime: start.Add(time.Hour)}
	if vm != want {
		t.Errorf("WriteData() = %+v, want %+v", vm, want)
	}
	// Scheduled, not yet due: live.
	f.clock.Advance(time.Hour - time.Microsecond)
	if sec := f.read(t, "p", 0); sec.Data["a"] != "1" || sec.Meta != want {
		t.Errorf("ReadData() before deletion time = %+v, want live %+v", sec, want)
	}
	if sec, err := f.svc.Subkeys(ctx, mount, "p", 0, 0); err != nil || sec.Meta != want {
		t.Errorf("Subkeys() before deletion time = %+v, %v; want %+v", sec, err, want)
	}
	f.clock.Advance(time.Microsecond)
	sec, err := f.svc.ReadData(ctx, mount, "p", 0)
	wantGone(t, "ReadData(at deletion time)", sec, err, want)

	// A path's shorter setting wins; the mount's caps a longer one.
	if err := f.svc.WriteMetadata(ctx, mount, "short", kv.MetadataUpdate{DeleteVersionAfter: ptr(time.Minute)}); err != nil {
		t.Fatalf("WriteMetadata() error = %v", err)
	}
	if vm := f.write(t, "short", map[string]any{}); !vm.DeletionTime.Equal(f.clock.Now().Add(time.Minute)) {
		t.Errorf("WriteData(path setting 1m) deletion time = %v, want %v", vm.DeletionTime, f.clock.Now().Add(time.Minute))
	}
	if err := f.svc.WriteMetadata(ctx, mount, "long", kv.MetadataUpdate{DeleteVersionAfter: ptr(48 * time.Hour)}); err != nil {
		t.Fatalf("WriteMetadata() error = %v", err)
	}
	if vm := f.write(t, "long", map[string]any{}); !vm.DeletionTime.Equal(f.clock.Now().Add(time.Hour)) {
		t.Errorf("WriteData(path setting 48h) deletion time = %v, want %v", vm.DeletionTime, f.clock.Now().Add(time.Hour))
	}

	// Undelete cancels a scheduled deletion; delete brings it forward.
	if err := f.svc.Undelete(ctx, mount, "p", []int{1}); err != nil {
		t.Fatalf("Undelete() error = %v", err)
	}
	if sec := f.read(t, "p", 1); !sec.Meta.DeletionTime.IsZero() {
		t.Errorf("ReadData() after Undelete() deletion time = %v, want none", sec.Meta.DeletionTime)
	}
	vm = f.write(t, "p", map[string]any{"a": "2"})
	if err := f.svc.DeleteLatest(ctx, mount, "p"); err != nil {
		t.Fatalf("DeleteLatest() error = %v", err)
	}
	sec, err = f.svc.ReadData(ctx, mount, "p", 0)
	vm.DeletionTime = f.clock.Now()
	wantGone(t, "ReadData(scheduled, then deleted)", sec, err, vm)
}
