package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/golang-migrate/migrate/v4"
	pgxmigrate "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/migrations"
)

// MigrateUp applies every migration not yet applied. Being up to date is not
// an error. Concurrent callers are serialized by an advisory lock.
func (db *DB) MigrateUp(ctx context.Context) error {
	err := db.migrate(ctx, func(m *migrate.Migrate) error { return m.Up() })
	if errors.Is(err, migrate.ErrNoChange) {
		return nil
	}
	db.pool.Reset()
	if err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	return nil
}

// MigrateDown rolls back the latest applied migration, one step. With no
// migration applied it returns errs.FailedPrecondition.
func (db *DB) MigrateDown(ctx context.Context) error {
	err := db.migrate(ctx, func(m *migrate.Migrate) error {
		if _, _, err := m.Version(); errors.Is(err, migrate.ErrNilVersion) {
			return errs.E(errs.FailedPrecondition, "no migration to roll back")
		}
		return m.Steps(-1)
	})
	db.pool.Reset()
	if err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	return nil
}

// MigrateVersion returns the latest applied migration, 0 when none is, and
// whether it failed half-way (dirty).
func (db *DB) MigrateVersion(ctx context.Context) (version uint, dirty bool, err error) {
	err = db.migrate(ctx, func(m *migrate.Migrate) error {
		var err error
		version, dirty, err = m.Version()
		if errors.Is(err, migrate.ErrNilVersion) {
			return nil
		}
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("migration version: %w", err)
	}
	return version, dirty, nil
}

// migrate runs step on a golang-migrate instance over the pool. It stops
// step gracefully (after the running migration) when ctx is done.
//
// Callers that change the schema reset the pool afterwards, so that no
// connection keeps statements prepared against the old schema.
func (db *DB) migrate(ctx context.Context, step func(*migrate.Migrate) error) (err error) {
	src, err := iofs.New(migrations.Postgres, ".")
	if err != nil {
		return fmt.Errorf("open migration source: %w", err)
	}
	// NOTE: m.Close closes this *sql.DB, which does not close db.pool.
	sqlDB := stdlib.OpenDBFromPool(db.pool)
	drv, err := pgxmigrate.WithInstance(sqlDB, &pgxmigrate.Config{})
	if err != nil {
		return errors.Join(fmt.Errorf("open migration driver: %w", err), sqlDB.Close())
	}
	m, err := migrate.NewWithInstance("iofs", src, "pgx5", drv)
	if err != nil {
		return errors.Join(fmt.Errorf("open migrator: %w", err), drv.Close())
	}
	defer func() {
		srcErr, dbErr := m.Close()
		err = errors.Join(err, srcErr, dbErr)
	}()

	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			m.GracefulStop <- true
		case <-done:
		}
	}()
	if err := step(m); err != nil {
		return err
	}
	return ctx.Err()
}
