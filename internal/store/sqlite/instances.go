package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/instance"
)

// InstanceStore is the SQLite instance.Store. It is safe for concurrent
// use; returned values are owned by the caller.
type InstanceStore struct {
	db *DB
}

var _ instance.Store = (*InstanceStore)(nil)

const instanceColumns = `id, project_id, region_id, name, state, secret_count,
	kms_region_id, kms_project_id, kms_service_account_email, kms_key_ring_id, kms_key_id, kms_key_version,
	creation_start_date, creation_finished_date, update_start_date, update_finished_date,
	wrapped_keyring, wrapped_fallback_key`

const insertInstanceSQL = `INSERT INTO instances (` + instanceColumns + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// CreateInstance stores in. A malformed in.ID is errs.InvalidArgument, an
// existing in.ID errs.AlreadyExists. A nil or empty WrappedKeyring or
// WrappedFallbackKey is stored as empty and reads back as nil.
func (s *InstanceStore) CreateInstance(ctx context.Context, in *instance.Instance) error {
	id := in.ID
	if !canonicalIDs(&id) {
		return errs.E(errs.InvalidArgument, "malformed instance ID %q", in.ID)
	}
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		args := append([]any{id, in.ProjectID, in.RegionID, in.Name, in.State, in.SecretCount}, kmsArgs(in.KMSKey)...)
		args = append(args, formatTime(in.CreationStartDate), formatTime(in.CreationFinishedDate),
			nullTime(in.UpdateStartDate), nullTime(in.UpdateFinishedDate),
			nonNil(in.WrappedKeyring), nonNil(in.WrappedFallbackKey))
		_, err := tx.ExecContext(ctx, insertInstanceSQL, args...)
		if isUniqueViolation(err) {
			return errs.Wrap(errs.AlreadyExists, err, fmt.Sprintf("instance %s already exists", id))
		}
		if err != nil {
			return fmt.Errorf("insert instance: %w", err)
		}
		return nil
	})
}

const selectInstanceSQL = `SELECT ` + instanceColumns + ` FROM instances
WHERE project_id = ? AND region_id = ? AND id = ?`

// Instance returns the instance id of projectID in regionID; errs.NotFound
// when there is none there.
func (s *InstanceStore) Instance(ctx context.Context, projectID, regionID, id string) (*instance.Instance, error) {
	return s.getInstance(ctx, id, selectInstanceSQL, projectID, regionID)
}

const selectInstanceByIDSQL = `SELECT ` + instanceColumns + ` FROM instances WHERE id = ?`

// InstanceByID returns the instance id of any project and region;
// errs.NotFound when there is none.
func (s *InstanceStore) InstanceByID(ctx context.Context, id string) (*instance.Instance, error) {
	return s.getInstance(ctx, id, selectInstanceByIDSQL)
}

// getInstance runs query with args followed by id, which must be its last
// parameter.
func (s *InstanceStore) getInstance(ctx context.Context, id, query string, args ...any) (*instance.Instance, error) {
	if !canonicalIDs(&id) {
		return nil, errs.E(errs.NotFound, "instance %q not found", id)
	}
	var in *instance.Instance
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		in, err = scanInstance(tx.QueryRowContext(ctx, query, append(args, id)...))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "instance %s not found", id)
		}
		if err != nil {
			return fmt.Errorf("select instance: %w", err)
		}
		return nil
	})
	return in, err
}

const listInstancesSQL = `SELECT ` + instanceColumns + ` FROM instances
WHERE project_id = ? AND region_id = ?
ORDER BY creation_start_date, id`

// ListInstances returns the instances of projectID in regionID, oldest
// first; none is an empty slice.
func (s *InstanceStore) ListInstances(ctx context.Context, projectID, regionID string) ([]*instance.Instance, error) {
	var list []*instance.Instance
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		list, err = queryAll(ctx, tx, scanInstance, listInstancesSQL, projectID, regionID)
		if err != nil {
			return fmt.Errorf("list instances: %w", err)
		}
		return nil
	})
	return list, err
}

const updateInstanceSQL = `UPDATE instances SET name = ?,
	kms_region_id = ?, kms_project_id = ?, kms_service_account_email = ?,
	kms_key_ring_id = ?, kms_key_id = ?, kms_key_version = ?,
	update_start_date = ?, update_finished_date = ?,
	wrapped_keyring = ?, wrapped_fallback_key = ?
WHERE project_id = ? AND region_id = ? AND id = ?`

// UpdateInstance replaces the name, kmsKey, update dates, wrapped keyring
// and wrapped fallback key of in.ID in in.ProjectID/in.RegionID, all in one
// statement; errs.NotFound when there is no such instance.
func (s *InstanceStore) UpdateInstance(ctx context.Context, in *instance.Instance) error {
	id := in.ID
	if !canonicalIDs(&id) {
		return errs.E(errs.NotFound, "instance %q not found", in.ID)
	}
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		args := append([]any{in.Name}, kmsArgs(in.KMSKey)...)
		args = append(args, nullTime(in.UpdateStartDate), nullTime(in.UpdateFinishedDate),
			nonNil(in.WrappedKeyring), nonNil(in.WrappedFallbackKey), in.ProjectID, in.RegionID, id)
		return execOne(ctx, tx, "instance "+id, updateInstanceSQL, args...)
	})
}

const deleteInstanceSQL = `DELETE FROM instances WHERE project_id = ? AND region_id = ? AND id = ?`

// DeleteInstance removes the instance with its users and ACLs (by cascade);
// errs.NotFound when there is no such instance.
func (s *InstanceStore) DeleteInstance(ctx context.Context, projectID, regionID, id string) error {
	if !canonicalIDs(&id) {
		return errs.E(errs.NotFound, "instance %q not found", id)
	}
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		return execOne(ctx, tx, "instance "+id, deleteInstanceSQL, projectID, regionID, id)
	})
}

// kmsArgs returns the six kms_* column values of k, all nil when k is nil.
func kmsArgs(k *instance.KMSKey) []any {
	if k == nil {
		return []any{nil, nil, nil, nil, nil, nil}
	}
	return []any{k.RegionID, k.ProjectID, k.ServiceAccountEmail, k.KeyRingID, k.KeyID, k.KeyVersion}
}

func scanInstance(row scanner) (*instance.Instance, error) {
	var (
		in                              instance.Instance
		kmsRegion, kmsProject, kmsEmail sql.NullString
		kmsRing, kmsKey                 sql.NullString
		kmsVersion                      sql.NullInt64
	)
	err := row.Scan(&in.ID, &in.ProjectID, &in.RegionID, &in.Name, &in.State, &in.SecretCount,
		&kmsRegion, &kmsProject, &kmsEmail, &kmsRing, &kmsKey, &kmsVersion,
		scanTime(&in.CreationStartDate), scanTime(&in.CreationFinishedDate),
		scanTime(&in.UpdateStartDate), scanTime(&in.UpdateFinishedDate),
		&in.WrappedKeyring, &in.WrappedFallbackKey)
	if err != nil {
		return nil, err
	}
	// The schema's CHECK makes the six kms_* columns all NULL or none.
	if kmsKey.Valid {
		in.KMSKey = &instance.KMSKey{
			RegionID: kmsRegion.String, ProjectID: kmsProject.String, ServiceAccountEmail: kmsEmail.String,
			KeyRingID: kmsRing.String, KeyID: kmsKey.String, KeyVersion: kmsVersion.Int64,
		}
	}
	in.WrappedKeyring, in.WrappedFallbackKey = nilIfEmpty(in.WrappedKeyring), nilIfEmpty(in.WrappedFallbackKey)
	return &in, nil
}
