package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/instance"
)

// InstanceStore is the PostgreSQL instance.Store. It is safe for concurrent
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
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`

// CreateInstance stores in. A malformed in.ID is errs.InvalidArgument, an
// existing in.ID errs.AlreadyExists. A nil or empty WrappedKeyring or
// WrappedFallbackKey is stored as empty and reads back as nil.
func (s *InstanceStore) CreateInstance(ctx context.Context, in *instance.Instance) error {
	id := in.ID
	if !canonicalIDs(&id) {
		return errs.E(errs.InvalidArgument, "malformed instance ID %q", in.ID)
	}
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		args := append([]any{id, in.ProjectID, in.RegionID, in.Name, in.State, in.SecretCount}, kmsArgs(in.KMSKey)...)
		args = append(args, in.CreationStartDate, in.CreationFinishedDate,
			nullTime(in.UpdateStartDate), nullTime(in.UpdateFinishedDate),
			nonNil(in.WrappedKeyring), nonNil(in.WrappedFallbackKey))
		_, err := tx.Exec(ctx, insertInstanceSQL, args...)
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
WHERE project_id = $1 AND region_id = $2 AND id = $3`

// Instance returns the instance id of projectID in regionID; errs.NotFound
// when there is none there.
func (s *InstanceStore) Instance(ctx context.Context, projectID, regionID, id string) (*instance.Instance, error) {
	return s.getInstance(ctx, id, selectInstanceSQL, projectID, regionID)
}

const selectInstanceByIDSQL = `SELECT ` + instanceColumns + ` FROM instances WHERE id = $1`

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
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		in, err = queryOne(ctx, tx, scanInstance, query, append(args, id)...)
		if errors.Is(err, pgx.ErrNoRows) {
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
WHERE project_id = $1 AND region_id = $2
ORDER BY creation_start_date, id`

// ListInstances returns the instances of projectID in regionID, oldest
// first; none is an empty slice.
func (s *InstanceStore) ListInstances(ctx context.Context, projectID, regionID string) ([]*instance.Instance, error) {
	var list []*instance.Instance
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		list, err = queryAll(ctx, tx, scanInstance, listInstancesSQL, projectID, regionID)
		if err != nil {
			return fmt.Errorf("list instances: %w", err)
		}
		return nil
	})
	return list, err
}

const updateInstanceSQL = `UPDATE instances SET name = $4,
	kms_region_id = $5, kms_project_id = $6, kms_service_account_email = $7,
	kms_key_ring_id = $8, kms_key_id = $9, kms_key_version = $10,
	update_start_date = $11, update_finished_date = $12,
	wrapped_keyring = $13, wrapped_fallback_key = $14
WHERE project_id = $1 AND region_id = $2 AND id = $3`

// UpdateInstance replaces the name, kmsKey, update dates, wrapped keyring
// and wrapped fallback key of in.ID in in.ProjectID/in.RegionID, all in one
// statement; errs.NotFound when there is no such instance.
func (s *InstanceStore) UpdateInstance(ctx context.Context, in *instance.Instance) error {
	id := in.ID
	if !canonicalIDs(&id) {
		return errs.E(errs.NotFound, "instance %q not found", in.ID)
	}
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		args := append([]any{in.ProjectID, in.RegionID, id, in.Name}, kmsArgs(in.KMSKey)...)
		args = append(args, nullTime(in.UpdateStartDate), nullTime(in.UpdateFinishedDate),
			nonNil(in.WrappedKeyring), nonNil(in.WrappedFallbackKey))
		if err := execOne(ctx, tx, "instance "+id, updateInstanceSQL, args...); err != nil {
			return err
		}
		return notify(ctx, tx, instance.Changed(id))
	})
}

const deleteInstanceSQL = `DELETE FROM instances WHERE project_id = $1 AND region_id = $2 AND id = $3`

// DeleteInstance removes the instance with its users and ACLs (by cascade);
// errs.NotFound when there is no such instance.
func (s *InstanceStore) DeleteInstance(ctx context.Context, projectID, regionID, id string) error {
	if !canonicalIDs(&id) {
		return errs.E(errs.NotFound, "instance %q not found", id)
	}
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		if err := execOne(ctx, tx, "instance "+id, deleteInstanceSQL, projectID, regionID, id); err != nil {
			return err
		}
		return notify(ctx, tx, instance.Changed(id))
	})
}

// kmsArgs returns the six kms_* column values of k, all nil when k is nil.
func kmsArgs(k *instance.KMSKey) []any {
	if k == nil {
		return []any{nil, nil, nil, nil, nil, nil}
	}
	return []any{k.RegionID, k.ProjectID, k.ServiceAccountEmail, k.KeyRingID, k.KeyID, k.KeyVersion}
}

// nullTime returns nil (SQL NULL) for the zero time, else t.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// nilIfEmpty returns nil for an empty b, else b: an empty byte column means
// "none", as a nil slice does.
func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// utc returns *t in UTC, or the zero time when t is nil.
func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func scanInstance(row pgx.CollectableRow) (*instance.Instance, error) {
	var (
		in                                   instance.Instance
		kmsRegion, kmsProject, kmsEmail      *string
		kmsRing, kmsKey                      *string
		kmsVersion                           *int64
		created, finished, updated, upFinish *time.Time
	)
	err := row.Scan(&in.ID, &in.ProjectID, &in.RegionID, &in.Name, &in.State, &in.SecretCount,
		&kmsRegion, &kmsProject, &kmsEmail, &kmsRing, &kmsKey, &kmsVersion,
		&created, &finished, &updated, &upFinish, &in.WrappedKeyring, &in.WrappedFallbackKey)
	if err != nil {
		return nil, err
	}
	// The schema's CHECK makes the six kms_* columns all NULL or none.
	if kmsKey != nil {
		in.KMSKey = &instance.KMSKey{
			RegionID: *kmsRegion, ProjectID: *kmsProject, ServiceAccountEmail: *kmsEmail,
			KeyRingID: *kmsRing, KeyID: *kmsKey, KeyVersion: *kmsVersion,
		}
	}
	in.CreationStartDate, in.CreationFinishedDate = utc(created), utc(finished)
	in.UpdateStartDate, in.UpdateFinishedDate = utc(updated), utc(upFinish)
	in.WrappedKeyring, in.WrappedFallbackKey = nilIfEmpty(in.WrappedKeyring), nilIfEmpty(in.WrappedFallbackKey)
	return &in, nil
}
