package mount_test

import (
	"bytes"
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/crypto/argon2"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/mount"
)

func ptr[T any](v T) *T { return &v }

// mustPutUser writes a user and fails t on error. Each call with a
// password costs one argon2id derivation.
func (f *fixture) mustPutUser(t *testing.T, mountPath, username string, spec mount.UserSpec) {
	t.Helper()
	if err := f.svc.PutUser(t.Context(), mountPath, username, spec); err != nil {
		t.Fatalf("PutUser(%s, %s) error = %v", mountPath, username, err)
	}
}

func (f *fixture) mustUser(t *testing.T, mountPath, username string) *mount.User {
	t.Helper()
	u, err := f.svc.User(t.Context(), mountPath, username)
	if err != nil {
		t.Fatalf("User(%s, %s) error = %v", mountPath, username, err)
	}
	return u
}

// ignoreHash compares users without their password hash.
var ignoreHash = cmpopts.IgnoreFields(mount.User{}, "PasswordHash")

func TestUsers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	f.enable(t, mount.KindAuth, "up", "userpass")
	f.enable(t, mount.KindAuth, "other", "userpass")

	f.mustPutUser(t, "up/", "Alice", mount.UserSpec{Password: ptr("correct horse"),
		Policies: []string{" App ", "default", "app", ""}, TTL: ptr(time.Hour), MaxTTL: ptr(2 * time.Hour),
		BoundCIDRs: []string{"10.1.2.3", "192.168.1.7/24", "::ffff:10.0.0.1"}})
	want := &mount.User{Mount: "up", Username: "alice", Policies: []string{"app", "default"}, TTL: time.Hour,
		MaxTTL: 2 * time.Hour, BoundCIDRs: []string{"10.1.2.3/32", "192.168.1.0/24", "10.0.0.1/32"}, UpdatedAt: start}
	alice := f.mustUser(t, "up", "ALICE")
	if diff := cmp.Diff(want, alice, ignoreHash); diff != "" {
		t.Errorf("User() mismatch (-want +got):\n%s", diff)
	}
	f.mustPutUser(t, "up", "bob", mount.UserSpec{Password: ptr(strings.Repeat("p", mount.MaxPasswordLen))})
	bob := f.mustUser(t, "up", "bob")
	if diff := cmp.Diff(&mount.User{Mount: "up", Username: "bob", UpdatedAt: start}, bob, ignoreHash); diff != "" {
		t.Errorf("User(bob) mismatch (-want +got):\n%s", diff)
	}

	// An update changes only what it is given, and keeps the password.
	f.mustPutUser(t, "up", "alice", mount.UserSpec{Policies: []string{"ops"}, TTL: ptr(30 * time.Minute)})
	want.Policies, want.TTL = []string{"ops"}, 30*time.Minute
	got := f.mustUser(t, "up", "alice")
	if diff := cmp.Diff(want, got, ignoreHash); diff != "" {
		t.Errorf("User() after update mismatch (-want +got):\n%s", diff)
	}
	if !bytes.Equal(got.PasswordHash, alice.PasswordHash) {
		t.Errorf("PutUser() without a password changed the password hash")
	}
	// Empty lists clear their setting.
	f.mustPutUser(t, "up", "alice", mount.UserSpec{Policies: []string{}, BoundCIDRs: []string{}})
	want.Policies, want.BoundCIDRs = nil, nil
	if diff := cmp.Diff(want, f.mustUser(t, "up", "alice"), ignoreHash); diff != "" {
		t.Errorf("User() after clearing mismatch (-want +got):\n%s", diff)
	}

	names, err := f.svc.ListUsers(ctx, "up")
	if err != nil {
		t.Fatalf("ListUsers() error = %v", err)
	}
	if diff := cmp.Diff([]string{"alice", "bob"}, names); diff != "" {
		t.Errorf("ListUsers() mismatch (-want +got):\n%s", diff)
	}
	if names, err := f.svc.ListUsers(ctx, "other"); err != nil || names == nil || len(names) != 0 {
		t.Errorf("ListUsers(other) = %#v, %v; want an empty slice", names, err)
	}

	if err := f.svc.DeleteUser(ctx, "up", "Bob"); err != nil {
		t.Fatalf("DeleteUser() error = %v", err)
	}
	_, err = f.svc.User(ctx, "up", "bob")
	wantErr(t, "User(deleted)", err, errs.NotFound, "")
	wantErr(t, "DeleteUser(again)", f.svc.DeleteUser(ctx, "up", "bob"), errs.NotFound, "")
	wantErr(t, "DeleteUser(invalid name)", f.svc.DeleteUser(ctx, "up", "-bob"), errs.NotFound, "")
	_, err = f.svc.User(ctx, "up", "-alice")
	wantErr(t, "User(invalid name)", err, errs.NotFound, "")
	_, err = f.svc.User(ctx, "other", "alice")
	wantErr(t, "User(other mount)", err, errs.NotFound, "")

	// Disabling the mount removes its users.
	if err := f.svc.Disable(ctx, mount.KindAuth, "up"); err != nil {
		t.Fatalf("Disable() error = %v", err)
	}
	f.enable(t, mount.KindAuth, "up", "userpass")
	_, err = f.svc.User(ctx, "up", "alice")
	wantErr(t, "User() after Disable and Enable", err, errs.NotFound, "")
}

func TestPutUserInvalid(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	f.enable(t, mount.KindAuth, "up", "userpass")
	f.enable(t, mount.KindSecret, "secret", "kv")
	// A user to update; the cases below must not change it.
	f.mustPutUser(t, "up", "alice", mount.UserSpec{Password: ptr("pw"), TTL: ptr(time.Hour), MaxTTL: ptr(2 * time.Hour)})
	before := f.mustUser(t, "up", "alice")
	pw := ptr("pw")
	t.Run("cases", func(t *testing.T) {
		for _, tc := range []struct {
			name, mount, username string
			spec                  mount.UserSpec
			wantKind              errs.Kind
			wantMsg               string
		}{
			{name: "no password", mount: "up", username: "bob", wantKind: errs.InvalidArgument, wantMsg: "missing password"},
			{name: "no password, policies", mount: "up", username: "bob", spec: mount.UserSpec{Policies: []string{"a"}},
				wantKind: errs.InvalidArgument, wantMsg: "missing password"},
			{name: "empty password", mount: "up", username: "alice", spec: mount.UserSpec{Password: ptr("")},
				wantKind: errs.InvalidArgument, wantMsg: "missing password"},
			{name: "password too long", mount: "up", username: "alice",
				spec:     mount.UserSpec{Password: ptr(strings.Repeat("p", mount.MaxPasswordLen+1))},
				wantKind: errs.InvalidArgument, wantMsg: "password: must be at most 1024 bytes long"},
			{name: "password_hash", mount: "up", username: "bob",
				spec:     mount.UserSpec{PasswordHash: ptr("$2a$10$abcdefghijklmnopqrstuv")},
				wantKind: errs.InvalidArgument, wantMsg: "password_hash is not supported; send password"},
			{name: "password and password_hash", mount: "up", username: "alice",
				spec:     mount.UserSpec{Password: pw, PasswordHash: ptr("$2a$10$x")},
				wantKind: errs.InvalidArgument, wantMsg: "password_hash is not supported; send password"},
			{name: "invalid username", mount: "up", username: "-bob", spec: mount.UserSpec{Password: pw},
				wantKind: errs.InvalidArgument, wantMsg: "username: must not begin with '-'"},
			{name: "root policy", mount: "up", username: "alice", spec: mount.UserSpec{Policies: []string{"app", " Root"}},
				wantKind: errs.InvalidArgument, wantMsg: "token_policies: auth methods cannot create root tokens"},
			{name: "control character in policy", mount: "up", username: "alice",
				spec: mount.UserSpec{Policies: []string{"a\nb"}}, wantKind: errs.InvalidArgument,
				wantMsg: "token_policies: names must be UTF-8 without control characters"},
			{name: "bad CIDR", mount: "up", username: "alice", spec: mount.UserSpec{BoundCIDRs: []string{"10.0.0.0/33"}},
				wantKind: errs.InvalidArgument, wantMsg: `token_bound_cidrs: "10.0.0.0/33" is not a CIDR or an IP address`},
			{name: "zoned address", mount: "up", username: "alice", spec: mount.UserSpec{BoundCIDRs: []string{"fe80::1%eth0"}},
				wantKind: errs.InvalidArgument, wantMsg: `token_bound_cidrs: "fe80::1%eth0" is not a CIDR or an IP address`},
			{name: "negative ttl", mount: "up", username: "alice", spec: mount.UserSpec{TTL: ptr(-time.Second)},
				wantKind: errs.InvalidArgument, wantMsg: "token_ttl and token_max_ttl must not be negative"},
			{name: "ttl above the user's max_ttl", mount: "up", username: "alice", spec: mount.UserSpec{TTL: ptr(3 * time.Hour)},
				wantKind: errs.InvalidArgument, wantMsg: "'token_ttl' cannot be greater than 'token_max_ttl'"},
			{name: "max_ttl below the user's ttl", mount: "up", username: "alice", spec: mount.UserSpec{MaxTTL: ptr(time.Minute)},
				wantKind: errs.InvalidArgument, wantMsg: "'token_ttl' cannot be greater than 'token_max_ttl'"},
			{name: "unknown mount", mount: "nope", username: "bob", spec: mount.UserSpec{Password: pw},
				wantKind: errs.NotFound},
			{name: "secret mount", mount: "secret", username: "bob", spec: mount.UserSpec{Password: pw},
				wantKind: errs.NotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				err := f.svc.PutUser(t.Context(), tc.mount, tc.username, tc.spec)
				wantErr(t, "PutUser()", err, tc.wantKind, tc.wantMsg)
			})
		}
	})
	after, err := f.svc.User(ctx, "up", "alice")
	if err != nil {
		t.Fatalf("User() error = %v", err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("refused PutUser() calls changed the user (-want +got):\n%s", diff)
	}
	if names, err := f.svc.ListUsers(ctx, "up"); err != nil || len(names) != 1 {
		t.Errorf("ListUsers() = %v, %v; want [alice]", names, err)
	}
}

func TestUsersOfOtherAuthTypes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	// Enable knows only userpass auth mounts; the store may hold others.
	other := &mount.Mount{Kind: mount.KindAuth, Path: "ldap", Type: "ldap", Accessor: "ldap_01234567", CreatedAt: start}
	if err := f.db.Mounts().CreateMount(ctx, other); err != nil {
		t.Fatalf("CreateMount() error = %v", err)
	}
	const msg = "auth mount ldap/ is of type ldap, not userpass"
	wantErr(t, "PutUser()", f.svc.PutUser(ctx, "ldap", "alice", mount.UserSpec{Password: ptr("pw")}), errs.InvalidArgument, msg)
	_, err := f.svc.User(ctx, "ldap", "alice")
	wantErr(t, "User()", err, errs.InvalidArgument, msg)
	_, err = f.svc.ListUsers(ctx, "ldap")
	wantErr(t, "ListUsers()", err, errs.InvalidArgument, msg)
	wantErr(t, "DeleteUser()", f.svc.DeleteUser(ctx, "ldap", "alice"), errs.InvalidArgument, msg)
	_, err = f.svc.Login(ctx, "ldap", "alice", "pw")
	wantErr(t, "Login()", err, errs.InvalidArgument, msg)
	for _, path := range []string{"nope", "a/b"} {
		_, err := f.svc.ListUsers(ctx, path)
		wantErr(t, "ListUsers("+path+")", err, errs.NotFound, "")
		_, err = f.svc.Login(ctx, path, "alice", "pw")
		wantErr(t, "Login("+path+")", err, errs.NotFound, "")
	}
}

func TestLogin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	f.enable(t, mount.KindAuth, "up", "userpass")
	f.enable(t, mount.KindAuth, "other", "userpass")
	f.mustPutUser(t, "up", "alice", mount.UserSpec{Password: ptr("correct horse"), Policies: []string{"app"},
		TTL: ptr(time.Hour), BoundCIDRs: []string{"10.0.0.0/8"}})

	u, err := f.svc.Login(ctx, "up", "Alice", "correct horse")
	if err != nil {
		t.Fatalf("Login() error = %v", err)
	}
	want := &mount.User{Mount: "up", Username: "alice", Policies: []string{"app"}, TTL: time.Hour,
		BoundCIDRs: []string{"10.0.0.0/8"}, UpdatedAt: start}
	if diff := cmp.Diff(want, u); diff != "" {
		t.Errorf("Login() mismatch (-want +got):\n%s", diff)
	}

	// Every failure is the same error, whatever its cause.
	const msg = "invalid username or password"
	var failures []error
	for _, tc := range []struct{ name, mount, username, password string }{
		{"wrong password", "up", "alice", "correct horse!"},
		{"empty password", "up", "alice", ""},
		{"unknown user", "up", "bob", "correct horse"},
		{"user of another mount", "other", "alice", "correct horse"},
		{"invalid username", "up", "-alice", "correct horse"},
		{"password too long", "up", "alice", strings.Repeat("p", mount.MaxPasswordLen+1)},
	} {
		_, err := f.svc.Login(ctx, tc.mount, tc.username, tc.password)
		wantErr(t, "Login("+tc.name+")", err, errs.InvalidArgument, msg)
		failures = append(failures, err)
	}
	for _, err := range failures[1:] {
		if err.Error() != failures[0].Error() {
			t.Errorf("Login() failures differ: %q and %q", failures[0], err)
		}
	}

	// A new password replaces the old one.
	f.mustPutUser(t, "up", "alice", mount.UserSpec{Password: ptr("battery staple")})
	_, err = f.svc.Login(ctx, "up", "alice", "correct horse")
	wantErr(t, "Login(old password)", err, errs.InvalidArgument, msg)
	if _, err := f.svc.Login(ctx, "up", "alice", "battery staple"); err != nil {
		t.Errorf("Login(new password) error = %v", err)
	}
}

func TestLoginDamagedHash(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	f.enable(t, mount.KindAuth, "up", "userpass")
	salt, key := base64.RawStdEncoding.EncodeToString(make([]byte, 16)), base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	for i, h := range []string{
		"",
		"garbage",
		"$2a$10$abcdefghijklmnopqrstuv",
		"$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=4294967295,t=2,p=1$" + salt + "$" + key, // would allocate 4 TiB
		"$argon2id$v=19$m=19456,t=1000000,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=256$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1,x=1$" + salt + "$" + key,
		"$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$",
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$",
		"$argon2id$v=19$m=19456,t=2,p=1$!!$" + key,
	} {
		name := "u" + strconv.Itoa(i)
		u := &mount.User{Mount: "up", Username: name, PasswordHash: []byte(h), UpdatedAt: start}
		if err := f.db.Mounts().PutUser(ctx, u); err != nil {
			t.Fatalf("PutUser() error = %v", err)
		}
		_, err := f.svc.Login(ctx, "up", name, "pw")
		wantErr(t, "Login(hash "+strconv.Quote(h)+")", err, errs.Internal, "stored password hash is malformed")
		if h != "" && strings.Contains(err.Error(), h) {
			t.Errorf("Login() error %q shows the stored hash", err)
		}
	}
}

// phc parses the stored form "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<key>".
var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

func TestStoredHash(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.enable(t, mount.KindAuth, "up", "userpass")
	const password = "correct horse battery staple"
	f.mustPutUser(t, "up", "alice", mount.UserSpec{Password: ptr(password)})
	f.mustPutUser(t, "up", "bob", mount.UserSpec{Password: ptr(password)})
	alice, bob := f.mustUser(t, "up", "alice"), f.mustUser(t, "up", "bob")
	if bytes.Equal(alice.PasswordHash, bob.PasswordHash) {
		t.Errorf("two users with the same password have the same hash: the salt is missing")
	}
	for _, u := range []*mount.User{alice, bob} {
		h := string(u.PasswordHash)
		if strings.Contains(h, password) || strings.Contains(h, base64.RawStdEncoding.EncodeToString([]byte(password))) {
			t.Fatalf("stored hash %q contains the password", h)
		}
		m := phc.FindStringSubmatch(h)
		if m == nil {
			t.Fatalf("stored hash %q is not in the argon2id PHC form", h)
		}
		if m[1] != "19456" || m[2] != "2" || m[3] != "1" {
			t.Errorf("stored hash parameters m=%s,t=%s,p=%s; want m=19456,t=2,p=1", m[1], m[2], m[3])
		}
		salt, err1 := base64.RawStdEncoding.DecodeString(m[4])
		key, err2 := base64.RawStdEncoding.DecodeString(m[5])
		if err1 != nil || err2 != nil || len(salt) != 16 || len(key) != 32 {
			t.Fatalf("stored salt and key = %d and %d bytes (%v, %v); want 16 and 32", len(salt), len(key), err1, err2)
		}
		if u == alice { // the parameters parse back to the key: one derivation
			mem, _ := strconv.ParseUint(m[1], 10, 32)
			passes, _ := strconv.ParseUint(m[2], 10, 32)
			lanes, _ := strconv.ParseUint(m[3], 10, 8)
			got := argon2.IDKey([]byte(password), salt, uint32(passes), uint32(mem), uint8(lanes), 32)
			if !bytes.Equal(got, key) {
				t.Errorf("argon2id(password, stored salt and parameters) does not give the stored key")
			}
		}
	}
}
