package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/transit"
)

// TransitStore is the SQLite transit.Store: the sealed keys of transit
// mounts. It is safe for concurrent use; returned values and their slices
// are owned by the caller.
type TransitStore struct {
	db *DB
}

var _ transit.Store = (*TransitStore)(nil)

// Transit returns the transit key store on db.
func (db *DB) Transit() *TransitStore { return &TransitStore{db: db} }

const insertTransitKeySQL = `INSERT INTO transit_keys (mount, name, revision, sealed, updated_at) VALUES (?, ?, ?, ?, ?)`

// Create stores k; errs.AlreadyExists when mount and name are taken.
func (s *TransitStore) Create(ctx context.Context, k *transit.StoredKey) error {
	if err := k.Validate(); err != nil {
		return err
	}
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, insertTransitKeySQL, k.Mount, k.Name, k.Revision, k.Sealed, storedTime(k.UpdatedAt))
		if isUniqueViolation(err) {
			return errs.Wrap(errs.AlreadyExists, err, fmt.Sprintf("transit key %s/%s already exists", k.Mount, k.Name))
		}
		if err != nil {
			return fmt.Errorf("insert transit key: %w", err)
		}
		return nil
	})
}

const selectTransitKeySQL = `SELECT mount, name, revision, sealed, updated_at FROM transit_keys WHERE mount = ? AND name = ?`

// Get returns the key name of mount; errs.NotFound when there is none.
func (s *TransitStore) Get(ctx context.Context, mount, name string) (*transit.StoredKey, error) {
	var k *transit.StoredKey
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		k, err = scanTransitKey(tx.QueryRowContext(ctx, selectTransitKeySQL, mount, name))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "transit key %s/%s not found", mount, name)
		}
		if err != nil {
			return fmt.Errorf("select transit key: %w", err)
		}
		return nil
	})
	return k, err
}

const listTransitKeysSQL = `SELECT name FROM transit_keys WHERE mount = ? ORDER BY name`

// List returns the names of mount's keys in bytewise order.
func (s *TransitStore) List(ctx context.Context, mount string) ([]string, error) {
	var names []string
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		names, err = queryAll(ctx, tx, func(row scanner) (string, error) {
			var n string
			return n, row.Scan(&n)
		}, listTransitKeysSQL, mount)
		if err != nil {
			return fmt.Errorf("list transit keys: %w", err)
		}
		return nil
	})
	return names, err
}

const (
	updateTransitKeySQL = `UPDATE transit_keys SET revision = ?, sealed = ?, updated_at = ?
WHERE mount = ? AND name = ? AND revision = ?`
	transitRevisionSQL = `SELECT revision FROM transit_keys WHERE mount = ? AND name = ?`
)

// Update replaces the key when its stored revision is k.Revision-1;
// errs.FailedPrecondition when it is not, errs.NotFound when there is no key.
func (s *TransitStore) Update(ctx context.Context, k *transit.StoredKey) error {
	if err := k.Validate(); err != nil {
		return err
	}
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, updateTransitKeySQL, k.Revision, k.Sealed, storedTime(k.UpdatedAt),
			k.Mount, k.Name, k.Revision-1)
		if err != nil {
			return fmt.Errorf("update transit key: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("update transit key: %w", err)
		}
		if n == 1 {
			return nil
		}
		// The write lock is held (IMMEDIATE), so this tells why nothing changed.
		var rev int64
		err = tx.QueryRowContext(ctx, transitRevisionSQL, k.Mount, k.Name).Scan(&rev)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "transit key %s/%s not found", k.Mount, k.Name)
		}
		if err != nil {
			return fmt.Errorf("read transit key revision: %w", err)
		}
		return transit.ErrConcurrentUpdate(k.Mount, k.Name)
	})
}

const (
	deleteTransitKeySQL   = `DELETE FROM transit_keys WHERE mount = ? AND name = ?`
	deleteTransitMountSQL = `DELETE FROM transit_keys WHERE mount = ?`
)

// Delete removes the key name of mount; errs.NotFound when there is none.
func (s *TransitStore) Delete(ctx context.Context, mount, name string) error {
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		return execOne(ctx, tx, "transit key "+mount+"/"+name, deleteTransitKeySQL, mount, name)
	})
}

// DeleteMount removes every key of mount.
func (s *TransitStore) DeleteMount(ctx context.Context, mount string) error {
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, deleteTransitMountSQL, mount); err != nil {
			return fmt.Errorf("delete transit keys of mount: %w", err)
		}
		return nil
	})
}

func scanTransitKey(row scanner) (*transit.StoredKey, error) {
	var k transit.StoredKey
	if err := row.Scan(&k.Mount, &k.Name, &k.Revision, &k.Sealed, scanTime(&k.UpdatedAt)); err != nil {
		return nil, err
	}
	return &k, nil
}

// storedTime returns t as the stores keep times: UTC, truncated to the
// microsecond, as PostgreSQL's timestamptz does.
func storedTime(t time.Time) string { return formatTime(t.Truncate(time.Microsecond)) }
