// Package apitest starts a real Coffer API listener over a fresh store, for
// tests that drive it with real clients. Only tests import it.
package apitest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cofferhq/coffer/internal/cache"
	"github.com/cofferhq/coffer/internal/dataplane"
	"github.com/cofferhq/coffer/internal/dbtest"
	"github.com/cofferhq/coffer/internal/envelope"
	"github.com/cofferhq/coffer/internal/httpapi"
	"github.com/cofferhq/coffer/internal/iam"
	"github.com/cofferhq/coffer/internal/instance"
	"github.com/cofferhq/coffer/internal/keyservice"
	"github.com/cofferhq/coffer/internal/kms/localkms"
	"github.com/cofferhq/coffer/internal/kv"
	"github.com/cofferhq/coffer/internal/mount"
	"github.com/cofferhq/coffer/internal/seal"
	"github.com/cofferhq/coffer/internal/store/postgres"
	"github.com/cofferhq/coffer/internal/store/sqlite"
	"github.com/cofferhq/coffer/internal/token"
	"github.com/cofferhq/coffer/internal/transit"
	"github.com/cofferhq/coffer/internal/vaultapi"
)

// Kind names a store implementation.
type Kind string

// The store kinds every API test runs against.
const (
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
)

// Kinds are all store kinds.
var Kinds = []Kind{SQLite, Postgres}

// Region is the only region test servers serve (also the default region).
const Region = "eu01"

// Env is a running API listener with direct access to its parts.
type Env struct {
	URL       string
	IAM       *iam.Service
	Tokens    *iam.Tokens
	Store     instance.Store
	Instances *instance.Service
	// KMS is the embedded KMS the server's kmsKeys and KMS API use.
	KMS *keyservice.Service
	// KMSStore is the embedded KMS's store, for tests that inspect rows.
	KMSStore keyservice.Store
	// RootKey and Seal are the server's root of trust (for leak checks).
	RootKey []byte
	Seal    *seal.Seal
	// VaultURL is the Vault listener, over the same store.
	VaultURL string
	// Tokens of the Vault listener, and its KV engine.
	VaultTokens *token.Service
	KV          *kv.Service
	// Routes are the API listener's registered routes, VaultRoutes the
	// Vault listener's.
	Routes, VaultRoutes []*echo.Route
	// ExpiredToken returns a validly signed token for email that expired an
	// hour ago.
	ExpiredToken func(tb testing.TB, email string) string
	// Dump returns every row of every table as text, for leak checks.
	Dump func(tb testing.TB) string
}

type db interface {
	MigrateUp(ctx context.Context) error
	Ping(ctx context.Context) error
	Close() error
}

// Start runs an API listener over a fresh, migrated store of kind k, closed
// when tb ends.
func Start(tb testing.TB, k Kind) *Env {
	tb.Helper()
	ctx := context.Background()
	var (
		d        db
		inst     instance.Store
		kmsStore keyservice.Store
		tokStore token.Store
		kvStore  kv.Store
		mntStore mount.Store
		trStore  transit.Store
		iamStore iam.Store
		check    seal.CheckStore
		dump     func(testing.TB) string
		bus      *cache.Bus // the Vault listener's caches'
	)
	switch k {
	case SQLite:
		dir := tb.TempDir()
		s, err := sqlite.Open(ctx, dir)
		if err != nil {
			tb.Fatalf("open sqlite: %v", err)
		}
		d, inst, kmsStore, iamStore, check = s, s.Instances(), s.KMS(), s.IAM(), s.SealCheck()
		tokStore, kvStore, mntStore, trStore = s.Tokens(), s.KV(), s.Mounts(), s.Transit()
		dump = func(tb testing.TB) string { return dumpSQLite(tb, dir) }
		bus = cache.NewLocalBus()
	case Postgres:
		url := dbtest.Postgres(tb)
		s, err := postgres.Open(ctx, url)
		if err != nil {
			tb.Fatalf("open postgres: %v", err)
		}
		d, inst, kmsStore, iamStore, check = s, s.Instances(), s.KMS(), s.IAM(), s.SealCheck()
		tokStore, kvStore, mntStore, trStore = s.Tokens(), s.KV(), s.Mounts(), s.Transit()
		dump = func(tb testing.TB) string { return dumpPostgres(tb, url) }
		bus = cache.NewBus()
		lctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); s.Listener(bus, slog.New(slog.DiscardHandler)).Run(lctx) }()
		tb.Cleanup(func() { stop(); <-done })
	default:
		tb.Fatalf("unknown store kind %q", k)
	}
	tb.Cleanup(func() { d.Close() })
	if err := d.MigrateUp(ctx); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	key, _ := seal.NewRootKey()
	sl, err := seal.New(key)
	if err != nil {
		tb.Fatal(err)
	}
	if err := sl.Verify(ctx, check); err != nil {
		tb.Fatal(err)
	}
	tokens, err := iam.OpenTokens(ctx, iam.Config{Issuer: "coffer", Audience: "coffer", MaxTTL: 24 * time.Hour},
		iamStore, sl)
	if err != nil {
		tb.Fatalf("open tokens: %v", err)
	}
	iamSvc := iam.NewService(iamStore)
	hk, _ := sl.DeriveKey("instance/user-password")
	cfg := instance.Config{Regions: []string{Region}, DefaultRegion: Region, MaxUsers: 5, MaxACLs: 5,
		APIURL: "http://vault.test:8200"}
	kmsSvc := keyservice.New(keyservice.Config{Regions: cfg.Regions, DeletionDelay: time.Hour, DestroyDelay: time.Hour},
		kmsStore, sl)
	keeper := localkms.New(kmsSvc)
	env := envelope.New(envelope.Config{CacheTTL: time.Minute}, keeper, sl)
	thk, _ := sl.DeriveKey("vault/token-hash")
	vt := token.NewService(token.Config{DefaultTTL: 15 * time.Minute, MaxTTL: time.Hour}, tokStore, thk,
		token.WithCache(bus, token.DefaultCacheSize))
	dp := &dataplane.Hooks{Tokens: vt}
	svc := instance.NewService(cfg, instance.Deps{Store: inst, Accounts: iamSvc, Hasher: instance.NewHasher(hk),
		KMS: keeper, Envelope: env, DataPlane: dp, Cache: bus})
	mounts := mount.NewService(mntStore, env, mount.WithCache(bus, mount.DefaultCacheSize))
	dp.KV = kv.NewService(kvStore, dataplane.MountKeys{Instances: svc, Mounts: mounts}, env)
	ve := vaultapi.New(vaultapi.Deps{Log: slog.New(slog.DiscardHandler), ClusterName: "coffer",
		ClusterID: "test", Tokens: vt, Instances: svc, KV: dp.KV, Transit: transit.NewService(trStore, sl, transit.WithCache(bus, transit.DefaultCacheSize)), Mounts: mounts, Config: vaultapi.Config{
			Limits:        vaultapi.Limits{MaxBodyBytes: 1 << 20, MaxJSONDepth: 32, MaxJSONEntries: 10000},
			LoginFailures: 10, LoginRefill: time.Minute}})
	vsrv := httptest.NewServer(ve)
	tb.Cleanup(vsrv.Close)
	reg := prometheus.NewRegistry()
	log := slog.New(slog.DiscardHandler)
	e := httpapi.New(httpapi.Deps{Log: log, Instances: svc, KMS: kmsSvc, Tokens: tokens,
		Authorizer: iamSvc, DB: d, Registry: reg, Gatherer: reg, BodyLimit: "64K"})
	srv := httptest.NewServer(e)
	tb.Cleanup(srv.Close)
	expired := func(tb testing.TB, email string) string {
		tb.Helper()
		past, err := iam.OpenTokens(ctx, iam.Config{Issuer: "coffer", Audience: "coffer", MaxTTL: 24 * time.Hour},
			iamStore, sl, iam.WithClock(func() time.Time { return time.Now().Add(-2 * time.Hour) }))
		if err != nil {
			tb.Fatal(err)
		}
		tok, err := past.Issue(ctx, email, time.Hour)
		if err != nil {
			tb.Fatal(err)
		}
		return tok
	}
	return &Env{URL: srv.URL, VaultURL: vsrv.URL, VaultTokens: vt, KV: dp.KV, ExpiredToken: expired, KMS: kmsSvc, KMSStore: kmsStore, RootKey: key, Seal: sl, IAM: iamSvc, Tokens: tokens, Store: inst, Instances: svc, Dump: dump,
		Routes: e.Routes(), VaultRoutes: ve.Routes()}
}

// Token grants roles to email on project (creating the service account in
// project when missing) and returns a one-hour bearer token for it.
func (e *Env) Token(tb testing.TB, project, email string, roles ...string) string {
	tb.Helper()
	ctx := context.Background()
	for _, r := range roles {
		if _, err := e.IAM.Grant(ctx, project, email, r); err != nil {
			tb.Fatalf("grant %s to %s: %v", r, email, err)
		}
	}
	tok, err := e.Tokens.Issue(ctx, email, time.Hour)
	if err != nil {
		tb.Fatalf("issue token for %s: %v", email, err)
	}
	return tok
}
