package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/keyservice"
)

// KMSStore is the SQLite keyservice.Store: the embedded KMS's key rings,
// keys and key versions. It is safe for concurrent use; returned values and
// their byte slices are owned by the caller.
type KMSStore struct {
	db *DB
}

var _ keyservice.Store = (*KMSStore)(nil)

const keyRingColumns = `id, project_id, region_id, display_name, description, state, created_at`

const insertKeyRingSQL = `INSERT INTO kms_key_rings (` + keyRingColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?)`

// CreateKeyRing stores kr. A malformed kr.ID is errs.InvalidArgument, an
// existing one errs.AlreadyExists. Display names need not be unique.
func (s *KMSStore) CreateKeyRing(ctx context.Context, kr *keyservice.KeyRing) error {
	id := kr.ID
	if !canonicalIDs(&id) {
		return errs.E(errs.InvalidArgument, "malformed key ring ID %q", kr.ID)
	}
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, insertKeyRingSQL,
			id, kr.ProjectID, kr.RegionID, kr.DisplayName, kr.Description, kr.State, formatTime(kr.CreatedAt))
		if isUniqueViolation(err) {
			return errs.Wrap(errs.AlreadyExists, err, fmt.Sprintf("key ring %s already exists", id))
		}
		if err != nil {
			return fmt.Errorf("insert key ring: %w", err)
		}
		return nil
	})
}

const selectKeyRingSQL = `SELECT ` + keyRingColumns + ` FROM kms_key_rings
WHERE project_id = ? AND region_id = ? AND id = ?`

// KeyRing returns the key ring id of projectID in regionID; errs.NotFound
// when there is none there.
func (s *KMSStore) KeyRing(ctx context.Context, projectID, regionID, id string) (*keyservice.KeyRing, error) {
	return s.getKeyRing(ctx, id, selectKeyRingSQL, projectID, regionID)
}

const selectKeyRingByIDSQL = `SELECT ` + keyRingColumns + ` FROM kms_key_rings WHERE id = ?`

// KeyRingByID returns the key ring id of any project and region;
// errs.NotFound when there is none.
func (s *KMSStore) KeyRingByID(ctx context.Context, id string) (*keyservice.KeyRing, error) {
	return s.getKeyRing(ctx, id, selectKeyRingByIDSQL)
}

// getKeyRing runs query with args followed by id, which must be its last
// parameter.
func (s *KMSStore) getKeyRing(ctx context.Context, id, query string, args ...any) (*keyservice.KeyRing, error) {
	if !canonicalIDs(&id) {
		return nil, errs.E(errs.NotFound, "key ring %q not found", id)
	}
	var kr *keyservice.KeyRing
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		kr, err = scanKeyRing(tx.QueryRowContext(ctx, query, append(args, id)...))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "key ring %s not found", id)
		}
		if err != nil {
			return fmt.Errorf("select key ring: %w", err)
		}
		return nil
	})
	return kr, err
}

const listKeyRingsSQL = `SELECT ` + keyRingColumns + ` FROM kms_key_rings
WHERE project_id = ? AND region_id = ?
ORDER BY created_at, id`

// ListKeyRings returns the key rings of projectID in regionID, oldest
// first; none is an empty slice.
func (s *KMSStore) ListKeyRings(ctx context.Context, projectID, regionID string) ([]*keyservice.KeyRing, error) {
	var list []*keyservice.KeyRing
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		list, err = queryAll(ctx, tx, scanKeyRing, listKeyRingsSQL, projectID, regionID)
		if err != nil {
			return fmt.Errorf("list key rings: %w", err)
		}
		return nil
	})
	return list, err
}

const (
	keyRingExistsSQL  = `SELECT id FROM kms_key_rings WHERE project_id = ? AND region_id = ? AND id = ?`
	keyRingHasKeysSQL = `SELECT EXISTS (SELECT 1 FROM kms_keys WHERE key_ring_id = ?)`
	deleteKeyRingSQL  = `DELETE FROM kms_key_rings WHERE id = ?`
)

// DeleteKeyRing removes the key ring id of projectID in regionID;
// errs.NotFound when there is none there, errs.FailedPrecondition while it
// holds keys (in any state). The IMMEDIATE transaction holds the write lock,
// so no key can be added between the check and the delete.
func (s *KMSStore) DeleteKeyRing(ctx context.Context, projectID, regionID, id string) error {
	if !canonicalIDs(&id) {
		return errs.E(errs.NotFound, "key ring %q not found", id)
	}
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		if err := findKeyRing(ctx, tx, projectID, regionID, id); err != nil {
			return err
		}
		var hasKeys bool
		if err := tx.QueryRowContext(ctx, keyRingHasKeysSQL, id).Scan(&hasKeys); err != nil {
			return fmt.Errorf("find keys of key ring: %w", err)
		}
		if hasKeys {
			return errs.E(errs.FailedPrecondition, "key ring %s is not empty", id)
		}
		_, err := tx.ExecContext(ctx, deleteKeyRingSQL, id)
		if isForeignKeyViolation(err) { // unreachable under the write lock; the schema's RESTRICT backs it up
			return errs.Wrap(errs.FailedPrecondition, err, fmt.Sprintf("key ring %s is not empty", id))
		}
		if err != nil {
			return fmt.Errorf("delete key ring: %w", err)
		}
		return nil
	})
}

// findKeyRing returns errs.NotFound unless the key ring id exists in
// projectID/regionID.
func findKeyRing(ctx context.Context, tx *sql.Tx, projectID, regionID, id string) error {
	var got string
	err := tx.QueryRowContext(ctx, keyRingExistsSQL, projectID, regionID, id).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.E(errs.NotFound, "key ring %s not found", id)
	}
	if err != nil {
		return fmt.Errorf("find key ring: %w", err)
	}
	return nil
}

func scanKeyRing(row scanner) (*keyservice.KeyRing, error) {
	var kr keyservice.KeyRing
	err := row.Scan(&kr.ID, &kr.ProjectID, &kr.RegionID, &kr.DisplayName, &kr.Description, &kr.State,
		scanTime(&kr.CreatedAt))
	if err != nil {
		return nil, err
	}
	return &kr, nil
}
