package postgres_test

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cofferhq/coffer/internal/dbtest"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/instance"
	"github.com/cofferhq/coffer/internal/store/postgres"
	"github.com/cofferhq/coffer/internal/store/storetest"
	"github.com/cofferhq/coffer/migrations"
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
		return storetest.Stores{Instances: db.Instances(), IAM: db.IAM(), SealCheck: db.SealCheck(), KMS: db.KMS(),
			Tokens: db.Tokens(), KV: db.KV(), Mounts: db.Mounts(), Transit: db.Transit(),
			Endpoints: db.TransitEndpoints()}
	})
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := open(t, dbtest.Postgres(t)) // migrated to the latest version
	latest := storetest.LatestMigration(t, migrations.Postgres)
	wantVersion := func(want uint) {
		t.Helper()
		v, dirty, err := db.MigrateVersion(ctx)
		if err != nil || v != want || dirty {
			t.Fatalf("MigrateVersion() = %d, %t, %v; want %d, false, nil", v, dirty, err, want)
		}
	}
	wantVersion(latest)
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatalf("MigrateUp() when up to date: error = %v", err)
	}
	// Use the pool before the schema changes under it.
	if _, err := db.Instances().ListInstances(ctx, "p", "eu01"); err != nil {
		t.Fatalf("ListInstances() error = %v", err)
	}
	for range 2 {
		for v := latest; v > 0; v-- {
			if err := db.MigrateDown(ctx); err != nil {
				t.Fatalf("MigrateDown() from %d: error = %v", v, err)
			}
			wantVersion(v - 1)
		}
		if err := db.MigrateUp(ctx); err != nil {
			t.Fatalf("MigrateUp() error = %v", err)
		}
		wantVersion(latest)
		if _, err := db.Instances().ListInstances(ctx, "p", "eu01"); err != nil {
			t.Fatalf("ListInstances() after down and up: error = %v", err)
		}
		if _, err := db.KMS().ListKeyRings(ctx, "p", "eu01"); err != nil {
			t.Fatalf("ListKeyRings() after down and up: error = %v", err)
		}
	}
	for range latest {
		if err := db.MigrateDown(ctx); err != nil {
			t.Fatalf("MigrateDown() error = %v", err)
		}
	}
	if err := db.MigrateDown(ctx); errs.KindOf(err) != errs.FailedPrecondition {
		t.Fatalf("MigrateDown() with nothing applied: error = %v, want kind %v", err, errs.FailedPrecondition)
	}
}

// TestMigrateInstanceKeyring checks that migration 2 keeps the instances
// that exist, with no wrapped keyring or fallback key.
func TestMigrateInstanceKeyring(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	databaseURL := dbtest.Postgres(t)
	db := open(t, databaseURL)
	for range storetest.LatestMigration(t, migrations.Postgres) - 1 {
		if err := db.MigrateDown(ctx); err != nil {
			t.Fatalf("MigrateDown() error = %v", err)
		}
	}
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		t.Fatalf("Connect() error = %v", err)
	}
	defer conn.Close(context.Background())
	in := &instance.Instance{ID: uuid.NewString(), ProjectID: "p", RegionID: "eu01", Name: "old", State: instance.StateActive,
		CreationStartDate: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), CreationFinishedDate: time.Date(2025, 1, 2, 3, 4, 6, 0, time.UTC)}
	_, err = conn.Exec(ctx, `INSERT INTO instances (id, project_id, region_id, name, state, creation_start_date, creation_finished_date)
VALUES ($1, $2, $3, $4, $5, $6, $7)`, in.ID, in.ProjectID, in.RegionID, in.Name, in.State, in.CreationStartDate, in.CreationFinishedDate)
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
