package envelope_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cofferhq/coffer/internal/envelope"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kms"
	"github.com/cofferhq/coffer/internal/kms/kmstest"
	"github.com/cofferhq/coffer/internal/seal"
)

var (
	keyA = kms.KeyRef{RegionID: "eu01", ProjectID: "p", KeyRingID: "r", KeyID: "a", KeyVersion: 1}
	keyB = kms.KeyRef{RegionID: "eu01", ProjectID: "p", KeyRingID: "r", KeyID: "b", KeyVersion: 1}
)

func newEnvelope(t testing.TB, ttl time.Duration) (*envelope.Envelope, *kmstest.Fake) {
	t.Helper()
	rk, _ := seal.NewRootKey()
	sl, _ := seal.New(rk)
	fake := kmstest.NewFake(keyA, keyB)
	return envelope.New(envelope.Config{CacheTTL: ttl}, fake, sl), fake
}

func provision(t testing.TB, e *envelope.Envelope, id string, key *kms.KeyRef) envelope.Keys {
	t.Helper()
	w, fb, err := e.Provision(context.Background(), id, key)
	if err != nil {
		t.Fatal(err)
	}
	return envelope.Keys{InstanceID: id, KMSKey: key, WrappedKeyring: w, WrappedFallbackKey: fb}
}

func TestSealOpen(t *testing.T) {
	for name, key := range map[string]*kms.KeyRef{"kmsKey": &keyA, "fallback": nil} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			e, _ := newEnvelope(t, time.Minute)
			k := provision(t, e, "inst-1", key)
			pt, aad := []byte("canary-secret-value"), []byte("kv/app/db/v1")
			ct, err := e.Seal(ctx, k, aad, pt)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(ct, pt) || bytes.Contains(k.WrappedKeyring, pt) {
				t.Fatal("plaintext visible in a ciphertext")
			}
			got, err := e.Open(ctx, k, aad, ct)
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("Open = %q, %v", got, err)
			}
			other := provision(t, e, "inst-2", key)
			flip := func(i int) []byte { c := bytes.Clone(ct); c[i] ^= 1; return c }
			for name, tc := range map[string]struct {
				k   envelope.Keys
				aad []byte
				ct  []byte
			}{
				"flipped bit":               {k, aad, flip(len(ct) - 1)},
				"flipped generation":        {k, aad, flip(4)},
				"flipped format":            {k, aad, flip(0)},
				"truncated":                 {k, aad, ct[:3]},
				"moved to another path":     {k, []byte("kv/app/other/v1"), ct},
				"moved to another version":  {k, []byte("kv/app/db/v2"), ct},
				"moved to another instance": {other, aad, ct},
			} {
				got, err := e.Open(ctx, tc.k, tc.aad, tc.ct)
				if errs.KindOf(err) != errs.InvalidArgument || got != nil {
					t.Errorf("%s: Open = %q, %v; want nil and InvalidArgument", name, got, err)
				}
			}
		})
	}
}

func TestRewrapKeepsValues(t *testing.T) {
	ctx := context.Background()
	e, fake := newEnvelope(t, time.Minute)
	k := provision(t, e, "inst", &keyA)
	ct, _ := e.Seal(ctx, k, []byte("p"), []byte("v"))
	for _, next := range []*kms.KeyRef{&keyB, nil, &keyA} {
		w, err := e.Rewrap(ctx, k, next)
		if err != nil {
			t.Fatalf("Rewrap to %v: %v", next, err)
		}
		k.WrappedKeyring, k.KMSKey = w, next
		if got, err := e.Open(ctx, k, []byte("p"), ct); err != nil || string(got) != "v" {
			t.Fatalf("after rewrap to %v: Open = %q, %v", next, got, err)
		}
	}
	// The current key disabled: the keyring cannot be unwrapped, so no switch.
	fake.Disable(keyA)
	if _, err := e.Rewrap(ctx, k, &keyB); errs.KindOf(err) != errs.FailedPrecondition {
		t.Errorf("Rewrap with the current key disabled = %v, want FailedPrecondition", err)
	}
	// A keyring stored for kmsKey A cannot be opened as if it were under B.
	wrong := k
	wrong.KMSKey = &keyB
	e2, _ := newEnvelope(t, 0)
	if _, err := e2.Open(ctx, wrong, []byte("p"), ct); err == nil {
		t.Error("a keyring opened under the wrong kmsKey")
	}
}

func TestCacheAvoidsKMS(t *testing.T) {
	ctx := context.Background()
	e, fake := newEnvelope(t, time.Minute)
	k := provision(t, e, "inst", &keyA)
	for range 10 {
		if _, err := e.Seal(ctx, k, []byte("p"), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if n := fake.CallCount("decrypt"); n != 1 {
		t.Errorf("10 seals made %d KMS decrypt calls, want 1 (cached)", n)
	}
	// A rewrapped keyring (new bytes) bypasses the cache at once.
	w, err := e.Rewrap(ctx, k, &keyB)
	if err != nil {
		t.Fatal(err)
	}
	k.WrappedKeyring, k.KMSKey = w, &keyB
	before := fake.CallCount("decrypt")
	if _, err := e.Seal(ctx, k, []byte("p"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if fake.CallCount("decrypt") != before+1 {
		t.Error("a rewrapped keyring was served from the cache")
	}
}

func TestKMSFailureIsClear(t *testing.T) {
	ctx := context.Background()
	e, fake := newEnvelope(t, 0)
	k := provision(t, e, "inst", &keyA)
	fake.Fail = func(string, kms.KeyRef) error { return errs.E(errs.Unavailable, "kms unreachable") }
	_, err := e.Seal(ctx, k, []byte("p"), []byte("v"))
	if errs.KindOf(err) != errs.Unavailable {
		t.Errorf("Seal with the KMS down = %v, want Unavailable", err)
	}
	if _, _, err := e.Provision(ctx, "new", &keyA); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("Provision with the KMS down = %v, want Unavailable", err)
	}
}

func TestRotateKeyring(t *testing.T) {
	ctx := context.Background()
	e, _ := newEnvelope(t, time.Minute)
	k := provision(t, e, "inst", nil)
	old, _ := e.Seal(ctx, k, []byte("p"), []byte("old"))
	w, err := e.RotateKeyring(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	k.WrappedKeyring = w
	cur, _ := e.Seal(ctx, k, []byte("p"), []byte("new"))
	if old[4] != 1 || cur[4] != 2 {
		t.Errorf("generations = %d, %d; want 1 then 2", old[4], cur[4])
	}
	for ct, want := range map[string]string{string(old): "old", string(cur): "new"} {
		if got, err := e.Open(ctx, k, []byte("p"), []byte(ct)); err != nil || string(got) != want {
			t.Errorf("Open = %q, %v; want %q", got, err, want)
		}
	}
}

// Benchmarks: the envelope's Seal/Open on a cached keyring beside raw
// AES-256-GCM from crypto/cipher (the floor) on the same payload.
func BenchmarkSeal(b *testing.B) {
	for _, n := range []int{128, 1024, 16384} {
		e, _ := newEnvelope(b, time.Hour)
		k := provision(b, e, "inst", &keyA)
		pt := make([]byte, n)
		b.Run(sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := e.Seal(context.Background(), k, []byte("kv/p/v1"), pt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, n := range []int{128, 1024, 16384} {
		e, _ := newEnvelope(b, time.Hour)
		k := provision(b, e, "inst", &keyA)
		ct, _ := e.Seal(context.Background(), k, []byte("kv/p/v1"), make([]byte, n))
		b.Run(sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				if _, err := e.Open(context.Background(), k, []byte("kv/p/v1"), ct); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRawAESGCMSeal(b *testing.B) {
	key := make([]byte, 32)
	rand.Read(key)
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCMWithRandomNonce(block)
	for _, n := range []int{128, 1024, 16384} {
		pt := make([]byte, n)
		b.Run(sizeName(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				aead.Seal(nil, nil, pt, []byte("kv/p/v1"))
			}
		})
	}
}

func sizeName(n int) string { return fmt.Sprintf("%dB", n) }

func TestRewrapErrorKinds(t *testing.T) {
	ctx := context.Background()
	e, fake := newEnvelope(t, time.Minute)
	k := provision(t, e, "inst", &keyA)
	fake.Fail = func(op string, _ kms.KeyRef) error {
		if op == "decrypt" {
			return errs.E(errs.Unavailable, "kms unreachable")
		}
		return nil
	}
	if _, err := e.Rewrap(ctx, k, &keyB); errs.KindOf(err) != errs.Unavailable {
		t.Errorf("Rewrap with the KMS down = %v (kind %v), want Unavailable", err, errs.KindOf(err))
	}
	fake.Fail = func(op string, r kms.KeyRef) error {
		if op == "encrypt" && r == keyB {
			return errs.E(errs.Internal, "boom")
		}
		return nil
	}
	if _, err := e.Rewrap(ctx, k, &keyB); errs.KindOf(err) != errs.Internal {
		t.Errorf("Rewrap whose new-key wrap fails = %v (kind %v), want Internal", err, errs.KindOf(err))
	}
	fake.Fail = nil
	fake.Disable(keyA)
	err := func() error { _, err := e.Rewrap(ctx, k, &keyB); return err }()
	if errs.KindOf(err) != errs.FailedPrecondition || !strings.Contains(errs.Message(err), "cannot be unwrapped") {
		t.Errorf("Rewrap with the current version disabled = %v, want FailedPrecondition 'cannot be unwrapped'", err)
	}
}
