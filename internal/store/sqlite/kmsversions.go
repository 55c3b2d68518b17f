package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/keyservice"
)

const versionColumns = `key_id, key_ring_id, number, state, created_at, destroy_date, wrapped_material, public_key`

// selectVersionColumns adds whether the version holds material: the driver
// reads an empty BLOB as nil, which would look like erased material.
const selectVersionColumns = versionColumns + `, wrapped_material IS NOT NULL`

const (
	keyRingOfKeySQL  = `SELECT key_ring_id FROM kms_keys WHERE id = ?`
	nextVersionSQL   = `SELECT COALESCE(max(number), 0) + 1 FROM kms_key_versions WHERE key_id = ?`
	insertVersionSQL = `INSERT INTO kms_key_versions (` + versionColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
)

// AddVersion stores v as the next version of the key v.KeyID. Inside one
// IMMEDIATE transaction, which holds the database's write lock, it numbers
// the version one more than the key's highest number (1 for its first),
// then calls wrap with that number and stores the result as the wrapped
// material; a nil wrap stores v.WrappedMaterial as it is. wrap runs inside
// the transaction: it must be quick and must not use the store. An error
// from wrap aborts AddVersion and is returned wrapped.
//
// An unknown key is errs.NotFound, and so is a v.KeyRingID that is not the
// key's ring (an empty one is filled in). On success v.Number,
// v.WrappedMaterial and v.KeyRingID are set; on failure v is unchanged.
func (s *KMSStore) AddVersion(ctx context.Context, v *keyservice.Version, wrap func(number int64) ([]byte, error)) error {
	keyID := v.KeyID
	if !canonicalIDs(&keyID) {
		return errs.E(errs.NotFound, "key %q not found", v.KeyID)
	}
	var (
		ringID  string
		number  int64
		wrapped = v.WrappedMaterial
	)
	err := s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, keyRingOfKeySQL, keyID).Scan(&ringID)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "key %s not found", keyID)
		}
		if err != nil {
			return fmt.Errorf("find key: %w", err)
		}
		if !sameRing(v.KeyRingID, ringID) {
			return errs.E(errs.NotFound, "key %s not found in key ring %s", keyID, v.KeyRingID)
		}
		if err := tx.QueryRowContext(ctx, nextVersionSQL, keyID).Scan(&number); err != nil {
			return fmt.Errorf("number key version: %w", err)
		}
		if wrap != nil {
			if wrapped, err = wrap(number); err != nil {
				return fmt.Errorf("wrap key version %d: %w", number, err)
			}
		}
		return insertVersion(ctx, tx, keyID, ringID, number, v, wrapped)
	})
	if err != nil {
		return err
	}
	v.Number, v.WrappedMaterial = number, wrapped
	if v.KeyRingID == "" {
		v.KeyRingID = ringID
	}
	return nil
}

// sameRing reports whether the key ring ID given by a caller, if any, is
// the canonical ringID.
func sameRing(given, ringID string) bool {
	return given == "" || (canonicalIDs(&given) && given == ringID)
}

// insertVersion stores v as version number of keyID in ringID (all
// canonical), with the wrapped material; nil stores none.
func insertVersion(ctx context.Context, tx *sql.Tx, keyID, ringID string, number int64, v *keyservice.Version, wrapped []byte) error {
	_, err := tx.ExecContext(ctx, insertVersionSQL, keyID, ringID, number, v.State, formatTime(v.CreatedAt),
		nullTime(v.DestroyDate), material(wrapped), v.PublicKey)
	if isUniqueViolation(err) {
		return errs.Wrap(errs.AlreadyExists, err, fmt.Sprintf("version %d of key %s already exists", number, keyID))
	}
	if err != nil {
		return fmt.Errorf("insert key version: %w", err)
	}
	return nil
}

const selectVersionSQL = `SELECT ` + selectVersionColumns + ` FROM kms_key_versions WHERE key_id = ? AND number = ?`

// Version returns version number of the key keyID; errs.NotFound when there
// is no such key or version.
func (s *KMSStore) Version(ctx context.Context, keyID string, number int64) (*keyservice.Version, error) {
	if !canonicalIDs(&keyID) {
		return nil, errs.E(errs.NotFound, "key %q not found", keyID)
	}
	var v *keyservice.Version
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		v, err = scanVersion(tx.QueryRowContext(ctx, selectVersionSQL, keyID, number))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "version %d of key %s not found", number, keyID)
		}
		if err != nil {
			return fmt.Errorf("select key version: %w", err)
		}
		return nil
	})
	return v, err
}

const listVersionsSQL = `SELECT ` + selectVersionColumns + ` FROM kms_key_versions WHERE key_id = ? ORDER BY number`

// ListVersions returns the versions of the key keyID by number; none is an
// empty slice. An unknown key is errs.NotFound.
func (s *KMSStore) ListVersions(ctx context.Context, keyID string) ([]*keyservice.Version, error) {
	if !canonicalIDs(&keyID) {
		return nil, errs.E(errs.NotFound, "key %q not found", keyID)
	}
	var list []*keyservice.Version
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		var ringID string
		err := tx.QueryRowContext(ctx, keyRingOfKeySQL, keyID).Scan(&ringID)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "key %s not found", keyID)
		}
		if err != nil {
			return fmt.Errorf("find key: %w", err)
		}
		list, err = queryAll(ctx, tx, scanVersion, listVersionsSQL, keyID)
		if err != nil {
			return fmt.Errorf("list key versions: %w", err)
		}
		return nil
	})
	return list, err
}

const updateVersionSQL = `UPDATE kms_key_versions SET state = ?, destroy_date = ?, wrapped_material = ?
WHERE key_id = ? AND number = ?`

// UpdateVersion replaces State, DestroyDate (the zero time clears it) and
// WrappedMaterial (nil erases it) of version v.Number of the key v.KeyID;
// errs.NotFound when there is no such version.
func (s *KMSStore) UpdateVersion(ctx context.Context, v *keyservice.Version) error {
	keyID := v.KeyID
	what := fmt.Sprintf("version %d of key %s", v.Number, keyID)
	if !canonicalIDs(&keyID) {
		return errs.E(errs.NotFound, "%s not found", what)
	}
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		return execOne(ctx, tx, what, updateVersionSQL,
			v.State, nullTime(v.DestroyDate), material(v.WrappedMaterial), keyID, v.Number)
	})
}

// versionsDueSQL spells the state out so that the partial index
// kms_key_versions_erasure_idx applies.
const versionsDueSQL = `SELECT ` + selectVersionColumns + ` FROM kms_key_versions
WHERE state = '` + keyservice.VersionDestroyed + `' AND destroy_date <= ? AND wrapped_material IS NOT NULL
ORDER BY destroy_date, key_id, number`

// VersionsDueForErasure returns the versions of every key in state
// keyservice.VersionDestroyed whose DestroyDate is at or before t and that
// still hold material, the earliest first; none is an empty slice.
func (s *KMSStore) VersionsDueForErasure(ctx context.Context, t time.Time) ([]*keyservice.Version, error) {
	var list []*keyservice.Version
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		list, err = queryAll(ctx, tx, scanVersion, versionsDueSQL, formatTime(t))
		if err != nil {
			return fmt.Errorf("list key versions due for erasure: %w", err)
		}
		return nil
	})
	return list, err
}

// material returns the value to bind for wrapped material: NULL for nil,
// and a BLOB otherwise, even an empty one.
func material(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

func scanVersion(row scanner) (*keyservice.Version, error) {
	var v keyservice.Version
	var hasMaterial bool
	err := row.Scan(&v.KeyID, &v.KeyRingID, &v.Number, &v.State, scanTime(&v.CreatedAt), scanTime(&v.DestroyDate),
		&v.WrappedMaterial, &v.PublicKey, &hasMaterial)
	if err != nil {
		return nil, err
	}
	if hasMaterial && v.WrappedMaterial == nil {
		v.WrappedMaterial = []byte{}
	}
	return &v, nil
}
