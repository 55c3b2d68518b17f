package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/mount"
)

const userpassColumns = `mount, username, password_hash, policies, ttl_ns, max_ttl_ns, bound_cidrs, updated_at`

const (
	// findAuthMountSQL runs in an IMMEDIATE transaction, which holds the
	// write lock: no DeleteMount can remove the mount before the user is
	// written.
	findAuthMountSQL  = `SELECT path FROM vault_mounts WHERE kind = 'auth' AND path = ?`
	upsertUserpassSQL = `INSERT INTO vault_userpass_users (` + userpassColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (mount, username) DO UPDATE SET password_hash = excluded.password_hash, policies = excluded.policies,
	ttl_ns = excluded.ttl_ns, max_ttl_ns = excluded.max_ttl_ns, bound_cidrs = excluded.bound_cidrs,
	updated_at = excluded.updated_at`
)

// PutUser creates or replaces the user u.Username of the auth mount
// u.Mount; errs.NotFound when there is no such auth mount. An empty
// username or a negative TTL is errs.InvalidArgument.
func (s *MountStore) PutUser(ctx context.Context, u *mount.User) error {
	if err := checkUserpass(u); err != nil {
		return err
	}
	policies, cidrs, err := encodeUserpassJSON(u)
	if err != nil {
		return err
	}
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		var path string
		err := tx.QueryRowContext(ctx, findAuthMountSQL, u.Mount).Scan(&path)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "no auth mount at %s/", u.Mount)
		}
		if err != nil {
			return fmt.Errorf("find auth mount: %w", err)
		}
		_, err = tx.ExecContext(ctx, upsertUserpassSQL, u.Mount, u.Username, nonNil(u.PasswordHash), policies,
			int64(u.TTL), int64(u.MaxTTL), cidrs, formatTime(u.UpdatedAt.Truncate(time.Microsecond)))
		if err != nil {
			return fmt.Errorf("upsert userpass user: %w", err)
		}
		return nil
	})
}

// checkUserpass checks what the columns require of u.
func checkUserpass(u *mount.User) error {
	switch {
	case u.Mount == "" || u.Username == "":
		return errs.E(errs.InvalidArgument, "a userpass user needs a mount and a username")
	case u.TTL < 0 || u.MaxTTL < 0:
		return errs.E(errs.InvalidArgument, "ttl and max_ttl must not be negative")
	}
	return nil
}

// encodeUserpassJSON encodes the JSON columns of u. nil and empty lists
// stay distinct ("null" and "[]"), so that every user round-trips.
func encodeUserpassJSON(u *mount.User) (policies, cidrs string, err error) {
	p, err := json.Marshal(u.Policies)
	if err != nil {
		return "", "", fmt.Errorf("encode user policies: %w", err)
	}
	c, err := json.Marshal(u.BoundCIDRs)
	if err != nil {
		return "", "", fmt.Errorf("encode user bound CIDRs: %w", err)
	}
	return string(p), string(c), nil
}

const selectUserpassSQL = `SELECT ` + userpassColumns + ` FROM vault_userpass_users WHERE mount = ? AND username = ?`

// User returns the user username of mount; errs.NotFound when there is none.
func (s *MountStore) User(ctx context.Context, mountPath, username string) (*mount.User, error) {
	var u *mount.User
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		u, err = scanUserpass(tx.QueryRowContext(ctx, selectUserpassSQL, mountPath, username))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "user %q not found", username)
		}
		if err != nil {
			return fmt.Errorf("select userpass user: %w", err)
		}
		return nil
	})
	return u, err
}

const listUserpassSQL = `SELECT ` + userpassColumns + ` FROM vault_userpass_users WHERE mount = ? ORDER BY username`

// ListUsers returns the users of mount ordered by username.
func (s *MountStore) ListUsers(ctx context.Context, mountPath string) ([]*mount.User, error) {
	var list []*mount.User
	err := s.db.inTx(ctx, true, func(tx *sql.Tx) error {
		var err error
		if list, err = queryAll(ctx, tx, scanUserpass, listUserpassSQL, mountPath); err != nil {
			return fmt.Errorf("list userpass users: %w", err)
		}
		return nil
	})
	return list, err
}

const deleteUserpassSQL = `DELETE FROM vault_userpass_users WHERE mount = ? AND username = ?`

// DeleteUser removes the user username of mount; errs.NotFound when there
// is none.
func (s *MountStore) DeleteUser(ctx context.Context, mountPath, username string) error {
	return s.db.inTx(ctx, false, func(tx *sql.Tx) error {
		return execOne(ctx, tx, fmt.Sprintf("user %q", username), deleteUserpassSQL, mountPath, username)
	})
}

func scanUserpass(row scanner) (*mount.User, error) {
	var (
		u               mount.User
		policies, cidrs string
		ttl, maxTTL     int64
	)
	err := row.Scan(&u.Mount, &u.Username, &u.PasswordHash, &policies, &ttl, &maxTTL, &cidrs, scanTime(&u.UpdatedAt))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(policies), &u.Policies); err != nil {
		return nil, fmt.Errorf("decode user policies: %w", err)
	}
	if err := json.Unmarshal([]byte(cidrs), &u.BoundCIDRs); err != nil {
		return nil, fmt.Errorf("decode user bound CIDRs: %w", err)
	}
	u.PasswordHash = nilIfEmpty(u.PasswordHash)
	u.TTL, u.MaxTTL = time.Duration(ttl), time.Duration(maxTTL)
	return &u, nil
}
