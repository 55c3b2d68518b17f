package vaultapi

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/mount"
	"github.com/cofferhq/coffer/internal/token"
)

// authMount checks that :mount is an enabled userpass mount.
func (s *Server) authMount(c echo.Context) (string, error) {
	path := c.Param("mount")
	m, err := s.mounts.Mount(c.Request().Context(), mount.KindAuth, path)
	if errs.Is(err, errs.NotFound) {
		return "", echo.NewHTTPError(http.StatusNotFound)
	}
	if err != nil {
		return "", err
	}
	if m.Type != "userpass" {
		return "", echo.NewHTTPError(http.StatusNotFound)
	}
	return path, nil
}

// putUser serves POST auth/<mount>/users/<name>.
func (s *Server) putUser(c echo.Context) error {
	path, err := s.authMount(c)
	if err != nil {
		return err
	}
	username := strings.ToLower(c.Param("username"))
	if err := allow(c, "auth/"+path+"/users/"+username, token.CapUpdate); err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, "password", "password_hash", "policies", "token_policies", "ttl",
		"token_ttl", "max_ttl", "token_max_ttl", "bound_cidrs", "token_bound_cidrs")
	if err != nil {
		return err
	}
	var spec mount.UserSpec
	if p, isStr := body["password"].(string); isStr {
		spec.Password = &p
	}
	if p, isStr := body["password_hash"].(string); isStr {
		spec.PasswordHash = &p
	}
	for _, name := range []string{"token_policies", "policies"} {
		if v, set := body[name]; set && spec.Policies == nil {
			if spec.Policies, err = stringList(name, v); err != nil {
				return err
			}
		}
	}
	for _, name := range []string{"token_bound_cidrs", "bound_cidrs"} {
		if v, set := body[name]; set && spec.BoundCIDRs == nil {
			if spec.BoundCIDRs, err = stringList(name, v); err != nil {
				return err
			}
		}
	}
	for names, dst := range map[[2]string]**time.Duration{{"token_ttl", "ttl"}: &spec.TTL, {"token_max_ttl", "max_ttl"}: &spec.MaxTTL} {
		for _, name := range names {
			if v, set := body[name]; set && *dst == nil {
				d, err := durationParam(name, v)
				if err != nil {
					return err
				}
				*dst = &d
			}
		}
	}
	for _, p := range spec.Policies { // instances are reached through their own users only
		if strings.HasPrefix(p, readPrefix) || strings.HasPrefix(p, readWritePrefx) {
			return errs.E(errs.InvalidArgument, "policies: %q is reserved for a Secrets Manager instance's own users", p)
		}
	}
	if err := s.mounts.PutUser(c.Request().Context(), path, username, spec); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// stringList accepts a JSON list of strings or a comma-separated string.
func stringList(name string, v any) ([]string, error) {
	switch l := v.(type) {
	case string:
		var out []string
		for _, p := range strings.Split(l, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out, nil
	case []any:
		out := make([]string, 0, len(l))
		for _, e := range l {
			s, isStr := e.(string)
			if !isStr {
				return nil, errs.E(errs.InvalidArgument, "%s: expected a list of strings", name)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, errs.E(errs.InvalidArgument, "%s: expected a list of strings", name)
}

func (s *Server) readUser(c echo.Context) error {
	path, err := s.authMount(c)
	if err != nil {
		return err
	}
	username := strings.ToLower(c.Param("username"))
	if err := allow(c, "auth/"+path+"/users/"+username, token.CapRead); err != nil {
		return err
	}
	u, err := s.mounts.User(c.Request().Context(), path, username)
	if err != nil {
		return err
	}
	return ok(c, map[string]any{"token_policies": u.Policies, "policies": u.Policies,
		"token_ttl": int(u.TTL.Seconds()), "token_max_ttl": int(u.MaxTTL.Seconds()), "token_bound_cidrs": u.BoundCIDRs})
}

func (s *Server) listUsers(c echo.Context) error {
	path, err := s.authMount(c)
	if err != nil {
		return err
	}
	if err := allow(c, "auth/"+path+"/users", token.CapList); err != nil {
		return err
	}
	names, err := s.mounts.ListUsers(c.Request().Context(), path)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return errs.E(errs.NotFound, "no users")
	}
	return ok(c, map[string]any{"keys": names})
}

func (s *Server) deleteUser(c echo.Context) error {
	path, err := s.authMount(c)
	if err != nil {
		return err
	}
	username := strings.ToLower(c.Param("username"))
	if err := allow(c, "auth/"+path+"/users/"+username, token.CapDelete); err != nil {
		return err
	}
	if err := s.mounts.DeleteUser(c.Request().Context(), path, username); err != nil && !errs.Is(err, errs.NotFound) {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// mountLogin serves POST auth/<mount>/login/<name> for userpass mounts.
func (s *Server) mountLogin(c echo.Context) error {
	path, err := s.authMount(c)
	if err != nil {
		return err
	}
	username := strings.ToLower(c.Param("username"))
	body, err := readBody(c, s.cfg.Limits, "password")
	if err != nil {
		return err
	}
	password, _ := body["password"].(string)
	if password == "" {
		return errs.E(errs.InvalidArgument, "missing password")
	}
	keys := []string{"user:" + path + "/" + username, "addr:" + clientAddr(c).String()}
	now := s.now()
	allowed, finish, err := s.logins.begin(c.Request().Context(), now, keys...)
	if err != nil {
		return err
	}
	if !allowed {
		return echo.NewHTTPError(http.StatusTooManyRequests, "too many failed login attempts; try again later")
	}
	u, err := s.mounts.Login(c.Request().Context(), path, username, password)
	finish(errs.Is(err, errs.InvalidArgument)) // only a wrong password spends the budget
	if err != nil {
		return err
	}
	spec := token.Spec{Policies: append([]string{policyDefault}, u.Policies...),
		Meta:        map[string]string{"username": u.Username, "mount": path},
		DisplayName: path + "-" + u.Username, Path: "auth/" + path + "/login/" + u.Username, Renewable: true,
		TTL: u.TTL, MaxTTL: u.MaxTTL, BoundCIDRs: u.BoundCIDRs}
	secret, t, err := s.tokens.Create(c.Request().Context(), spec)
	if err != nil {
		return fmt.Errorf("issue token: %w", err)
	}
	return okAuth(c, authBlock(secret, t, s.now()))
}
