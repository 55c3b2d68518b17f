package instance

import (
	"context"
	"fmt"

	"github.com/cofferhq/coffer/internal/envelope"
)

// DataPlane is the Vault side of instances: it counts an instance's secrets
// and is told when an instance goes away (its secrets and tokens go too) and
// when a user goes away or loses or gains write access (its tokens are
// revoked, so a downgrade takes effect at once, not when tokens expire). A nil DataPlane (control-plane-only tests) counts nothing.
type DataPlane interface {
	CountSecrets(ctx context.Context, instanceID string) (int, error)
	InstanceDeleted(ctx context.Context, instanceID string) error
	RevokeUserTokens(ctx context.Context, userID string) error
}

// withCount fills in's SecretCount from the data plane.
func (s *Service) withCount(ctx context.Context, in *Instance) (*Instance, error) {
	if s.data == nil {
		return in, nil
	}
	n, err := s.data.CountSecrets(ctx, in.ID)
	if err != nil {
		return nil, fmt.Errorf("count secrets: %w", err)
	}
	in.SecretCount = int64(n)
	return in, nil
}

// MountKeys returns the envelope keys of the KV mount of instance id (the
// mount path is the instance ID): the kv engine's KeySource.
func (s *Service) MountKeys(ctx context.Context, mount string) (envelope.Keys, error) {
	in, err := s.InstanceByID(ctx, mount)
	if err != nil {
		return envelope.Keys{}, err
	}
	return Keys(in), nil
}
