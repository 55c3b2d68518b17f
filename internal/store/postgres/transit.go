package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/transit"
)

// TransitStore is the PostgreSQL transit.Store: the sealed keys of
// transit mounts. It is safe for concurrent use; returned values and their
// slices are owned by the caller. Every write notifies its cache
// invalidation (transit.KeyChanged, transit.MountChanged) in its
// transaction.
type TransitStore struct {
	db *DB
}

var _ transit.Store = (*TransitStore)(nil)

// Transit returns the transit key store on db.
func (db *DB) Transit() *TransitStore { return &TransitStore{db: db} }

const insertTransitKeySQL = `INSERT INTO transit_keys (mount, name, revision, sealed, updated_at) VALUES ($1, $2, $3, $4, $5)`

// Create stores k; errs.AlreadyExists when mount and name are taken.
func (s *TransitStore) Create(ctx context.Context, k *transit.StoredKey) error {
	if err := k.Validate(); err != nil {
		return err
	}
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, insertTransitKeySQL, k.Mount, k.Name, k.Revision, k.Sealed, storedTime(k.UpdatedAt))
		if isUniqueViolation(err) {
			return errs.Wrap(errs.AlreadyExists, err, fmt.Sprintf("transit key %s/%s already exists", k.Mount, k.Name))
		}
		if err != nil {
			return fmt.Errorf("insert transit key: %w", err)
		}
		return notify(ctx, tx, transit.KeyChanged(k.Mount, k.Name))
	})
}

const selectTransitKeySQL = `SELECT mount, name, revision, sealed, updated_at FROM transit_keys WHERE mount = $1 AND name = $2`

// Get returns the key name of mount; errs.NotFound when there is none.
func (s *TransitStore) Get(ctx context.Context, mount, name string) (*transit.StoredKey, error) {
	var k *transit.StoredKey
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		k, err = queryOne(ctx, tx, scanTransitKey, selectTransitKeySQL, mount, name)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, "transit key %s/%s not found", mount, name)
		}
		if err != nil {
			return fmt.Errorf("select transit key: %w", err)
		}
		return nil
	})
	return k, err
}

const listTransitKeysSQL = `SELECT name FROM transit_keys WHERE mount = $1 ORDER BY name`

// List returns the names of mount's keys in bytewise order.
func (s *TransitStore) List(ctx context.Context, mount string) ([]string, error) {
	var names []string
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		if names, err = queryAll(ctx, tx, pgx.RowTo[string], listTransitKeysSQL, mount); err != nil {
			return fmt.Errorf("list transit keys: %w", err)
		}
		return nil
	})
	return names, err
}

const (
	updateTransitKeySQL = `UPDATE transit_keys SET revision = $1, sealed = $2, updated_at = $3
WHERE mount = $4 AND name = $5 AND revision = $6`
	transitRevisionSQL = `SELECT revision FROM transit_keys WHERE mount = $1 AND name = $2`
)

// Update replaces the key when its stored revision is k.Revision-1;
// errs.FailedPrecondition when it is not, errs.NotFound when there is no
// key. A concurrent Update of the same row waits for the row lock and then
// re-checks the revision on the row as committed, so exactly one of two
// writers from the same revision succeeds.
func (s *TransitStore) Update(ctx context.Context, k *transit.StoredKey) error {
	if err := k.Validate(); err != nil {
		return err
	}
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, updateTransitKeySQL, k.Revision, k.Sealed, storedTime(k.UpdatedAt),
			k.Mount, k.Name, k.Revision-1)
		if err != nil {
			return fmt.Errorf("update transit key: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return notify(ctx, tx, transit.KeyChanged(k.Mount, k.Name))
		}
		var rev int64
		err = tx.QueryRow(ctx, transitRevisionSQL, k.Mount, k.Name).Scan(&rev)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, "transit key %s/%s not found", k.Mount, k.Name)
		}
		if err != nil {
			return fmt.Errorf("read transit key revision: %w", err)
		}
		return transit.ErrConcurrentUpdate(k.Mount, k.Name)
	})
}

const (
	deleteTransitKeySQL   = `DELETE FROM transit_keys WHERE mount = $1 AND name = $2`
	deleteTransitMountSQL = `DELETE FROM transit_keys WHERE mount = $1`
)

// Delete removes the key name of mount; errs.NotFound when there is none.
func (s *TransitStore) Delete(ctx context.Context, mount, name string) error {
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		if err := execOne(ctx, tx, "transit key "+mount+"/"+name, deleteTransitKeySQL, mount, name); err != nil {
			return err
		}
		return notify(ctx, tx, transit.KeyChanged(mount, name))
	})
}

// DeleteMount removes every key of mount.
func (s *TransitStore) DeleteMount(ctx context.Context, mount string) error {
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, deleteTransitMountSQL, mount); err != nil {
			return fmt.Errorf("delete transit keys of mount: %w", err)
		}
		return notify(ctx, tx, transit.MountChanged(mount))
	})
}

func scanTransitKey(row pgx.CollectableRow) (*transit.StoredKey, error) {
	var k transit.StoredKey
	if err := row.Scan(&k.Mount, &k.Name, &k.Revision, &k.Sealed, &k.UpdatedAt); err != nil {
		return nil, err
	}
	k.UpdatedAt = k.UpdatedAt.UTC()
	return &k, nil
}

// storedTime returns t as timestamptz keeps it: UTC, to the microsecond.
func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
