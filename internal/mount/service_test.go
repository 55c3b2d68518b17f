package mount_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/cache"
	"github.com/cofferhq/coffer/internal/envelope"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kms"
	"github.com/cofferhq/coffer/internal/kms/kmstest"
	"github.com/cofferhq/coffer/internal/kv"
	"github.com/cofferhq/coffer/internal/mount"
	"github.com/cofferhq/coffer/internal/seal"
	"github.com/cofferhq/coffer/internal/store/sqlite"
	"github.com/cofferhq/coffer/internal/store/sqlite/sqlitetest"
)

var _ kv.KeySource = (*mount.Service)(nil)

// start is the fixture clock's reading: UTC, to the microsecond.
var start = time.Date(2025, 6, 1, 10, 30, 0, 123456000, time.UTC)

// fixture is a Service on a fresh SQLite store with the real envelope.
type fixture struct {
	svc *mount.Service
	db  *sqlite.DB
	env *envelope.Envelope
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	root, err := seal.NewRootKey()
	if err != nil {
		t.Fatalf("NewRootKey() error = %v", err)
	}
	sl, err := seal.New(root)
	if err != nil {
		t.Fatalf("seal.New() error = %v", err)
	}
	f := &fixture{db: sqlitetest.Open(t), env: envelope.New(envelope.Config{CacheTTL: time.Minute}, kmstest.NewFake(), sl)}
	// With a cache, as serve runs it: every test here also checks that the
	// cache changes nothing the Service promises.
	f.svc = mount.NewService(f.db.Mounts(), f.env, mount.WithClock(func() time.Time { return start }),
		mount.WithCache(cache.NewLocalBus(), 100))
	return f
}

// TestMountCacheCopiesOut changes what Mount returns: the next caller must
// not see it, and a tune must.
func TestMountCacheCopiesOut(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	f.enable(t, mount.KindSecret, "kv", mount.TypeKV)
	m, err := f.svc.Mount(ctx, mount.KindSecret, "kv")
	if err != nil {
		t.Fatal(err)
	}
	m.Options["version"], m.WrappedKeyring[0], m.Description = "1", m.WrappedKeyring[0]^1, "changed"
	again, err := f.svc.Mount(ctx, mount.KindSecret, "kv")
	if err != nil {
		t.Fatal(err)
	}
	if again.Options["version"] != "2" || again.WrappedKeyring[0] == m.WrappedKeyring[0] || again.Description != "" {
		t.Fatal("a caller's changes to a Mount reached the cache")
	}
	desc := "tuned"
	if err := f.svc.Tune(ctx, mount.KindSecret, "kv", nil, nil, &desc); err != nil {
		t.Fatal(err)
	}
	if again, err = f.svc.Mount(ctx, mount.KindSecret, "kv"); err != nil || again.Description != desc {
		t.Fatalf("Mount() after Tune = %v, %v; want description %q", again, err, desc)
	}
	if err := f.svc.Disable(ctx, mount.KindSecret, "kv"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Mount(ctx, mount.KindSecret, "kv"); errs.KindOf(err) != errs.NotFound {
		t.Fatalf("Mount() after Disable error = %v, want not found", err)
	}
}

// enable enables a mount and fails t on error.
func (f *fixture) enable(t *testing.T, kind, path, typ string) *mount.Mount {
	t.Helper()
	m, err := f.svc.Enable(t.Context(), kind, path, typ, "", nil, 0, 0)
	if err != nil {
		t.Fatalf("Enable(%s, %s, %s) error = %v", kind, path, typ, err)
	}
	return m
}

// wantErr fails t unless err has kind want and, when msg is not empty,
// that client message.
func wantErr(t *testing.T, op string, err error, want errs.Kind, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s error = nil, want kind %v", op, want)
	}
	if got := errs.KindOf(err); got != want {
		t.Fatalf("%s error kind = %v, want %v (err: %v)", op, got, want, err)
	}
	if msg != "" && errs.Message(err) != msg {
		t.Errorf("%s error message = %q, want %q", op, errs.Message(err), msg)
	}
}

var accessorRE = regexp.MustCompile(`^[a-z]+_[0-9a-f]{8}$`)

func TestEnable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	secret, err := f.svc.Enable(ctx, mount.KindSecret, "/secret/", "kv", "my secrets", nil, time.Hour, 24*time.Hour)
	if err != nil {
		t.Fatalf("Enable(kv) error = %v", err)
	}
	transit := f.enable(t, mount.KindSecret, "transit", "transit")
	up := f.enable(t, mount.KindAuth, "up", "userpass")

	want := &mount.Mount{Path: "secret", Kind: mount.KindSecret, Type: "kv", Description: "my secrets",
		Options: map[string]string{"version": "2"}, DefaultLeaseTTL: time.Hour, MaxLeaseTTL: 24 * time.Hour, CreatedAt: start}
	ignore := func(m *mount.Mount) *mount.Mount {
		c := *m
		c.Accessor, c.UUID, c.WrappedKeyring, c.WrappedFallbackKey = "", "", nil, nil
		return &c
	}
	if diff := cmp.Diff(want, ignore(secret)); diff != "" {
		t.Errorf("Enable(kv) mismatch (-want +got):\n%s", diff)
	}
	for _, m := range []*mount.Mount{secret, transit, up} {
		if !accessorRE.MatchString(m.Accessor) || !strings.HasPrefix(m.Accessor, m.Type+"_") {
			t.Errorf("Enable(%s) accessor = %q, want %s_ and 8 hex digits", m.Path, m.Accessor, m.Type)
		}
		if _, err := uuid.Parse(m.UUID); err != nil {
			t.Errorf("Enable(%s) UUID = %q: %v", m.Path, m.UUID, err)
		}
		got, err := f.svc.Mount(ctx, m.Kind, m.Path+"/")
		if err != nil {
			t.Fatalf("Mount(%s) error = %v", m.Path, err)
		}
		if diff := cmp.Diff(m, got); diff != "" {
			t.Errorf("Mount(%s) mismatch with Enable's result (-want +got):\n%s", m.Path, diff)
		}
	}
	if len(secret.WrappedKeyring) == 0 || len(secret.WrappedFallbackKey) == 0 {
		t.Errorf("Enable(kv) gave no keyring")
	}
	if transit.WrappedKeyring != nil || up.WrappedKeyring != nil || transit.Options != nil {
		t.Errorf("Enable(transit, userpass) = %+v, %+v; want no keyring and no options", transit, up)
	}

	list, err := f.svc.List(ctx, mount.KindSecret)
	if err != nil {
		t.Fatalf("List() error = %v", err)
	}
	if diff := cmp.Diff([]*mount.Mount{secret, transit}, list); diff != "" {
		t.Errorf("List(secret) mismatch (-want +got):\n%s", diff)
	}
	list, err = f.svc.List(ctx, mount.KindAuth)
	if err != nil || len(list) != 1 || list[0].Path != "up" {
		t.Errorf("List(auth) = %v, %v; want [up]", list, err)
	}
	_, err = f.svc.List(ctx, "other")
	wantErr(t, "List(other)", err, errs.InvalidArgument, "")
}

func TestEnableOptions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tc := range []struct {
		name, kind, typ string
		options         map[string]string
		want            map[string]string
		wantType        string
		wantMsg         string // "" when Enable succeeds
	}{
		{name: "kv without options", kind: mount.KindSecret, typ: "kv", want: map[string]string{"version": "2"}},
		{name: "kv version 2", kind: mount.KindSecret, typ: "kv", options: map[string]string{"version": "2"},
			want: map[string]string{"version": "2"}},
		{name: "kv other options kept", kind: mount.KindSecret, typ: "kv", options: map[string]string{"x": "y"},
			want: map[string]string{"version": "2", "x": "y"}},
		{name: "kv-v2", kind: mount.KindSecret, typ: "kv-v2", options: map[string]string{"version": "1"},
			want: map[string]string{"version": "2"}, wantType: "kv"},
		{name: "transit options kept", kind: mount.KindSecret, typ: "transit", options: map[string]string{"a": "b"},
			want: map[string]string{"a": "b"}},
		{name: "userpass empty options", kind: mount.KindAuth, typ: "userpass", options: map[string]string{}},
		{name: "kv version 1", kind: mount.KindSecret, typ: "kv", options: map[string]string{"version": "1"},
			wantMsg: "KV version 1 is not supported"},
		{name: "kv-v1", kind: mount.KindSecret, typ: "kv-v1", wantMsg: "KV version 1 is not supported"},
		{name: "kv version 3", kind: mount.KindSecret, typ: "kv", options: map[string]string{"version": "3"},
			wantMsg: `options: unknown KV version "3"`},
		{name: "unknown type", kind: mount.KindSecret, typ: "database", wantMsg: "unknown backend type: database"},
		{name: "no type", kind: mount.KindSecret, typ: "", wantMsg: "backend type must be specified"},
		{name: "kv as auth", kind: mount.KindAuth, typ: "kv", wantMsg: "unknown backend type: kv"},
		{name: "userpass as secret", kind: mount.KindSecret, typ: "userpass", wantMsg: "unknown backend type: userpass"},
		{name: "empty option key", kind: mount.KindSecret, typ: "transit", options: map[string]string{"": "x"},
			wantMsg: "options: keys must be non-empty, keys and values valid UTF-8 without NUL"},
		{name: "NUL in option", kind: mount.KindSecret, typ: "transit", options: map[string]string{"a": "b\x00"},
			wantMsg: "options: keys must be non-empty, keys and values valid UTF-8 without NUL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := "m-" + uuid.NewString()[:8]
			m, err := f.svc.Enable(t.Context(), tc.kind, path, tc.typ, "", tc.options, 0, 0)
			if tc.wantMsg != "" {
				wantErr(t, "Enable()", err, errs.InvalidArgument, tc.wantMsg)
				_, err := f.svc.Mount(t.Context(), tc.kind, path)
				wantErr(t, "Mount(refused)", err, errs.NotFound, "")
				return
			}
			if err != nil {
				t.Fatalf("Enable() error = %v", err)
			}
			if diff := cmp.Diff(tc.want, m.Options); diff != "" {
				t.Errorf("Enable() options mismatch (-want +got):\n%s", diff)
			}
			if want := or(tc.wantType, tc.typ); m.Type != want {
				t.Errorf("Enable() type = %q, want %q", m.Type, want)
			}
		})
	}
}

// or returns a, or b when a is empty.
func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestEnableOptionsAreCopied(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	opts := map[string]string{"x": "y"}
	m, err := f.svc.Enable(t.Context(), mount.KindSecret, "secret", "kv", "", opts, 0, 0)
	if err != nil {
		t.Fatalf("Enable() error = %v", err)
	}
	if _, set := opts["version"]; set {
		t.Errorf("Enable() changed the caller's options: %v", opts)
	}
	opts["x"] = "changed"
	if m.Options["x"] != "y" {
		t.Errorf("Enable() result shares the caller's options: %v", m.Options)
	}
}

func TestEnableInvalid(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const protected = "cannot mount under a protected path"
	for _, tc := range []struct {
		name, kind, path, typ string
		dflt, max             time.Duration
		description           string
		wantMsg               string
	}{
		{name: "sys", kind: mount.KindSecret, path: "sys", typ: "kv", wantMsg: protected},
		{name: "sys/", kind: mount.KindSecret, path: "sys/", typ: "kv", wantMsg: protected},
		{name: "SYS", kind: mount.KindSecret, path: "SYS", typ: "kv", wantMsg: protected},
		{name: "auth", kind: mount.KindSecret, path: "auth", typ: "transit", wantMsg: protected},
		{name: "cubbyhole", kind: mount.KindSecret, path: "cubbyhole", typ: "kv", wantMsg: protected},
		{name: "identity", kind: mount.KindSecret, path: "identity", typ: "kv", wantMsg: protected},
		{name: "auth sys", kind: mount.KindAuth, path: "sys", typ: "userpass", wantMsg: protected},
		{name: "auth token", kind: mount.KindAuth, path: "token", typ: "userpass", wantMsg: protected},
		{name: "nested", kind: mount.KindSecret, path: "team/kv", typ: "kv",
			wantMsg: "path: nested mount paths are not supported; use a single segment"},
		{name: "empty", kind: mount.KindSecret, path: "", typ: "kv", wantMsg: "path: must not be empty"},
		{name: "slashes only", kind: mount.KindSecret, path: "//", typ: "kv", wantMsg: "path: must not be empty"},
		{name: "space", kind: mount.KindSecret, path: "a b", typ: "kv",
			wantMsg: "path: may contain only letters, digits, '.', '_' and '-'"},
		{name: "non-ASCII", kind: mount.KindSecret, path: "ü", typ: "kv",
			wantMsg: "path: may contain only letters, digits, '.', '_' and '-'"},
		{name: "NUL", kind: mount.KindSecret, path: "a\x00", typ: "kv",
			wantMsg: "path: may contain only letters, digits, '.', '_' and '-'"},
		{name: "dot", kind: mount.KindSecret, path: ".", typ: "kv", wantMsg: `path: must not be "." or ".."`},
		{name: "dot dot", kind: mount.KindSecret, path: "..", typ: "kv", wantMsg: `path: must not be "." or ".."`},
		{name: "too long", kind: mount.KindSecret, path: strings.Repeat("a", mount.MaxPathLen+1), typ: "kv",
			wantMsg: "path: must be at most 128 characters long"},
		{name: "unknown kind", kind: "other", path: "x", typ: "kv", wantMsg: `unknown mount kind "other"`},
		{name: "negative default TTL", kind: mount.KindSecret, path: "x", typ: "kv", dflt: -time.Second,
			wantMsg: "lease TTLs must not be negative"},
		{name: "negative max TTL", kind: mount.KindSecret, path: "x", typ: "kv", max: -time.Second,
			wantMsg: "lease TTLs must not be negative"},
		{name: "default above max", kind: mount.KindSecret, path: "x", typ: "kv", dflt: 2 * time.Hour, max: time.Hour,
			wantMsg: "given default lease TTL greater than given max lease TTL"},
		{name: "NUL in description", kind: mount.KindSecret, path: "x", typ: "kv", description: "a\x00b",
			wantMsg: "description: must be valid UTF-8 without NUL"},
		{name: "invalid UTF-8 in description", kind: mount.KindSecret, path: "x", typ: "kv", description: "\xff",
			wantMsg: "description: must be valid UTF-8 without NUL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.svc.Enable(t.Context(), tc.kind, tc.path, tc.typ, tc.description, nil, tc.dflt, tc.max)
			wantErr(t, "Enable()", err, errs.InvalidArgument, tc.wantMsg)
		})
	}
	for _, kind := range []string{mount.KindSecret, mount.KindAuth} {
		list, err := f.svc.List(t.Context(), kind)
		if err != nil || len(list) != 0 {
			t.Errorf("List(%s) after refused Enables = %v, %v; want none", kind, list, err)
		}
	}
}

func TestEnableAcceptedPaths(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, path := range []string{
		uuid.NewString(), // vault-benchmark mounts at random UUIDs
		strings.Repeat("a", mount.MaxPathLen), "a.b-c_D", "...", "-", "_", "system", "sys2", "my-auth",
	} {
		if _, err := f.svc.Enable(t.Context(), mount.KindSecret, path, "transit", "", nil, 0, 0); err != nil {
			t.Errorf("Enable(%q) error = %v", path, err)
		}
	}
	// "token" is protected for auth mounts only.
	f.enable(t, mount.KindSecret, "token", "kv")
}

func TestEnableAlreadyExists(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	first := f.enable(t, mount.KindSecret, "secret", "kv")
	for _, path := range []string{"secret", "secret/", "/secret"} {
		_, err := f.svc.Enable(ctx, mount.KindSecret, path, "transit", "", nil, 0, 0)
		wantErr(t, "Enable("+path+")", err, errs.AlreadyExists, "path is already in use at secret/")
	}
	got, err := f.svc.Mount(ctx, mount.KindSecret, "secret")
	if err != nil {
		t.Fatalf("Mount() error = %v", err)
	}
	if diff := cmp.Diff(first, got); diff != "" {
		t.Errorf("Mount() after refused Enables mismatch (-want +got):\n%s", diff)
	}
	// The kinds are separate tables, as sys/mounts and sys/auth are.
	f.enable(t, mount.KindAuth, "secret", "userpass")
}

func TestEnableConcurrently(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ok, dup int
	)
	for range n {
		wg.Go(func() {
			_, err := f.svc.Enable(context.Background(), mount.KindSecret, "race", "kv", "", nil, 0, 0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errs.Is(err, errs.AlreadyExists):
				dup++
			default:
				t.Errorf("Enable() error = %v", err)
			}
		})
	}
	wg.Wait()
	if ok != 1 || dup != n-1 {
		t.Errorf("concurrent Enable(): %d succeeded, %d AlreadyExists; want 1 and %d", ok, dup, n-1)
	}
}

// failingSealer is a mount.Sealer that fails.
type failingSealer struct{ err error }

func (s failingSealer) Provision(context.Context, string, *kms.KeyRef) ([]byte, []byte, error) {
	return nil, nil, s.err
}

func TestEnableProvisionFails(t *testing.T) {
	t.Parallel()
	db := sqlitetest.Open(t)
	boom := errs.E(errs.Unavailable, "kms down")
	svc := mount.NewService(db.Mounts(), failingSealer{boom})
	_, err := svc.Enable(t.Context(), mount.KindSecret, "secret", "kv", "", nil, 0, 0)
	if !errors.Is(err, boom) {
		t.Fatalf("Enable() error = %v, want %v", err, boom)
	}
	_, err = svc.Mount(t.Context(), mount.KindSecret, "secret")
	wantErr(t, "Mount() after a failed Enable", err, errs.NotFound, "")
	// Types without a keyring do not provision.
	if _, err := svc.Enable(t.Context(), mount.KindSecret, "transit", "transit", "", nil, 0, 0); err != nil {
		t.Errorf("Enable(transit) error = %v", err)
	}
}

func TestTune(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	m, err := f.svc.Enable(ctx, mount.KindSecret, "secret", "kv", "before", nil, time.Hour, 2*time.Hour)
	if err != nil {
		t.Fatalf("Enable() error = %v", err)
	}
	d := func(v time.Duration) *time.Duration { return &v }
	s := func(v string) *string { return &v }
	steps := []struct {
		name              string
		dflt, max         *time.Duration
		desc              *string
		wantDflt, wantMax time.Duration
		wantDesc          string
		wantMsg           string
	}{
		{name: "nothing", wantDflt: time.Hour, wantMax: 2 * time.Hour, wantDesc: "before"},
		{name: "default", dflt: d(30 * time.Minute), wantDflt: 30 * time.Minute, wantMax: 2 * time.Hour, wantDesc: "before"},
		{name: "max and description", max: d(time.Hour), desc: s("after"),
			wantDflt: 30 * time.Minute, wantMax: time.Hour, wantDesc: "after"},
		{name: "zero max lifts the cap", max: d(0), dflt: d(48 * time.Hour), wantDflt: 48 * time.Hour, wantDesc: "after"},
		{name: "empty description", desc: s(""), wantDflt: 48 * time.Hour},
		{name: "default above max", max: d(time.Hour),
			wantMsg: "given default lease TTL greater than given max lease TTL"},
		{name: "negative", dflt: d(-1), wantMsg: "lease TTLs must not be negative"},
		{name: "NUL description", desc: s("\x00"), wantMsg: "description: must be valid UTF-8 without NUL"},
	}
	for _, st := range steps { // in order: each step builds on the last
		err := f.svc.Tune(ctx, mount.KindSecret, "secret/", st.dflt, st.max, st.desc)
		if st.wantMsg != "" {
			wantErr(t, "Tune("+st.name+")", err, errs.InvalidArgument, st.wantMsg)
			continue
		}
		if err != nil {
			t.Fatalf("Tune(%s) error = %v", st.name, err)
		}
		got, err := f.svc.Mount(ctx, mount.KindSecret, "secret")
		if err != nil {
			t.Fatalf("Mount() error = %v", err)
		}
		want := *m
		want.DefaultLeaseTTL, want.MaxLeaseTTL, want.Description = st.wantDflt, st.wantMax, st.wantDesc
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("Mount() after Tune(%s) mismatch (-want +got):\n%s", st.name, diff)
		}
	}
	wantErr(t, "Tune(unknown)", f.svc.Tune(ctx, mount.KindSecret, "nope", nil, nil, s("x")), errs.NotFound, "")
	wantErr(t, "Tune(other kind)", f.svc.Tune(ctx, mount.KindAuth, "secret", nil, nil, s("x")), errs.NotFound, "")
}

func TestDisable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	first := f.enable(t, mount.KindSecret, "secret", "kv")
	f.enable(t, mount.KindAuth, "secret", "userpass")
	if err := f.svc.Disable(ctx, mount.KindSecret, "secret/"); err != nil {
		t.Fatalf("Disable() error = %v", err)
	}
	_, err := f.svc.Mount(ctx, mount.KindSecret, "secret")
	wantErr(t, "Mount(disabled)", err, errs.NotFound, "")
	_, err = f.svc.Keys(ctx, "secret")
	wantErr(t, "Keys(disabled)", err, errs.NotFound, "")
	wantErr(t, "Disable(again)", f.svc.Disable(ctx, mount.KindSecret, "secret"), errs.NotFound, "")
	wantErr(t, "Disable(invalid path)", f.svc.Disable(ctx, mount.KindSecret, "a/b"), errs.NotFound, "")
	if _, err := f.svc.Mount(ctx, mount.KindAuth, "secret"); err != nil {
		t.Errorf("Mount(auth) after disabling the secret mount: error = %v", err)
	}
	// Enabled again, the path gets a new keyring, accessor and UUID.
	again := f.enable(t, mount.KindSecret, "secret", "kv")
	if bytes.Equal(first.WrappedKeyring, again.WrappedKeyring) || first.Accessor == again.Accessor || first.UUID == again.UUID {
		t.Errorf("Enable() after Disable() reused the keyring, accessor or UUID")
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	a := f.enable(t, mount.KindSecret, "a", "kv")
	f.enable(t, mount.KindSecret, "b", "kv")
	f.enable(t, mount.KindSecret, "transit", "transit")
	f.enable(t, mount.KindAuth, "up", "userpass")

	ka, err := f.svc.Keys(ctx, "a")
	if err != nil {
		t.Fatalf("Keys(a) error = %v", err)
	}
	want := envelope.Keys{InstanceID: "mount:a", WrappedKeyring: a.WrappedKeyring, WrappedFallbackKey: a.WrappedFallbackKey}
	if diff := cmp.Diff(want, ka); diff != "" {
		t.Errorf("Keys(a) mismatch (-want +got):\n%s", diff)
	}
	kb, err := f.svc.Keys(ctx, "b")
	if err != nil {
		t.Fatalf("Keys(b) error = %v", err)
	}
	if kb.InstanceID != "mount:b" || bytes.Equal(ka.WrappedKeyring, kb.WrappedKeyring) ||
		bytes.Equal(ka.WrappedFallbackKey, kb.WrappedFallbackKey) {
		t.Errorf("Keys(b) = %+v, want its own keyring under mount:b", kb)
	}

	aad, plain := []byte("kv/a/p/v1"), []byte("s3cr3t")
	sealed, err := f.env.Seal(ctx, ka, aad, plain)
	if err != nil {
		t.Fatalf("Seal() error = %v", err)
	}
	if got, err := f.env.Open(ctx, ka, aad, sealed); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("Open() under the same mount = %q, %v; want %q", got, err, plain)
	}
	if _, err := f.env.Open(ctx, kb, aad, sealed); err == nil {
		t.Errorf("Open() under another mount's keys succeeded")
	}
	// The keyring is bound to "mount:a": the same wrapped keys under
	// another envelope ID (an instance named "a") do not open.
	asInstance := ka
	asInstance.InstanceID = "a"
	if _, err := f.env.Open(ctx, asInstance, aad, sealed); err == nil {
		t.Errorf("Open() with the mount's keys under an instance ID succeeded")
	}

	for _, path := range []string{"transit", "up", "nope", "", "a/b", "sys"} {
		_, err := f.svc.Keys(ctx, path)
		wantErr(t, "Keys("+path+")", err, errs.NotFound, "")
	}
}

// TestKeysForKV checks that the KV engine works over the keys of a mount.
func TestKeysForKV(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	f.enable(t, mount.KindSecret, "secret", "kv")
	engine := kv.NewService(f.db.KV(), f.svc, f.env)
	if _, err := engine.WriteData(ctx, "secret", "app/db", map[string]any{"password": "pw"}, nil); err != nil {
		t.Fatalf("WriteData() error = %v", err)
	}
	sec, err := engine.ReadData(ctx, "secret", "app/db", 0)
	if err != nil {
		t.Fatalf("ReadData() error = %v", err)
	}
	if diff := cmp.Diff(map[string]any{"password": "pw"}, sec.Data); diff != "" {
		t.Errorf("ReadData() mismatch (-want +got):\n%s", diff)
	}
	if _, err := engine.WriteData(ctx, "nope", "p", map[string]any{"a": "b"}, nil); !errs.Is(err, errs.NotFound) {
		t.Errorf("WriteData(unknown mount) error = %v, want kind %v", err, errs.NotFound)
	}
}
