// Package postgres implements Coffer's stores on PostgreSQL with pgx v5: the
// instance, IAM, seal-check, embedded KMS and Vault token stores, each method
// in one transaction, with driver errors mapped to errs kinds by SQLSTATE.
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cofferhq/coffer/internal/errs"
)

// DB is a pool of connections to one PostgreSQL database. It is safe for
// concurrent use.
type DB struct {
	pool *pgxpool.Pool
}

// Open connects to databaseURL (a postgres:// URL or keyword/value DSN,
// including pgxpool's pool_* parameters) and pings the server. It does not
// migrate; call MigrateUp for that. Connection failures are errs.Unavailable.
func Open(ctx context.Context, databaseURL string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// pgconn redacts the password in parse errors.
		return nil, errs.Wrap(errs.InvalidArgument, err, "malformed database URL")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, errs.Wrap(errs.Unavailable, err, "connect to postgres")
	}
	return &DB{pool: pool}, nil
}

// Ping checks that the database answers; a failure is errs.Unavailable.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return errs.Wrap(errs.Unavailable, err, "ping postgres")
	}
	return nil
}

// Close closes every connection of the pool. It waits for connections in use
// to be released, and always returns nil.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Instances returns the instance store on db.
func (db *DB) Instances() *InstanceStore { return &InstanceStore{db: db} }

// IAM returns the IAM store on db.
func (db *DB) IAM() *IAMStore { return &IAMStore{db: db} }

// SealCheck returns the seal-check store on db.
func (db *DB) SealCheck() *SealCheckStore { return &SealCheckStore{db: db} }

// KMS returns the embedded KMS store on db.
func (db *DB) KMS() *KMSStore { return &KMSStore{db: db} }

// Tokens returns the Vault token store on db.
func (db *DB) Tokens() *TokenStore { return &TokenStore{db: db} }

// inTx runs fn in one transaction with the given access mode, committing
// when fn returns nil and rolling back otherwise.
func (db *DB) inTx(ctx context.Context, mode pgx.TxAccessMode, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{AccessMode: mode}, fn)
}

// queryOne runs query in tx and scans its only row with scan. No row is an
// error for which errors.Is(err, pgx.ErrNoRows) holds.
func queryOne[T any](ctx context.Context, tx pgx.Tx, scan pgx.RowToFunc[T], query string, args ...any) (T, error) {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		var zero T
		return zero, err
	}
	return pgx.CollectExactlyOneRow(rows, scan)
}

// queryAll runs query in tx and scans every row with scan. No rows is an
// empty, non-nil slice.
func queryAll[T any](ctx context.Context, tx pgx.Tx, scan pgx.RowToFunc[T], query string, args ...any) ([]T, error) {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scan)
}

// isUniqueViolation reports whether err is a unique or primary key violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == pgerrcode.UniqueViolation
}

// isForeignKeyViolation reports whether err is a foreign key violation.
func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == pgerrcode.ForeignKeyViolation
}

// canonicalIDs rewrites each ID to its canonical lower-case UUID form, and
// reports false when any of them is not a UUID. The ID columns are of type
// uuid, so a malformed ID can match no row; checking here keeps it from
// becoming a query error, and gives both stores the same answers.
func canonicalIDs(ids ...*string) bool {
	for _, id := range ids {
		u, err := uuid.Parse(*id)
		if err != nil {
			return false
		}
		*id = u.String()
	}
	return true
}
