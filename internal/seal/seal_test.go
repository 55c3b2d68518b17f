package seal_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/seal"
)

func newSeal(t testing.TB) *seal.Seal {
	t.Helper()
	k, err := seal.NewRootKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := seal.New(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWrapUnwrap(t *testing.T) {
	s := newSeal(t)
	pt := []byte("key material")
	aad := []byte("coffer/test/row-1")
	w, err := s.Wrap(pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(w, pt) {
		t.Fatal("wrapped value contains the plaintext")
	}
	if len(w) != 1+12+len(pt)+16 {
		t.Errorf("len(wrapped) = %d, want format byte + nonce + ciphertext + tag = %d", len(w), 1+12+len(pt)+16)
	}
	got, err := s.Unwrap(w, aad)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("Unwrap() = %q, %v; want %q", got, err, pt)
	}
	w2, _ := s.Wrap(pt, aad)
	if bytes.Equal(w, w2) {
		t.Error("two wraps of the same plaintext are equal: nonces must be random")
	}
}

func TestUnwrapFailsClosed(t *testing.T) {
	s := newSeal(t)
	aad := []byte("coffer/test/row-1")
	w, _ := s.Wrap([]byte("key material"), aad)
	flip := func(i int) []byte {
		c := bytes.Clone(w)
		c[i] ^= 1
		return c
	}
	cases := map[string]struct {
		s       *seal.Seal
		wrapped []byte
		aad     []byte
	}{
		"flipped format byte":  {s, flip(0), aad},
		"flipped nonce bit":    {s, flip(3), aad},
		"flipped body bit":     {s, flip(len(w) - 20), aad},
		"flipped tag bit":      {s, flip(len(w) - 1), aad},
		"truncated":            {s, w[:len(w)-1], aad},
		"empty":                {s, nil, aad},
		"moved to another row": {s, w, []byte("coffer/test/row-2")},
		"other root key":       {newSeal(t), w, aad},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := tc.s.Unwrap(tc.wrapped, tc.aad)
			if errs.KindOf(err) != errs.FailedPrecondition || got != nil {
				t.Errorf("Unwrap() = %q, %v; want nil and FailedPrecondition", got, err)
			}
		})
	}
}

func TestNewRejectsBadKey(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := seal.New(make([]byte, n)); errs.KindOf(err) != errs.InvalidArgument {
			t.Errorf("New(%d bytes) = %v, want InvalidArgument", n, err)
		}
	}
}

func TestDeriveKey(t *testing.T) {
	s := newSeal(t)
	a, _ := s.DeriveKey("a")
	a2, _ := s.DeriveKey("a")
	b, _ := s.DeriveKey("b")
	if len(a) != 32 || !bytes.Equal(a, a2) || bytes.Equal(a, b) {
		t.Errorf("DeriveKey: want 32 stable bytes per purpose, distinct across purposes")
	}
	if strings.Contains(s.String(), "redacted") == false {
		t.Errorf("String() = %q, want a redacted form", s.String())
	}
}

type memCheck struct{ v []byte }

func (m *memCheck) EnsureSealCheck(_ context.Context, w []byte) ([]byte, error) {
	if m.v == nil {
		m.v = bytes.Clone(w)
	}
	return bytes.Clone(m.v), nil
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	st := &memCheck{}
	s := newSeal(t)
	if err := s.Verify(ctx, st); err != nil {
		t.Fatalf("first Verify = %v", err)
	}
	if err := s.Verify(ctx, st); err != nil {
		t.Fatalf("second Verify with the same key = %v", err)
	}
	err := newSeal(t).Verify(ctx, st)
	if errs.KindOf(err) != errs.FailedPrecondition || !strings.Contains(err.Error(), "root key does not match") {
		t.Fatalf("Verify with another key = %v, want FailedPrecondition 'root key does not match'", err)
	}
}

func TestLoadRootKey(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	k1, err := seal.LoadRootKey("", "", dir, log)
	if err != nil || len(k1) != 32 {
		t.Fatalf("generate: %v, %d bytes", err, len(k1))
	}
	fi, err := os.Stat(filepath.Join(dir, seal.DefaultKeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("root key file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	k2, err := seal.LoadRootKey("", "", dir, log)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second load generated a new key or failed: %v", err)
	}
	enc := base64.StdEncoding.EncodeToString(k1)
	if k, err := seal.LoadRootKey(enc, "", t.TempDir(), log); err != nil || !bytes.Equal(k, k1) {
		t.Errorf("from env: %v", err)
	}
	f := filepath.Join(t.TempDir(), "k")
	os.WriteFile(f, []byte(enc+"\n"), 0o600)
	if k, err := seal.LoadRootKey("", f, t.TempDir(), log); err != nil || !bytes.Equal(k, k1) {
		t.Errorf("from file (with trailing newline): %v", err)
	}
	for name, v := range map[string]string{"not base64": "!!!", "short": base64.StdEncoding.EncodeToString(make([]byte, 16))} {
		_, err := seal.LoadRootKey(v, "", dir, log)
		if errs.KindOf(err) != errs.InvalidArgument || strings.Contains(err.Error(), v) {
			t.Errorf("%s: err = %v; want InvalidArgument that does not echo the value", name, err)
		}
	}
	if _, err := seal.LoadRootKey("", filepath.Join(dir, "missing"), dir, log); err == nil {
		t.Error("a missing COFFER_ROOT_KEY_FILE must fail, never generate")
	}
}

// FuzzUnwrap feeds arbitrary bytes to the wrapped-value parser: it must never
// panic and must never accept a value it did not make.
func FuzzUnwrap(f *testing.F) {
	s := newSeal(f)
	good, _ := s.Wrap([]byte("pt"), []byte("aad"))
	f.Add(good, []byte("aad"))
	f.Add([]byte{}, []byte{})
	f.Add([]byte{1}, []byte("aad"))
	f.Add(append([]byte{1}, make([]byte, 40)...), []byte("aad"))
	f.Fuzz(func(t *testing.T, wrapped, aad []byte) {
		pt, err := s.Unwrap(wrapped, aad)
		if err == nil && !(bytes.Equal(wrapped, good) && string(aad) == "aad") {
			t.Fatalf("Unwrap accepted a forged value: %x -> %q", wrapped, pt)
		}
	})
}
