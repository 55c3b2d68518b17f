package instance

import (
	"context"
	"crypto/hmac"
	"fmt"
	"net/netip"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/cache"
	"github.com/cofferhq/coffer/internal/errs"
)

// errBadLogin is the one answer to every failed login, as Vault gives it:
// it never says whether the user exists.
var errBadLogin = errs.E(errs.InvalidArgument, "invalid username or password")

// Login checks a data-plane user's generated password and returns the user
// with its instance. An unknown user costs the same keyed hash as a known
// one, so timing does not tell them apart either.
func (s *Service) Login(ctx context.Context, username, password string) (*User, *Instance, error) {
	u, err := s.store.UserByUsername(ctx, username)
	if errs.Is(err, errs.NotFound) {
		hmac.Equal(s.hasher.Hash(password), s.hasher.Hash("")) // equalize the work
		return nil, nil, errBadLogin
	}
	if err != nil {
		return nil, nil, fmt.Errorf("look up user: %w", err)
	}
	if !s.hasher.Verify(password, u.PasswordHash) {
		return nil, nil, errBadLogin
	}
	in, err := s.store.InstanceByID(ctx, u.InstanceID)
	if err != nil {
		return nil, nil, fmt.Errorf("look up the user's instance: %w", err)
	}
	return u, in, nil
}

// InstanceByID returns an instance by ID alone, for the Vault listener,
// where the mount path is the instance ID.
// Only the ID's canonical spelling (lowercase, hyphenated, as the control
// plane returns it) names the mount: "E4B7…", "{e4b7…}" or "urn:uuid:e4b7…"
// are no mount, so no secret can be filed under a second spelling.
//
// With Deps.Cache it answers from memory while the bus is healthy: the
// row and keyring are current (every change invalidates them), but
// SecretCount may be behind, since KV writes do not invalidate it; the
// control plane reads instances through Instance, never from the cache.
func (s *Service) InstanceByID(ctx context.Context, id string) (*Instance, error) {
	u, err := uuid.Parse(id)
	if err != nil || u.String() != id {
		return nil, errs.E(errs.NotFound, "instance %s not found", id)
	}
	if s.caches == nil {
		return s.store.InstanceByID(ctx, id)
	}
	if in, ok := s.caches.instances.Get(id); ok {
		return in, nil
	}
	t := s.caches.instances.Ticket()
	in, err := s.store.InstanceByID(ctx, id)
	if err != nil {
		return nil, err
	}
	s.caches.instances.Put(t, id, "", in)
	return in, nil
}

// AllowsAddress reports whether addr may reach the instance's data plane:
// an instance without ACLs is open to every address (as STACKIT's CLI
// describes "no ACL"); otherwise addr must fall in one of its CIDRs.
func (s *Service) AllowsAddress(ctx context.Context, instanceID string, addr netip.Addr) (bool, error) {
	cidrs, err := s.cidrs(ctx, instanceID)
	if err != nil {
		return false, err
	}
	if len(cidrs) == 0 {
		return true, nil
	}
	addr = addr.Unmap()
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err == nil && p.Contains(addr) {
			return true, nil
		}
	}
	return false, nil
}

// cidrs returns the CIDRs of the instance's ACLs, from the cache when it
// can.
func (s *Service) cidrs(ctx context.Context, instanceID string) ([]string, error) {
	var t cache.Ticket
	if s.caches != nil {
		if c, ok := s.caches.cidrs.Get(instanceID); ok {
			return c, nil
		}
		t = s.caches.cidrs.Ticket()
	}
	acls, err := s.store.ListACLs(ctx, instanceID)
	if err != nil {
		return nil, fmt.Errorf("list ACLs: %w", err)
	}
	cidrs := make([]string, len(acls))
	for i, a := range acls {
		cidrs[i] = a.CIDR
	}
	if s.caches != nil {
		s.caches.cidrs.Put(t, instanceID, "", cidrs)
	}
	return cidrs, nil
}
