// Package sqlite implements Coffer's stores on an embedded SQLite database
// (modernc.org/sqlite, no cgo): the instance, IAM, seal-check, embedded KMS
// and Vault token stores, each method in one transaction, with driver errors
// mapped to errs kinds by SQLite result code. It is the default store, meant
// for one process.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/google/uuid"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cofferhq/coffer/internal/errs"
)

// FileName is the name of the database file inside the data directory.
const FileName = "coffer.db"

// maxOpenConns bounds the pool. Writers take turns anyway (every
// read-write transaction begins IMMEDIATE and waits up to busy_timeout for
// the write lock); WAL lets the other connections read meanwhile.
const maxOpenConns = 4

// DB is a pool of connections to one SQLite database file. It is safe for
// concurrent use within one process.
type DB struct {
	db   *sql.DB
	path string
}

// Open opens (creating it when missing) the database dataDir/coffer.db. It
// creates dataDir with mode 0700 and the file with mode 0600 when they do
// not exist. It does not migrate; call MigrateUp for that.
func Open(ctx context.Context, dataDir string) (*DB, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path, err := filepath.Abs(filepath.Join(dataDir, FileName))
	if err != nil {
		return nil, fmt.Errorf("locate database file: %w", err)
	}
	// Create the file ourselves so that it gets mode 0600; SQLite gives its
	// -wal and -shm files the mode of the database file.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create database file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("create database file: %w", err)
	}
	db, err := openPool(ctx, path, maxOpenConns)
	if err != nil {
		return nil, err
	}
	return &DB{db: db, path: path}, nil
}

// openPool opens a *sql.DB of at most n connections on the file at path
// and pings it.
func openPool(ctx context.Context, path string, n int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := db.PingContext(ctx); err != nil {
		return nil, errors.Join(errs.Wrap(errs.Unavailable, err, "open sqlite database"), db.Close())
	}
	return db, nil
}

// dsn returns the file: URI of the database at the absolute path, with the
// pragmas every connection needs: a busy timeout so that writers wait for
// each other instead of failing, WAL so that readers do not block writers,
// foreign keys for ON DELETE CASCADE, and IMMEDIATE read-write transactions
// so that a limit check and its insert hold the write lock together.
func dsn(path string) string {
	u := url.URL{Path: path}
	return "file:" + u.EscapedPath() +
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_txlock=immediate"
}

// Ping checks that the database answers; a failure is errs.Unavailable.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.db.PingContext(ctx); err != nil {
		return errs.Wrap(errs.Unavailable, err, "ping sqlite")
	}
	return nil
}

// Close closes the database.
func (db *DB) Close() error {
	return db.db.Close()
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

// inTx runs fn in one transaction, committing when fn returns nil and
// rolling back otherwise. Read-only transactions begin DEFERRED and never
// wait for writers; the others begin IMMEDIATE (see dsn).
func (db *DB) inTx(ctx context.Context, readOnly bool, fn func(*sql.Tx) error) error {
	tx, err := db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: readOnly})
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil {
			return errors.Join(err, fmt.Errorf("roll back: %w", rbErr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// queryAll runs query in tx and scans every row with scan. No rows is an
// empty, non-nil slice.
func queryAll[T any](ctx context.Context, tx *sql.Tx, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	list := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return list, nil
}

// isUniqueViolation reports whether err is a UNIQUE or PRIMARY KEY
// constraint failure (by extended result code, which modernc enables).
func isUniqueViolation(err error) bool {
	var se *msqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code()
	return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// isForeignKeyViolation reports whether err is a FOREIGN KEY constraint
// failure.
func isForeignKeyViolation(err error) bool {
	var se *msqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// canonicalIDs rewrites each ID to its canonical lower-case UUID form, and
// reports false when any of them is not a UUID, as the PostgreSQL store
// (whose ID columns are of type uuid) does.
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
