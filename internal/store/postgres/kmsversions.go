package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/keyservice"
)

const versionColumns = `key_id, key_ring_id, number, state, created_at, destroy_date, wrapped_material, public_key`

const (
	// lockKeySQL makes concurrent AddVersion calls on one key take turns,
	// so that each sees the number the one before it added.
	lockKeySQL       = `SELECT key_ring_id FROM kms_keys WHERE id = $1 FOR UPDATE`
	nextVersionSQL   = `SELECT COALESCE(max(number), 0) + 1 FROM kms_key_versions WHERE key_id = $1`
	insertVersionSQL = `INSERT INTO kms_key_versions (` + versionColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
)

// AddVersion stores v as the next version of the key v.KeyID. Inside one
// transaction, holding the key's row lock, it numbers the version one more
// than the key's highest number (1 for its first), then calls wrap with
// that number and stores the result as the wrapped material; a nil wrap
// stores v.WrappedMaterial as it is. wrap runs inside the transaction: it
// must be quick and must not use the store. An error from wrap aborts
// AddVersion and is returned wrapped.
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
	err := s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, lockKeySQL, keyID).Scan(&ringID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, "key %s not found", keyID)
		}
		if err != nil {
			return fmt.Errorf("lock key: %w", err)
		}
		if !sameRing(v.KeyRingID, ringID) {
			return errs.E(errs.NotFound, "key %s not found in key ring %s", keyID, v.KeyRingID)
		}
		if err := tx.QueryRow(ctx, nextVersionSQL, keyID).Scan(&number); err != nil {
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
func insertVersion(ctx context.Context, tx pgx.Tx, keyID, ringID string, number int64, v *keyservice.Version, wrapped []byte) error {
	_, err := tx.Exec(ctx, insertVersionSQL, keyID, ringID, number, v.State, v.CreatedAt,
		nullTime(v.DestroyDate), wrapped, v.PublicKey)
	if isUniqueViolation(err) {
		return errs.Wrap(errs.AlreadyExists, err, fmt.Sprintf("version %d of key %s already exists", number, keyID))
	}
	if err != nil {
		return fmt.Errorf("insert key version: %w", err)
	}
	return nil
}

const selectVersionSQL = `SELECT ` + versionColumns + ` FROM kms_key_versions WHERE key_id = $1 AND number = $2`

// Version returns version number of the key keyID; errs.NotFound when there
// is no such key or version.
func (s *KMSStore) Version(ctx context.Context, keyID string, number int64) (*keyservice.Version, error) {
	if !canonicalIDs(&keyID) {
		return nil, errs.E(errs.NotFound, "key %q not found", keyID)
	}
	var v *keyservice.Version
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		v, err = queryOne(ctx, tx, scanVersion, selectVersionSQL, keyID, number)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, "version %d of key %s not found", number, keyID)
		}
		if err != nil {
			return fmt.Errorf("select key version: %w", err)
		}
		return nil
	})
	return v, err
}

const (
	keyExistsSQL    = `SELECT id FROM kms_keys WHERE id = $1`
	listVersionsSQL = `SELECT ` + versionColumns + ` FROM kms_key_versions WHERE key_id = $1 ORDER BY number`
)

// ListVersions returns the versions of the key keyID by number; none is an
// empty slice. An unknown key is errs.NotFound.
func (s *KMSStore) ListVersions(ctx context.Context, keyID string) ([]*keyservice.Version, error) {
	if !canonicalIDs(&keyID) {
		return nil, errs.E(errs.NotFound, "key %q not found", keyID)
	}
	var list []*keyservice.Version
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var id string
		err := tx.QueryRow(ctx, keyExistsSQL, keyID).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
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

const updateVersionSQL = `UPDATE kms_key_versions SET state = $3, destroy_date = $4, wrapped_material = $5
WHERE key_id = $1 AND number = $2`

// UpdateVersion replaces State, DestroyDate (the zero time clears it) and
// WrappedMaterial (nil erases it) of version v.Number of the key v.KeyID;
// errs.NotFound when there is no such version.
func (s *KMSStore) UpdateVersion(ctx context.Context, v *keyservice.Version) error {
	keyID := v.KeyID
	what := fmt.Sprintf("version %d of key %s", v.Number, keyID)
	if !canonicalIDs(&keyID) {
		return errs.E(errs.NotFound, "%s not found", what)
	}
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		return execOne(ctx, tx, what, updateVersionSQL, keyID, v.Number, v.State, nullTime(v.DestroyDate), v.WrappedMaterial)
	})
}

// versionsDueSQL spells the state out so that the partial index
// kms_key_versions_erasure_idx applies.
const versionsDueSQL = `SELECT ` + versionColumns + ` FROM kms_key_versions
WHERE state = '` + keyservice.VersionDestroyed + `' AND destroy_date <= $1 AND wrapped_material IS NOT NULL
ORDER BY destroy_date, key_id, number`

// VersionsDueForErasure returns the versions of every key in state
// keyservice.VersionDestroyed whose DestroyDate is at or before t and that
// still hold material, the earliest first; none is an empty slice.
func (s *KMSStore) VersionsDueForErasure(ctx context.Context, t time.Time) ([]*keyservice.Version, error) {
	var list []*keyservice.Version
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		list, err = queryAll(ctx, tx, scanVersion, versionsDueSQL, t)
		if err != nil {
			return fmt.Errorf("list key versions due for erasure: %w", err)
		}
		return nil
	})
	return list, err
}

func scanVersion(row pgx.CollectableRow) (*keyservice.Version, error) {
	var (
		v       keyservice.Version
		created time.Time
		destroy *time.Time
	)
	err := row.Scan(&v.KeyID, &v.KeyRingID, &v.Number, &v.State, &created, &destroy, &v.WrappedMaterial, &v.PublicKey)
	if err != nil {
		return nil, err
	}
	v.CreatedAt, v.DestroyDate = created.UTC(), utc(destroy)
	return &v, nil
}
