package iam

import (
	"context"
	"fmt"
	"net/mail"
	"time"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
)

// Service manages service accounts and role bindings and answers
// authorization questions. It is safe for concurrent use.
type Service struct {
	store Store
}

// NewService returns a Service over st.
func NewService(st Store) *Service { return &Service{store: st} }

// Grant binds role to the service account email on projectID, creating the
// account in projectID if it does not exist. Granting twice is not an error.
func (s *Service) Grant(ctx context.Context, projectID, email, role string) (*ServiceAccount, error) {
	if err := uuid.Validate(projectID); err != nil {
		return nil, errs.E(errs.InvalidArgument, "project must be a UUID")
	}
	if _, err := mail.ParseAddress(email); err != nil || len(email) > 255 {
		return nil, errs.E(errs.InvalidArgument, "subject must be an email address")
	}
	if !ValidRole(role) {
		return nil, errs.E(errs.InvalidArgument, "unknown role %q (known: %v)", role, Roles())
	}
	sa, err := s.store.EnsureServiceAccount(ctx, &ServiceAccount{ID: uuid.NewString(), Email: email,
		ProjectID: projectID, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)})
	if err != nil {
		return nil, fmt.Errorf("ensure service account: %w", err)
	}
	if err := s.store.Grant(ctx, RoleBinding{ProjectID: projectID, Subject: email, Role: role}); err != nil {
		return nil, fmt.Errorf("grant role: %w", err)
	}
	return sa, nil
}

// Authorize returns nil when p holds permission on projectID, and an
// errs.PermissionDenied error otherwise. The answer does not depend on
// whether any resource in the project exists.
func (s *Service) Authorize(ctx context.Context, p *Principal, projectID, permission string) error {
	if p == nil {
		return errs.E(errs.Unauthenticated, "authentication required")
	}
	ok, err := s.holdsAny(ctx, p.Email, projectID, func(role string) bool { return RoleGrants(role, permission) })
	if err != nil {
		return err
	}
	if !ok {
		return errs.E(errs.PermissionDenied, "permission denied: %s lacks %s on project %s", p.Email, permission, projectID)
	}
	return nil
}

// CheckKMSServiceAccount enforces the seed's rule for an instance's kmsKey:
// email must be a service account of projectID and hold at least
// secrets-manager.reader or secrets-manager.admin there. A failure is
// errs.PermissionDenied naming the rule.
func (s *Service) CheckKMSServiceAccount(ctx context.Context, projectID, email string) error {
	sa, err := s.store.ServiceAccount(ctx, email)
	if errs.Is(err, errs.NotFound) || (err == nil && sa.ProjectID != projectID) {
		return errs.E(errs.PermissionDenied,
			"kmsKey.serviceAccountEmail: %s is not a service account of project %s", email, projectID)
	}
	if err != nil {
		return fmt.Errorf("look up service account: %w", err)
	}
	ok, err := s.holdsAny(ctx, email, projectID, func(role string) bool {
		return role == RoleSecretsManagerReader || role == RoleSecretsManagerAdmin
	})
	if err != nil {
		return err
	}
	if !ok {
		return errs.E(errs.PermissionDenied,
			"kmsKey.serviceAccountEmail: %s holds neither %s nor %s on project %s",
			email, RoleSecretsManagerReader, RoleSecretsManagerAdmin, projectID)
	}
	return nil
}

func (s *Service) holdsAny(ctx context.Context, email, projectID string, match func(role string) bool) (bool, error) {
	bindings, err := s.store.Bindings(ctx, email)
	if err != nil {
		return false, fmt.Errorf("list role bindings: %w", err)
	}
	for _, b := range bindings {
		if b.ProjectID == projectID && match(b.Role) {
			return true, nil
		}
	}
	return false, nil
}

// CheckKeyUse returns nil when the service account email may use KMS keys of
// projectID (it holds a role with kms.key.use there), else
// errs.PermissionDenied naming the rule. A kmsKey whose key lives in another
// project than the instance needs this, so one project cannot put another
// project's key to work without a grant there.
func (s *Service) CheckKeyUse(ctx context.Context, projectID, email string) error {
	ok, err := s.holdsAny(ctx, email, projectID, func(role string) bool { return RoleGrants(role, PermKeyUse) })
	if err != nil {
		return err
	}
	if !ok {
		return errs.E(errs.PermissionDenied,
			"kmsKey.serviceAccountEmail: %s may not use keys of project %s (needs %s or %s there, as the key is in another project)",
			email, projectID, RoleKMSUser, RoleOwner)
	}
	return nil
}
