package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cofferhq/coffer/internal/seal"
)

// SealCheckStore is the PostgreSQL seal.CheckStore. It is safe for
// concurrent use.
type SealCheckStore struct {
	db *DB
}

var _ seal.CheckStore = (*SealCheckStore)(nil)

const (
	insertSealCheckSQL = `INSERT INTO seal_check (id, wrapped) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`
	selectSealCheckSQL = `SELECT wrapped FROM seal_check WHERE id = 1`
)

// EnsureSealCheck stores wrapped unless a check value exists, and returns
// the stored value either way, in a slice the caller owns. Concurrent first
// calls agree: the loser's insert waits for the winner and does nothing.
func (s *SealCheckStore) EnsureSealCheck(ctx context.Context, wrapped []byte) ([]byte, error) {
	var got []byte
	err := s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, insertSealCheckSQL, nonNil(wrapped)); err != nil {
			return fmt.Errorf("insert seal check: %w", err)
		}
		if err := tx.QueryRow(ctx, selectSealCheckSQL).Scan(&got); err != nil {
			return fmt.Errorf("select seal check: %w", err)
		}
		return nil
	})
	return got, err
}
