package instance

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
)

// NewUser is a created user with its generated password, which exists only
// in this value: the store keeps a keyed hash.
type NewUser struct {
	*User
	Password string
}

// UserPatch is a partial update of a user; nil fields are left as they are.
type UserPatch struct {
	Description *string
	Write       *bool
}

// CreateUser creates a user of instance id with a generated username and
// password. It fails with errs.ResourceExhausted past the per-instance limit.
func (s *Service) CreateUser(ctx context.Context, sc Scope, instanceID, description string, write bool) (*NewUser, error) {
	if _, err := s.Instance(ctx, sc, instanceID); err != nil {
		return nil, err
	}
	if err := validateDescription(description); err != nil {
		return nil, err
	}
	const attempts = 3 // a username collision (80 random bits) is retried
	for i := 0; ; i++ {
		pw := newPassword()
		u := &User{ID: uuid.NewString(), InstanceID: instanceID, Username: newUsername(),
			PasswordHash: s.hasher.Hash(pw), Write: write, Description: description, CreatedAt: s.now()}
		err := s.store.CreateUser(ctx, u, s.cfg.MaxUsers)
		if errs.Is(err, errs.ResourceExhausted) {
			return nil, errs.E(errs.ResourceExhausted, "User limit reached (%d per instance). Contact the support.", s.cfg.MaxUsers)
		}
		if errs.Is(err, errs.AlreadyExists) && i < attempts {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create user: %w", err)
		}
		return &NewUser{User: u, Password: pw}, nil
	}
}

// User returns user id of the instance.
func (s *Service) User(ctx context.Context, sc Scope, instanceID, id string) (*User, error) {
	if _, err := s.Instance(ctx, sc, instanceID); err != nil {
		return nil, err
	}
	if err := validateUUID("userId", id); err != nil {
		return nil, err
	}
	return s.store.User(ctx, instanceID, id)
}

// ListUsers returns the users of the instance.
func (s *Service) ListUsers(ctx context.Context, sc Scope, instanceID string) ([]*User, error) {
	if _, err := s.Instance(ctx, sc, instanceID); err != nil {
		return nil, err
	}
	return s.store.ListUsers(ctx, instanceID)
}

// UpdateUser applies p to user id.
func (s *Service) UpdateUser(ctx context.Context, sc Scope, instanceID, id string, p UserPatch) error {
	u, err := s.User(ctx, sc, instanceID, id)
	if err != nil {
		return err
	}
	if p.Description != nil {
		if err := validateDescription(*p.Description); err != nil {
			return err
		}
		u.Description = *p.Description
	}
	changed := p.Write != nil && *p.Write != u.Write
	if p.Write != nil {
		u.Write = *p.Write
	}
	if err := s.store.UpdateUser(ctx, u); err != nil {
		return err
	}
	if changed && s.data != nil { // tokens carry the old policy: revoke them
		if err := s.data.RevokeUserTokens(ctx, id); err != nil {
			return fmt.Errorf("revoke the user's tokens: %w", err)
		}
	}
	return nil
}

// DeleteUser deletes user id.
func (s *Service) DeleteUser(ctx context.Context, sc Scope, instanceID, id string) error {
	if _, err := s.User(ctx, sc, instanceID, id); err != nil {
		return err
	}
	if err := s.store.DeleteUser(ctx, instanceID, id); err != nil {
		return err
	}
	if s.data != nil { // its tokens stop working at once
		if err := s.data.RevokeUserTokens(ctx, id); err != nil {
			return fmt.Errorf("revoke the user's tokens: %w", err)
		}
	}
	return nil
}
