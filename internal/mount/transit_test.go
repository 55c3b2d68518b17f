package mount_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/mount"
)

func TestTransitSettings(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	f.enable(t, mount.KindSecret, "transit", mount.TypeTransit)

	read := func(t *testing.T) mount.TransitSettings {
		t.Helper()
		m, err := f.svc.Mount(ctx, mount.KindSecret, "transit")
		if err != nil {
			t.Fatalf("Mount() error = %v", err)
		}
		s, err := m.Transit()
		if err != nil {
			t.Fatalf("Transit() error = %v", err)
		}
		return s
	}
	if got := read(t); got != (mount.TransitSettings{}) {
		t.Errorf("settings of a new mount = %+v, want the defaults", got)
	}

	want := mount.TransitSettings{DisableUpsert: true, CacheSize: 10}
	if err := f.svc.SetOptions(ctx, mount.KindSecret, "/transit/", want.Options()); err != nil {
		t.Fatalf("SetOptions() error = %v", err)
	}
	if got := read(t); got != want {
		t.Errorf("settings = %+v, want %+v", got, want)
	}
	// Setting one option keeps the other.
	if err := f.svc.SetOptions(ctx, mount.KindSecret, "transit", map[string]string{mount.OptionCacheSize: "0"}); err != nil {
		t.Fatalf("SetOptions(cache_size) error = %v", err)
	}
	want.CacheSize = 0
	if got := read(t); got != want {
		t.Errorf("settings = %+v, want %+v", got, want)
	}

	for _, c := range []struct {
		name string
		set  map[string]string
		msg  string
	}{
		{"size 5", map[string]string{mount.OptionCacheSize: "5"}, "size must be 0 or a value greater or equal to 10"},
		{"negative size", map[string]string{mount.OptionCacheSize: "-1"}, "size must be 0 or a value greater or equal to 10"},
		{"size not a number", map[string]string{mount.OptionCacheSize: "ten"}, "options: cache_size: expected an integer"},
		{"upsert not a bool", map[string]string{mount.OptionDisableUpsert: "maybe"}, "options: disable_upsert: expected a boolean"},
		{"empty key", map[string]string{"": "x"}, ""},
	} {
		wantErr(t, "SetOptions("+c.name+")", f.svc.SetOptions(ctx, mount.KindSecret, "transit", c.set), errs.InvalidArgument, c.msg)
		if _, err := f.svc.Enable(ctx, mount.KindSecret, "other", mount.TypeTransit, "", c.set, 0, 0); errs.KindOf(err) != errs.InvalidArgument {
			t.Errorf("Enable(transit, %s) error = %v, want InvalidArgument", c.name, err)
		}
	}
	if got := read(t); got != want {
		t.Errorf("settings after refused changes = %+v, want %+v", got, want)
	}
	wantErr(t, "SetOptions(unknown)", f.svc.SetOptions(ctx, mount.KindSecret, "nope", want.Options()), errs.NotFound, "")
	wantErr(t, "SetOptions(other kind)", f.svc.SetOptions(ctx, mount.KindAuth, "transit", want.Options()), errs.NotFound, "")

	// Settings given at Enable are taken.
	m, err := f.svc.Enable(ctx, mount.KindSecret, "preset", mount.TypeTransit, "", map[string]string{mount.OptionDisableUpsert: "1"}, 0, 0)
	if err != nil {
		t.Fatalf("Enable(preset) error = %v", err)
	}
	s, err := m.Transit()
	if err != nil || !s.DisableUpsert {
		t.Errorf("preset settings = %+v, %v; want upserts disabled", s, err)
	}

	// A bad stored value is an internal error, not a default.
	bad := &mount.Mount{Path: "x", Options: map[string]string{mount.OptionCacheSize: "x"}}
	if _, err := bad.Transit(); errs.KindOf(err) != errs.Internal {
		t.Errorf("Transit() of bad options error = %v, want Internal", err)
	}
	if diff := cmp.Diff(map[string]string{"disable_upsert": "false", "cache_size": "12"},
		mount.TransitSettings{CacheSize: 12}.Options()); diff != "" {
		t.Errorf("Options() mismatch (-want +got):\n%s", diff)
	}
}
