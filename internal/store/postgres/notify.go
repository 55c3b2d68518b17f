package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cofferhq/coffer/internal/cache"
)

const notifySQL = `SELECT pg_notify($1, $2)`

// notify sends the cache invalidations ms on cache.Channel in tx.
// PostgreSQL delivers them to every listening session (every replica's
// Listener, this one's included) when tx commits, and drops them when it
// rolls back, so an invalidation is never seen before its change, nor
// without it.
func notify(ctx context.Context, tx pgx.Tx, ms ...cache.Message) error {
	for _, m := range ms {
		if _, err := tx.Exec(ctx, notifySQL, cache.Channel, m.Payload()); err != nil {
			return fmt.Errorf("notify cache invalidation: %w", err)
		}
	}
	return nil
}

// Listener keeps one dedicated connection LISTENing on cache.Channel and
// delivers every notification to a cache.Bus (see package cache). It tells
// the bus Up once it listens on a fresh connection (which flushes every
// cache: notifications sent while nothing listened are lost) and Down as
// soon as the connection fails; then it reconnects with exponential
// backoff. While idle it pings the server every Heartbeat, so that a
// connection that died silently is noticed within about that period.
type Listener struct {
	db  *DB
	bus *cache.Bus
	log *slog.Logger

	// MinBackoff and MaxBackoff bound the wait between reconnection
	// attempts (doubling from min to max); Heartbeat is the idle ping
	// period and PingTimeout how long a ping may take before the
	// connection counts as lost. Set them before Run.
	MinBackoff, MaxBackoff, Heartbeat, PingTimeout time.Duration

	pid atomic.Uint32

	// beforeConnect, when set, runs before each connection attempt; an
	// error fails the attempt. Tests use it to hold a reconnection.
	beforeConnect func(ctx context.Context) error
}

// Listener returns a Listener that feeds bus from db's server; Run starts
// it.
func (db *DB) Listener(bus *cache.Bus, log *slog.Logger) *Listener {
	return &Listener{db: db, bus: bus, log: log,
		MinBackoff: 100 * time.Millisecond, MaxBackoff: 10 * time.Second, Heartbeat: 5 * time.Second,
		PingTimeout: 5 * time.Second}
}

// PID returns the server process ID of the listening connection, 0 while
// there is none.
func (l *Listener) PID() uint32 { return l.pid.Load() }

// Run listens until ctx ends, reconnecting whenever the connection fails.
// The bus is down whenever Run has no listening connection, and when Run
// returns.
func (l *Listener) Run(ctx context.Context) {
	defer l.bus.Down()
	backoff := l.MinBackoff
	for {
		started := time.Now()
		err := l.session(ctx)
		l.bus.Down()
		l.pid.Store(0)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > l.MaxBackoff { // it had been up for a while: start over
			backoff = l.MinBackoff
		}
		l.log.Warn("cache invalidation listener disconnected; caches bypassed until it reconnects",
			"err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, l.MaxBackoff)
	}
}

// session connects, LISTENs, brings the bus up, and delivers notifications
// until the connection fails or ctx ends.
func (l *Listener) session(ctx context.Context) error {
	if l.beforeConnect != nil {
		if err := l.beforeConnect(ctx); err != nil {
			return err
		}
	}
	conn, err := pgx.ConnectConfig(ctx, l.db.pool.Config().ConnConfig)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{cache.Channel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	l.pid.Store(conn.PgConn().PID())
	l.bus.Up()
	l.log.Info("cache invalidation listener connected", "pid", conn.PgConn().PID())
	for {
		wctx, cancel := context.WithTimeout(ctx, l.Heartbeat)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded): // idle: is the connection still there?
			pctx, cancel := context.WithTimeout(ctx, l.PingTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return fmt.Errorf("ping: %w", err)
			}
			continue
		case err != nil:
			return fmt.Errorf("wait for notification: %w", err)
		}
		m, ok := cache.ParsePayload(n.Payload)
		if !ok { // not ours, or from a newer replica: drop everything to be safe
			l.bus.FlushAll()
			continue
		}
		l.bus.Deliver(m)
	}
}
