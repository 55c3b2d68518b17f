package mount

import (
	"context"
	"fmt"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
)

// UserSpec is what a caller writes of a userpass user. On an existing user,
// nil fields stay as they are (Vault's users endpoint changes only the
// fields it is given); a non-nil empty list clears its setting.
type UserSpec struct {
	// Password is the new password: required for a new user, at most
	// MaxPasswordLen bytes, never empty.
	Password *string
	// PasswordHash is Vault's option to send a bcrypt hash instead of the
	// password. Coffer stores argon2id only, and refuses it.
	PasswordHash *string
	// Policies name the policies of the user's tokens; they are stored
	// trimmed, lower-cased, sorted and without duplicates. "root" is
	// refused: Vault's auth methods cannot create root tokens.
	Policies []string
	// TTL and MaxTTL are the TTL and maximum TTL of the user's tokens;
	// 0 means the token store's defaults.
	TTL, MaxTTL *time.Duration
	// BoundCIDRs limit the addresses the user's tokens may be used from;
	// they are stored in canonical prefix form.
	BoundCIDRs []string
}

// errBadLogin is the one answer to every failed login, as Vault gives it:
// it never says whether the user exists.
var errBadLogin = errs.E(errs.InvalidArgument, "invalid username or password")

// PutUser creates or updates the user username (lower-cased; see
// normalizeUsername) of the userpass mount at mountPath. A new user needs
// a password. An unknown mount is errs.NotFound; an auth mount of another
// type, an invalid username or spec, errs.InvalidArgument.
func (s *Service) PutUser(ctx context.Context, mountPath, username string, spec UserSpec) error {
	if spec.PasswordHash != nil {
		return errs.E(errs.InvalidArgument, "password_hash is not supported; send password")
	}
	m, err := s.userpassMount(ctx, mountPath)
	if err != nil {
		return err
	}
	name, err := normalizeUsername(username)
	if err != nil {
		return err
	}
	u, err := s.store.User(ctx, m.Path, name)
	switch {
	case errs.Is(err, errs.NotFound):
		if spec.Password == nil {
			return errs.E(errs.InvalidArgument, "missing password")
		}
		u = &User{Mount: m.Path, Username: name}
	case err != nil:
		return fmt.Errorf("read user: %w", err)
	}
	if err := applySpec(u, spec); err != nil {
		return err
	}
	if spec.Password != nil {
		if u.PasswordHash, err = s.hasher.hash(ctx, *spec.Password); err != nil {
			return err
		}
	}
	u.UpdatedAt = s.now()
	if err := s.store.PutUser(ctx, u); err != nil {
		return fmt.Errorf("write user: %w", err)
	}
	return nil
}

// applySpec checks spec and applies it to u, but for the password hash.
func applySpec(u *User, spec UserSpec) error {
	if p := spec.Password; p != nil {
		switch {
		case *p == "":
			return errs.E(errs.InvalidArgument, "missing password")
		case len(*p) > MaxPasswordLen:
			return errs.E(errs.InvalidArgument, "password: must be at most %d bytes long", MaxPasswordLen)
		}
	}
	if spec.Policies != nil {
		policies, err := normalizePolicies(spec.Policies)
		if err != nil {
			return err
		}
		u.Policies = policies
	}
	if spec.BoundCIDRs != nil {
		cidrs, err := normalizeCIDRs(spec.BoundCIDRs)
		if err != nil {
			return err
		}
		u.BoundCIDRs = cidrs
	}
	setIf(&u.TTL, spec.TTL)
	setIf(&u.MaxTTL, spec.MaxTTL)
	switch {
	case u.TTL < 0 || u.MaxTTL < 0:
		return errs.E(errs.InvalidArgument, "token_ttl and token_max_ttl must not be negative")
	case u.MaxTTL > 0 && u.TTL > u.MaxTTL:
		return errs.E(errs.InvalidArgument, "'token_ttl' cannot be greater than 'token_max_ttl'")
	}
	return nil
}

// User returns the user username of the userpass mount at mountPath. It
// includes PasswordHash, which callers must never show. An unknown mount
// or user is errs.NotFound.
func (s *Service) User(ctx context.Context, mountPath, username string) (*User, error) {
	m, err := s.userpassMount(ctx, mountPath)
	if err != nil {
		return nil, err
	}
	name, err := normalizeUsername(username)
	if err != nil {
		return nil, errs.E(errs.NotFound, "user %q not found", username)
	}
	u, err := s.store.User(ctx, m.Path, name)
	if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	return u, nil
}

// ListUsers returns the usernames of the userpass mount at mountPath in
// order; an empty slice when it has none. An unknown mount is
// errs.NotFound.
func (s *Service) ListUsers(ctx context.Context, mountPath string) ([]string, error) {
	m, err := s.userpassMount(ctx, mountPath)
	if err != nil {
		return nil, err
	}
	users, err := s.store.ListUsers(ctx, m.Path)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = u.Username
	}
	return names, nil
}

// DeleteUser removes the user username of the userpass mount at
// mountPath. An unknown mount or user is errs.NotFound (Vault answers 204
// to deleting an unknown user; the HTTP layer decides).
func (s *Service) DeleteUser(ctx context.Context, mountPath, username string) error {
	m, err := s.userpassMount(ctx, mountPath)
	if err != nil {
		return err
	}
	name, err := normalizeUsername(username)
	if err != nil {
		return errs.E(errs.NotFound, "user %q not found", username)
	}
	if err := s.store.DeleteUser(ctx, m.Path, name); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}

// Login checks the password of the user username of the userpass mount at
// mountPath, and returns the user without its PasswordHash. A wrong
// password, an unknown or invalid username and an overlong password are
// all errs.InvalidArgument "invalid username or password", after the same
// work: an unknown user costs an argon2id derivation too, and the keys are
// compared in constant time. An unknown mount is errs.NotFound.
func (s *Service) Login(ctx context.Context, mountPath, username, password string) (*User, error) {
	m, err := s.userpassMount(ctx, mountPath)
	if err != nil {
		return nil, err
	}
	var u *User
	if name, err := normalizeUsername(username); err == nil {
		u, err = s.store.User(ctx, m.Path, name)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return nil, fmt.Errorf("read user: %w", err)
		}
	}
	if u == nil || len(password) > MaxPasswordLen {
		if err := s.hasher.dummyVerify(ctx, password); err != nil {
			return nil, err
		}
		return nil, errBadLogin
	}
	ok, err := s.hasher.verify(ctx, password, u.PasswordHash)
	if err != nil {
		return nil, fmt.Errorf("verify password of user %q: %w", u.Username, err)
	}
	if !ok {
		return nil, errBadLogin
	}
	u.PasswordHash = nil
	return u, nil
}

// userpassMount returns the auth mount at path, which must be of type
// userpass: errs.NotFound when there is none, errs.InvalidArgument when it
// has another type.
func (s *Service) userpassMount(ctx context.Context, path string) (*Mount, error) {
	m, err := s.Mount(ctx, KindAuth, path)
	if err != nil {
		return nil, err
	}
	if m.Type != TypeUserpass {
		return nil, errs.E(errs.InvalidArgument, "auth mount %s/ is of type %s, not %s", m.Path, m.Type, TypeUserpass)
	}
	return m, nil
}
