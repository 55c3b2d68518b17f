package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/instance"
	"github.com/cofferhq/coffer/internal/store/sqlite"
	"github.com/cofferhq/coffer/internal/store/storetest"
	"github.com/cofferhq/coffer/migrations"
)

// openMigrated opens a migrated database in a fresh directory, closed when
// t ends.
func openMigrated(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close() error = %v", err)
		}
	})
	if err := db.MigrateUp(t.Context()); err != nil {
		t.Fatalf("MigrateUp() error = %v", err)
	}
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		db := openMigrated(t)
		return storetest.Stores{Instances: db.Instances(), IAM: db.IAM(), SealCheck: db.SealCheck(), KMS: db.KMS(),
			Tokens: db.Tokens(), KV: db.KV(), Mounts: db.Mounts(), Transit: db.Transit(),
			Endpoints: db.TransitEndpoints()}
	})
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	defer db.Close()
	latest := storetest.LatestMigration(t, migrations.SQLite)
	wantVersion := func(want uint) {
		t.Helper()
		v, dirty, err := db.MigrateVersion(ctx)
		if err != nil || v != want || dirty {
			t.Fatalf("MigrateVersion() = %d, %t, %v; want %d, false, nil", v, dirty, err, want)
		}
	}
	wantVersion(0)
	if err := db.MigrateDown(ctx); errs.KindOf(err) != errs.FailedPrecondition {
		t.Fatalf("MigrateDown() with nothing applied: error = %v, want kind %v", err, errs.FailedPrecondition)
	}
	for range 2 {
		if err := db.MigrateUp(ctx); err != nil {
			t.Fatalf("MigrateUp() error = %v", err)
		}
		wantVersion(latest)
		if err := db.MigrateUp(ctx); err != nil {
			t.Fatalf("MigrateUp() when up to date: error = %v", err)
		}
		for v := latest; v > 0; v-- {
			if err := db.MigrateDown(ctx); err != nil {
				t.Fatalf("MigrateDown() from %d: error = %v", v, err)
			}
			wantVersion(v - 1)
		}
	}
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatalf("MigrateUp() error = %v", err)
	}
	in := &instance.Instance{ID: uuid.NewString(), ProjectID: "p", RegionID: "eu01", Name: "n", State: instance.StateActive}
	if err := db.Instances().CreateInstance(ctx, in); err != nil {
		t.Fatalf("CreateInstance() after down and up: error = %v", err)
	}
	if _, err := db.KMS().ListKeyRings(ctx, "p", "eu01"); err != nil {
		t.Fatalf("ListKeyRings() after down and up: error = %v", err)
	}
}

// TestMigrateInstanceKeyring checks that migration 2 keeps the instances
// that exist, with no wrapped keyring or fallback key.
func TestMigrateInstanceKeyring(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	defer db.Close()
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatalf("MigrateUp() error = %v", err)
	}
	for range storetest.LatestMigration(t, migrations.SQLite) - 1 {
		if err := db.MigrateDown(ctx); err != nil {
			t.Fatalf("MigrateDown() error = %v", err)
		}
	}
	raw, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatalf("open the database file: %v", err)
	}
	defer raw.Close()
	in := &instance.Instance{ID: uuid.NewString(), ProjectID: "p", RegionID: "eu01", Name: "old", State: instance.StateActive,
		CreationStartDate: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), CreationFinishedDate: time.Date(2025, 1, 2, 3, 4, 6, 0, time.UTC)}
	_, err = raw.ExecContext(ctx, `INSERT INTO instances (id, project_id, region_id, name, state, creation_start_date, creation_finished_date)
VALUES (?, ?, ?, ?, ?, '2025-01-02T03:04:05.000000000Z', '2025-01-02T03:04:06.000000000Z')`,
		in.ID, in.ProjectID, in.RegionID, in.Name, in.State)
	if err != nil {
		t.Fatalf("insert an instance at version 1: %v", err)
	}
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatalf("MigrateUp() error = %v", err)
	}
	got, err := db.Instances().InstanceByID(ctx, in.ID)
	if err != nil {
		t.Fatalf("InstanceByID() error = %v", err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("InstanceByID() of an instance older than its keyring mismatch (-want +got):\n%s", diff)
	}
}

func TestFileModes(t *testing.T) {
	t.Parallel()
	// The odd characters check that the path is escaped in the file: URI.
	dir := filepath.Join(t.TempDir(), "nested", "da ta?x=1#y%20z")
	db, err := sqlite.Open(t.Context(), dir)
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	defer db.Close()
	if err := db.MigrateUp(t.Context()); err != nil {
		t.Fatalf("MigrateUp() error = %v", err)
	}
	// A write through the store's own connections keeps the WAL file.
	if _, err := db.SealCheck().EnsureSealCheck(t.Context(), []byte("check")); err != nil {
		t.Fatalf("EnsureSealCheck() error = %v", err)
	}
	for path, want := range map[string]os.FileMode{
		dir:                                 0o700 | os.ModeDir,
		filepath.Join(dir, sqlite.FileName): 0o600,
		filepath.Join(dir, sqlite.FileName+"-wal"): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatalf("Stat(%s) error = %v", path, err)
		}
		if fi.Mode() != want {
			t.Errorf("mode of %s = %v, want %v", path, fi.Mode(), want)
		}
	}
}

// TestConcurrentWriters checks that writers wait for each other instead of
// failing with SQLITE_BUSY.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	db := openMigrated(t)
	s := db.Instances()
	const writers, each = 50, 5
	errc := make(chan error, writers*each)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				in := &instance.Instance{ID: uuid.NewString(), ProjectID: "p", RegionID: "eu01", Name: "n", State: instance.StateActive}
				if err := s.CreateInstance(context.Background(), in); err != nil {
					errc <- err
					continue
				}
				if _, err := s.ListInstances(context.Background(), "p", "eu01"); err != nil {
					errc <- err
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Errorf("concurrent write error = %v", err)
	}
	list, err := s.ListInstances(t.Context(), "p", "eu01")
	if err != nil || len(list) != writers*each {
		t.Errorf("ListInstances() = %d instances, %v; want %d, nil", len(list), err, writers*each)
	}
}
