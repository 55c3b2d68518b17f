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

const userColumns = `id, instance_id, username, password_hash, write, description, created_at`

const (
	countUsersSQL = `SELECT count(*) FROM instance_users WHERE instance_id = $1`
	insertUserSQL = `INSERT INTO instance_users (` + userColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7)`
)

// CreateUser stores u unless its instance already has limit users
// (errs.ResourceExhausted). The instance must exist (errs.NotFound); a taken
// ID or username is errs.AlreadyExists, a malformed ID errs.InvalidArgument.
func (s *InstanceStore) CreateUser(ctx context.Context, u *instance.User, limit int) error {
	id, instanceID := u.ID, u.InstanceID
	if !canonicalIDs(&instanceID) {
		return errs.E(errs.NotFound, "instance %q not found", u.InstanceID)
	}
	if !canonicalIDs(&id) {
		return errs.E(errs.InvalidArgument, "malformed user ID %q", u.ID)
	}
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		if err := lockInstance(ctx, tx, instanceID); err != nil {
			return err
		}
		if err := checkLimit(ctx, tx, countUsersSQL, instanceID, 1, limit, "users"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, insertUserSQL,
			id, instanceID, u.Username, nonNil(u.PasswordHash), u.Write, u.Description, u.CreatedAt)
		if isUniqueViolation(err) {
			return errs.Wrap(errs.AlreadyExists, err,
				fmt.Sprintf("a user with ID %s or username %q already exists", id, u.Username))
		}
		if err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		return nil
	})
}

const selectUserSQL = `SELECT ` + userColumns + ` FROM instance_users WHERE instance_id = $1 AND id = $2`

// User returns the user id of instanceID; errs.NotFound when there is none.
func (s *InstanceStore) User(ctx context.Context, instanceID, id string) (*instance.User, error) {
	if !canonicalIDs(&instanceID, &id) {
		return nil, errs.E(errs.NotFound, "user %q not found", id)
	}
	return s.getUser(ctx, "user "+id, selectUserSQL, instanceID, id)
}

const selectUserByUsernameSQL = `SELECT ` + userColumns + ` FROM instance_users WHERE username = $1`

// UserByUsername returns the user called username in any instance;
// errs.NotFound when there is none.
func (s *InstanceStore) UserByUsername(ctx context.Context, username string) (*instance.User, error) {
	return s.getUser(ctx, fmt.Sprintf("user %q", username), selectUserByUsernameSQL, username)
}

// getUser runs query with args; what names the user in a NotFound message.
func (s *InstanceStore) getUser(ctx context.Context, what, query string, args ...any) (*instance.User, error) {
	var u *instance.User
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		u, err = queryOne(ctx, tx, scanUser, query, args...)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, "%s not found", what)
		}
		if err != nil {
			return fmt.Errorf("select user: %w", err)
		}
		return nil
	})
	return u, err
}

const listUsersSQL = `SELECT ` + userColumns + ` FROM instance_users WHERE instance_id = $1
ORDER BY created_at, id`

// ListUsers returns the users of instanceID, oldest first; none is an empty
// slice. An unknown instance is errs.NotFound.
func (s *InstanceStore) ListUsers(ctx context.Context, instanceID string) ([]*instance.User, error) {
	if !canonicalIDs(&instanceID) {
		return nil, errs.E(errs.NotFound, "instance %q not found", instanceID)
	}
	var list []*instance.User
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		if err := instanceExists(ctx, tx, instanceID); err != nil {
			return err
		}
		var err error
		list, err = queryAll(ctx, tx, scanUser, listUsersSQL, instanceID)
		if err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		return nil
	})
	return list, err
}

const updateUserSQL = `UPDATE instance_users SET write = $3, description = $4 WHERE instance_id = $1 AND id = $2`

// UpdateUser replaces Write and Description of the user u.ID of
// u.InstanceID; errs.NotFound when there is no such user.
func (s *InstanceStore) UpdateUser(ctx context.Context, u *instance.User) error {
	id, instanceID := u.ID, u.InstanceID
	if !canonicalIDs(&instanceID, &id) {
		return errs.E(errs.NotFound, "user %q not found", u.ID)
	}
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		return execOne(ctx, tx, "user "+id, updateUserSQL, instanceID, id, u.Write, u.Description)
	})
}

const deleteUserSQL = `DELETE FROM instance_users WHERE instance_id = $1 AND id = $2`

// DeleteUser removes the user id of instanceID; errs.NotFound when there is
// no such user.
func (s *InstanceStore) DeleteUser(ctx context.Context, instanceID, id string) error {
	if !canonicalIDs(&instanceID, &id) {
		return errs.E(errs.NotFound, "user %q not found", id)
	}
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		return execOne(ctx, tx, "user "+id, deleteUserSQL, instanceID, id)
	})
}

func scanUser(row pgx.CollectableRow) (*instance.User, error) {
	var u instance.User
	var created time.Time
	if err := row.Scan(&u.ID, &u.InstanceID, &u.Username, &u.PasswordHash, &u.Write, &u.Description, &created); err != nil {
		return nil, err
	}
	u.CreatedAt = created.UTC()
	return &u, nil
}
