package vaultapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/cache"
	"github.com/cofferhq/coffer/internal/dbtest"
	"github.com/cofferhq/coffer/internal/envelope"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/instance"
	"github.com/cofferhq/coffer/internal/kv"
	"github.com/cofferhq/coffer/internal/mount"
	"github.com/cofferhq/coffer/internal/seal"
	"github.com/cofferhq/coffer/internal/store/postgres"
	"github.com/cofferhq/coffer/internal/store/sqlite/sqlitetest"
	"github.com/cofferhq/coffer/internal/token"
	"github.com/cofferhq/coffer/internal/transit"
	"github.com/cofferhq/coffer/internal/vaultapi"
)

// storeCalls counts every call of every store behind a listener.
type storeCalls struct{ n atomic.Int64 }

func (c *storeCalls) add() { c.n.Add(1) }

type countedTokens struct {
	s token.Store
	c *storeCalls
}

func (t countedTokens) CreateToken(ctx context.Context, tk *token.Token) error {
	t.c.add()
	return t.s.CreateToken(ctx, tk)
}
func (t countedTokens) TokenByHash(ctx context.Context, h []byte) (*token.Token, error) {
	t.c.add()
	return t.s.TokenByHash(ctx, h)
}
func (t countedTokens) TokenByAccessor(ctx context.Context, a string) (*token.Token, error) {
	t.c.add()
	return t.s.TokenByAccessor(ctx, a)
}
func (t countedTokens) UpdateTokenExpiry(ctx context.Context, a string, exp time.Time) error {
	t.c.add()
	return t.s.UpdateTokenExpiry(ctx, a, exp)
}
func (t countedTokens) RevokeToken(ctx context.Context, a string) error {
	t.c.add()
	return t.s.RevokeToken(ctx, a)
}
func (t countedTokens) RevokeTokensByMeta(ctx context.Context, k, v string) (int, error) {
	t.c.add()
	return t.s.RevokeTokensByMeta(ctx, k, v)
}
func (t countedTokens) DeleteExpiredTokens(ctx context.Context, at time.Time) (int, error) {
	t.c.add()
	return t.s.DeleteExpiredTokens(ctx, at)
}

type countedTransit struct {
	s transit.Store
	c *storeCalls
}

func (t countedTransit) Create(ctx context.Context, k *transit.StoredKey) error {
	t.c.add()
	return t.s.Create(ctx, k)
}
func (t countedTransit) Get(ctx context.Context, m, n string) (*transit.StoredKey, error) {
	t.c.add()
	return t.s.Get(ctx, m, n)
}
func (t countedTransit) List(ctx context.Context, m string) ([]string, error) {
	t.c.add()
	return t.s.List(ctx, m)
}
func (t countedTransit) Update(ctx context.Context, k *transit.StoredKey) error {
	t.c.add()
	return t.s.Update(ctx, k)
}
func (t countedTransit) Delete(ctx context.Context, m, n string) error {
	t.c.add()
	return t.s.Delete(ctx, m, n)
}
func (t countedTransit) DeleteMount(ctx context.Context, m string) error {
	t.c.add()
	return t.s.DeleteMount(ctx, m)
}

type countedMounts struct {
	s mount.Store
	c *storeCalls
}

func (t countedMounts) CreateMount(ctx context.Context, m *mount.Mount) error {
	t.c.add()
	return t.s.CreateMount(ctx, m)
}
func (t countedMounts) Mount(ctx context.Context, kind, path string) (*mount.Mount, error) {
	t.c.add()
	return t.s.Mount(ctx, kind, path)
}
func (t countedMounts) ListMounts(ctx context.Context, kind string) ([]*mount.Mount, error) {
	t.c.add()
	return t.s.ListMounts(ctx, kind)
}
func (t countedMounts) TuneMount(ctx context.Context, m *mount.Mount) error {
	t.c.add()
	return t.s.TuneMount(ctx, m)
}
func (t countedMounts) SetMountOptions(ctx context.Context, kind, path string, set map[string]string) error {
	t.c.add()
	return t.s.SetMountOptions(ctx, kind, path, set)
}
func (t countedMounts) DeleteMount(ctx context.Context, kind, path string) error {
	t.c.add()
	return t.s.DeleteMount(ctx, kind, path)
}
func (t countedMounts) PutUser(ctx context.Context, u *mount.User) error {
	t.c.add()
	return t.s.PutUser(ctx, u)
}
func (t countedMounts) User(ctx context.Context, m, u string) (*mount.User, error) {
	t.c.add()
	return t.s.User(ctx, m, u)
}
func (t countedMounts) ListUsers(ctx context.Context, m string) ([]*mount.User, error) {
	t.c.add()
	return t.s.ListUsers(ctx, m)
}
func (t countedMounts) DeleteUser(ctx context.Context, m, u string) error {
	t.c.add()
	return t.s.DeleteUser(ctx, m, u)
}

// countedInstances is the control plane for a listener without instances.
type countedInstances struct{ c *storeCalls }

func (i countedInstances) Login(context.Context, string, string) (*instance.User, *instance.Instance, error) {
	i.c.add()
	return nil, nil, errs.E(errs.PermissionDenied, "permission denied")
}
func (i countedInstances) InstanceByID(context.Context, string) (*instance.Instance, error) {
	i.c.add()
	return nil, errs.E(errs.NotFound, "no instance")
}
func (i countedInstances) AllowsAddress(context.Context, string, netip.Addr) (bool, error) {
	i.c.add()
	return false, nil
}

// noKV is a KV engine's key source and sealer that are never used here.
type noKV struct{ c *storeCalls }

func (n noKV) Keys(context.Context, string) (envelope.Keys, error) {
	n.c.add()
	return envelope.Keys{}, errs.E(errs.NotFound, "no KV mount")
}
func (n noKV) Seal(context.Context, envelope.Keys, []byte, []byte) ([]byte, error) {
	n.c.add()
	return nil, errs.E(errs.Internal, "unused")
}
func (n noKV) Open(context.Context, envelope.Keys, []byte, []byte) ([]byte, error) {
	n.c.add()
	return nil, errs.E(errs.Internal, "unused")
}

// startCounted runs a Vault listener of kind whose token, mount and
// transit stores (and everything else it could reach) count their calls.
// It is configured as serve configures it: caches, a text logger at info
// level (to io.Discard) and Prometheus metrics. It returns the listener's
// URL, a root token, the counter, and a func that returns once every
// cache invalidation committed so far has been delivered.
func startCounted(t testing.TB, kind apitest.Kind) (string, string, *storeCalls, func()) {
	t.Helper()
	var (
		tokStore token.Store
		mntStore mount.Store
		trStore  transit.Store
		kvStore  kv.Store
		bus      *cache.Bus
		synced   = func() {}
	)
	switch kind {
	case apitest.SQLite:
		db := sqlitetest.Open(t)
		tokStore, mntStore, trStore, kvStore, bus = db.Tokens(), db.Mounts(), db.Transit(), db.KV(), cache.NewLocalBus()
	case apitest.Postgres:
		url := dbtest.Postgres(t)
		db, err := postgres.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		tokStore, mntStore, trStore, kvStore, bus = db.Tokens(), db.Mounts(), db.Transit(), db.KV(), cache.NewBus()
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); db.Listener(bus, slog.New(slog.DiscardHandler)).Run(ctx) }()
		t.Cleanup(func() { stop(); <-done })
		synced = func() { syncBus(t, url, bus) }
	}
	root, err := seal.NewRootKey()
	if err != nil {
		t.Fatal(err)
	}
	sl, err := seal.New(root)
	if err != nil {
		t.Fatal(err)
	}
	calls := &storeCalls{}
	tokens := token.NewService(token.Config{DefaultTTL: time.Hour, MaxTTL: 24 * time.Hour},
		countedTokens{tokStore, calls}, token.DeriveHashKey(root), token.WithCache(bus, 100))
	srv := httptest.NewServer(vaultapi.New(vaultapi.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registry: prometheus.NewRegistry(), ClusterName: "coffer",
		ClusterID: "test", Tokens: tokens, Instances: countedInstances{calls},
		KV:      kv.NewService(kvStore, noKV{calls}, noKV{calls}),
		Transit: transit.NewService(countedTransit{trStore, calls}, sl, transit.WithCache(bus, 100)),
		Mounts:  mount.NewService(countedMounts{mntStore, calls}, nil, mount.WithCache(bus, 100)),
		Config: vaultapi.Config{Limits: vaultapi.Limits{MaxBodyBytes: 1 << 20, MaxJSONDepth: 32, MaxJSONEntries: 10000},
			LoginFailures: 10, LoginRefill: time.Minute}}))
	t.Cleanup(srv.Close)
	secret, _, err := tokens.Create(t.Context(), token.RootSpec())
	if err != nil {
		t.Fatal(err)
	}
	if kind == apitest.Postgres {
		deadline := time.Now().Add(20 * time.Second)
		for !bus.Healthy() {
			if time.Now().After(deadline) {
				t.Fatal("the cache listener never connected")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return srv.URL, secret, calls, synced
}

// syncBus returns once bus has received a marker notified now: PostgreSQL
// delivers notifications in commit order, so every invalidation committed
// before has been applied too.
func syncBus(t testing.TB, url string, bus *cache.Bus) {
	t.Helper()
	marker := cache.New(bus, "test-marker", 1, func(v int) int { return v })
	marker.Put(marker.Ticket(), "m", "", 1)
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), `SELECT pg_notify($1, $2)`, cache.Channel,
		cache.Key("test-marker", "m").Payload()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for marker.Len() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the marker notification never arrived")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestTransitCacheHitReadsNoStore checks the promise: with warm
// caches, transit encrypt and decrypt (token, mount and key included)
// make no store call at all.
func TestTransitCacheHitReadsNoStore(t *testing.T) {
	for _, kind := range apitest.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			url, root, calls, synced := startCounted(t, kind)
			post := func(path, body string) map[string]any {
				t.Helper()
				req, _ := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
				req.Header.Set("X-Vault-Token", root)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				var out map[string]any
				if res.StatusCode != http.StatusNoContent {
					if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
						t.Fatalf("POST %s: %v", path, err)
					}
				}
				if res.StatusCode/100 != 2 {
					t.Fatalf("POST %s = %d %v", path, res.StatusCode, out)
				}
				return out
			}
			post("/v1/sys/mounts/transit", `{"type":"transit"}`)
			post("/v1/transit/keys/k", `{"type":"aes256-gcm96"}`)
			pt := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("p", 128)))
			round := func() {
				t.Helper()
				ct := dataOf(t, post("/v1/transit/encrypt/k", `{"plaintext":"`+pt+`"}`))["ciphertext"].(string)
				if got := dataOf(t, post("/v1/transit/decrypt/k", `{"ciphertext":"`+ct+`"}`))["plaintext"]; got != pt {
					t.Fatalf("decrypt = %v, want the plaintext", got)
				}
			}
			synced() // the set-up's own invalidations have arrived
			round()  // fills the caches
			before := calls.n.Load()
			for range 20 {
				round()
			}
			if n := calls.n.Load() - before; n != 0 {
				t.Errorf("20 encrypt and decrypt pairs on warm caches made %d store calls, want 0", n)
			}
		})
	}
}
