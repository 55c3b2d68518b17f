package postgres_test

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cofferhq/coffer/internal/cache"
	"github.com/cofferhq/coffer/internal/dbtest"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/mount"
	"github.com/cofferhq/coffer/internal/seal"
	"github.com/cofferhq/coffer/internal/store/postgres"
	"github.com/cofferhq/coffer/internal/token"
	"github.com/cofferhq/coffer/internal/transit"
)

// The stores below count the reads that the caches are meant to spare.

type countingTransit struct {
	transit.Store
	gets atomic.Int64
}

func (s *countingTransit) Get(ctx context.Context, mount, name string) (*transit.StoredKey, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, mount, name)
}

type countingTokens struct {
	token.Store
	gets atomic.Int64
}

func (s *countingTokens) TokenByHash(ctx context.Context, hash []byte) (*token.Token, error) {
	s.gets.Add(1)
	return s.Store.TokenByHash(ctx, hash)
}

type countingMounts struct {
	mount.Store
	gets atomic.Int64
}

func (s *countingMounts) Mount(ctx context.Context, kind, path string) (*mount.Mount, error) {
	s.gets.Add(1)
	return s.Store.Mount(ctx, kind, path)
}

// replica is one Coffer process's cached services over a shared database,
// with its own pool, bus and listener.
type replica struct {
	bus      *cache.Bus
	listener *postgres.Listener
	transit  *transit.Service
	tokens   *token.Service
	mounts   *mount.Service
	trStore  *countingTransit
	tokStore *countingTokens
	mntStore *countingMounts
	// hold, while set, keeps the listener from reconnecting.
	hold atomic.Bool
	url  string
}

// netipAddr is the client address of the token lookups.
var netipAddr = netip.MustParseAddr("127.0.0.1")

var errHeld = errors.New("reconnection held by the test")

func newReplica(t *testing.T, url string, sl *seal.Seal, hashKey []byte) *replica {
	t.Helper()
	db := open(t, url)
	r := &replica{bus: cache.NewBus(), url: url, trStore: &countingTransit{Store: db.Transit()},
		tokStore: &countingTokens{Store: db.Tokens()}, mntStore: &countingMounts{Store: db.Mounts()}}
	r.transit = transit.NewService(r.trStore, sl, transit.WithCache(r.bus, 100))
	r.tokens = token.NewService(token.Config{DefaultTTL: time.Hour, MaxTTL: 24 * time.Hour}, r.tokStore, hashKey,
		token.WithCache(r.bus, 100))
	r.mounts = mount.NewService(r.mntStore, nil, mount.WithCache(r.bus, 100))
	r.listener = db.Listener(r.bus, slog.New(slog.DiscardHandler))
	// A short heartbeat: every test also runs the idle pings, which must
	// not cost the connection (see TestReplicasSeeTransitRotation).
	r.listener.MinBackoff, r.listener.MaxBackoff, r.listener.Heartbeat = 10*time.Millisecond, 50*time.Millisecond,
		20*time.Millisecond
	r.listener.SetBeforeConnect(func(context.Context) error {
		if r.hold.Load() {
			return errHeld
		}
		return nil
	})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.listener.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	return r
}

// newReplicas returns two replicas over one fresh database, both listening.
func newReplicas(t *testing.T) (a, b *replica) {
	t.Helper()
	url := dbtest.Postgres(t)
	root, err := seal.NewRootKey()
	if err != nil {
		t.Fatal(err)
	}
	sl, err := seal.New(root)
	if err != nil {
		t.Fatal(err)
	}
	hk := token.DeriveHashKey(root)
	a, b = newReplica(t, url, sl, hk), newReplica(t, url, sl, hk)
	eventually(t, "both listeners connected", func() bool { return a.bus.Healthy() && b.bus.Healthy() })
	return a, b
}

// eventually polls cond until it holds, failing t after a generous
// deadline. It asserts no duration: only that the state is reached.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wantHit calls f until a call reads nothing from the store behind
// counter: a cache hit. (A call right after a change may still read the
// store, when the change's own notification arrives after the read.)
func wantHit(t *testing.T, what string, counter *atomic.Int64, f func()) {
	t.Helper()
	eventually(t, what+" is a cache hit", func() bool {
		before := counter.Load()
		f()
		return counter.Load() == before
	})
}

func latest(t *testing.T, s *transit.Service, name string) int {
	t.Helper()
	k, err := s.Key(context.Background(), "transit", name)
	if err != nil {
		t.Fatalf("Key(%s) error = %v", name, err)
	}
	return k.LatestVersion
}

func rotate(k *transit.Key) error { return k.Rotate(time.Now()) }

func TestReplicasSeeTransitRotation(t *testing.T) {
	t.Parallel()
	start := time.Now()
	a, b := newReplicas(t)
	ctx := t.Context()
	if _, err := a.transit.Create(ctx, "transit", "k", transit.TypeAES256GCM96, transit.Options{}); err != nil {
		t.Fatal(err)
	}
	if v := latest(t, b.transit, "k"); v != 1 {
		t.Fatalf("B: latest version %d, want 1", v)
	}
	wantHit(t, "B's second Key", &b.trStore.gets, func() { latest(t, b.transit, "k") })

	if _, err := a.transit.Mutate(ctx, "transit", "k", rotate); err != nil {
		t.Fatal(err)
	}
	if v := latest(t, a.transit, "k"); v != 2 {
		t.Fatalf("A after its own rotation: latest version %d, want 2", v)
	}
	eventually(t, "B sees the rotation", func() bool { return latest(t, b.transit, "k") == 2 })
	wantHit(t, "B's Key after the rotation", &b.trStore.gets, func() { latest(t, b.transit, "k") })

	if err := a.transit.DeleteMount(ctx, "transit"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B sees the mount's keys deleted", func() bool {
		_, err := b.transit.Key(ctx, "transit", "k")
		return errs.KindOf(err) == errs.NotFound
	})
	// Idle pings happened all along, on the listeners' first connections.
	eventually(t, "several heartbeats", func() bool { return time.Since(start) > 10*b.listener.Heartbeat })
	if a.bus.Connects() != 1 || b.bus.Connects() != 1 || !a.bus.Healthy() || !b.bus.Healthy() {
		t.Errorf("listeners reconnected (%d and %d connects) or are down: idle pings broke their connections",
			a.bus.Connects(), b.bus.Connects())
	}
}

func TestReplicasSeeTokenRenewAndRevoke(t *testing.T) {
	t.Parallel()
	a, b := newReplicas(t)
	ctx := t.Context()
	secret, _, err := a.tokens.Create(ctx, token.Spec{Policies: []string{"default"}, TTL: time.Hour, Renewable: true})
	if err != nil {
		t.Fatal(err)
	}
	lookup := func() (*token.Token, error) { return b.tokens.Lookup(ctx, secret, netipAddr) }
	first, err := lookup()
	if err != nil {
		t.Fatalf("B: Lookup error = %v", err)
	}
	wantHit(t, "B's second Lookup", &b.tokStore.gets, func() {
		if _, err := lookup(); err != nil {
			t.Fatal(err)
		}
	})

	renewed, err := a.tokens.Renew(ctx, secret, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !renewed.ExpiresAt.Before(first.ExpiresAt) {
		t.Fatalf("renewal to 10 minutes did not shorten the 1-hour token")
	}
	eventually(t, "B sees the renewal", func() bool {
		t2, err := lookup()
		return err == nil && t2.ExpiresAt.Equal(renewed.ExpiresAt)
	})

	if err := a.tokens.Revoke(ctx, secret); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B refuses the revoked token", func() bool {
		_, err := lookup()
		return errs.KindOf(err) == errs.PermissionDenied
	})

	// Revocation by meta, which does not name the tokens.
	secret2, _, err := a.tokens.Create(ctx, token.Spec{Policies: []string{"default"}, Meta: map[string]string{"user": "u1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.tokens.Lookup(ctx, secret2, netipAddr); err != nil {
		t.Fatal(err)
	}
	if n, err := a.tokens.RevokeByMeta(ctx, "user", "u1"); err != nil || n != 1 {
		t.Fatalf("RevokeByMeta = %d, %v; want 1, nil", n, err)
	}
	eventually(t, "B refuses the token revoked by meta", func() bool {
		_, err := b.tokens.Lookup(ctx, secret2, netipAddr)
		return errs.KindOf(err) == errs.PermissionDenied
	})
}

func TestReplicasSeeMountChanges(t *testing.T) {
	t.Parallel()
	a, b := newReplicas(t)
	ctx := t.Context()
	if _, err := a.mounts.Enable(ctx, mount.KindSecret, "tr", mount.TypeTransit, "before", nil, 0, 0); err != nil {
		t.Fatal(err)
	}
	get := func() (*mount.Mount, error) { return b.mounts.Mount(ctx, mount.KindSecret, "tr") }
	if m, err := get(); err != nil || m.Description != "before" {
		t.Fatalf("B: Mount = %v, %v", m, err)
	}
	wantHit(t, "B's second Mount", &b.mntStore.gets, func() {
		if _, err := get(); err != nil {
			t.Fatal(err)
		}
	})
	after := "after"
	if err := a.mounts.Tune(ctx, mount.KindSecret, "tr", nil, nil, &after); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B sees the tune", func() bool {
		m, err := get()
		return err == nil && m.Description == after
	})
	if err := a.mounts.Disable(ctx, mount.KindSecret, "tr"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B sees the mount disabled", func() bool {
		_, err := get()
		return errs.KindOf(err) == errs.NotFound
	})
}

// TestReplicaListenerLost kills B's listening connection: B must read the
// store on every Key while it is gone, and flush its caches when it is
// back, since the notifications sent meanwhile are lost.
func TestReplicaListenerLost(t *testing.T) {
	t.Parallel()
	a, b := newReplicas(t)
	ctx := t.Context()
	if _, err := a.transit.Create(ctx, "transit", "k", transit.TypeAES256GCM96, transit.Options{}); err != nil {
		t.Fatal(err)
	}
	latest(t, b.transit, "k")
	wantHit(t, "B's second Key", &b.trStore.gets, func() { latest(t, b.transit, "k") })

	oldPID := b.listener.PID()
	connects := b.bus.Connects()
	b.hold.Store(true)
	conn, err := pgx.Connect(ctx, a.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var killed bool
	if err := conn.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, int32(oldPID)).Scan(&killed); err != nil || !killed {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", oldPID, killed, err)
	}
	eventually(t, "B notices its listener is gone", func() bool { return !b.bus.Healthy() })

	// Bypass: B's notification of this rotation is lost, yet B sees it,
	// reading the store on every call.
	if _, err := a.transit.Mutate(ctx, "transit", "k", rotate); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		before := b.trStore.gets.Load()
		if v := latest(t, b.transit, "k"); v != 2 {
			t.Fatalf("B without a listener: latest version %d, want 2", v)
		}
		if b.trStore.gets.Load() == before {
			t.Fatal("B without a listener answered Key from its cache")
		}
	}

	// Flush: B's cached version 2 goes stale while nobody listens; the
	// reconnection must drop it.
	if _, err := a.transit.Mutate(ctx, "transit", "k", rotate); err != nil {
		t.Fatal(err)
	}
	b.hold.Store(false)
	eventually(t, "B reconnects", func() bool {
		return b.bus.Healthy() && b.bus.Connects() > connects && b.listener.PID() != 0
	})
	if b.listener.PID() == oldPID {
		t.Fatalf("B listens on the killed connection's PID %d", oldPID)
	}
	if v := latest(t, b.transit, "k"); v != 3 {
		t.Fatalf("B after reconnecting: latest version %d, want 3 (caches not flushed)", v)
	}
	wantHit(t, "B's Key after reconnecting", &b.trStore.gets, func() { latest(t, b.transit, "k") })

	// And B follows A's changes again.
	if _, err := a.transit.Mutate(ctx, "transit", "k", rotate); err != nil {
		t.Fatal(err)
	}
	eventually(t, "B sees a rotation after reconnecting", func() bool { return latest(t, b.transit, "k") == 4 })
}
