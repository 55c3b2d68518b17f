package sqlite

import (
	"context"
	"log/slog"
	"time"

	"github.com/cofferhq/coffer/internal/cache"
)

// WatchInterval is how often Watch polls for commits of other processes.
const WatchInterval = 200 * time.Millisecond

// Watch keeps bus's caches true to commits made by other processes on the
// same database file, until ctx ends. A service invalidates its own
// cache on its own writes, but the coffer CLI (relationships rotate-token,
// vault root-token, iam grant) writes the file from another process while
// serve runs, and a token it revokes must stop working in serve too.
//
// Every interval Watch reads PRAGMA data_version on a connection of its
// own; the value changes whenever another connection, of this process or
// another, has committed since the last read, and Watch then flushes every
// cache of bus (writes of this process cause flushes too: a few cache
// misses, never a stale hit). So a commit of another process reaches the
// caches within one interval. When the poll fails, the bus goes down
// (caches bypassed) until a poll works again, which flushes them.
func (db *DB) Watch(ctx context.Context, bus *cache.Bus, interval time.Duration, log *slog.Logger) {
	conn, err := openPool(ctx, db.path, 1)
	if err != nil {
		bus.Down()
		log.Error("sqlite change watch: open", "err", err)
		return
	}
	defer conn.Close()
	t := time.NewTicker(interval)
	defer t.Stop()
	var last int64
	known := false
	for {
		var v int64
		err := conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			if bus.Healthy() {
				log.Error("sqlite change watch: caches bypassed until the database answers", "err", err)
			}
			bus.Down()
			known = false
		case !known:
			bus.Up() // flushes, then allows hits
			last, known = v, true
		case v != last:
			bus.FlushAll()
			last = v
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
