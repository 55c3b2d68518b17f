package vaultapi

import (
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/token"
)

// lookupData renders a token as auth/token/lookup-self does.
func lookupData(t *token.Token, now time.Time) map[string]any {
	var expire any
	ttl := 0
	if !t.ExpiresAt.IsZero() {
		expire = t.ExpiresAt.UTC().Format(time.RFC3339Nano)
		ttl = int(t.ExpiresAt.Sub(now).Seconds())
	}
	meta := map[string]string{}
	for k, v := range t.Meta {
		meta[k] = v
	}
	return map[string]any{
		"accessor": t.Accessor, "creation_time": t.CreatedAt.Unix(), "creation_ttl": int(t.TTL.Seconds()),
		"display_name": t.DisplayName, "entity_id": "", "expire_time": expire, "explicit_max_ttl": 0,
		"id": "", "issue_time": t.CreatedAt.UTC().Format(time.RFC3339Nano), "meta": meta, "num_uses": 0,
		"orphan": true, "path": t.Path, "policies": t.Policies, "renewable": t.Renewable, "ttl": ttl, "type": "service",
	}
}

func (s *Server) lookupSelf(c echo.Context) error {
	if err := allow(c, "auth/token/lookup-self", token.CapRead); err != nil {
		return err
	}
	t := c.Get(tokenKey).(*token.Token)
	data := lookupData(t, s.now())
	data["id"] = c.Get(secretKey).(string) // Vault shows the caller its own token
	return ok(c, data)
}

func (s *Server) renewSelf(c echo.Context) error {
	if err := allow(c, "auth/token/renew-self", token.CapUpdate); err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, "increment")
	if err != nil {
		return err
	}
	var inc time.Duration
	if v, set := body["increment"]; set {
		if inc, err = durationParam("increment", v); err != nil {
			return err
		}
	}
	secret := c.Get(secretKey).(string)
	t, err := s.tokens.Renew(c.Request().Context(), secret, inc)
	if err != nil {
		return err
	}
	return okAuth(c, authBlock(secret, t, s.now()))
}

func (s *Server) revokeSelf(c echo.Context) error {
	if err := allow(c, "auth/token/revoke-self", token.CapUpdate); err != nil {
		return err
	}
	if err := s.tokens.Revoke(c.Request().Context(), c.Get(secretKey).(string)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// authBlock is the "auth" part of a login or renewal answer.
func authBlock(secret string, t *token.Token, now time.Time) map[string]any {
	lease := 0
	if !t.ExpiresAt.IsZero() {
		lease = int(t.ExpiresAt.Sub(now).Seconds())
	}
	return map[string]any{
		"client_token": secret, "accessor": t.Accessor, "policies": t.Policies, "token_policies": t.Policies,
		"identity_policies": nil, "metadata": t.Meta, "lease_duration": lease, "renewable": t.Renewable,
		"entity_id": "", "token_type": "service", "orphan": true, "mfa_requirement": nil, "num_uses": 0,
	}
}

// createToken serves auth/token/create for admins (root, or a policy with
// sudo-free update on the path): a token with the given policies.
func (s *Server) createToken(c echo.Context) error {
	if err := allow(c, "auth/token/create", token.CapUpdate); err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, "policies", "ttl", "explicit_max_ttl", "renewable", "display_name", "meta",
		"no_default_policy", "bound_cidrs")
	if err != nil {
		return err
	}
	spec := token.Spec{Path: "auth/token/create", DisplayName: "token", Renewable: true}
	if v, set := body["policies"]; set {
		if spec.Policies, err = stringList("policies", v); err != nil {
			return err
		}
	}
	if nd, _ := body["no_default_policy"].(bool); !nd {
		spec.Policies = append(spec.Policies, policyDefault)
	}
	caller := c.Get(tokenKey).(*token.Token)
	for _, p := range spec.Policies { // no escalation: only root may grant root
		if p == policyRoot && !slices.Contains(caller.Policies, policyRoot) {
			return errs.E(errs.PermissionDenied, "permission denied")
		}
	}
	if v, set := body["ttl"]; set {
		if spec.TTL, err = durationParam("ttl", v); err != nil {
			return err
		}
	}
	if v, set := body["explicit_max_ttl"]; set {
		if spec.MaxTTL, err = durationParam("explicit_max_ttl", v); err != nil {
			return err
		}
	}
	if r, isBool := body["renewable"].(bool); isBool {
		spec.Renewable = r
	}
	if d, isStr := body["display_name"].(string); isStr && d != "" {
		spec.DisplayName = "token-" + d
	}
	if v, set := body["bound_cidrs"]; set {
		if spec.BoundCIDRs, err = stringList("bound_cidrs", v); err != nil {
			return err
		}
	}
	secret, t, err := s.tokens.Create(c.Request().Context(), spec)
	if err != nil {
		return err
	}
	return okAuth(c, authBlock(secret, t, s.now()))
}
