package kv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/envelope"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kms/kmstest"
	"github.com/cofferhq/coffer/internal/kv"
	"github.com/cofferhq/coffer/internal/seal"
	"github.com/cofferhq/coffer/internal/store/sqlite"
	"github.com/cofferhq/coffer/internal/store/sqlite/sqlitetest"
)

// start is the fixture clock's first reading: UTC, to the microsecond.
var start = time.Date(2025, 6, 1, 10, 30, 0, 123456000, time.UTC)

// clock is a settable time source, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// keySource provisions one keyring (under its own fallback key) per mount
// on first use, as an instance gets one at creation.
type keySource struct {
	env  *envelope.Envelope
	mu   sync.Mutex
	keys map[string]envelope.Keys
}

func (k *keySource) Keys(ctx context.Context, mount string) (envelope.Keys, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if keys, ok := k.keys[mount]; ok {
		return keys, nil
	}
	ring, fallback, err := k.env.Provision(ctx, mount, nil)
	if err != nil {
		return envelope.Keys{}, err
	}
	keys := envelope.Keys{InstanceID: mount, WrappedKeyring: ring, WrappedFallbackKey: fallback}
	k.keys[mount] = keys
	return keys, nil
}

// fixture is a Service on a fresh SQLite store with the real envelope.
type fixture struct {
	svc   *kv.Service
	store kv.Store
	env   *envelope.Envelope
	keys  *keySource
	clock *clock
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureOn(t, sqlitetest.Open(t))
}

func newFixtureOn(t testing.TB, db *sqlite.DB) *fixture {
	t.Helper()
	root, err := seal.NewRootKey()
	if err != nil {
		t.Fatalf("NewRootKey() error = %v", err)
	}
	sl, err := seal.New(root)
	if err != nil {
		t.Fatalf("seal.New() error = %v", err)
	}
	env := envelope.New(envelope.Config{CacheTTL: time.Minute}, kmstest.NewFake(), sl)
	f := &fixture{store: db.KV(), env: env, clock: &clock{t: start},
		keys: &keySource{env: env, keys: map[string]envelope.Keys{}}}
	f.svc = kv.NewService(f.store, f.keys, env, kv.WithClock(f.clock.Now))
	return f
}

// mount is the mount most tests use.
const mount = "8b6b1c86-5a4d-4b8e-9a57-3c1e0c6f2f10"

// write writes data to path in mount and returns the version's metadata.
func (f *fixture) write(t *testing.T, path string, data map[string]any) kv.VersionMeta {
	t.Helper()
	sec, err := f.svc.WriteData(t.Context(), mount, path, data, nil)
	if err != nil {
		t.Fatalf("WriteData(%s) error = %v", path, err)
	}
	return sec.Meta
}

// read reads version of path and fails t on error.
func (f *fixture) read(t *testing.T, path string, version int) *kv.Secret {
	t.Helper()
	sec, err := f.svc.ReadData(t.Context(), mount, path, version)
	if err != nil {
		t.Fatalf("ReadData(%s, %d) error = %v", path, version, err)
	}
	return sec
}

// wantGone fails t unless err is a *GoneError for sec with the version
// metadata want, and sec has no data.
func wantGone(t *testing.T, op string, sec *kv.Secret, err error, want kv.VersionMeta) {
	t.Helper()
	var gone *kv.GoneError
	if !errors.As(err, &gone) {
		t.Fatalf("%s error = %v, want a *kv.GoneError", op, err)
	}
	if errs.KindOf(err) != errs.NotFound {
		t.Errorf("%s error kind = %v, want %v", op, errs.KindOf(err), errs.NotFound)
	}
	if sec == nil || gone.Secret != sec {
		t.Fatalf("%s returned secret %+v, want the GoneError's %+v", op, sec, gone.Secret)
	}
	if sec.Data != nil {
		t.Errorf("%s returned data for a gone version", op)
	}
	if diff := cmp.Diff(want, sec.Meta); diff != "" {
		t.Errorf("%s version metadata mismatch (-want +got):\n%s", op, diff)
	}
}

// wantErr fails t unless err has kind want and, when msg is not empty,
// the client message msg.
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

// decoded returns v as ReadData returns data: through JSON, with numbers
// as json.Number.
func decoded(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal() error = %v", err)
	}
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// jsonNumber returns s as ReadData returns a number.
func jsonNumber(s string) json.Number { return json.Number(s) }
