package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/keyring"
	"github.com/cofferhq/coffer/internal/keyservice"
)

const keyColumns = `id, key_ring_id, project_id, region_id, display_name, description, algorithm, protection,
	import_only, access_scope, state, created_at, deletion_date`

const insertKeySQL = `INSERT INTO kms_keys (` + keyColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateKey stores k and, unless first is nil, its first version, in one
// transaction. The key ring k.KeyRingID must exist in k.ProjectID/k.RegionID
// (errs.NotFound). A malformed k.ID is errs.InvalidArgument, an existing one
// errs.AlreadyExists. first must belong to k (its KeyID and KeyRingID are
// k's, or empty) and have Number 1 (or 0); otherwise errs.InvalidArgument.
// On success first's KeyID, KeyRingID and Number are k.ID, k.KeyRingID and 1.
func (s *KMSStore) CreateKey(ctx context.Context, k *keyservice.Key, first *keyservice.Version) error {
	id, ringID := k.ID, k.KeyRingID
	if !canonicalIDs(&ringID) {
		return errs.E(errs.NotFound, "key ring %q not found", k.KeyRingID)
	}
	if !canonicalIDs(&id) {
		return errs.E(errs.InvalidArgument, "malformed key ID %q", k.ID)
	}
	if err := checkFirstVersion(first, id, ringID); err != nil {
		return err
	}
	err := s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		if err := findKeyRing(ctx, tx, k.ProjectID, k.RegionID, ringID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, insertKeySQL, id, ringID, k.ProjectID, k.RegionID, k.DisplayName, k.Description,
			string(k.Algorithm), k.Protection, k.ImportOnly, k.AccessScope, k.State,
			formatTime(k.CreatedAt), nullTime(k.DeletionDate))
		if isUniqueViolation(err) {
			return errs.Wrap(errs.AlreadyExists, err, fmt.Sprintf("key %s already exists", id))
		}
		if err != nil {
			return fmt.Errorf("insert key: %w", err)
		}
		if first == nil {
			return nil
		}
		return insertVersion(ctx, tx, id, ringID, 1, first, first.WrappedMaterial)
	})
	if err == nil && first != nil {
		first.KeyID, first.KeyRingID, first.Number = k.ID, k.KeyRingID, 1
	}
	return err
}

// checkFirstVersion returns errs.InvalidArgument unless v (when not nil)
// may be the first version of key keyID in ring ringID, both canonical.
func checkFirstVersion(v *keyservice.Version, keyID, ringID string) error {
	if v == nil {
		return nil
	}
	vKey, vRing := v.KeyID, v.KeyRingID
	if (vKey != "" && (!canonicalIDs(&vKey) || vKey != keyID)) ||
		(vRing != "" && (!canonicalIDs(&vRing) || vRing != ringID)) {
		return errs.E(errs.InvalidArgument, "the first version of key %s belongs to key %q of key ring %q",
			keyID, v.KeyID, v.KeyRingID)
	}
	if v.Number != 0 && v.Number != 1 {
		return errs.E(errs.InvalidArgument, "the first version of key %s has number %d, want 1", keyID, v.Number)
	}
	return nil
}

const selectKeySQL = `SELECT ` + keyColumns + ` FROM kms_keys
WHERE project_id = ? AND region_id = ? AND key_ring_id = ? AND id = ?`

// Key returns the key id of the key ring keyRingID of projectID in
// regionID; errs.NotFound when there is none there.
func (s *KMSStore) Key(ctx context.Context, projectID, regionID, keyRingID, id string) (*keyservice.Key, error) {
	if !canonicalIDs(&keyRingID, &id) {
		return nil, errs.E(errs.NotFound, "key %q not found", id)
	}
	var k *keyservice.Key
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		k, err = scanKey(tx.QueryRowContext(ctx, selectKeySQL, projectID, regionID, keyRingID, id))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "key %s not found", id)
		}
		if err != nil {
			return fmt.Errorf("select key: %w", err)
		}
		return nil
	})
	return k, err
}

const listKeysSQL = `SELECT ` + keyColumns + ` FROM kms_keys WHERE key_ring_id = ? ORDER BY created_at, id`

// ListKeys returns the keys of the key ring keyRingID of projectID in
// regionID, oldest first; none is an empty slice. An unknown key ring is
// errs.NotFound.
func (s *KMSStore) ListKeys(ctx context.Context, projectID, regionID, keyRingID string) ([]*keyservice.Key, error) {
	if !canonicalIDs(&keyRingID) {
		return nil, errs.E(errs.NotFound, "key ring %q not found", keyRingID)
	}
	var list []*keyservice.Key
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		if err := findKeyRing(ctx, tx, projectID, regionID, keyRingID); err != nil {
			return err
		}
		var err error
		list, err = queryAll(ctx, tx, scanKey, listKeysSQL, keyRingID)
		if err != nil {
			return fmt.Errorf("list keys: %w", err)
		}
		return nil
	})
	return list, err
}

const updateKeySQL = `UPDATE kms_keys SET state = ?, deletion_date = ? WHERE id = ?`

// UpdateKey replaces State and DeletionDate of the key k.ID (the zero
// DeletionDate clears it); errs.NotFound when there is no such key.
func (s *KMSStore) UpdateKey(ctx context.Context, k *keyservice.Key) error {
	id := k.ID
	if !canonicalIDs(&id) {
		return errs.E(errs.NotFound, "key %q not found", k.ID)
	}
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		return execOne(ctx, tx, "key "+id, updateKeySQL, k.State, nullTime(k.DeletionDate), id)
	})
}

const purgeKeySQL = `DELETE FROM kms_keys WHERE id = ?`

// PurgeKey deletes the key id with all its versions (by cascade), whatever
// its state; errs.NotFound when there is no such key.
func (s *KMSStore) PurgeKey(ctx context.Context, id string) error {
	if !canonicalIDs(&id) {
		return errs.E(errs.NotFound, "key %q not found", id)
	}
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		return execOne(ctx, tx, "key "+id, purgeKeySQL, id)
	})
}

// keysDueSQL spells the state out so that the partial index
// kms_keys_deletion_idx applies.
const keysDueSQL = `SELECT ` + keyColumns + ` FROM kms_keys
WHERE state = '` + keyservice.KeyDeleted + `' AND deletion_date <= ?
ORDER BY deletion_date, id`

// KeysDueForDeletion returns the keys of every project in state
// keyservice.KeyDeleted whose DeletionDate is at or before t, the earliest
// first; none is an empty slice.
func (s *KMSStore) KeysDueForDeletion(ctx context.Context, t time.Time) ([]*keyservice.Key, error) {
	var list []*keyservice.Key
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		list, err = queryAll(ctx, tx, scanKey, keysDueSQL, formatTime(t))
		if err != nil {
			return fmt.Errorf("list keys due for deletion: %w", err)
		}
		return nil
	})
	return list, err
}

func scanKey(row scanner) (*keyservice.Key, error) {
	var k keyservice.Key
	var algorithm string
	err := row.Scan(&k.ID, &k.KeyRingID, &k.ProjectID, &k.RegionID, &k.DisplayName, &k.Description, &algorithm,
		&k.Protection, &k.ImportOnly, &k.AccessScope, &k.State, scanTime(&k.CreatedAt), scanTime(&k.DeletionDate))
	if err != nil {
		return nil, err
	}
	k.Algorithm = keyring.Algorithm(algorithm)
	return &k, nil
}
