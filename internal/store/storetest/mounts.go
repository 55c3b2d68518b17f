package storetest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/mount"
)

func testMounts(t *testing.T, open func(t *testing.T) Stores) {
	t.Run("CRUD", func(t *testing.T) { testMountCRUD(t, open) })
	t.Run("KindsAreSeparate", func(t *testing.T) { testMountKinds(t, open) })
	t.Run("Ordering", func(t *testing.T) { testMountOrdering(t, open) })
	t.Run("AlreadyExists", func(t *testing.T) { testMountConflicts(t, open) })
	t.Run("InvalidArgument", func(t *testing.T) { testMountInvalid(t, open) })
	t.Run("NotFound", func(t *testing.T) { testMountNotFound(t, open) })
	t.Run("Times", func(t *testing.T) { testMountTimes(t, open) })
	t.Run("Copies", func(t *testing.T) { testMountCopies(t, open) })
	t.Run("SetOptions", func(t *testing.T) { testMountSetOptions(t, open) })
	t.Run("Users", func(t *testing.T) { testUserpassCRUD(t, open) })
	t.Run("UsersNeedAnAuthMount", func(t *testing.T) { testUserpassNeedsMount(t, open) })
	t.Run("UsersCascade", func(t *testing.T) { testUserpassCascade(t, open) })
	t.Run("UserCopies", func(t *testing.T) { testUserpassCopies(t, open) })
}

func testMountCRUD(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Mounts
	ctx := t.Context()
	kv := newMount(mount.KindSecret, "secret", "kv")
	transit := newMount(mount.KindSecret, "transit", "transit")
	transit.Options, transit.WrappedKeyring, transit.WrappedFallbackKey = nil, nil, nil
	for _, m := range []*mount.Mount{kv, transit} {
		mustOK(t, "CreateMount("+m.Path+")", s.CreateMount(ctx, cloneMount(m)))
		wantMount(t, s, m)
	}

	tuned := cloneMount(kv)
	tuned.DefaultLeaseTTL, tuned.MaxLeaseTTL, tuned.Description = time.Hour, 48*time.Hour, "tuned"
	// TuneMount changes nothing else, whatever the other fields say.
	tuned.Type, tuned.Accessor, tuned.UUID, tuned.Options = "transit", "other", uuid.NewString(), map[string]string{"x": "y"}
	tuned.CreatedAt, tuned.WrappedKeyring = at(60), []byte("other keyring")
	mustOK(t, "TuneMount()", s.TuneMount(ctx, tuned))
	kv.DefaultLeaseTTL, kv.MaxLeaseTTL, kv.Description = time.Hour, 48*time.Hour, "tuned"
	wantMount(t, s, kv)
	wantMount(t, s, transit)

	mustOK(t, "DeleteMount()", s.DeleteMount(ctx, mount.KindSecret, kv.Path))
	_, err := s.Mount(ctx, mount.KindSecret, kv.Path)
	wantKind(t, "Mount(deleted)", err, errs.NotFound)
	wantKind(t, "DeleteMount(again)", s.DeleteMount(ctx, mount.KindSecret, kv.Path), errs.NotFound)
	wantKind(t, "TuneMount(deleted)", s.TuneMount(ctx, kv), errs.NotFound)
	wantMounts(t, s, mount.KindSecret, []*mount.Mount{transit})

	// The path is free again, and so is the accessor.
	mustOK(t, "CreateMount(again)", s.CreateMount(ctx, cloneMount(kv)))
	wantMount(t, s, kv)
}

func testMountKinds(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Mounts
	ctx := t.Context()
	secret := newMount(mount.KindSecret, "shared", "kv")
	auth := newMount(mount.KindAuth, "shared", "userpass")
	auth.Options, auth.WrappedKeyring, auth.WrappedFallbackKey = map[string]string{}, nil, nil
	mustOK(t, "CreateMount(secret)", s.CreateMount(ctx, cloneMount(secret)))
	mustOK(t, "CreateMount(auth, same path)", s.CreateMount(ctx, cloneMount(auth)))
	wantMount(t, s, secret)
	wantMount(t, s, auth)
	wantMounts(t, s, mount.KindSecret, []*mount.Mount{secret})
	wantMounts(t, s, mount.KindAuth, []*mount.Mount{auth})
	wantMounts(t, s, "other", []*mount.Mount{})

	mustOK(t, "DeleteMount(secret)", s.DeleteMount(ctx, mount.KindSecret, "shared"))
	wantMount(t, s, auth)
	wantMounts(t, s, mount.KindSecret, []*mount.Mount{})
}

func testMountOrdering(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Mounts
	ctx := t.Context()
	// Bytewise order, as Go compares strings: digits, upper case, "_",
	// lower case; a prefix first.
	paths := []string{"b", "a_b", "a-b", "a", "B", "0", "a.b", "ab", uuid.Max.String()}
	var want []*mount.Mount
	for _, p := range paths {
		m := newMount(mount.KindSecret, p, "transit")
		mustOK(t, "CreateMount("+p+")", s.CreateMount(ctx, cloneMount(m)))
		want = append(want, m)
	}
	slices.SortFunc(want, func(a, b *mount.Mount) int { return strings.Compare(a.Path, b.Path) })
	wantMounts(t, s, mount.KindSecret, want)
	wantMounts(t, s, mount.KindAuth, []*mount.Mount{})
}

func testMountConflicts(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Mounts
	ctx := t.Context()
	m := newMount(mount.KindSecret, "secret", "kv")
	mustOK(t, "CreateMount()", s.CreateMount(ctx, cloneMount(m)))

	samePath := newMount(mount.KindSecret, "secret", "transit")
	wantKind(t, "CreateMount(same path)", s.CreateMount(ctx, samePath), errs.AlreadyExists)
	sameAccessor := newMount(mount.KindAuth, "other", "userpass")
	sameAccessor.Accessor = m.Accessor
	wantKind(t, "CreateMount(same accessor)", s.CreateMount(ctx, sameAccessor), errs.AlreadyExists)
	wantMount(t, s, m)
	wantMounts(t, s, mount.KindAuth, []*mount.Mount{})
}

func testMountInvalid(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Mounts
	ctx := t.Context()
	for name, edit := range map[string]func(m *mount.Mount){
		"no kind":              func(m *mount.Mount) { m.Kind = "" },
		"unknown kind":         func(m *mount.Mount) { m.Kind = "other" },
		"no path":              func(m *mount.Mount) { m.Path = "" },
		"no accessor":          func(m *mount.Mount) { m.Accessor = "" },
		"negative default TTL": func(m *mount.Mount) { m.DefaultLeaseTTL = -time.Second },
		"negative max TTL":     func(m *mount.Mount) { m.MaxLeaseTTL = -time.Second },
	} {
		m := newMount(mount.KindSecret, unique("p"), "kv")
		edit(m)
		wantKind(t, "CreateMount("+name+")", s.CreateMount(ctx, m), errs.InvalidArgument)
	}
	wantMounts(t, s, mount.KindSecret, []*mount.Mount{})

	m := newMount(mount.KindSecret, "secret", "kv")
	mustOK(t, "CreateMount()", s.CreateMount(ctx, cloneMount(m)))
	bad := cloneMount(m)
	bad.MaxLeaseTTL = -time.Second
	wantKind(t, "TuneMount(negative TTL)", s.TuneMount(ctx, bad), errs.InvalidArgument)
	wantMount(t, s, m)
}

func testMountNotFound(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Mounts
	ctx := t.Context()
	m := newMount(mount.KindSecret, "secret", "kv")
	mustOK(t, "CreateMount()", s.CreateMount(ctx, cloneMount(m)))
	for _, c := range []struct{ kind, path string }{
		{mount.KindAuth, "secret"}, {mount.KindSecret, "Secret"}, {mount.KindSecret, "secret/"},
		{mount.KindSecret, "secre"}, {mount.KindSecret, ""}, {"", "secret"}, {"other", "secret"},
	} {
		op := fmt.Sprintf("(%q, %q)", c.kind, c.path)
		_, err := s.Mount(ctx, c.kind, c.path)
		wantKind(t, "Mount"+op, err, errs.NotFound)
		other := cloneMount(m)
		other.Kind, other.Path = c.kind, c.path
		wantKind(t, "TuneMount"+op, s.TuneMount(ctx, other), errs.NotFound)
		wantKind(t, "DeleteMount"+op, s.DeleteMount(ctx, c.kind, c.path), errs.NotFound)
	}
	wantMount(t, s, m)
}

func testMountTimes(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Mounts
	ctx := t.Context()
	m := newMount(mount.KindSecret, "secret", "kv")
	m.CreatedAt = at(0).Add(789 * time.Nanosecond).In(time.FixedZone("CEST", 2*60*60))
	mustOK(t, "CreateMount()", s.CreateMount(ctx, cloneMount(m)))
	m.CreatedAt = at(0)
	wantMount(t, s, m)

	mustOK(t, "CreateMount(auth)", s.CreateMount(ctx, newMount(mount.KindAuth, "up", "userpass")))
	u := newUserpass("up", "alice")
	u.UpdatedAt = at(1).Add(999 * time.Nanosecond).In(time.FixedZone("EST", -5*60*60))
	mustOK(t, "PutUser()", s.PutUser(ctx, cloneUserpass(u)))
	u.UpdatedAt = at(1)
	wantUserpass(t, s, u)
}

func testMountCopies(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Mounts
	ctx := t.Context()
	m := newMount(mount.KindSecret, "secret", "kv")
	want := cloneMount(m)
	mustOK(t, "CreateMount()", s.CreateMount(ctx, m))
	scribbleMount(m)
	kept, err := s.Mount(ctx, mount.KindSecret, "secret")
	mustOK(t, "Mount()", err)
	scribbleMount(kept)
	list, err := s.ListMounts(ctx, mount.KindSecret)
	mustOK(t, "ListMounts()", err)
	scribbleMount(list[0])
	wantMount(t, s, want)
}

func testMountSetOptions(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Mounts
	ctx := t.Context()
	kv := newMount(mount.KindSecret, "secret", "kv")
	transit := newMount(mount.KindSecret, "transit", "transit")
	transit.Options, transit.WrappedKeyring, transit.WrappedFallbackKey = nil, nil, nil
	auth := newMount(mount.KindAuth, "transit", "userpass")
	for _, m := range []*mount.Mount{kv, transit, auth} {
		mustOK(t, "CreateMount("+m.Path+")", s.CreateMount(ctx, cloneMount(m)))
	}

	// A mount without options gets them; the mount of the other kind at
	// the same path and every other field stay as they were.
	mustOK(t, "SetMountOptions(nil options)", s.SetMountOptions(ctx, mount.KindSecret, "transit",
		map[string]string{"disable_upsert": "true"}))
	transit.Options = map[string]string{"disable_upsert": "true"}
	wantMount(t, s, transit)
	wantMount(t, s, auth)
	// Existing options are kept, given ones replaced or added.
	mustOK(t, "SetMountOptions(merge)", s.SetMountOptions(ctx, mount.KindSecret, "transit",
		map[string]string{"cache_size": "20", "disable_upsert": "false"}))
	transit.Options = map[string]string{"disable_upsert": "false", "cache_size": "20"}
	wantMount(t, s, transit)
	mustOK(t, "SetMountOptions(kv)", s.SetMountOptions(ctx, mount.KindSecret, "secret", map[string]string{"x": "ü\"\n"}))
	kv.Options["x"] = "ü\"\n"
	wantMount(t, s, kv)
	mustOK(t, "SetMountOptions(empty)", s.SetMountOptions(ctx, mount.KindSecret, "secret", nil))
	wantMount(t, s, kv)

	// The caller's map is not kept.
	set := map[string]string{"cache_size": "30"}
	mustOK(t, "SetMountOptions()", s.SetMountOptions(ctx, mount.KindSecret, "transit", set))
	set["cache_size"] = "X"
	transit.Options["cache_size"] = "30"
	wantMount(t, s, transit)

	for _, c := range []struct{ kind, path string }{{mount.KindAuth, "secret"}, {mount.KindSecret, "nope"}, {"", "transit"}} {
		wantKind(t, fmt.Sprintf("SetMountOptions(%q, %q)", c.kind, c.path),
			s.SetMountOptions(ctx, c.kind, c.path, map[string]string{"a": "b"}), errs.NotFound)
	}

	// Concurrent calls on different options all take effect.
	const n = 8
	errc := make(chan error, n)
	for i := range n {
		go func() {
			errc <- s.SetMountOptions(ctx, mount.KindSecret, "transit", map[string]string{fmt.Sprint("opt", i): "v"})
		}()
	}
	for range n {
		mustOK(t, "SetMountOptions(concurrent)", <-errc)
	}
	for i := range n {
		transit.Options[fmt.Sprint("opt", i)] = "v"
	}
	wantMount(t, s, transit)
}

func testUserpassCRUD(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Mounts
	ctx := t.Context()
	mustOK(t, "CreateMount()", s.CreateMount(ctx, newMount(mount.KindAuth, "up", "userpass")))
	mustOK(t, "CreateMount(other)", s.CreateMount(ctx, newMount(mount.KindAuth, "other", "userpass")))
	bob, alice := newUserpass("up", "bob"), newUserpass("up", "alice")
	bare := &mount.User{Mount: "up", Username: "carol", PasswordHash: []byte("h"), UpdatedAt: at(0)}
	empty := &mount.User{Mount: "up", Username: "dave", PasswordHash: []byte("h"), UpdatedAt: at(0),
		Policies: []string{}, BoundCIDRs: []string{}}
	elsewhere := newUserpass("other", "alice")
	for _, u := range []*mount.User{bob, alice, bare, empty, elsewhere} {
		mustOK(t, "PutUser("+u.Username+")", s.PutUser(ctx, cloneUserpass(u)))
		wantUserpass(t, s, u)
	}
	wantUserpasses(t, s, "up", []*mount.User{alice, bob, bare, empty})

	// PutUser replaces every field of an existing user.
	alice2 := newUserpass("up", "alice")
	alice2.PasswordHash, alice2.Policies, alice2.BoundCIDRs = []byte("new hash"), nil, []string{"192.0.2.0/24"}
	alice2.TTL, alice2.MaxTTL, alice2.UpdatedAt = 0, 0, at(30)
	mustOK(t, "PutUser(replace)", s.PutUser(ctx, cloneUserpass(alice2)))
	wantUserpass(t, s, alice2)
	wantUserpass(t, s, elsewhere)

	mustOK(t, "DeleteUser()", s.DeleteUser(ctx, "up", "bob"))
	_, err := s.User(ctx, "up", "bob")
	wantKind(t, "User(deleted)", err, errs.NotFound)
	wantKind(t, "DeleteUser(again)", s.DeleteUser(ctx, "up", "bob"), errs.NotFound)
	wantUserpasses(t, s, "up", []*mount.User{alice2, bare, empty})
	for _, c := range []struct{ mount, username string }{
		{"up", "Alice"}, {"up", "alic"}, {"up", ""}, {"", "alice"}, {"nowhere", "alice"}, {"UP", "alice"},
	} {
		op := fmt.Sprintf("(%q, %q)", c.mount, c.username)
		_, err := s.User(ctx, c.mount, c.username)
		wantKind(t, "User"+op, err, errs.NotFound)
		wantKind(t, "DeleteUser"+op, s.DeleteUser(ctx, c.mount, c.username), errs.NotFound)
	}
	wantUserpasses(t, s, "nowhere", []*mount.User{})

	for name, u := range map[string]*mount.User{
		"no username":      {Mount: "up", PasswordHash: []byte("h"), UpdatedAt: at(0)},
		"no mount":         {Username: "eve", PasswordHash: []byte("h"), UpdatedAt: at(0)},
		"negative ttl":     {Mount: "up", Username: "eve", TTL: -time.Second, UpdatedAt: at(0)},
		"negative max_ttl": {Mount: "up", Username: "eve", MaxTTL: -time.Second, UpdatedAt: at(0)},
	} {
		wantKind(t, "PutUser("+name+")", s.PutUser(ctx, u), errs.InvalidArgument)
	}
	wantUserpasses(t, s, "up", []*mount.User{alice2, bare, empty})
}

func testUserpassNeedsMount(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Mounts
	ctx := t.Context()
	wantKind(t, "PutUser(no mount)", s.PutUser(ctx, newUserpass("up", "alice")), errs.NotFound)
	mustOK(t, "CreateMount(secret)", s.CreateMount(ctx, newMount(mount.KindSecret, "up", "kv")))
	wantKind(t, "PutUser(secret mount)", s.PutUser(ctx, newUserpass("up", "alice")), errs.NotFound)
	wantUserpasses(t, s, "up", []*mount.User{})
}

func testUserpassCascade(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Mounts
	ctx := t.Context()
	mustOK(t, "CreateMount(auth)", s.CreateMount(ctx, newMount(mount.KindAuth, "up", "userpass")))
	mustOK(t, "CreateMount(secret, same path)", s.CreateMount(ctx, newMount(mount.KindSecret, "up", "kv")))
	mustOK(t, "CreateMount(other)", s.CreateMount(ctx, newMount(mount.KindAuth, "other", "userpass")))
	alice, bob, kept := newUserpass("up", "alice"), newUserpass("up", "bob"), newUserpass("other", "alice")
	for _, u := range []*mount.User{alice, bob, kept} {
		mustOK(t, "PutUser()", s.PutUser(ctx, cloneUserpass(u)))
	}
	// Deleting the secret mount of the same path leaves the users alone.
	mustOK(t, "DeleteMount(secret)", s.DeleteMount(ctx, mount.KindSecret, "up"))
	wantUserpasses(t, s, "up", []*mount.User{alice, bob})

	mustOK(t, "DeleteMount(auth)", s.DeleteMount(ctx, mount.KindAuth, "up"))
	wantUserpasses(t, s, "up", []*mount.User{})
	_, err := s.User(ctx, "up", "alice")
	wantKind(t, "User(of a deleted mount)", err, errs.NotFound)
	wantUserpass(t, s, kept)
	// A mount enabled again at the path starts without users.
	mustOK(t, "CreateMount(auth again)", s.CreateMount(ctx, newMount(mount.KindAuth, "up", "userpass")))
	wantUserpasses(t, s, "up", []*mount.User{})
}

func testUserpassCopies(t *testing.T, open func(t *testing.T) Stores) {
	t.Parallel()
	s := open(t).Mounts
	ctx := t.Context()
	mustOK(t, "CreateMount()", s.CreateMount(ctx, newMount(mount.KindAuth, "up", "userpass")))
	u := newUserpass("up", "alice")
	want := cloneUserpass(u)
	mustOK(t, "PutUser()", s.PutUser(ctx, u))
	scribbleUserpass(u)
	got, err := s.User(ctx, "up", "alice")
	mustOK(t, "User()", err)
	scribbleUserpass(got)
	list, err := s.ListUsers(ctx, "up")
	mustOK(t, "ListUsers()", err)
	scribbleUserpass(list[0])
	wantUserpass(t, s, want)
}

// newMount returns a mount with every field set.
func newMount(kind, path, typ string) *mount.Mount {
	return &mount.Mount{
		Kind:               kind,
		Path:               path,
		Type:               typ,
		Description:        "a " + typ + " mount",
		Accessor:           unique(typ),
		UUID:               uuid.NewString(),
		Options:            map[string]string{"version": "2"},
		DefaultLeaseTTL:    15 * time.Minute,
		MaxLeaseTTL:        87600 * time.Hour,
		CreatedAt:          at(0),
		WrappedKeyring:     []byte("wrapped keyring " + unique("k")),
		WrappedFallbackKey: append([]byte("wrapped fallback key "), allBytes()...),
	}
}

// newUserpass returns a user of mountPath with every field set.
func newUserpass(mountPath, username string) *mount.User {
	return &mount.User{
		Mount:        mountPath,
		Username:     username,
		PasswordHash: []byte("$argon2id$v=19$m=19456,t=2,p=1$" + unique("salt") + "$" + unique("hash")),
		Policies:     []string{"app", "default"},
		TTL:          time.Hour,
		MaxTTL:       24 * time.Hour,
		BoundCIDRs:   []string{"10.0.0.0/8", "2001:db8::/32"},
		UpdatedAt:    at(0),
	}
}

func cloneMount(m *mount.Mount) *mount.Mount {
	c := *m
	c.Options = maps.Clone(m.Options)
	c.WrappedKeyring, c.WrappedFallbackKey = cloneNil(m.WrappedKeyring), cloneNil(m.WrappedFallbackKey)
	return &c
}

func cloneUserpass(u *mount.User) *mount.User {
	c := *u
	c.PasswordHash = cloneNil(u.PasswordHash)
	c.Policies, c.BoundCIDRs = slices.Clone(u.Policies), slices.Clone(u.BoundCIDRs)
	return &c
}

// cloneNil copies b, keeping nil nil.
func cloneNil(b []byte) []byte {
	if b == nil {
		return nil
	}
	return clone(b)
}

// scribbleMount overwrites the bytes and map of m in place.
func scribbleMount(m *mount.Mount) {
	scribble(m.WrappedKeyring, m.WrappedFallbackKey)
	for k := range m.Options {
		m.Options[k] = "X"
	}
	if m.Options != nil {
		m.Options["scribbled"] = "X"
	}
}

// scribbleUserpass overwrites the bytes and slices of u in place.
func scribbleUserpass(u *mount.User) {
	scribble(u.PasswordHash)
	for i := range u.Policies {
		u.Policies[i] = "X"
	}
	for i := range u.BoundCIDRs {
		u.BoundCIDRs[i] = "X"
	}
}

// wantMount fails t unless s holds want.
func wantMount(t *testing.T, s mount.Store, want *mount.Mount) {
	t.Helper()
	got, err := s.Mount(t.Context(), want.Kind, want.Path)
	mustOK(t, "Mount()", err)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Mount(%s, %s) mismatch (-want +got):\n%s", want.Kind, want.Path, diff)
	}
	wantUTC(t, "Mount()", got.CreatedAt)
}

// wantMounts fails t unless the mounts of kind are exactly want, in order.
func wantMounts(t *testing.T, s mount.Store, kind string, want []*mount.Mount) {
	t.Helper()
	got, err := s.ListMounts(t.Context(), kind)
	mustOK(t, "ListMounts()", err)
	if got == nil {
		t.Errorf("ListMounts(%s) = nil, want a non-nil slice", kind)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListMounts(%s) mismatch (-want +got):\n%s", kind, diff)
	}
}

// wantUserpass fails t unless s holds want.
func wantUserpass(t *testing.T, s mount.Store, want *mount.User) {
	t.Helper()
	got, err := s.User(t.Context(), want.Mount, want.Username)
	mustOK(t, "User()", err)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("User(%s, %s) mismatch (-want +got):\n%s", want.Mount, want.Username, diff)
	}
	wantUTC(t, "User()", got.UpdatedAt)
}

// wantUserpasses fails t unless the users of mountPath are exactly want,
// in order.
func wantUserpasses(t *testing.T, s mount.Store, mountPath string, want []*mount.User) {
	t.Helper()
	got, err := s.ListUsers(t.Context(), mountPath)
	mustOK(t, "ListUsers()", err)
	if got == nil {
		t.Errorf("ListUsers(%s) = nil, want a non-nil slice", mountPath)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListUsers(%s) mismatch (-want +got):\n%s", mountPath, diff)
	}
}
