package storetest

import (
	"io/fs"
	"strconv"
	"testing"
)

// LatestMigration returns the highest version among the numbered
// migrations at the root of fsys (such as migrations.Postgres), so that
// tests need no update when a migration is added.
func LatestMigration(tb testing.TB, fsys fs.FS) uint {
	tb.Helper()
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		tb.Fatalf("read migrations: %v", err)
	}
	var latest uint
	for _, e := range entries {
		const digits = 6 // NNNNNN_name.up.sql
		if len(e.Name()) < digits {
			continue
		}
		v, err := strconv.ParseUint(e.Name()[:digits], 10, 32)
		if err != nil {
			continue
		}
		latest = max(latest, uint(v))
	}
	if latest == 0 {
		tb.Fatal("no migrations found")
	}
	return latest
}
