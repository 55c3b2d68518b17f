package services_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/dbtest"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kms"
	"github.com/cofferhq/coffer/internal/mount"
	"github.com/cofferhq/coffer/internal/seal"
	"github.com/cofferhq/coffer/internal/services"
	"github.com/cofferhq/coffer/internal/store/postgres"
	"github.com/cofferhq/coffer/internal/store/sqlite/sqlitetest"
	"github.com/cofferhq/coffer/internal/token"
	"github.com/cofferhq/coffer/internal/transit"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// clock is a settable clock shared by the token service and the Manager.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// logBuffer collects log lines safely.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }
func (l *logBuffer) Reset()         { l.mu.Lock(); l.b.Reset(); l.mu.Unlock() }

// fakeSealer provisions KV mounts' keyrings with fixed bytes; the tests
// only need one to make a KV mount stand in the way.
type fakeSealer struct{}

func (fakeSealer) Provision(context.Context, string, *kms.KeyRef) ([]byte, []byte, error) {
	return []byte("keyring"), []byte("fallback"), nil
}

// env is a Manager over a real store with its collaborators.
type env struct {
	m          *services.Manager
	store      services.Store
	tokenStore token.Store
	tokens     *token.Service
	keys       *transit.Service
	mounts     *mount.Service
	seal       *seal.Seal
	clock      *clock
	logs       *logBuffer
}

func newEnv(t *testing.T, kind string) *env {
	t.Helper()
	var st services.Store
	var ts token.Store
	var tr transit.Store
	var ms mount.Store
	switch kind {
	case "sqlite":
		db := sqlitetest.Open(t)
		st, ts, tr, ms = db.TransitEndpoints(), db.Tokens(), db.Transit(), db.Mounts()
	case "postgres":
		db, err := postgres.Open(t.Context(), dbtest.Postgres(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		st, ts, tr, ms = db.TransitEndpoints(), db.Tokens(), db.Transit(), db.Mounts()
	}
	root, err := seal.NewRootKey()
	if err != nil {
		t.Fatal(err)
	}
	sl, err := seal.New(root)
	if err != nil {
		t.Fatal(err)
	}
	hk, err := sl.DeriveKey("vault/token-hash")
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)}
	e := &env{store: st, tokenStore: ts, seal: sl, clock: clk, logs: &logBuffer{}}
	e.tokens = token.NewService(token.Config{DefaultTTL: 15 * time.Minute, MaxTTL: 24 * time.Hour}, ts, hk,
		token.WithClock(clk.now))
	e.keys = transit.NewService(tr, sl, transit.WithClock(clk.now))
	e.mounts = mount.NewService(ms, fakeSealer{}, mount.WithClock(clk.now))
	e.m = services.NewManager(services.Deps{Store: st, Keys: e.keys, Mounts: e.mounts, Tokens: e.tokens, Revoker: ts,
		Seal: sl, Log: slog.New(slog.NewTextHandler(e.logs, nil)), Now: clk.now})
	return e
}

// forKinds runs f on both stores.
func forKinds(t *testing.T, f func(t *testing.T, e *env)) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			f(t, newEnv(t, kind))
		})
	}
}

func mustParse(t *testing.T, y string) *services.File {
	t.Helper()
	f, err := services.Parse([]byte(y))
	if err != nil {
		t.Fatalf("Parse() error = %v", err)
	}
	return f
}

func mustApply(t *testing.T, e *env, y string) {
	t.Helper()
	if err := e.m.Apply(t.Context(), mustParse(t, y)); err != nil {
		t.Fatalf("Apply() error = %v", err)
	}
}

// creds returns every endpoint's credential by id.
func creds(t *testing.T, e *env) map[string]services.Credential {
	t.Helper()
	list, err := e.m.Credentials(t.Context(), "")
	if err != nil {
		t.Fatalf("Credentials() error = %v", err)
	}
	out := map[string]services.Credential{}
	for _, c := range list {
		out[c.Endpoint] = c
	}
	return out
}

// live returns the token of secret; it fails t when the token does not work.
func live(t *testing.T, e *env, secret string) *token.Token {
	t.Helper()
	tk, err := e.tokens.Lookup(t.Context(), secret, netip.Addr{})
	if err != nil {
		t.Fatalf("Lookup() of an endpoint token error = %v", err)
	}
	return tk
}

// dead fails t unless the token of secret no longer works.
func dead(t *testing.T, e *env, what, secret string) {
	t.Helper()
	if _, err := e.tokens.Lookup(t.Context(), secret, netip.Addr{}); errs.KindOf(err) != errs.PermissionDenied {
		t.Errorf("Lookup() of %s error = %v, want permission denied", what, err)
	}
}

const twoEndpoints = `endpoints:
  manage_keys:
    - {policy: admin, key: vault-sign, type: sign}
    - {policy: sign, key: vault-sign, type: sign}
    - {policy: verify, key: vault-sign, type: sign}
  data:
    - {policy: encrypt, key: data-key, type: encrypt}
    - {policy: decrypt, key: data-key, type: encrypt}
`

func TestApplyCreatesMountKeysAndTokens(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		mustApply(t, e, twoEndpoints)
		mt, err := e.mounts.Mount(ctx, mount.KindSecret, "transit")
		if err != nil || mt.Type != mount.TypeTransit {
			t.Fatalf("transit mount = %v, %v", mt, err)
		}
		for name, typ := range map[string]string{"vault-sign": "ecdsa-p256", "data-key": "chacha20-poly1305"} {
			k, err := e.keys.Key(ctx, "transit", name)
			if err != nil || k.Type != typ || k.LatestVersion != 1 {
				t.Errorf("key %s = %v, %v; want type %s at version 1", name, k, err, typ)
			}
		}
		cs := creds(t, e)
		if len(cs) != 2 {
			t.Fatalf("credentials = %v, want 2", cs)
		}
		want := map[string][]string{
			"manage_keys": {"default", "transit-admin-vault-sign", "transit-sign-vault-sign", "transit-verify-vault-sign"},
			"data":        {"default", "transit-decrypt-data-key", "transit-encrypt-data-key"},
		}
		for id, policies := range want {
			c := cs[id]
			tk := live(t, e, c.Token)
			if diff := cmp.Diff(policies, tk.Policies); diff != "" {
				t.Errorf("%s token policies mismatch (-want +got):\n%s", id, diff)
			}
			if !c.Live || c.Service != "vault-kms" || c.Accessor != tk.Accessor || !c.ExpiresAt.Equal(tk.ExpiresAt) {
				t.Errorf("credential %s = %v, want live, service vault-kms, the token's accessor and expiry", id, c)
			}
			if tk.Meta["endpoint"] != id || tk.DisplayName != "endpoint-"+id || tk.Renewable {
				t.Errorf("%s token meta %v, display name %q, renewable %t", id, tk.Meta, tk.DisplayName, tk.Renewable)
			}
			if got := tk.ExpiresAt.Sub(tk.CreatedAt); got != services.TokenTTL {
				t.Errorf("%s token lives %v, want one year", id, got)
			}
			if strings.Contains(e.logs.String(), c.Token) {
				t.Errorf("the logs show the token of %s", id)
			}
		}
		for _, want := range []string{"transit mount created", "transit key created", "endpoint=manage_keys", "reason=\"new endpoint\""} {
			if !strings.Contains(e.logs.String(), want) {
				t.Errorf("logs lack %q:\n%s", want, e.logs)
			}
		}
	})
}

func TestApplyIsIdempotent(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		mustApply(t, e, twoEndpoints)
		before := creds(t, e)
		k1, _ := e.keys.Key(t.Context(), "transit", "vault-sign")
		e.logs.Reset()
		e.clock.add(time.Hour)
		mustApply(t, e, twoEndpoints)
		if diff := cmp.Diff(before, creds(t, e)); diff != "" {
			t.Errorf("credentials changed on a second Apply (-before +after):\n%s", diff)
		}
		k2, _ := e.keys.Key(t.Context(), "transit", "vault-sign")
		if k1.Versions[1].CreatedAt != k2.Versions[1].CreatedAt {
			t.Error("a second Apply replaced an existing key")
		}
		if strings.Contains(e.logs.String(), "issued") || strings.Contains(e.logs.String(), "created") {
			t.Errorf("a second Apply changed something:\n%s", e.logs)
		}
	})
}

func TestApplyReissuesWhenPoliciesChange(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		mustApply(t, e, twoEndpoints)
		before := creds(t, e)
		e.logs.Reset()
		mustApply(t, e, strings.Replace(twoEndpoints, "    - {policy: decrypt, key: data-key, type: encrypt}\n",
			"    - {policy: rewrap, key: data-key, type: encrypt}\n", 1))
		after := creds(t, e)
		if after["manage_keys"].Token != before["manage_keys"].Token {
			t.Error("an unchanged endpoint got a new token")
		}
		if after["data"].Token == before["data"].Token {
			t.Fatal("the changed endpoint kept its token")
		}
		dead(t, e, "the old token of the changed endpoint", before["data"].Token)
		tk := live(t, e, after["data"].Token)
		if diff := cmp.Diff([]string{"default", "transit-encrypt-data-key", "transit-rewrap-data-key"}, tk.Policies); diff != "" {
			t.Errorf("new token policies mismatch (-want +got):\n%s", diff)
		}
		if logs := e.logs.String(); !strings.Contains(logs, "endpoint=data") || !strings.Contains(logs, "policies changed") ||
			strings.Contains(logs, "endpoint=manage_keys") {
			t.Errorf("logs should name only the data endpoint:\n%s", logs)
		}
	})
}

func TestApplyRemovesEndpoints(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		mustApply(t, e, twoEndpoints)
		before := creds(t, e)
		mustApply(t, e, twoEndpoints[:strings.Index(twoEndpoints, "  data:")])
		after := creds(t, e)
		if _, ok := after["data"]; ok || len(after) != 1 {
			t.Fatalf("credentials after removal = %v", after)
		}
		dead(t, e, "a removed endpoint's token", before["data"].Token)
		live(t, e, before["manage_keys"].Token)
		if _, err := e.keys.Key(t.Context(), "transit", "data-key"); err != nil {
			t.Errorf("the removed endpoint's key is gone: %v", err)
		}
		_, err := e.m.Credentials(t.Context(), "data")
		if errs.KindOf(err) != errs.NotFound || !strings.Contains(err.Error(), `"data"`) {
			t.Errorf("Credentials(removed) error = %v, want not found naming it", err)
		}
		mustApply(t, e, "endpoints: {}\n")
		if cs := creds(t, e); len(cs) != 0 {
			t.Errorf("credentials after emptying the file = %v", cs)
		}
		dead(t, e, "the last endpoint's token", before["manage_keys"].Token)
	})
}

func TestApplyReplacesRevokedAndExpiredTokens(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		mustApply(t, e, twoEndpoints)
		first := creds(t, e)
		if err := e.tokens.Revoke(ctx, first["data"].Token); err != nil {
			t.Fatal(err)
		}
		cs, err := e.m.Credentials(ctx, "data")
		if err != nil || cs[0].Live {
			t.Errorf("Credentials(revoked) = %v, %v; want not live", cs, err)
		}
		mustApply(t, e, twoEndpoints)
		second := creds(t, e)
		if second["data"].Token == first["data"].Token || !second["data"].Live {
			t.Error("a revoked token was not replaced")
		}
		if second["manage_keys"].Token != first["manage_keys"].Token {
			t.Error("a working token was replaced")
		}

		// Within 30 days of expiry: kept, with a warning.
		e.logs.Reset()
		e.clock.add(services.TokenTTL - 10*24*time.Hour)
		mustApply(t, e, twoEndpoints)
		if diff := cmp.Diff(second, creds(t, e)); diff != "" {
			t.Errorf("tokens near expiry were replaced (-before +after):\n%s", diff)
		}
		if !strings.Contains(e.logs.String(), "expires soon") || !strings.Contains(e.logs.String(), "endpoint=manage_keys") {
			t.Errorf("no expiry warning:\n%s", e.logs)
		}
		// Expired: replaced.
		e.clock.add(11 * 24 * time.Hour)
		mustApply(t, e, twoEndpoints)
		third := creds(t, e)
		for id := range third {
			if third[id].Token == second[id].Token || !third[id].Live {
				t.Errorf("the expired token of %s was not replaced", id)
			}
		}
	})
}

func TestApplyRenamedServiceReissues(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		mustApply(t, e, seedExample)
		before := creds(t, e)["manage_keys"]
		mustApply(t, e, strings.Replace(seedExample, "vault-kms:\n", "kms:\n", 1))
		after := creds(t, e)["manage_keys"]
		if after.Service != "kms" || after.Token == before.Token {
			t.Errorf("after renaming the service: %v (token changed: %t)", after, after.Token != before.Token)
		}
		dead(t, e, "the renamed service's old token", before.Token)
	})
}

func TestRotate(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		mustApply(t, e, twoEndpoints)
		before := creds(t, e)
		tk, err := e.m.Rotate(ctx, "data")
		if err != nil {
			t.Fatalf("Rotate() error = %v", err)
		}
		after := creds(t, e)
		if after["data"].Token == before["data"].Token || after["data"].Accessor != tk.Accessor {
			t.Fatal("Rotate() did not store a new token")
		}
		dead(t, e, "the rotated-out token", before["data"].Token)
		if diff := cmp.Diff(before["data"].Policies, live(t, e, after["data"].Token).Policies); diff != "" {
			t.Errorf("rotated token policies mismatch (-want +got):\n%s", diff)
		}
		if after["manage_keys"].Token != before["manage_keys"].Token {
			t.Error("Rotate() changed another endpoint")
		}
		// The next start keeps the rotated token.
		mustApply(t, e, twoEndpoints)
		if creds(t, e)["data"].Token != after["data"].Token {
			t.Error("Apply replaced a rotated token")
		}
		_, err = e.m.Rotate(ctx, "nope")
		if errs.KindOf(err) != errs.NotFound || !strings.Contains(err.Error(), `"nope"`) ||
			!strings.Contains(err.Error(), "data, manage_keys") {
			t.Errorf("Rotate(unknown) error = %v, want not found naming it and the endpoints", err)
		}
	})
}

// TestConcurrentApply: processes that start together on one database end
// with one working token per endpoint, and every other one revoked.
func TestConcurrentApply(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		f := mustParse(t, twoEndpoints)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if err := e.m.Apply(context.Background(), f); err != nil {
					t.Errorf("Apply() error = %v", err)
				}
			})
		}
		wg.Wait()
		cs := creds(t, e)
		if len(cs) != 2 || !cs["data"].Live || !cs["manage_keys"].Live {
			t.Fatalf("credentials after concurrent applies = %v", cs)
		}
		for _, id := range []string{"data", "manage_keys"} {
			n, err := e.tokenStore.RevokeTokensByMeta(t.Context(), "endpoint", id)
			if err != nil || n != 1 {
				t.Errorf("tokens of endpoint %s = %d, %v; want exactly the stored one", id, n, err)
			}
		}
	})
}

// wantNothingApplied fails t unless e has no endpoint, no token of the
// endpoints of twoEndpoints, no transit mount and only the keys in keys.
func wantNothingApplied(t *testing.T, e *env, keys []string) {
	t.Helper()
	ctx := t.Context()
	if list, err := e.store.ListEndpoints(ctx); err != nil || len(list) != 0 {
		t.Errorf("endpoints = %v, %v; want none", list, err)
	}
	for _, id := range []string{"manage_keys", "data", "e1", "e0"} {
		if n, err := e.tokenStore.RevokeTokensByMeta(ctx, "endpoint", id); err != nil || n != 0 {
			t.Errorf("tokens of endpoint %s = %d, %v; want none", id, n, err)
		}
	}
	if _, err := e.mounts.Mount(ctx, mount.KindSecret, "transit"); errs.KindOf(err) != errs.NotFound {
		t.Errorf("transit mount: %v, want none", err)
	}
	names, err := e.keys.List(ctx, "transit")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(keys, names); diff != "" {
		t.Errorf("transit keys mismatch (-want +got):\n%s", diff)
	}
}

// TestBadFilesApplyNothing runs each bad services file the way serve does
// (Load, then Apply) and checks that nothing was applied.
func TestBadFilesApplyNothing(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		for _, tt := range badLines {
			if !strings.HasPrefix(tt.yaml, "endpoints:\n") {
				continue
			}
			f, err := services.Parse([]byte(twoEndpoints + strings.TrimPrefix(tt.yaml, "endpoints:\n")))
			if err == nil {
				err = e.m.Apply(t.Context(), f)
			}
			if err == nil || !strings.Contains(err.Error(), `endpoint "`+tt.endpoint+`"`) {
				t.Errorf("%s: error = %v", tt.name, err)
			}
		}
		wantNothingApplied(t, e, []string{})
	})
}

// TestApplyRefusesChangedKeyType: a key that exists with another type than
// the file's is refused, naming endpoint, policy and key, and nothing of
// the file is applied.
func TestApplyRefusesChangedKeyType(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		if _, err := e.keys.Create(ctx, "transit", "data-key", "ecdsa-p256", transit.Options{}); err != nil {
			t.Fatal(err)
		}
		err := e.m.Apply(ctx, mustParse(t, twoEndpoints))
		if errs.KindOf(err) != errs.InvalidArgument {
			t.Fatalf("Apply() error = %v, want invalid argument", err)
		}
		for _, want := range []string{`endpoint "data", policy "encrypt", key "data-key"`,
			"exists with type ecdsa-p256, but type encrypt needs chacha20-poly1305"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Apply() error = %q, want it to contain %q", err, want)
			}
		}
		wantNothingApplied(t, e, []string{"data-key"})
	})
}

func TestEnsureMount(t *testing.T) {
	forKinds(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		for range 2 { // creates, then finds
			if err := e.m.EnsureMount(ctx); err != nil {
				t.Fatalf("EnsureMount() error = %v", err)
			}
		}
		if err := e.mounts.Disable(ctx, mount.KindSecret, "transit"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.mounts.Enable(ctx, mount.KindSecret, "transit", "kv", "", nil, 0, 0); err != nil {
			t.Fatal(err)
		}
		if err := e.m.EnsureMount(ctx); errs.KindOf(err) != errs.FailedPrecondition || !strings.Contains(err.Error(), "type kv") {
			t.Errorf("EnsureMount() over a kv mount error = %v, want failed precondition naming the type", err)
		}
		if err := e.m.Apply(ctx, mustParse(t, twoEndpoints)); err == nil {
			t.Error("Apply() over a kv mount succeeded")
		}
	})
}
