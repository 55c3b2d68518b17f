// Package sqlitetest gives tests a fresh, migrated embedded store.
package sqlitetest

import (
	"context"
	"testing"

	"github.com/cofferhq/coffer/internal/store/sqlite"
)

// Open returns a migrated SQLite store in a temporary directory, closed
// when tb ends.
func Open(tb testing.TB) *sqlite.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, tb.TempDir())
	if err != nil {
		tb.Fatalf("open sqlite: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.MigrateUp(ctx); err != nil {
		tb.Fatalf("migrate sqlite: %v", err)
	}
	return db
}
