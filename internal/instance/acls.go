package instance

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/errs"
)

func (s *Service) aclLimitErr() error {
	return errs.E(errs.ResourceExhausted, "ACLs limit reached (%d per instance). Contact the support.", s.cfg.MaxACLs)
}

// CreateACL adds cidr to the instance's allow-list.
func (s *Service) CreateACL(ctx context.Context, sc Scope, instanceID, cidr string) (*ACL, error) {
	if _, err := s.Instance(ctx, sc, instanceID); err != nil {
		return nil, err
	}
	if err := ValidateCIDR("cidr", cidr); err != nil {
		return nil, err
	}
	a := &ACL{ID: uuid.NewString(), InstanceID: instanceID, CIDR: cidr}
	err := s.store.CreateACL(ctx, a, s.cfg.MaxACLs)
	if errs.Is(err, errs.ResourceExhausted) {
		return nil, s.aclLimitErr()
	}
	if err != nil {
		return nil, fmt.Errorf("create acl: %w", err)
	}
	return a, nil
}

// ACL returns ACL id of the instance.
func (s *Service) ACL(ctx context.Context, sc Scope, instanceID, id string) (*ACL, error) {
	if _, err := s.Instance(ctx, sc, instanceID); err != nil {
		return nil, err
	}
	if err := validateUUID("aclId", id); err != nil {
		return nil, err
	}
	return s.store.ACL(ctx, instanceID, id)
}

// ListACLs returns the instance's allow-list.
func (s *Service) ListACLs(ctx context.Context, sc Scope, instanceID string) ([]*ACL, error) {
	if _, err := s.Instance(ctx, sc, instanceID); err != nil {
		return nil, err
	}
	return s.store.ListACLs(ctx, instanceID)
}

// UpdateACL replaces the CIDR of ACL id.
func (s *Service) UpdateACL(ctx context.Context, sc Scope, instanceID, id, cidr string) error {
	a, err := s.ACL(ctx, sc, instanceID, id)
	if err != nil {
		return err
	}
	if err := ValidateCIDR("cidr", cidr); err != nil {
		return err
	}
	a.CIDR = cidr
	return s.store.UpdateACL(ctx, a)
}

// ReplaceACLs replaces the instance's whole allow-list with cidrs. Every CIDR
// is checked before anything changes.
func (s *Service) ReplaceACLs(ctx context.Context, sc Scope, instanceID string, cidrs []string) error {
	if _, err := s.Instance(ctx, sc, instanceID); err != nil {
		return err
	}
	acls := make([]*ACL, 0, len(cidrs))
	for i, c := range cidrs {
		if err := ValidateCIDR(fmt.Sprintf("cidrs[%d].cidr", i), c); err != nil {
			return errs.E(errs.InvalidArgument, "One or more Cidrs are not valid: %s", errs.Message(err))
		}
		acls = append(acls, &ACL{ID: uuid.NewString(), InstanceID: instanceID, CIDR: c})
	}
	if len(acls) > s.cfg.MaxACLs {
		return s.aclLimitErr()
	}
	err := s.store.ReplaceACLs(ctx, instanceID, acls, s.cfg.MaxACLs)
	if errs.Is(err, errs.ResourceExhausted) {
		return s.aclLimitErr()
	}
	return err
}

// DeleteACL removes ACL id.
func (s *Service) DeleteACL(ctx context.Context, sc Scope, instanceID, id string) error {
	if _, err := s.ACL(ctx, sc, instanceID, id); err != nil {
		return err
	}
	return s.store.DeleteACL(ctx, instanceID, id)
}
