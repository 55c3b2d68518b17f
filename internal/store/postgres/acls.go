package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/instance"
)

const aclColumns = `id, instance_id, cidr`

const (
	countACLsSQL = `SELECT count(*) FROM instance_acls WHERE instance_id = $1`
	// appendACLSQL gives the ACL the next seq of its instance. The casts are
	// needed because parameters in a SELECT list have no type to infer.
	appendACLSQL = `INSERT INTO instance_acls (id, instance_id, seq, cidr)
SELECT $1::uuid, $2::uuid, COALESCE(max(seq), 0) + 1, $3::text FROM instance_acls WHERE instance_id = $2::uuid`
)

// CreateACL appends a to its instance's list unless the instance already has
// limit ACLs (errs.ResourceExhausted). The instance must exist
// (errs.NotFound); a taken ID is errs.AlreadyExists, a malformed one
// errs.InvalidArgument.
func (s *InstanceStore) CreateACL(ctx context.Context, a *instance.ACL, limit int) error {
	id, instanceID := a.ID, a.InstanceID
	if !canonicalIDs(&instanceID) {
		return errs.E(errs.NotFound, "instance %q not found", a.InstanceID)
	}
	if !canonicalIDs(&id) {
		return errs.E(errs.InvalidArgument, "malformed ACL ID %q", a.ID)
	}
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		if err := lockInstance(ctx, tx, instanceID); err != nil {
			return err
		}
		if err := checkLimit(ctx, tx, countACLsSQL, instanceID, 1, limit, "ACLs"); err != nil {
			return err
		}
		if err := insertACL(ctx, tx, appendACLSQL, id, instanceID, a.CIDR); err != nil {
			return err
		}
		return notify(ctx, tx, instance.Changed(instanceID))
	})
}

const selectACLSQL = `SELECT ` + aclColumns + ` FROM instance_acls WHERE instance_id = $1 AND id = $2`

// ACL returns the ACL id of instanceID; errs.NotFound when there is none.
func (s *InstanceStore) ACL(ctx context.Context, instanceID, id string) (*instance.ACL, error) {
	if !canonicalIDs(&instanceID, &id) {
		return nil, errs.E(errs.NotFound, "ACL %q not found", id)
	}
	var a *instance.ACL
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		a, err = queryOne(ctx, tx, scanACL, selectACLSQL, instanceID, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, "ACL %s not found", id)
		}
		if err != nil {
			return fmt.Errorf("select ACL: %w", err)
		}
		return nil
	})
	return a, err
}

const listACLsSQL = `SELECT ` + aclColumns + ` FROM instance_acls WHERE instance_id = $1 ORDER BY seq, id`

// ListACLs returns the ACLs of instanceID in insertion order; none is an
// empty slice. An unknown instance is errs.NotFound.
func (s *InstanceStore) ListACLs(ctx context.Context, instanceID string) ([]*instance.ACL, error) {
	if !canonicalIDs(&instanceID) {
		return nil, errs.E(errs.NotFound, "instance %q not found", instanceID)
	}
	var list []*instance.ACL
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		if err := instanceExists(ctx, tx, instanceID); err != nil {
			return err
		}
		var err error
		list, err = queryAll(ctx, tx, scanACL, listACLsSQL, instanceID)
		if err != nil {
			return fmt.Errorf("list ACLs: %w", err)
		}
		return nil
	})
	return list, err
}

const updateACLSQL = `UPDATE instance_acls SET cidr = $3 WHERE instance_id = $1 AND id = $2`

// UpdateACL replaces the CIDR of the ACL a.ID of a.InstanceID, keeping its
// place in the list; errs.NotFound when there is no such ACL.
func (s *InstanceStore) UpdateACL(ctx context.Context, a *instance.ACL) error {
	id, instanceID := a.ID, a.InstanceID
	if !canonicalIDs(&instanceID, &id) {
		return errs.E(errs.NotFound, "ACL %q not found", a.ID)
	}
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		if err := execOne(ctx, tx, "ACL "+id, updateACLSQL, instanceID, id, a.CIDR); err != nil {
			return err
		}
		return notify(ctx, tx, instance.Changed(instanceID))
	})
}

const (
	deleteACLsSQL = `DELETE FROM instance_acls WHERE instance_id = $1`
	insertACLSQL  = `INSERT INTO instance_acls (id, instance_id, seq, cidr) VALUES ($1, $2, $3, $4)`
)

// ReplaceACLs replaces the whole ACL list of instanceID with acls, in their
// order; each ACL's InstanceID is ignored. More than limit ACLs is
// errs.ResourceExhausted and leaves the old list in place. The instance must
// exist (errs.NotFound); a duplicate or taken ID is errs.AlreadyExists, a
// malformed one errs.InvalidArgument.
func (s *InstanceStore) ReplaceACLs(ctx context.Context, instanceID string, acls []*instance.ACL, limit int) error {
	if !canonicalIDs(&instanceID) {
		return errs.E(errs.NotFound, "instance %q not found", instanceID)
	}
	ids := make([]string, len(acls))
	for i, a := range acls {
		ids[i] = a.ID
		if !canonicalIDs(&ids[i]) {
			return errs.E(errs.InvalidArgument, "malformed ACL ID %q", a.ID)
		}
	}
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		if err := lockInstance(ctx, tx, instanceID); err != nil {
			return err
		}
		if len(acls) > limit {
			return errs.E(errs.ResourceExhausted, "instance %s may have at most %d ACLs", instanceID, limit)
		}
		if _, err := tx.Exec(ctx, deleteACLsSQL, instanceID); err != nil {
			return fmt.Errorf("delete ACLs: %w", err)
		}
		for i, a := range acls {
			if err := insertACL(ctx, tx, insertACLSQL, ids[i], instanceID, i+1, a.CIDR); err != nil {
				return err
			}
		}
		return notify(ctx, tx, instance.Changed(instanceID))
	})
}

const deleteACLSQL = `DELETE FROM instance_acls WHERE instance_id = $1 AND id = $2`

// DeleteACL removes the ACL id of instanceID; errs.NotFound when there is
// no such ACL.
func (s *InstanceStore) DeleteACL(ctx context.Context, instanceID, id string) error {
	if !canonicalIDs(&instanceID, &id) {
		return errs.E(errs.NotFound, "ACL %q not found", id)
	}
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		if err := execOne(ctx, tx, "ACL "+id, deleteACLSQL, instanceID, id); err != nil {
			return err
		}
		return notify(ctx, tx, instance.Changed(instanceID))
	})
}

// insertACL runs an insert whose first argument is the ACL's ID.
func insertACL(ctx context.Context, tx pgx.Tx, query string, args ...any) error {
	_, err := tx.Exec(ctx, query, args...)
	if isUniqueViolation(err) {
		return errs.Wrap(errs.AlreadyExists, err, fmt.Sprintf("ACL %s already exists", args[0]))
	}
	if err != nil {
		return fmt.Errorf("insert ACL: %w", err)
	}
	return nil
}

func scanACL(row pgx.CollectableRow) (*instance.ACL, error) {
	var a instance.ACL
	if err := row.Scan(&a.ID, &a.InstanceID, &a.CIDR); err != nil {
		return nil, err
	}
	return &a, nil
}
