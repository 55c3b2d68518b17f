package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cofferhq/coffer/internal/errs"
)

const lockInstanceSQL = `SELECT id FROM instances WHERE id = $1 FOR UPDATE`

// lockInstance locks the instance row until tx ends, so that limit checks
// on its users and ACLs cannot race; errs.NotFound when it does not exist.
func lockInstance(ctx context.Context, tx pgx.Tx, instanceID string) error {
	return findInstance(ctx, tx, lockInstanceSQL, instanceID)
}

const instanceExistsSQL = `SELECT id FROM instances WHERE id = $1`

// instanceExists returns errs.NotFound when instanceID does not exist.
func instanceExists(ctx context.Context, tx pgx.Tx, instanceID string) error {
	return findInstance(ctx, tx, instanceExistsSQL, instanceID)
}

func findInstance(ctx context.Context, tx pgx.Tx, query, instanceID string) error {
	var id string
	err := tx.QueryRow(ctx, query, instanceID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return errs.E(errs.NotFound, "instance %s not found", instanceID)
	}
	if err != nil {
		return fmt.Errorf("find instance: %w", err)
	}
	return nil
}

// checkLimit counts the rows countSQL finds for instanceID and returns
// errs.ResourceExhausted when adding more would exceed limit.
func checkLimit(ctx context.Context, tx pgx.Tx, countSQL, instanceID string, adding, limit int, what string) error {
	var n int
	if err := tx.QueryRow(ctx, countSQL, instanceID).Scan(&n); err != nil {
		return fmt.Errorf("count %s: %w", what, err)
	}
	if n+adding > limit {
		return errs.E(errs.ResourceExhausted, "instance %s may have at most %d %s", instanceID, limit, what)
	}
	return nil
}

// execOne runs a statement that must affect one row; errs.NotFound naming
// what when it affects none.
func execOne(ctx context.Context, tx pgx.Tx, what, query string, args ...any) error {
	tag, err := tx.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "%s not found", what)
	}
	return nil
}
