package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/cofferhq/coffer/internal/cache"
	"github.com/cofferhq/coffer/internal/config"
	"github.com/cofferhq/coffer/internal/dataplane"
	"github.com/cofferhq/coffer/internal/envelope"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/iam"
	"github.com/cofferhq/coffer/internal/instance"
	"github.com/cofferhq/coffer/internal/keyservice"
	"github.com/cofferhq/coffer/internal/kms"
	"github.com/cofferhq/coffer/internal/kms/localkms"
	"github.com/cofferhq/coffer/internal/kv"
	"github.com/cofferhq/coffer/internal/mount"
	"github.com/cofferhq/coffer/internal/seal"
	vaultkms "github.com/cofferhq/coffer/internal/services"
	"github.com/cofferhq/coffer/internal/store/postgres"
	"github.com/cofferhq/coffer/internal/store/sqlite"
	"github.com/cofferhq/coffer/internal/token"
	"github.com/cofferhq/coffer/internal/transit"
)

// database is what both stores offer the command layer.
type database interface {
	MigrateUp(ctx context.Context) error
	MigrateDown(ctx context.Context) error
	MigrateVersion(ctx context.Context) (uint, bool, error)
	Ping(ctx context.Context) error
	Close() error
	instances() instance.Store
	iamStore() iam.Store
	sealCheck() seal.CheckStore
	kmsStore() keyservice.Store
	tokenStore() token.Store
	kvStore() kv.Store
	mountStore() mount.Store
	transitStore() transit.Store
	endpointStore() vaultkms.Store // in relationships.go
	// cacheBus is the bus of the Vault listener's caches (package cache).
	cacheBus() *cache.Bus
	// listen feeds cacheBus with other replicas' changes until ctx ends;
	// serve runs it. A store only this process writes has nothing to feed.
	listen(ctx context.Context, log *slog.Logger)
}

// pgDB is PostgreSQL, which replicas may share: its cache bus is down
// (caches bypassed) until listen's connection LISTENs.
type pgDB struct {
	*postgres.DB
	bus *cache.Bus
}

func (d pgDB) instances() instance.Store   { return d.Instances() }
func (d pgDB) iamStore() iam.Store         { return d.IAM() }
func (d pgDB) sealCheck() seal.CheckStore  { return d.SealCheck() }
func (d pgDB) kmsStore() keyservice.Store  { return d.KMS() }
func (d pgDB) tokenStore() token.Store     { return d.Tokens() }
func (d pgDB) kvStore() kv.Store           { return d.KV() }
func (d pgDB) mountStore() mount.Store     { return d.Mounts() }
func (d pgDB) transitStore() transit.Store { return d.Transit() }
func (d pgDB) cacheBus() *cache.Bus        { return d.bus }
func (d pgDB) listen(ctx context.Context, log *slog.Logger) {
	d.Listener(d.bus, log).Run(ctx)
}

// liteDB is SQLite, which one serve process writes through its own
// services, and the CLI's commands from other processes: its cache bus is
// healthy from the start, and listen flushes it when another connection
// has committed (sqlite.DB.Watch).
type liteDB struct {
	*sqlite.DB
	bus *cache.Bus
}

func (d liteDB) instances() instance.Store   { return d.Instances() }
func (d liteDB) iamStore() iam.Store         { return d.IAM() }
func (d liteDB) sealCheck() seal.CheckStore  { return d.SealCheck() }
func (d liteDB) kmsStore() keyservice.Store  { return d.KMS() }
func (d liteDB) tokenStore() token.Store     { return d.Tokens() }
func (d liteDB) kvStore() kv.Store           { return d.KV() }
func (d liteDB) mountStore() mount.Store     { return d.Mounts() }
func (d liteDB) transitStore() transit.Store { return d.Transit() }
func (d liteDB) cacheBus() *cache.Bus        { return d.bus }
func (d liteDB) listen(ctx context.Context, log *slog.Logger) {
	d.Watch(ctx, d.bus, sqlite.WatchInterval, log)
}

// openDB opens the configured store: PostgreSQL when COFFER_DATABASE_URL is
// set, else the embedded SQLite file in COFFER_DATA_DIR.
func openDB(ctx context.Context, cfg *config.Config) (database, error) {
	if cfg.DatabaseURL != "" {
		db, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		return pgDB{DB: db, bus: cache.NewBus()}, nil
	}
	db, err := sqlite.Open(ctx, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("open sqlite in %s: %w", cfg.DataDir, err)
	}
	return liteDB{DB: db, bus: cache.NewLocalBus()}, nil
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	lvl, _ := cfg.SlogLevel()
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// core is everything both serve and the offline commands need: a migrated
// database, the verified seal, and the IAM token issuer.
type core struct {
	cfg    *config.Config
	log    *slog.Logger
	db     database
	seal   *seal.Seal
	tokens *iam.Tokens
	iam    *iam.Service
	kms    *keyservice.Service
}

// openCore loads the configuration and opens the store and the seal. The
// caller closes core.db.
func openCore(ctx context.Context, logOut io.Writer) (*core, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	log := newLogger(cfg, logOut)
	db, err := openDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	c := &core{cfg: cfg, log: log, db: db}
	if err := c.init(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

func (c *core) init(ctx context.Context) error {
	if c.cfg.Migrate {
		if err := c.db.MigrateUp(ctx); err != nil {
			return fmt.Errorf("apply migrations: %w", err)
		}
	}
	key, err := seal.LoadRootKey(c.cfg.RootKey, c.cfg.RootKeyFile, c.cfg.DataDir, c.log)
	if err != nil {
		return err
	}
	if c.seal, err = seal.New(key); err != nil {
		return err
	}
	clear(key)
	if err := c.seal.Verify(ctx, c.db.sealCheck()); err != nil {
		return err
	}
	c.iam = iam.NewService(c.db.iamStore())
	c.kms = keyservice.New(c.cfg.KMS, c.db.kmsStore(), c.seal)
	c.tokens, err = iam.OpenTokens(ctx, c.cfg.IAM, c.db.iamStore(), c.seal)
	return err
}

// keepers are the KMS drivers by name (COFFER_KMS_DRIVER). Adding a driver
// is one line here; nothing else names drivers.
var keepers = map[string]func(c *core) (kms.Keeper, error){
	"local": func(c *core) (kms.Keeper, error) { return localkms.New(c.kms), nil },
}

// services are the domain services serve runs, built in dependency order.
type services struct {
	instances *instance.Service
	kv        *kv.Service
	tokens    *token.Service
	mounts    *mount.Service
	transit   *transit.Service
}

func (c *core) services() (*services, error) {
	open, ok := keepers[c.cfg.KMSDriver]
	if !ok {
		return nil, errs.E(errs.InvalidArgument, "COFFER_KMS_DRIVER: unknown driver %q", c.cfg.KMSDriver)
	}
	keeper, err := open(c)
	if err != nil {
		return nil, fmt.Errorf("open KMS driver %s: %w", c.cfg.KMSDriver, err)
	}
	tokens, err := c.vaultTokens()
	if err != nil {
		return nil, err
	}
	hk, err := c.seal.DeriveKey("instance/user-password")
	if err != nil {
		return nil, err
	}
	env := envelope.New(c.cfg.Envelope, keeper, c.seal) // one keyring cache for the control plane and KV
	hooks := &dataplane.Hooks{Tokens: tokens}
	bus := c.db.cacheBus()
	sv := &services{tokens: tokens, mounts: mount.NewService(c.db.mountStore(), env,
		mount.WithCache(bus, mount.DefaultCacheSize))}
	sv.instances = instance.NewService(c.cfg.Instance, instance.Deps{Store: c.db.instances(), Accounts: c.iam,
		Hasher: instance.NewHasher(hk), KMS: keeper, Envelope: env, DataPlane: hooks, Cache: bus})
	sv.kv = kv.NewService(c.db.kvStore(), dataplane.MountKeys{Instances: sv.instances, Mounts: sv.mounts}, env)
	hooks.KV = sv.kv
	sv.transit = transit.NewService(c.db.transitStore(), c.seal, transit.WithCache(bus, transit.DefaultCacheSize))
	return sv, nil
}

func (c *core) vaultTokens() (*token.Service, error) {
	hk, err := c.seal.DeriveKey("vault/token-hash")
	if err != nil {
		return nil, err
	}
	return token.NewService(c.cfg.VaultTokens, c.db.tokenStore(), hk,
		token.WithCache(c.db.cacheBus(), token.DefaultCacheSize)), nil
}
