// Package token implements Vault-style opaque tokens for Coffer's Vault
// listener: random secrets handed to clients, stored only as keyed hashes,
// each with policies, a TTL, a maximum TTL and renewability; and the Vault
// policy model (path globs with capabilities) that decides what a token may do.
package token

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Capabilities, as Vault names them.
const (
	CapCreate = "create"
	CapRead   = "read"
	CapUpdate = "update"
	CapDelete = "delete"
	CapList   = "list"
	CapSudo   = "sudo"
	CapDeny   = "deny"
)

// Token is a stored token. The secret the client holds is never stored:
// Hash is its keyed hash, Accessor a separate public handle.
type Token struct {
	Hash        []byte // keyed hash of the secret token; the lookup key
	Accessor    string // random, public: names the token without granting it
	Policies    []string
	Meta        map[string]string // e.g. {"username": "sm-abc", "instance": "<id>"}
	DisplayName string            // e.g. "userpass-sm-abc", "root"
	Path        string            // e.g. "auth/userpass/login/sm-abc", "auth/token/create"
	CreatedAt   time.Time
	// ExpiresAt is when the token stops working; zero never (root tokens).
	ExpiresAt time.Time
	// MaxExpiresAt caps renewals; zero: no cap beyond the TTL.
	MaxExpiresAt time.Time
	// TTL is the period a renewal extends the token by (creation_ttl).
	TTL       time.Duration
	Renewable bool
	// BoundCIDRs, when set, limit the client addresses that may use the token.
	BoundCIDRs []string
}

// Expired reports whether t has stopped working at now: it has an expiry,
// and now is not before it.
func (t Token) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}

// String describes t by its public parts; it never shows Hash. It has a
// value receiver so that a Token printed by value hides Hash too.
func (t Token) String() string {
	exp := "never"
	if !t.ExpiresAt.IsZero() {
		exp = t.ExpiresAt.Format(time.RFC3339)
	}
	return fmt.Sprintf("token %s (%s, policies %v, expires %s)", t.Accessor, t.DisplayName, t.Policies, exp)
}

// GoString is String, so that %#v does not show Hash either.
func (t Token) GoString() string { return t.String() }

// LogValue implements slog.LogValuer with the public parts of t.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("accessor", t.Accessor), slog.String("display_name", t.DisplayName),
		slog.Any("policies", t.Policies), slog.Time("expires_at", t.ExpiresAt))
}

// Store persists tokens. Each method is atomic. Unknown hashes or accessors
// are errs.NotFound. Returned values are owned by the caller.
type Store interface {
	CreateToken(ctx context.Context, t *Token) error
	TokenByHash(ctx context.Context, hash []byte) (*Token, error)
	TokenByAccessor(ctx context.Context, accessor string) (*Token, error)
	// UpdateTokenExpiry sets ExpiresAt of the token with accessor (renewal).
	UpdateTokenExpiry(ctx context.Context, accessor string, expiresAt time.Time) error
	// RevokeToken deletes the token with accessor.
	RevokeToken(ctx context.Context, accessor string) error
	// RevokeTokensByMeta deletes every token whose Meta[key] == value (e.g.
	// all tokens of a deleted user or instance) and returns how many.
	RevokeTokensByMeta(ctx context.Context, key, value string) (int, error)
	// DeleteExpiredTokens deletes tokens with a non-zero ExpiresAt before t.
	DeleteExpiredTokens(ctx context.Context, t time.Time) (int, error)
}
