package kv_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kv"
	"github.com/cofferhq/coffer/internal/store/sqlite"
)

// storedCiphertext returns the ciphertext the store holds for a version.
func storedCiphertext(t *testing.T, f *fixture, m, path string, version int) []byte {
	t.Helper()
	ct, _, _, err := f.store.Read(t.Context(), m, path, version)
	if err != nil {
		t.Fatalf("store Read(%s, %s, %d) error = %v", m, path, version, err)
	}
	return ct
}

// plant stores ct as the next version of path in m, bypassing the service.
func plant(t *testing.T, f *fixture, m, path string, ct []byte) int {
	t.Helper()
	md, err := f.store.Put(t.Context(), m, path, f.clock.Now(),
		func(*kv.Metadata, *kv.MountConfig) error { return nil },
		func(int) ([]byte, error) { return ct, nil })
	if err != nil {
		t.Fatalf("store Put() error = %v", err)
	}
	return md.CurrentVersion
}

// TestCiphertextsAreBound checks that a ciphertext opens only in its own
// row: moved to another path, version or mount, or modified, it fails with
// the envelope's "decryption failed".
func TestCiphertextsAreBound(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	f.write(t, "a", map[string]any{"secret": "v1 of a"})
	f.write(t, "a", map[string]any{"secret": "v2 of a"})
	f.write(t, "b", map[string]any{"secret": "v1 of b"})
	if _, err := f.svc.WriteData(ctx, "m2", "a", map[string]any{"secret": "other mount"}, nil); err != nil {
		t.Fatalf("WriteData() error = %v", err)
	}
	a1 := storedCiphertext(t, f, mount, "a", 1)

	// The documented binding opens it.
	keys, err := f.keys.Keys(ctx, mount)
	if err != nil {
		t.Fatalf("Keys() error = %v", err)
	}
	pt, err := f.env.Open(ctx, keys, []byte("kv/"+mount+"/a/v1"), a1)
	if err != nil || !bytes.Contains(pt, []byte("v1 of a")) {
		t.Fatalf("Open() with the AAD kv/<mount>/<path>/v<n> = %q, %v; want version 1 of a", pt, err)
	}

	flipped := bytes.Clone(a1)
	flipped[len(flipped)-1] ^= 1
	for _, tc := range []struct {
		name, mount, path string
		ct                []byte
	}{
		{"to another path", mount, "c", a1},
		{"to a sibling's next version", mount, "b", a1},
		{"to a later version of its path", mount, "a", a1},
		{"to the same path in another mount", "m2", "a", a1},
		{"modified in place", mount, "d", flipped},
		{"truncated", mount, "e", a1[:len(a1)-1]},
		{"empty", mount, "f", []byte{}},
	} {
		v := plant(t, f, tc.mount, tc.path, tc.ct)
		_, err := f.svc.ReadData(ctx, tc.mount, tc.path, v)
		wantErr(t, "ReadData(ciphertext moved "+tc.name+")", err, errs.InvalidArgument, "decryption failed")
		_, err = f.svc.PatchData(ctx, tc.mount, tc.path, map[string]any{"x": "y"}, nil)
		wantErr(t, "PatchData(ciphertext moved "+tc.name+")", err, errs.InvalidArgument, "decryption failed")
	}
	// The originals still open.
	if got := f.read(t, "a", 1).Data["secret"]; got != "v1 of a" {
		t.Errorf("ReadData(a, 1) = %v, want its own value", got)
	}
	if got := f.read(t, "b", 1).Data["secret"]; got != "v1 of b" {
		t.Errorf("ReadData(b, 1) = %v, want its own value", got)
	}
}

// TestNoPlaintextAtRest writes a canary as a key and as a value and checks
// that no byte of the database files, no stored ciphertext and no error
// message carries it.
func TestNoPlaintextAtRest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := sqlite.Open(t.Context(), dir)
	if err != nil {
		t.Fatalf("sqlite.Open() error = %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(t.Context()); err != nil {
		t.Fatalf("MigrateUp() error = %v", err)
	}
	f := newFixtureOn(t, db)
	ctx := t.Context()
	const canary = "CANARY-7f3c9a1e-secret-value"
	const canaryKey = "CANARY-KEY-2b8d4e6f"
	data := map[string]any{"password": canary, canaryKey: "x", "nested": map[string]any{"deep": canary}}
	for range 3 {
		f.write(t, "app/creds", data)
	}
	if _, err := f.svc.PatchData(ctx, mount, "app/creds", map[string]any{"more": canary}, nil); err != nil {
		t.Fatalf("PatchData() error = %v", err)
	}
	// Failing calls with the canary in their data say nothing of it.
	for name, err := range map[string]error{
		"WriteData(stale cas)": func() error {
			_, err := f.svc.WriteData(ctx, mount, "app/creds", data, ptr(1))
			return err
		}(),
		"WriteData(bad path)": func() error {
			_, err := f.svc.WriteData(ctx, mount, "../creds", data, nil)
			return err
		}(),
		"WriteData(unencodable)": func() error {
			_, err := f.svc.WriteData(ctx, mount, "app/x", map[string]any{canaryKey: canary, "f": func() {}}, nil)
			return err
		}(),
	} {
		if err == nil {
			t.Errorf("%s error = nil, want one", name)
		} else if bytes.Contains([]byte(err.Error()), []byte("CANARY")) {
			t.Errorf("%s error %q contains the canary", name, err)
		}
	}

	for v := 1; v <= 4; v++ {
		ct := storedCiphertext(t, f, mount, "app/creds", v)
		if bytes.Contains(ct, []byte("CANARY")) {
			t.Errorf("stored ciphertext of version %d contains the canary", v)
		}
	}
	md, err := f.svc.ReadMetadata(ctx, mount, "app/creds")
	if err != nil {
		t.Fatalf("ReadMetadata() error = %v", err)
	}
	if s := fmt.Sprintf("%+v", md); bytes.Contains([]byte(s), []byte("CANARY")) {
		t.Errorf("metadata %s contains the canary", s)
	}
	// Every file of the database: main file, WAL and shared memory.
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("Glob() = %v, %v", files, err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("ReadFile() error = %v", err)
		}
		if bytes.Contains(b, []byte("CANARY")) {
			t.Errorf("%s contains the canary", filepath.Base(name))
		}
	}
	// ...and yet the value is there.
	if got := f.read(t, "app/creds", 4).Data["more"]; got != canary {
		t.Errorf("ReadData() = %v, want the canary back", got)
	}
}
