package postgres_test

import (
	"context"
	"net/url"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/dbtest"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/instance"
	"github.com/cofferhq/coffer/internal/store/postgres"
	"github.com/cofferhq/coffer/internal/store/storetest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// open opens a fresh database, closed when t ends. Its pool is kept small so
// that parallel tests stay under the server's max_connections.
func open(t *testing.T, databaseURL string) *postgres.DB {
	t.Helper()
	u, err := url.Parse(databaseURL)
	if err != nil {
		t.Fatalf("parse database URL: %v", err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "4")
	u.RawQuery = q.Encode()
	db, err := postgres.Open(t.Context(), u.String())
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close() error = %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		db := open(t, dbtest.Postgres(t))
		return storetest.Stores{Instances: db.Instances(), IAM: db.IAM(), SealCheck: db.SealCheck()}
	})
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := open(t, dbtest.Postgres(t)) // migrated to the latest version
	wantVersion := func(want uint) {
		t.Helper()
		v, dirty, err := db.MigrateVersion(ctx)
		if err != nil || v != want || dirty {
			t.Fatalf("MigrateVersion() = %d, %t, %v; want %d, false, nil", v, dirty, err, want)
		}
	}
	wantVersion(1)
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatalf("MigrateUp() when up to date: error = %v", err)
	}
	// Use the pool before the schema changes under it.
	if _, err := db.Instances().ListInstances(ctx, "p", "eu01"); err != nil {
		t.Fatalf("ListInstances() error = %v", err)
	}
	for range 2 {
		if err := db.MigrateDown(ctx); err != nil {
			t.Fatalf("MigrateDown() error = %v", err)
		}
		wantVersion(0)
		if err := db.MigrateUp(ctx); err != nil {
			t.Fatalf("MigrateUp() error = %v", err)
		}
		wantVersion(1)
		if _, err := db.Instances().ListInstances(ctx, "p", "eu01"); err != nil {
			t.Fatalf("ListInstances() after down and up: error = %v", err)
		}
	}
	if err := db.MigrateDown(ctx); err != nil {
		t.Fatalf("MigrateDown() error = %v", err)
	}
	if err := db.MigrateDown(ctx); errs.KindOf(err) != errs.FailedPrecondition {
		t.Fatalf("MigrateDown() with nothing applied: error = %v, want kind %v", err, errs.FailedPrecondition)
	}
}

// TestConcurrentMigrateUp checks that processes starting together on an
// empty database agree (golang-migrate holds an advisory lock).
func TestConcurrentMigrateUp(t *testing.T) {
	t.Parallel()
	databaseURL := dbtest.Postgres(t)
	setup := open(t, databaseURL)
	if err := setup.MigrateDown(t.Context()); err != nil {
		t.Fatalf("MigrateDown() error = %v", err)
	}
	var wg sync.WaitGroup
	for range 4 {
		db := open(t, databaseURL)
		wg.Go(func() {
			if err := db.MigrateUp(context.Background()); err != nil {
				t.Errorf("MigrateUp() error = %v", err)
			}
		})
	}
	wg.Wait()
	in := &instance.Instance{ID: uuid.NewString(), ProjectID: "p", RegionID: "eu01", Name: "n", State: instance.StateActive}
	if err := setup.Instances().CreateInstance(t.Context(), in); err != nil {
		t.Fatalf("CreateInstance() error = %v", err)
	}
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	_, err := postgres.Open(t.Context(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=2&sslmode=disable")
	if errs.KindOf(err) != errs.Unavailable {
		t.Fatalf("Open(unreachable) error = %v, want kind %v", err, errs.Unavailable)
	}
}
