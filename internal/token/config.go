package token

import (
	"time"

	"github.com/cofferhq/coffer/internal/errs"
)

// Config holds the token lifetimes.
type Config struct {
	// DefaultTTL is the TTL of tokens whose Spec sets none (userpass
	// logins: 15 minutes, as the seed and STACKIT have it).
	DefaultTTL time.Duration `env:"COFFER_VAULT_TOKEN_TTL" envDefault:"15m"`
	// MaxTTL is the maximum TTL of tokens whose Spec sets none; 0 means no
	// maximum. An explicit Spec.MaxTTL, set by a trusted caller (the
	// services file, an admin's auth/token/create), replaces it.
	MaxTTL time.Duration `env:"COFFER_VAULT_TOKEN_MAX_TTL" envDefault:"24h"`
}

// Validate checks the config's invariants.
func (c Config) Validate() error {
	if c.DefaultTTL <= 0 {
		return errs.E(errs.InvalidArgument, "COFFER_VAULT_TOKEN_TTL must be positive")
	}
	if c.MaxTTL < 0 {
		return errs.E(errs.InvalidArgument, "COFFER_VAULT_TOKEN_MAX_TTL must not be negative")
	}
	if c.MaxTTL > 0 && c.DefaultTTL > c.MaxTTL {
		return errs.E(errs.InvalidArgument, "COFFER_VAULT_TOKEN_TTL must not exceed COFFER_VAULT_TOKEN_MAX_TTL")
	}
	return nil
}
