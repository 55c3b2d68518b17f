package instance_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cofferhq/coffer/internal/cache"
	"github.com/cofferhq/coffer/internal/envelope"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/iam"
	"github.com/cofferhq/coffer/internal/instance"
	"github.com/cofferhq/coffer/internal/keyring"
	"github.com/cofferhq/coffer/internal/keyservice"
	"github.com/cofferhq/coffer/internal/kms/localkms"
	"github.com/cofferhq/coffer/internal/seal"
	"github.com/cofferhq/coffer/internal/store/sqlite/sqlitetest"
)

const (
	project = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
	other   = "11111111-1111-1111-1111-111111111111"
	region  = "eu01"
)

var sc = instance.Scope{ProjectID: project, RegionID: region}

type fixture struct {
	svc    *instance.Service
	store  instance.Store
	hasher *instance.Hasher
	kms    *keyservice.Service
	env    *envelope.Envelope
	// ring and keys are the embedded KMS objects the kmsKeys below name.
	ring, keyA, keyB, signKey string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db := sqlitetest.Open(t)
	accounts := iam.NewService(db.IAM())
	for email, p := range map[string]string{"reader@example.com": project, "elsewhere@example.com": other} {
		if _, err := accounts.Grant(ctx, p, email, iam.RoleSecretsManagerReader); err != nil {
			t.Fatal(err)
		}
	}
	h := instance.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	cfg := instance.Config{Regions: []string{"eu01", "eu02"}, DefaultRegion: "eu01", MaxUsers: 3, MaxACLs: 3,
		APIURL: "http://vault"}
	rk, _ := seal.NewRootKey()
	sl, _ := seal.New(rk)
	ks := keyservice.New(keyservice.Config{Regions: cfg.Regions, DeletionDelay: time.Hour, DestroyDelay: time.Hour}, db.KMS(), sl)
	keeper := localkms.New(ks)
	env := envelope.New(envelope.Config{CacheTTL: time.Minute}, keeper, sl)
	f := &fixture{store: db.Instances(), hasher: h, kms: ks, env: env,
		// With caches (a local bus): every test also checks that the
		// Service's own writes drop what its data-plane lookups cached.
		svc: instance.NewService(cfg, instance.Deps{Store: db.Instances(), Accounts: accounts, Hasher: h, KMS: keeper,
			Envelope: env, Cache: cache.NewLocalBus()})}
	ksc := keyservice.Scope{ProjectID: project, RegionID: region}
	ring, err := ks.CreateKeyRing(ctx, ksc, "ring", "")
	if err != nil {
		t.Fatal(err)
	}
	f.ring = ring.ID
	mk := func(alg keyring.Algorithm) string {
		k, err := ks.CreateKey(ctx, ksc, ring.ID, keyservice.KeySpec{DisplayName: "k", Algorithm: alg,
			Purpose: alg.Purpose(), Protection: "software"})
		if err != nil {
			t.Fatal(err)
		}
		return k.ID
	}
	f.keyA, f.keyB, f.signKey = mk(keyring.AES256GCM), mk(keyring.AES256GCM), mk(keyring.ECDSAP256SHA256)
	return f
}

func (f *fixture) key() *instance.KMSKey {
	return &instance.KMSKey{RegionID: region, ProjectID: project, ServiceAccountEmail: "reader@example.com",
		KeyRingID: f.ring, KeyID: f.keyA, KeyVersion: 1}
}

func TestCreateInstanceRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	key := f.key
	mod := func(m func(k *instance.KMSKey)) *instance.KMSKey { k := key(); m(k); return k }
	cases := []struct {
		name     string
		sc       instance.Scope
		spec     instance.Spec
		wantKind errs.Kind
		wantMsg  string
	}{
		{"ok without key", sc, instance.Spec{Name: "a"}, 0, ""},
		{"ok with key", sc, instance.Spec{Name: "my-secrets-instance", KMSKey: key()}, 0, ""},
		{"empty name", sc, instance.Spec{Name: ""}, errs.InvalidArgument, "name"},
		{"long name", sc, instance.Spec{Name: strings.Repeat("a", 65)}, errs.InvalidArgument, "name"},
		{"name with space", sc, instance.Spec{Name: "a b"}, errs.InvalidArgument, "name"},
		{"name leading dash", sc, instance.Spec{Name: "-a"}, errs.InvalidArgument, "name"},
		{"bad project", instance.Scope{ProjectID: "x", RegionID: region}, instance.Spec{Name: "a"}, errs.InvalidArgument, "projectId"},
		{"unknown region", instance.Scope{ProjectID: project, RegionID: "eu99"}, instance.Spec{Name: "a"}, errs.InvalidArgument, "regionId"},
		{"region mismatch", sc, instance.Spec{Name: "a", KMSKey: mod(func(k *instance.KMSKey) { k.RegionID = "eu02" })},
			errs.InvalidArgument, "region mismatch"},
		{"region mismatch first", sc, instance.Spec{Name: "a", KMSKey: mod(func(k *instance.KMSKey) {
			k.RegionID, k.ServiceAccountEmail = "eu02", "ghost@example.com"
		})}, errs.InvalidArgument, "region mismatch"},
		{"bad key ring id", sc, instance.Spec{Name: "a", KMSKey: mod(func(k *instance.KMSKey) { k.KeyRingID = "x" })},
			errs.InvalidArgument, "kmsKey.keyRingId"},
		{"bad version", sc, instance.Spec{Name: "a", KMSKey: mod(func(k *instance.KMSKey) { k.KeyVersion = 0 })},
			errs.InvalidArgument, "kmsKey.keyVersion"},
		{"unknown account", sc, instance.Spec{Name: "a", KMSKey: mod(func(k *instance.KMSKey) { k.ServiceAccountEmail = "ghost@example.com" })},
			errs.PermissionDenied, "kmsKey.serviceAccountEmail"},
		{"account of another project", sc, instance.Spec{Name: "a", KMSKey: mod(func(k *instance.KMSKey) { k.ServiceAccountEmail = "elsewhere@example.com" })},
			errs.PermissionDenied, "kmsKey.serviceAccountEmail"},
		{"unknown key ring", sc, instance.Spec{Name: "a", KMSKey: mod(func(k *instance.KMSKey) { k.KeyRingID = other })},
			errs.InvalidArgument, "key ring"},
		{"project mismatch", sc, instance.Spec{Name: "a", KMSKey: mod(func(k *instance.KMSKey) { k.ProjectID = other })},
			errs.InvalidArgument, "project mismatch"},
		{"unknown key", sc, instance.Spec{Name: "a", KMSKey: mod(func(k *instance.KMSKey) { k.KeyID = other })},
			errs.InvalidArgument, "key " + other + " not found"},
		{"unknown version", sc, instance.Spec{Name: "a", KMSKey: mod(func(k *instance.KMSKey) { k.KeyVersion = 9 })},
			errs.InvalidArgument, "version 9"},
		{"signing key", sc, instance.Spec{Name: "a", KMSKey: mod(func(k *instance.KMSKey) { k.KeyID = f.signKey })},
			errs.InvalidArgument, "purpose"},
		{"key checked before account", sc, instance.Spec{Name: "a", KMSKey: mod(func(k *instance.KMSKey) {
			k.KeyID, k.ServiceAccountEmail = other, "ghost@example.com"
		})}, errs.InvalidArgument, "not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := f.store.ListInstances(ctx, project, region)
			in, err := f.svc.CreateInstance(ctx, tc.sc, tc.spec)
			after, _ := f.store.ListInstances(ctx, project, region)
			if tc.wantKind == 0 {
				if err != nil {
					t.Fatalf("CreateInstance() = %v", err)
				}
				if in.State != instance.StateActive || in.CreationStartDate.IsZero() || len(after) != len(before)+1 {
					t.Errorf("created %+v; stored %d -> %d", in, len(before), len(after))
				}
				return
			}
			if errs.KindOf(err) != tc.wantKind || !strings.Contains(errs.Message(err), tc.wantMsg) {
				t.Errorf("CreateInstance() = %v (kind %v), want kind %v naming %q", err, errs.KindOf(err), tc.wantKind, tc.wantMsg)
			}
			if len(after) != len(before) {
				t.Errorf("a rejected create stored something: %d -> %d instances", len(before), len(after))
			}
		})
	}
}

func TestUpdateInstanceReplacesKMSKey(t *testing.T) {
	f := newFixture(t)
	key := f.key
	ctx := context.Background()
	in, err := f.svc.CreateInstance(ctx, sc, instance.Spec{Name: "a", KMSKey: key()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.kms.RotateKey(ctx, keyservice.Scope{ProjectID: project, RegionID: region}, f.ring, f.keyB); err != nil {
		t.Fatal(err)
	}
	k2 := key()
	k2.KeyID, k2.KeyVersion = f.keyB, 2
	if _, err := f.svc.UpdateInstance(ctx, sc, in.ID, instance.Spec{Name: "b", KMSKey: k2}); err != nil {
		t.Fatal(err)
	}
	got, _ := f.svc.Instance(ctx, sc, in.ID)
	if got.Name != "b" || got.KMSKey == nil || *got.KMSKey != *k2 || got.UpdateStartDate.IsZero() {
		t.Errorf("after switch: %+v", got)
	}
	bad := key()
	bad.ServiceAccountEmail = "ghost@example.com"
	if _, err := f.svc.UpdateInstance(ctx, sc, in.ID, instance.Spec{Name: "c", KMSKey: bad}); errs.KindOf(err) != errs.PermissionDenied {
		t.Fatalf("update with a bad account = %v, want PermissionDenied", err)
	}
	if got, _ := f.svc.Instance(ctx, sc, in.ID); got.Name != "b" || *got.KMSKey != *k2 {
		t.Errorf("a rejected update changed the instance: %+v", got)
	}
	if _, err := f.svc.UpdateInstance(ctx, sc, in.ID, instance.Spec{Name: "b"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.Instance(ctx, sc, in.ID); got.KMSKey != nil {
		t.Errorf("update without kmsKey kept it: %+v", got.KMSKey)
	}
	if _, err := f.svc.Instance(ctx, instance.Scope{ProjectID: project, RegionID: "eu02"}, in.ID); errs.KindOf(err) != errs.NotFound {
		t.Errorf("instance visible from another region: %v", err)
	}
}

// TestKeyringFollowsKMSKey seals a value, switches the kmsKey, removes it,
// and checks the value stays readable while the keyring is rewrapped each
// time (O(1): the value itself is never rewritten).
func TestKeyringFollowsKMSKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in, err := f.svc.CreateInstance(ctx, sc, instance.Spec{Name: "a", KMSKey: f.key()})
	if err != nil {
		t.Fatal(err)
	}
	aad := []byte("kv/secret/v1")
	sealed, err := f.env.Seal(ctx, instance.Keys(in), aad, []byte("canary-value"))
	if err != nil {
		t.Fatal(err)
	}
	k2 := f.key()
	k2.KeyID = f.keyB
	prev := in.WrappedKeyring
	for _, next := range []*instance.KMSKey{k2, nil, f.key()} {
		if _, err := f.svc.UpdateInstance(ctx, sc, in.ID, instance.Spec{Name: "a", KMSKey: next}); err != nil {
			t.Fatalf("switch to %+v: %v", next, err)
		}
		cur, _ := f.store.InstanceByID(ctx, in.ID)
		if string(cur.WrappedKeyring) == string(prev) {
			t.Errorf("switch to %+v did not rewrap the keyring", next)
		}
		prev = cur.WrappedKeyring
		got, err := f.env.Open(ctx, instance.Keys(cur), aad, sealed)
		if err != nil || string(got) != "canary-value" {
			t.Fatalf("after switch to %+v: Open = %q, %v", next, got, err)
		}
		if _, err := f.env.Open(ctx, instance.Keys(cur), []byte("kv/other/v1"), sealed); errs.KindOf(err) != errs.InvalidArgument {
			t.Errorf("a value moved to another place opened: %v", err)
		}
	}
	// A disabled current key version blocks switching away (the keyring could not be unwrapped).
	ksc := keyservice.Scope{ProjectID: project, RegionID: region}
	if err := f.kms.DisableVersion(ctx, ksc, f.ring, f.keyA, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UpdateInstance(ctx, sc, in.ID, instance.Spec{Name: "a"}); err == nil {
		t.Error("switching away from a disabled key version succeeded")
	}
}

func TestCrossProjectKeyNeedsKeyUse(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// A key in project "other", named by an account of project that holds no role there.
	osc := keyservice.Scope{ProjectID: other, RegionID: region}
	ring, _ := f.kms.CreateKeyRing(ctx, osc, "theirs", "")
	k, err := f.kms.CreateKey(ctx, osc, ring.ID, keyservice.KeySpec{DisplayName: "k", Algorithm: keyring.AES256GCM,
		Purpose: keyring.SymmetricEncryptDecrypt, Protection: "software"})
	if err != nil {
		t.Fatal(err)
	}
	kk := &instance.KMSKey{RegionID: region, ProjectID: other, ServiceAccountEmail: "reader@example.com",
		KeyRingID: ring.ID, KeyID: k.ID, KeyVersion: 1}
	_, err = f.svc.CreateInstance(ctx, sc, instance.Spec{Name: "a", KMSKey: kk})
	if errs.KindOf(err) != errs.PermissionDenied || !strings.Contains(errs.Message(err), "may not use keys of project") {
		t.Fatalf("cross-project key without a grant = %v, want PermissionDenied", err)
	}
}

func TestUsers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in, _ := f.svc.CreateInstance(ctx, sc, instance.Spec{Name: "a"})
	seen := map[string]bool{}
	for i := range 3 {
		nu, err := f.svc.CreateUser(ctx, sc, in.ID, "d", i == 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(nu.Password) < 40 || seen[nu.Password] || !strings.HasPrefix(nu.Username, "sm-") {
			t.Errorf("user %d: username %q, password of %d chars (dup=%v)", i, nu.Username, len(nu.Password), seen[nu.Password])
		}
		seen[nu.Password] = true
		stored, err := f.store.UserByUsername(ctx, nu.Username)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(stored.PasswordHash), nu.Password) || !f.hasher.Verify(nu.Password, stored.PasswordHash) ||
			f.hasher.Verify(nu.Password+"x", stored.PasswordHash) {
			t.Errorf("stored hash does not verify the password (and only it)")
		}
	}
	_, err := f.svc.CreateUser(ctx, sc, in.ID, "d", false)
	if errs.KindOf(err) != errs.ResourceExhausted || !strings.Contains(errs.Message(err), "User limit reached") {
		t.Errorf("4th user = %v, want ResourceExhausted 'User limit reached'", err)
	}
	if _, err := f.svc.CreateUser(ctx, sc, in.ID, strings.Repeat("x", 256), false); errs.KindOf(err) != errs.InvalidArgument {
		t.Errorf("long description = %v, want InvalidArgument", err)
	}
	us, _ := f.svc.ListUsers(ctx, sc, in.ID)
	w := true
	d := "new"
	if err := f.svc.UpdateUser(ctx, sc, in.ID, us[1].ID, instance.UserPatch{Write: &w}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.UpdateUser(ctx, sc, in.ID, us[1].ID, instance.UserPatch{Description: &d}); err != nil {
		t.Fatal(err)
	}
	u, _ := f.svc.User(ctx, sc, in.ID, us[1].ID)
	if !u.Write || u.Description != "new" {
		t.Errorf("partial updates not both applied: %+v", u)
	}
}

func TestACLs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in, _ := f.svc.CreateInstance(ctx, sc, instance.Spec{Name: "a"})
	if err := f.svc.ReplaceACLs(ctx, sc, in.ID, []string{"10.0.0.0/8", "2001:db8::/32"}); err != nil {
		t.Fatal(err)
	}
	for name, cidrs := range map[string][]string{
		"one bad":  {"10.0.0.0/8", "10.0.0.0/33"},
		"too many": {"10.0.0.0/8", "10.0.0.0/9", "10.0.0.0/10", "10.0.0.0/11"},
	} {
		if err := f.svc.ReplaceACLs(ctx, sc, in.ID, cidrs); err == nil {
			t.Errorf("%s: ReplaceACLs accepted %v", name, cidrs)
		}
		got, _ := f.svc.ListACLs(ctx, sc, in.ID)
		if len(got) != 2 || got[0].CIDR != "10.0.0.0/8" || got[1].CIDR != "2001:db8::/32" {
			t.Errorf("%s: a rejected replace changed the list: %v", name, got)
		}
	}
	if err := f.svc.ReplaceACLs(ctx, sc, in.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.ListACLs(ctx, sc, in.ID); len(got) != 0 {
		t.Errorf("empty replace left %v", got)
	}
}

func TestValidateCIDR(t *testing.T) {
	for cidr, ok := range map[string]bool{
		"10.0.0.0/8": true, "0.0.0.0/0": true, "192.0.2.1/32": true, "2001:db8::/32": true, "::/0": true,
		"10.0.0.1": false, "10.0.0.0/33": false, "300.1.1.1/8": false, "": false, "fe80::/129": false,
		"10.0.0.0/8 ": false, "a/b": false, "10.0.0.0/-1": false,
	} {
		if err := instance.ValidateCIDR("cidr", cidr); (err == nil) != ok {
			t.Errorf("ValidateCIDR(%q) = %v, want ok=%v", cidr, err, ok)
		}
	}
}

func FuzzValidateCIDR(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "::/0", "1.2.3.4/33", "", "/", "::ffff:1.2.3.4/128"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := instance.ValidateCIDR("cidr", s)
		if err != nil && (errs.KindOf(err) != errs.InvalidArgument || !strings.Contains(errs.Message(err), "cidr")) {
			t.Fatalf("ValidateCIDR(%q) = %v: want InvalidArgument naming the field", s, err)
		}
	})
}

// TestDataPlaneLookupsFollowWrites: InstanceByID answers from the cache,
// and the Service's own writes (a kmsKey switch rewraps the keyring, a
// deletion) are seen by the next lookup at once.
func TestDataPlaneLookupsFollowWrites(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in, err := f.svc.CreateInstance(ctx, sc, instance.Spec{Name: "a"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.InstanceByID(ctx, in.ID)
	if err != nil || !bytes.Equal(got.WrappedKeyring, in.WrappedKeyring) {
		t.Fatalf("InstanceByID = %v, %v", got, err)
	}
	got.WrappedKeyring[0] ^= 1 // callers get copies
	if again, _ := f.svc.InstanceByID(ctx, in.ID); !bytes.Equal(again.WrappedKeyring, in.WrappedKeyring) {
		t.Fatal("a caller's change reached the cached instance")
	}
	if _, err := f.svc.UpdateInstance(ctx, sc, in.ID, instance.Spec{Name: "a", KMSKey: f.key()}); err != nil {
		t.Fatal(err)
	}
	stored, _ := f.store.InstanceByID(ctx, in.ID)
	if bytes.Equal(stored.WrappedKeyring, in.WrappedKeyring) {
		t.Fatal("the kmsKey switch did not rewrap the keyring; the check below would prove nothing")
	}
	if got, _ := f.svc.InstanceByID(ctx, in.ID); !bytes.Equal(got.WrappedKeyring, stored.WrappedKeyring) || got.KMSKey == nil {
		t.Error("InstanceByID after the switch answered the old keyring")
	}
	if err := f.svc.DeleteInstance(ctx, sc, in.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.InstanceByID(ctx, in.ID); !errs.Is(err, errs.NotFound) {
		t.Errorf("InstanceByID after delete = %v, want NotFound", err)
	}
}
