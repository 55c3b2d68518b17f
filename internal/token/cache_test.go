package token_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cofferhq/coffer/internal/cache"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/store/sqlite/sqlitetest"
	"github.com/cofferhq/coffer/internal/token"
)

// countingStore counts the lookups a cache is meant to spare.
type countingStore struct {
	token.Store
	reads atomic.Int64
}

func (s *countingStore) TokenByHash(ctx context.Context, h []byte) (*token.Token, error) {
	s.reads.Add(1)
	return s.Store.TokenByHash(ctx, h)
}

func TestLookupCache(t *testing.T) {
	st := &countingStore{Store: sqlitetest.Open(t).Tokens()}
	clk := &clock{now: start}
	bus := cache.NewBus() // down: no hits yet
	svc := token.NewService(cfg, st, hashKey, token.WithClock(clk.Now), token.WithCache(bus, 10))
	ctx := t.Context()
	secret, _, err := svc.Create(ctx, token.Spec{Policies: []string{"p"}, Meta: map[string]string{"k": "v"},
		TTL: time.Hour, Renewable: true})
	if err != nil {
		t.Fatal(err)
	}
	lookup := func(wantReads int64) *token.Token {
		t.Helper()
		before := st.reads.Load()
		tok, err := svc.Lookup(ctx, secret, client)
		if err != nil {
			t.Fatalf("Lookup() error = %v", err)
		}
		if n := st.reads.Load() - before; n != wantReads {
			t.Fatalf("Lookup() read the store %d times, want %d", n, wantReads)
		}
		return tok
	}
	lookup(1)
	lookup(1) // the bus is down: bypass
	bus.Up()
	lookup(1)
	tok := lookup(0)

	tok.Policies[0], tok.Meta["k"], tok.Hash[0] = "root", "changed", tok.Hash[0]^1
	if again := lookup(0); again.Policies[0] != "p" || again.Meta["k"] != "v" || again.Hash[0] == tok.Hash[0] {
		t.Fatalf("a caller's changes reached the cache: %v %v", again.Policies, again.Meta)
	}

	renewed, err := svc.Renew(ctx, secret, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got := lookup(1); !got.ExpiresAt.Equal(renewed.ExpiresAt) {
		t.Fatalf("Lookup() after Renew: expires %v, want %v", got.ExpiresAt, renewed.ExpiresAt)
	}
	lookup(0)

	clk.Set(renewed.ExpiresAt) // expired while cached
	if _, err := svc.Lookup(ctx, secret, client); errs.KindOf(err) != errs.PermissionDenied {
		t.Fatalf("Lookup() of an expired cached token error = %v, want permission denied", err)
	}
	clk.Set(start)
	if err := svc.Revoke(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Lookup(ctx, secret, client); errs.KindOf(err) != errs.PermissionDenied {
		t.Fatalf("Lookup() of a revoked token error = %v, want permission denied", err)
	}
}
