package transit_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cofferhq/coffer/internal/cache"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/seal"
	"github.com/cofferhq/coffer/internal/store/sqlite"
	"github.com/cofferhq/coffer/internal/store/sqlite/sqlitetest"
	"github.com/cofferhq/coffer/internal/transit"
)

// countingSeal is the real seal, counting Unwrap calls.
type countingSeal struct {
	*seal.Seal
	unwraps atomic.Int64
}

func (c *countingSeal) Unwrap(wrapped, aad []byte) ([]byte, error) {
	c.unwraps.Add(1)
	return c.Seal.Unwrap(wrapped, aad)
}

func newSeal(tb testing.TB) *countingSeal {
	tb.Helper()
	root, err := seal.NewRootKey()
	if err != nil {
		tb.Fatal(err)
	}
	s, err := seal.New(root)
	if err != nil {
		tb.Fatal(err)
	}
	return &countingSeal{Seal: s}
}

// env is a transit key store on a fresh SQLite database and a seal.
type env struct {
	st   transit.Store
	seal *countingSeal
}

func newEnv(tb testing.TB) env {
	tb.Helper()
	return env{st: sqlitetest.Open(tb).Transit(), seal: newSeal(tb)}
}

// service returns a new Service (with an empty cache) over e's store.
func (e env) service() *transit.Service { return transit.NewService(e.st, e.seal) }

func mustCreate(tb testing.TB, s *transit.Service, mount, name, typ string) *transit.Key {
	tb.Helper()
	k, err := s.Create(context.Background(), mount, name, typ, transit.Options{})
	if err != nil {
		tb.Fatalf("Create(%s/%s, %s) error = %v", mount, name, typ, err)
	}
	return k
}

func mustKey(tb testing.TB, s *transit.Service, mount, name string) *transit.Key {
	tb.Helper()
	k, err := s.Key(context.Background(), mount, name)
	if err != nil {
		tb.Fatalf("Key(%s/%s) error = %v", mount, name, err)
	}
	return k
}

func wantKind(tb testing.TB, op string, err error, want errs.Kind) {
	tb.Helper()
	if errs.KindOf(err) != want || err == nil {
		tb.Fatalf("%s error = %v (kind %v), want kind %v", op, err, errs.KindOf(err), want)
	}
}

func rotate(k *transit.Key) error { return k.Rotate(time.Now()) }

func allowDeletion(k *transit.Key) error {
	yes := true
	return k.SetConfig(transit.Config{DeletionAllowed: &yes})
}

// keyState compares Keys by their exported (persistent) fields.
var keyState = cmpopts.IgnoreUnexported(transit.Key{})

func TestServiceLifecycle(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newEnv(t).service()
	for _, n := range []string{"b", "a", "c"} {
		mustCreate(t, s, "transit", n, transit.TypeAES256GCM96)
	}
	mustCreate(t, s, "other", "a", transit.TypeHMAC)

	names, err := s.List(ctx, "transit")
	if err != nil || !cmp.Equal(names, []string{"a", "b", "c"}) {
		t.Errorf("List() = %q, %v; want [a b c], nil", names, err)
	}
	if k := mustKey(t, s, "other", "a"); k.Type != transit.TypeHMAC {
		t.Errorf("Key(other/a).Type = %s, want %s", k.Type, transit.TypeHMAC)
	}

	_, err = s.Create(ctx, "transit", "a", transit.TypeAES256GCM96, transit.Options{})
	wantKind(t, "Create(taken)", err, errs.AlreadyExists)
	_, err = s.Create(ctx, "", "x", transit.TypeAES256GCM96, transit.Options{})
	wantKind(t, "Create(no mount)", err, errs.InvalidArgument)
	_, err = s.Create(ctx, "transit", "x", "rot13", transit.Options{})
	wantKind(t, "Create(unknown type)", err, errs.InvalidArgument)
	_, err = s.Key(ctx, "transit", "x")
	wantKind(t, "Key(never created)", err, errs.NotFound)

	wantKind(t, "Delete(not allowed)", s.Delete(ctx, "transit", "a"), errs.InvalidArgument)
	mustKey(t, s, "transit", "a")
	if _, err := s.Mutate(ctx, "transit", "a", allowDeletion); err != nil {
		t.Fatalf("Mutate(allow deletion) error = %v", err)
	}
	if err := s.Delete(ctx, "transit", "a"); err != nil {
		t.Fatalf("Delete() error = %v", err)
	}
	_, err = s.Key(ctx, "transit", "a")
	wantKind(t, "Key(deleted)", err, errs.NotFound)
	wantKind(t, "Delete(again)", s.Delete(ctx, "transit", "a"), errs.NotFound)

	if err := s.DeleteMount(ctx, "transit"); err != nil {
		t.Fatalf("DeleteMount() error = %v", err)
	}
	names, err = s.List(ctx, "transit")
	if err != nil || len(names) != 0 {
		t.Errorf("List(after DeleteMount) = %q, %v; want none", names, err)
	}
	_, err = s.Key(ctx, "transit", "b")
	wantKind(t, "Key(deleted mount)", err, errs.NotFound)
	mustKey(t, s, "other", "a")
}

// TestPersistence uses each key through a fresh Service, so nothing
// comes from a cache: the sealed row holds the whole key.
func TestPersistence(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	zone := time.FixedZone("CEST", 2*3600)
	clock := transit.WithClock(func() time.Time { return time.Date(2025, 6, 1, 12, 0, 0, 123456789, zone) })
	for _, typ := range []string{transit.TypeAES128GCM96, transit.TypeAES256GCM96, transit.TypeChaCha20Poly1305,
		transit.TypeEd25519, transit.TypeECDSAP256, transit.TypeHMAC} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			created, err := transit.NewService(e.st, e.seal, clock).Create(ctx, "transit", typ, typ,
				transit.Options{Exportable: true})
			if err != nil {
				t.Fatalf("Create() error = %v", err)
			}
			use := proof(t, created)
			loaded := mustKey(t, e.service(), "transit", typ)
			if diff := cmp.Diff(created, loaded, keyState); diff != "" {
				t.Errorf("Key() from a fresh Service mismatch (-created +loaded):\n%s", diff)
			}
			use(loaded)

			if _, err := e.service().Mutate(ctx, "transit", typ, rotate); err != nil {
				t.Fatalf("Mutate(rotate) error = %v", err)
			}
			rotated := mustKey(t, e.service(), "transit", typ)
			if rotated.LatestVersion != 2 || len(rotated.Versions) != 2 {
				t.Errorf("after a rotation: latest %d, %d versions; want 2, 2", rotated.LatestVersion, len(rotated.Versions))
			}
			use(rotated) // version 1 still works
		})
	}
}

// proof makes output with k's version 1 and returns a check that another
// Key accepts it.
func proof(t *testing.T, k *transit.Key) func(*transit.Key) {
	t.Helper()
	input := []byte("attack at dawn")
	switch {
	case transit.SupportsEncryption(k.Type):
		ct, _, err := k.Encrypt(input, transit.Params{})
		if err != nil {
			t.Fatalf("Encrypt() error = %v", err)
		}
		return func(other *transit.Key) {
			t.Helper()
			got, err := other.Decrypt(ct, transit.Params{})
			if err != nil || !bytes.Equal(got, input) {
				t.Errorf("Decrypt() = %q, %v; want %q", got, err, input)
			}
		}
	case transit.SupportsSigning(k.Type):
		sig, _, err := k.Sign(input, transit.SignOptions{})
		if err != nil {
			t.Fatalf("Sign() error = %v", err)
		}
		return func(other *transit.Key) {
			t.Helper()
			if ok, err := other.Verify(input, sig, transit.SignOptions{}); !ok || err != nil {
				t.Errorf("Verify() = %t, %v; want true", ok, err)
			}
		}
	default:
		mac, _, err := k.HMAC(input, "sha2-256", 0)
		if err != nil {
			t.Fatalf("HMAC() error = %v", err)
		}
		return func(other *transit.Key) {
			t.Helper()
			if ok, err := other.VerifyHMAC(input, mac, "sha2-256"); !ok || err != nil {
				t.Errorf("VerifyHMAC() = %t, %v; want true", ok, err)
			}
		}
	}
}

// TestConcurrentRotate rotates one key from two Services (replicas) at
// once: neither rotation may be lost.
func TestConcurrentRotate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustCreate(t, e.service(), "transit", "k", transit.TypeAES256GCM96)
	const rounds = 5
	replicas := []*transit.Service{e.service(), e.service()}
	for range rounds {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, s := range replicas {
			wg.Go(func() {
				<-start
				if _, err := s.Mutate(context.Background(), "transit", "k", rotate); err != nil {
					t.Errorf("Mutate(rotate) error = %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
	}
	for i, s := range append(replicas, e.service()) {
		k := mustKey(t, s, "transit", "k")
		if k.LatestVersion != 1+2*rounds || len(k.Versions) != 1+2*rounds {
			t.Errorf("service %d: latest %d, %d versions; want %d of each", i, k.LatestVersion, len(k.Versions), 1+2*rounds)
		}
	}
	seen := map[string]bool{}
	for _, v := range mustKey(t, e.service(), "transit", "k").Versions {
		seen[string(v.Material)] = true
	}
	if len(seen) != 1+2*rounds {
		t.Errorf("%d distinct materials, want %d", len(seen), 1+2*rounds)
	}
}

func TestCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	writer, reader := e.service(), e.service()
	created := mustCreate(t, writer, "transit", "k", transit.TypeAES256GCM96)
	wantUnwraps := func(want int64) {
		t.Helper()
		if got := e.seal.unwraps.Load(); got != want {
			t.Errorf("Unwrap calls = %d, want %d", got, want)
		}
	}
	if k := mustKey(t, writer, "transit", "k"); k == created || !cmp.Equal(k, created, keyState) {
		t.Error("Key() after Create: not an equal copy of the created *Key")
	}
	wantUnwraps(0)

	first := mustKey(t, reader, "transit", "k")
	wantUnwraps(1)
	for range 3 {
		if k := mustKey(t, reader, "transit", "k"); k == first || !cmp.Equal(k, first, keyState) {
			t.Error("Key() with the revision unchanged: not an equal copy")
		}
	}
	wantUnwraps(1)

	// Another replica's change is seen at once.
	if _, err := writer.Mutate(ctx, "transit", "k", rotate); err != nil {
		t.Fatalf("Mutate() error = %v", err)
	}
	wantUnwraps(2) // Mutate unseals a private copy
	if k := mustKey(t, reader, "transit", "k"); k.LatestVersion != 2 {
		t.Errorf("Key() after another replica rotated: latest %d, want 2", k.LatestVersion)
	}
	wantUnwraps(3)

	// Deleted and created again up to the same revision: a different key,
	// which the cache must not mistake for the old one.
	if _, err := writer.Mutate(ctx, "transit", "k", allowDeletion); err != nil {
		t.Fatal(err)
	}
	old := mustKey(t, reader, "transit", "k") // at revision 3
	if err := writer.Delete(ctx, "transit", "k"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, writer, "transit", "k", transit.TypeAES256GCM96)
	for range 2 {
		if _, err := writer.Mutate(ctx, "transit", "k", rotate); err != nil {
			t.Fatal(err)
		}
	}
	fresh := mustKey(t, reader, "transit", "k") // at revision 3 too
	if bytes.Equal(fresh.Versions[1].Material, old.Versions[1].Material) {
		t.Error("Key() after delete and re-create at the same revision returned the old key")
	}
}

// TestMovedRow copies a sealed key to other rows: it must not unseal there.
func TestMovedRow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	s := e.service()
	k := mustCreate(t, s, "transit", "a", transit.TypeAES256GCM96)
	row, err := e.st.Get(ctx, "transit", "a")
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []struct{ mount, name string }{{"transit", "b"}, {"other", "a"}} {
		moved := &transit.StoredKey{Mount: to.mount, Name: to.name, Revision: 1, Sealed: row.Sealed, UpdatedAt: row.UpdatedAt}
		if err := e.st.Create(ctx, moved); err != nil {
			t.Fatal(err)
		}
		_, err := e.service().Key(ctx, to.mount, to.name)
		wantKind(t, "Key(moved row)", err, errs.Internal)
		if want := "unseal transit key " + to.mount + "/" + to.name; !strings.Contains(errs.Message(err), want) {
			t.Errorf("Key(moved row) message = %q, want it to contain %q", errs.Message(err), want)
		}
		_, err = s.Mutate(ctx, to.mount, to.name, rotate)
		wantKind(t, "Mutate(moved row)", err, errs.Internal)
		wantNoMaterial(t, "error", []byte(err.Error()), k)
	}
	mustKey(t, e.service(), "transit", "a")
}

func TestMutate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	s := e.service()
	mustCreate(t, s, "transit", "k", transit.TypeAES256GCM96)

	// A failing change stores nothing, and its error comes back as it is.
	_, err := s.Mutate(ctx, "transit", "k", func(k *transit.Key) error {
		if err := k.Rotate(time.Now()); err != nil {
			return err
		}
		return k.Trim(5)
	})
	wantKind(t, "Mutate(bad trim)", err, errs.InvalidArgument)
	if k := mustKey(t, e.service(), "transit", "k"); k.LatestVersion != 1 {
		t.Errorf("after a failed change: latest version %d, want 1", k.LatestVersion)
	}
	_, err = s.Mutate(ctx, "transit", "k", func(k *transit.Key) error { k.Name = "other"; return nil })
	wantKind(t, "Mutate(rename)", err, errs.InvalidArgument)
	_, err = s.Mutate(ctx, "transit", "missing", rotate)
	wantKind(t, "Mutate(unknown key)", err, errs.NotFound)

	// The shared cached Key is never what f changes.
	cached := mustKey(t, s, "transit", "k")
	got, err := s.Mutate(ctx, "transit", "k", rotate)
	if err != nil {
		t.Fatalf("Mutate(rotate) error = %v", err)
	}
	if got == cached || cached.LatestVersion != 1 || got.LatestVersion != 2 {
		t.Errorf("Mutate() changed the cached Key: same %t, cached latest %d, got latest %d", got == cached,
			cached.LatestVersion, got.LatestVersion)
	}
	if k := mustKey(t, s, "transit", "k"); k == got || !cmp.Equal(k, got, keyState) {
		t.Error("Key() after Mutate: not an equal copy of the *Key Mutate returned")
	}
}

// TestKeyCopiesOut changes and trims the Keys that Key and Mutate return:
// the cached key, and so the next caller's, must not change.
func TestKeyCopiesOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := t.Context()
	s := transit.NewService(e.st, e.seal, transit.WithCache(cache.NewLocalBus(), 10))
	mustCreate(t, s, "transit", "k", transit.TypeEd25519) // its parsed versions can be destroyed
	for range 2 {
		if _, err := s.Mutate(ctx, "transit", "k", rotate); err != nil {
			t.Fatal(err)
		}
	}
	k := mustKey(t, s, "transit", "k")
	want := mustKey(t, s, "transit", "k")
	yes := true
	if err := k.SetConfig(transit.Config{MinDecryptionVersion: new(3), MinEncryptionVersion: new(3),
		DeletionAllowed: &yes}); err != nil {
		t.Fatal(err)
	}
	if err := k.Trim(3); err != nil {
		t.Fatal(err)
	}
	k.Versions[3].Material[0] ^= 1
	k.Name = "changed"
	got := mustKey(t, s, "transit", "k")
	if diff := cmp.Diff(want, got, keyState); diff != "" {
		t.Errorf("a caller's changes reached the cached key (-want +got):\n%s", diff)
	}
	if _, _, err := got.Sign([]byte("data"), transit.SignOptions{KeyVersion: 1}); err != nil {
		t.Errorf("Sign with version 1 after another copy was trimmed: %v", err)
	}
}

// conflictStore is a Store whose Update always loses the race.
type conflictStore struct {
	transit.Store
	updates atomic.Int64
}

func (c *conflictStore) Update(context.Context, *transit.StoredKey) error {
	c.updates.Add(1)
	return transit.ErrConcurrentUpdate("transit", "k")
}

func TestMutateGivesUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	st := &conflictStore{Store: e.st}
	s := transit.NewService(st, e.seal)
	mustCreate(t, s, "transit", "k", transit.TypeAES256GCM96)
	_, err := s.Mutate(t.Context(), "transit", "k", rotate)
	wantKind(t, "Mutate(always conflicting)", err, errs.FailedPrecondition)
	if n := st.updates.Load(); n != 5 {
		t.Errorf("Update calls = %d, want 5", n)
	}
	if k := mustKey(t, s, "transit", "k"); k.LatestVersion != 1 {
		t.Errorf("latest version = %d, want 1", k.LatestVersion)
	}
}

// TestNoMaterialAtRest reads the database files: no version's material
// or HMAC key may be there in any common encoding.
func TestNoMaterialAtRest(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	s := transit.NewService(db.Transit(), newSeal(t))
	var keys []*transit.Key
	for _, typ := range []string{transit.TypeAES256GCM96, transit.TypeHMAC, transit.TypeEd25519} {
		mustCreate(t, s, "transit", typ, typ)
		k, err := s.Mutate(ctx, "transit", typ, rotate)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	// Check the live files (WAL included), then the closed database.
	for _, closeFirst := range []bool{false, true} {
		if closeFirst {
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
		}
		files, err := filepath.Glob(filepath.Join(dir, sqlite.FileName+"*"))
		if err != nil || len(files) == 0 {
			t.Fatalf("database files: %q, %v", files, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				wantNoMaterial(t, filepath.Base(f), b, k)
			}
		}
	}
}

// wantNoMaterial fails t when b holds a secret of k raw, in base64 or hex.
func wantNoMaterial(t *testing.T, what string, b []byte, k *transit.Key) {
	t.Helper()
	for n, v := range k.Versions {
		for _, secret := range [][]byte{v.Material, v.HMACKey} {
			if len(secret) == 0 {
				continue
			}
			for _, enc := range []string{string(secret), base64.StdEncoding.EncodeToString(secret),
				base64.RawStdEncoding.EncodeToString(secret), base64.RawURLEncoding.EncodeToString(secret),
				hex.EncodeToString(secret)} {
				if bytes.Contains(b, []byte(enc)) {
					t.Errorf("%s holds a secret of %s version %d", what, k.Type, n)
				}
			}
		}
	}
}
