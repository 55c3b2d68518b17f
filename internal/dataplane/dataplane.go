// Package dataplane connects the control plane's instances to their Vault
// side: an instance's KV v2 mount (whose path is the instance ID) and the
// Vault tokens of its users. It is wiring shared by cmd/coffer and tests.
package dataplane

import (
	"context"

	"github.com/cofferhq/coffer/internal/envelope"
	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/instance"
	"github.com/cofferhq/coffer/internal/kv"
	"github.com/cofferhq/coffer/internal/mount"
	"github.com/cofferhq/coffer/internal/token"
)

// Hooks implements instance.DataPlane over the KV engine and the tokens.
// KV is set after construction: the KV engine needs the instance service,
// which needs these hooks.
type Hooks struct {
	KV     *kv.Service
	Tokens *token.Service
}

var _ instance.DataPlane = (*Hooks)(nil)

// CountSecrets is the instance's secretCount: the paths of its mount.
func (h *Hooks) CountSecrets(ctx context.Context, instanceID string) (int, error) {
	return h.KV.CountPaths(ctx, instanceID)
}

// InstanceDeleted removes the instance's secrets and revokes its tokens.
func (h *Hooks) InstanceDeleted(ctx context.Context, instanceID string) error {
	if err := h.KV.DeleteMount(ctx, instanceID); err != nil {
		return err
	}
	_, err := h.Tokens.RevokeByMeta(ctx, "instance", instanceID)
	return err
}

// RevokeUserTokens revokes the user's tokens (deleted, or write changed).
func (h *Hooks) RevokeUserTokens(ctx context.Context, userID string) error {
	_, err := h.Tokens.RevokeByMeta(ctx, "user", userID)
	return err
}

// MountKeys is the KV engine's KeySource: an instance's envelope keys by
// its mount path, else those of a KV mount of the mount table.
type MountKeys struct {
	Instances *instance.Service
	Mounts    *mount.Service
}

var _ kv.KeySource = MountKeys{}

// Keys returns the envelope keys of the instance whose ID is path, or of
// the table's KV mount at path.
func (m MountKeys) Keys(ctx context.Context, path string) (envelope.Keys, error) {
	k, err := m.Instances.MountKeys(ctx, path)
	if errs.Is(err, errs.NotFound) && m.Mounts != nil {
		return m.Mounts.Keys(ctx, path)
	}
	return k, err
}
