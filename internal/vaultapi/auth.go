package vaultapi

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/token"
)

// Tokens is the token service the listener authenticates with.
type Tokens interface {
	Create(ctx context.Context, spec token.Spec) (string, *token.Token, error)
	Lookup(ctx context.Context, secret string, client netip.Addr) (*token.Token, error)
	Renew(ctx context.Context, secret string, increment time.Duration) (*token.Token, error)
	Revoke(ctx context.Context, secret string) error
}

const (
	tokenKey  = "vault.token"
	secretKey = "vault.secret"
	aclKey    = "vault.acl"
)

// secretFrom returns the client token: X-Vault-Token, or Authorization: Bearer.
func secretFrom(c echo.Context) string {
	if t := c.Request().Header.Get("X-Vault-Token"); t != "" {
		return t
	}
	if scheme, t, ok := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " "); ok && strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(t)
	}
	return ""
}

// clientAddr is the socket peer, or with a trusted proxy in front, the
// address it forwarded (Echo's IPExtractor, configured in New).
func clientAddr(c echo.Context) netip.Addr {
	a, err := netip.ParseAddr(c.RealIP())
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// requireToken authenticates the request: a missing, unknown, expired or
// address-bound token is 403 "permission denied", as Vault answers.
func (s *Server) requireToken(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		secret := secretFrom(c)
		if secret == "" {
			return errs.E(errs.PermissionDenied, "permission denied")
		}
		t, err := s.tokens.Lookup(c.Request().Context(), secret, clientAddr(c))
		if err != nil {
			return err
		}
		// A token of an instance's user works only from the instance's
		// ACL, for every request, token self-service included.
		if inst := t.Meta["instance"]; inst != "" {
			inACL, err := s.instances.AllowsAddress(c.Request().Context(), inst, clientAddr(c))
			if err != nil {
				return err
			}
			if !inACL {
				return errs.E(errs.PermissionDenied, "permission denied")
			}
		}
		c.Set(tokenKey, t)
		c.Set(secretKey, secret)
		c.Set(aclKey, s.acls.get(t.Policies))
		return next(c)
	}
}

// maxACLs bounds the ACL cache: past it, the cache starts afresh.
const maxACLs = 1024

// aclCache holds the ACL of each set of policies seen. Policies are built
// in (resolvePolicy), so a set's ACL never changes, and an ACL is
// immutable and safe for concurrent use: building it once per set, not per
// request, is safe.
type aclCache struct {
	mu sync.RWMutex
	m  map[string]*token.ACL
}

// get returns the ACL of policies (a token's: sorted, without duplicates).
func (a *aclCache) get(policies []string) *token.ACL {
	key := strings.Join(policies, "\n") // no allocation for one policy
	a.mu.RLock()
	acl := a.m[key]
	a.mu.RUnlock()
	if acl != nil {
		return acl
	}
	var ps []*token.Policy
	for _, name := range policies {
		if p, ok := resolvePolicy(name); ok {
			ps = append(ps, p)
		}
	}
	acl = token.NewACL(ps)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil || len(a.m) >= maxACLs {
		a.m = map[string]*token.ACL{}
	}
	a.m[key] = acl
	return acl
}

// allow checks that the request's token holds capability on path (without
// the leading "/v1/"); otherwise 403 "permission denied".
func allow(c echo.Context, path, capability string) error {
	acl, _ := c.Get(aclKey).(*token.ACL)
	if acl == nil || !acl.Allowed(path, capability) {
		return errs.E(errs.PermissionDenied, "permission denied")
	}
	return nil
}

// capabilityFor maps a request method to the capability Vault checks.
// A write is "create" when the target does not exist yet, else "update";
// callers that know which pass it explicitly.
func capabilityFor(method string) string {
	switch method {
	case "GET", "HEAD":
		return token.CapRead
	case "LIST":
		return token.CapList
	case "DELETE":
		return token.CapDelete
	}
	return token.CapUpdate
}
