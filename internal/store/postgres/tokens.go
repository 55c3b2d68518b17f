package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/token"
)

// TokenStore is the PostgreSQL token.Store: the Vault listener's tokens,
// kept by the keyed hash of their secret. It is safe for concurrent use;
// returned values and their slices and maps are owned by the caller.
// Renewals and revocations notify their cache invalidation
// (token.Changed, token.ManyChanged) in their transaction.
type TokenStore struct {
	db *DB
}

var _ token.Store = (*TokenStore)(nil)

const tokenColumns = `hash, accessor, policies, meta, display_name, path, created_at, expires_at, max_expires_at,
ttl_ns, renewable, bound_cidrs`

const (
	insertTokenSQL = `INSERT INTO vault_tokens (` + tokenColumns + `)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	insertMetaSQL = `INSERT INTO vault_token_meta (accessor, key, value) VALUES ($1, $2, $3)`
)

// CreateToken stores t with its meta. An empty hash or accessor is
// errs.InvalidArgument; a taken hash or accessor errs.AlreadyExists.
func (s *TokenStore) CreateToken(ctx context.Context, t *token.Token) error {
	if len(t.Hash) == 0 || t.Accessor == "" {
		return errs.E(errs.InvalidArgument, "a token needs a hash and an accessor")
	}
	cols, err := encodeTokenJSON(t)
	if err != nil {
		return err
	}
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, insertTokenSQL, t.Hash, t.Accessor, cols.policies, cols.meta,
			t.DisplayName, t.Path, t.CreatedAt, nullTime(t.ExpiresAt), nullTime(t.MaxExpiresAt),
			int64(t.TTL), t.Renewable, cols.cidrs)
		if isUniqueViolation(err) {
			return errs.Wrap(errs.AlreadyExists, err,
				fmt.Sprintf("a token with accessor %s or the same hash already exists", t.Accessor))
		}
		if err != nil {
			return fmt.Errorf("insert token: %w", err)
		}
		for k, v := range t.Meta {
			if _, err := tx.Exec(ctx, insertMetaSQL, t.Accessor, k, v); err != nil {
				return fmt.Errorf("insert token meta: %w", err)
			}
		}
		return nil
	})
}

const (
	selectTokenByHashSQL     = `SELECT ` + tokenColumns + ` FROM vault_tokens WHERE hash = $1`
	selectTokenByAccessorSQL = `SELECT ` + tokenColumns + ` FROM vault_tokens WHERE accessor = $1`
)

// TokenByHash returns the token whose hash is hash; errs.NotFound when
// there is none. The message never shows the hash.
func (s *TokenStore) TokenByHash(ctx context.Context, hash []byte) (*token.Token, error) {
	return s.getToken(ctx, "token", selectTokenByHashSQL, nonNil(hash))
}

// TokenByAccessor returns the token with accessor; errs.NotFound when
// there is none.
func (s *TokenStore) TokenByAccessor(ctx context.Context, accessor string) (*token.Token, error) {
	return s.getToken(ctx, "token "+accessor, selectTokenByAccessorSQL, accessor)
}

// getToken runs query with arg; what names the token in a NotFound message.
func (s *TokenStore) getToken(ctx context.Context, what, query string, arg any) (*token.Token, error) {
	var t *token.Token
	err := s.db.inTx(ctx, pgx.ReadOnly, func(tx pgx.Tx) error {
		var err error
		t, err = queryOne(ctx, tx, scanToken, query, arg)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, "%s not found", what)
		}
		if err != nil {
			return fmt.Errorf("select token: %w", err)
		}
		return nil
	})
	return t, err
}

const updateTokenExpirySQL = `UPDATE vault_tokens SET expires_at = $2 WHERE accessor = $1`

// UpdateTokenExpiry sets the expiry of the token with accessor (zero:
// never); errs.NotFound when there is no such token.
func (s *TokenStore) UpdateTokenExpiry(ctx context.Context, accessor string, expiresAt time.Time) error {
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		if err := execOne(ctx, tx, "token "+accessor, updateTokenExpirySQL, accessor, nullTime(expiresAt)); err != nil {
			return err
		}
		return notify(ctx, tx, token.Changed(accessor))
	})
}

const deleteTokenSQL = `DELETE FROM vault_tokens WHERE accessor = $1`

// RevokeToken deletes the token with accessor and its meta; errs.NotFound
// when there is no such token.
func (s *TokenStore) RevokeToken(ctx context.Context, accessor string) error {
	return s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		if err := execOne(ctx, tx, "token "+accessor, deleteTokenSQL, accessor); err != nil {
			return err
		}
		return notify(ctx, tx, token.Changed(accessor))
	})
}

const deleteTokensByMetaSQL = `DELETE FROM vault_tokens WHERE accessor IN
(SELECT accessor FROM vault_token_meta WHERE key = $1 AND value = $2)`

// RevokeTokensByMeta deletes every token whose meta maps key to value, and
// returns how many it deleted.
func (s *TokenStore) RevokeTokensByMeta(ctx context.Context, key, value string) (int, error) {
	return s.deleteTokens(ctx, "revoke tokens by meta", true, deleteTokensByMetaSQL, key, value)
}

const deleteExpiredTokensSQL = `DELETE FROM vault_tokens WHERE expires_at IS NOT NULL AND expires_at < $1`

// DeleteExpiredTokens deletes the tokens that expire before t, and returns
// how many it deleted.
func (s *TokenStore) DeleteExpiredTokens(ctx context.Context, t time.Time) (int, error) {
	return s.deleteTokens(ctx, "delete expired tokens", false, deleteExpiredTokensSQL, t)
}

// deleteTokens runs the DELETE query with args and returns how many rows
// it deleted; op prefixes errors. With invalidate, deleting any row
// notifies token.ManyChanged (expired tokens need not: a cache checks
// expiry on every hit).
func (s *TokenStore) deleteTokens(ctx context.Context, op string, invalidate bool, query string, args ...any) (int, error) {
	var n int64
	err := s.db.inTx(ctx, pgx.ReadWrite, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if n = tag.RowsAffected(); n > 0 && invalidate {
			return notify(ctx, tx, token.ManyChanged())
		}
		return nil
	})
	return int(n), err
}

// tokenJSON holds the JSON columns of a token.
type tokenJSON struct {
	policies, meta, cidrs string
}

// encodeTokenJSON encodes the JSON columns of t. nil and empty values stay
// distinct ("null" and "[]" or "{}"), so that every token round-trips.
func encodeTokenJSON(t *token.Token) (tokenJSON, error) {
	var c tokenJSON
	for _, f := range []struct {
		dst *string
		v   any
	}{{&c.policies, t.Policies}, {&c.meta, t.Meta}, {&c.cidrs, t.BoundCIDRs}} {
		b, err := json.Marshal(f.v)
		if err != nil {
			return tokenJSON{}, fmt.Errorf("encode token: %w", err)
		}
		*f.dst = string(b)
	}
	return c, nil
}

// decodeTokenJSON decodes the JSON columns c into t.
func decodeTokenJSON(c tokenJSON, t *token.Token) error {
	if err := json.Unmarshal([]byte(c.policies), &t.Policies); err != nil {
		return fmt.Errorf("decode token policies: %w", err)
	}
	if err := json.Unmarshal([]byte(c.meta), &t.Meta); err != nil {
		return fmt.Errorf("decode token meta: %w", err)
	}
	if err := json.Unmarshal([]byte(c.cidrs), &t.BoundCIDRs); err != nil {
		return fmt.Errorf("decode token bound CIDRs: %w", err)
	}
	return nil
}

func scanToken(row pgx.CollectableRow) (*token.Token, error) {
	var (
		t                   token.Token
		c                   tokenJSON
		ttl                 int64
		created             time.Time
		expires, maxExpires *time.Time
	)
	err := row.Scan(&t.Hash, &t.Accessor, &c.policies, &c.meta, &t.DisplayName, &t.Path, &created,
		&expires, &maxExpires, &ttl, &t.Renewable, &c.cidrs)
	if err != nil {
		return nil, err
	}
	t.CreatedAt, t.ExpiresAt, t.MaxExpiresAt = created.UTC(), utc(expires), utc(maxExpires)
	t.TTL = time.Duration(ttl)
	if err := decodeTokenJSON(c, &t); err != nil {
		return nil, err
	}
	return &t, nil
}
