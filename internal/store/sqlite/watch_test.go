package sqlite_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/cofferhq/coffer/internal/cache"
	"github.com/cofferhq/coffer/internal/store/sqlite"
	"github.com/cofferhq/coffer/internal/token"
)

// TestWatchSeesOtherProcesses: a commit through another handle of the same
// file (as the coffer CLI makes while serve runs) flushes the watched bus's
// caches; without commits the cached entry stays.
func TestWatchSeesOtherProcesses(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	serve, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer serve.Close()
	if err := serve.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	cli, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()

	bus := cache.NewLocalBus()
	c := cache.New(bus, "test", 10, func(s string) string { return s })
	wctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { serve.Watch(wctx, bus, 5*time.Millisecond, slog.New(slog.DiscardHandler)); close(done) }()
	defer func() { stop(); <-done }()
	for deadline := time.Now().Add(10 * time.Second); bus.Connects() == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the watch never polled")
		}
	}

	c.Put(c.Ticket(), "k", "", "v")
	time.Sleep(50 * time.Millisecond) // ten polls without a commit
	if v, ok := c.Get("k"); !ok || v != "v" {
		t.Fatalf("an idle watch dropped the entry: %q, %v", v, ok)
	}

	tok := &token.Token{Hash: make([]byte, 32), Accessor: "acc-watch", Policies: []string{"default"},
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if err := cli.Tokens().CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, ok := c.Get("k"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("another handle's commit never flushed the cache")
		}
	}
}
