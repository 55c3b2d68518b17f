package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/iam"
)

// IAMStore is the PostgreSQL iam.Store. It is safe for concurrent use;
// returned values are owned by the caller.
type IAMStore struct {
	db *DB
}

var _ iam.Store = (*IAMStore)(nil)

const (
	insertServiceAccountSQL = `INSERT INTO service_accounts (id, email, project_id, created_at)
VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO NOTHING`
	selectServiceAccountSQL = `SELECT id, email, project_id, created_at FROM service_accounts WHERE email = $1`
)

// EnsureServiceAccount stores sa unless an account with sa.Email exists, and
// returns the stored account either way. A malformed sa.ID is
// errs.InvalidArgument; sa.ID taken by another email errs.AlreadyExists.
func (s *IAMStore) EnsureServiceAccount(ctx context.Context, sa *iam.ServiceAccount) (*iam.ServiceAccount, error) {
	id := sa.ID
	if !canonicalIDs(&id) {
		return nil, errs.E(errs.InvalidArgument, "malformed service account ID %q", sa.ID)
	}
	var got *iam.ServiceAccount
	err := s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, insertServiceAccountSQL, id, sa.Email, sa.ProjectID, sa.CreatedAt)
		if isUniqueViolation(err) {
			return errs.Wrap(errs.AlreadyExists, err, fmt.Sprintf("service account ID %s already exists", id))
		}
		if err != nil {
			return fmt.Errorf("insert service account: %w", err)
		}
		got, err = queryOne(ctx, tx, scanServiceAccount, selectServiceAccountSQL, sa.Email)
		if err != nil {
			return fmt.Errorf("select service account: %w", err)
		}
		return nil
	})
	return got, err
}

// ServiceAccount returns the account with email; errs.NotFound when none.
func (s *IAMStore) ServiceAccount(ctx context.Context, email string) (*iam.ServiceAccount, error) {
	var got *iam.ServiceAccount
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		got, err = queryOne(ctx, tx, scanServiceAccount, selectServiceAccountSQL, email)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, "service account %q not found", email)
		}
		if err != nil {
			return fmt.Errorf("select service account: %w", err)
		}
		return nil
	})
	return got, err
}

const grantSQL = `INSERT INTO role_bindings (project_id, subject, role, created_at)
VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, subject, role) DO NOTHING`

// Grant adds the binding b; granting an existing binding is not an error.
func (s *IAMStore) Grant(ctx context.Context, b iam.RoleBinding) error {
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, grantSQL, b.ProjectID, b.Subject, b.Role, time.Now()); err != nil {
			return fmt.Errorf("insert role binding: %w", err)
		}
		return nil
	})
}

const revokeSQL = `DELETE FROM role_bindings WHERE project_id = $1 AND subject = $2 AND role = $3`

// Revoke removes the binding b; errs.NotFound when it does not exist.
func (s *IAMStore) Revoke(ctx context.Context, b iam.RoleBinding) error {
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		what := fmt.Sprintf("role binding %s for %q in project %s", b.Role, b.Subject, b.ProjectID)
		return execOne(ctx, tx, what, revokeSQL, b.ProjectID, b.Subject, b.Role)
	})
}

const bindingsSQL = `SELECT project_id, subject, role FROM role_bindings WHERE subject = $1
ORDER BY project_id, role`

// Bindings returns every binding of subject, ordered by project and role;
// none is an empty slice.
func (s *IAMStore) Bindings(ctx context.Context, subject string) ([]iam.RoleBinding, error) {
	var list []iam.RoleBinding
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		list, err = queryAll(ctx, tx, pgx.RowToStructByPos[iam.RoleBinding], bindingsSQL, subject)
		if err != nil {
			return fmt.Errorf("list role bindings: %w", err)
		}
		return nil
	})
	return list, err
}

const (
	// lockSigningKeysSQL makes concurrent EnsureSigningKey calls take turns,
	// so the second sees the first one's key; readers are not blocked.
	lockSigningKeysSQL  = `LOCK TABLE signing_keys IN EXCLUSIVE MODE`
	insertSigningKeySQL = `INSERT INTO signing_keys (kid, algorithm, public_key, wrapped_key, created_at)
SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM signing_keys)`
	signingKeysSQL      = `SELECT kid, algorithm, public_key, wrapped_key, created_at FROM signing_keys ORDER BY created_at, kid`
	oldestSigningKeySQL = signingKeysSQL + ` LIMIT 1`
)

// EnsureSigningKey stores k unless any signing key exists, and returns the
// oldest signing key either way.
func (s *IAMStore) EnsureSigningKey(ctx context.Context, k *iam.SigningKey) (*iam.SigningKey, error) {
	var got *iam.SigningKey
	err := s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockSigningKeysSQL); err != nil {
			return fmt.Errorf("lock signing keys: %w", err)
		}
		_, err := tx.Exec(ctx, insertSigningKeySQL, k.KID, k.Algorithm, nonNil(k.Public), nonNil(k.WrappedKey), k.CreatedAt)
		if err != nil {
			return fmt.Errorf("insert signing key: %w", err)
		}
		got, err = queryOne(ctx, tx, scanSigningKey, oldestSigningKeySQL)
		if err != nil {
			return fmt.Errorf("select signing key: %w", err)
		}
		return nil
	})
	return got, err
}

// SigningKeys returns every signing key, oldest first; none is an empty
// slice.
func (s *IAMStore) SigningKeys(ctx context.Context) ([]*iam.SigningKey, error) {
	var list []*iam.SigningKey
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		list, err = queryAll(ctx, tx, scanSigningKey, signingKeysSQL)
		if err != nil {
			return fmt.Errorf("list signing keys: %w", err)
		}
		return nil
	})
	return list, err
}

func scanServiceAccount(row pgx.CollectableRow) (*iam.ServiceAccount, error) {
	var sa iam.ServiceAccount
	var created time.Time
	if err := row.Scan(&sa.ID, &sa.Email, &sa.ProjectID, &created); err != nil {
		return nil, err
	}
	sa.CreatedAt = created.UTC()
	return &sa, nil
}

func scanSigningKey(row pgx.CollectableRow) (*iam.SigningKey, error) {
	var k iam.SigningKey
	var created time.Time
	if err := row.Scan(&k.KID, &k.Algorithm, &k.Public, &k.WrappedKey, &created); err != nil {
		return nil, err
	}
	k.CreatedAt = created.UTC()
	return &k, nil
}

// nonNil returns b, or an empty slice when b is nil: pgx sends a nil slice
// as NULL, and the byte columns are NOT NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
