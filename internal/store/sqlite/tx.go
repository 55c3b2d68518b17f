package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/cofferhq/coffer/internal/errs"
)

const instanceExistsSQL = `SELECT id FROM instances WHERE id = ?`

// instanceExists returns errs.NotFound when instanceID does not exist. In a
// read-write (IMMEDIATE) transaction the write lock is already held, so a
// limit check that follows cannot race.
func instanceExists(ctx context.Context, tx *sql.Tx, instanceID string) error {
	var id string
	err := tx.QueryRowContext(ctx, instanceExistsSQL, instanceID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.E(errs.NotFound, "instance %s not found", instanceID)
	}
	if err != nil {
		return fmt.Errorf("find instance: %w", err)
	}
	return nil
}

// checkLimit counts the rows countSQL finds for instanceID and returns
// errs.ResourceExhausted when adding more would exceed limit.
func checkLimit(ctx context.Context, tx *sql.Tx, countSQL, instanceID string, adding, limit int, what string) error {
	var n int
	if err := tx.QueryRowContext(ctx, countSQL, instanceID).Scan(&n); err != nil {
		return fmt.Errorf("count %s: %w", what, err)
	}
	if n+adding > limit {
		return errs.E(errs.ResourceExhausted, "instance %s may have at most %d %s", instanceID, limit, what)
	}
	return nil
}

// execOne runs a statement that must affect one row; errs.NotFound naming
// what when it affects none.
func execOne(ctx context.Context, tx *sql.Tx, what, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	if n == 0 {
		return errs.E(errs.NotFound, "%s not found", what)
	}
	return nil
}

// nonNil returns b, or an empty slice when b is nil: a nil slice is bound
// as NULL, and the byte columns are NOT NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nilIfEmpty returns nil for an empty b, else b: an empty byte column means
// "none", as a nil slice does.
func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
