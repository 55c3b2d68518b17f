package vaultapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/token"
)

// userpassLogin logs an instance's data-plane user in and issues a token
// with read (or read-write) access to that instance's mount only, for the
// configured TTL (15 minutes by default), renewable up to the maximum TTL.
// Failed logins are rate-limited per user and per client address; the
// answer never says whether the user exists.
func (s *Server) userpassLogin(c echo.Context) error {
	username := strings.ToLower(c.Param("username"))
	body, err := readBody(c, s.cfg.Limits, "password")
	if err != nil {
		return err
	}
	password, _ := body["password"].(string)
	if password == "" {
		return errs.E(errs.InvalidArgument, "missing password")
	}
	keys := []string{"user:" + username, "addr:" + clientAddr(c).String()}
	now := s.now()
	allowed, finish, err := s.logins.begin(c.Request().Context(), now, keys...)
	if err != nil {
		return err
	}
	if !allowed {
		return echo.NewHTTPError(http.StatusTooManyRequests, "too many failed login attempts; try again later")
	}
	ctx := c.Request().Context()
	u, in, err := s.instances.Login(ctx, username, password)
	finish(errs.Is(err, errs.InvalidArgument)) // only a wrong password spends the budget
	if err != nil {
		return err
	}
	inACL, err := s.instances.AllowsAddress(ctx, in.ID, clientAddr(c))
	if err != nil {
		return err
	}
	if !inACL {
		return errs.E(errs.PermissionDenied, "permission denied")
	}
	secret, t, err := s.tokens.Create(ctx, token.Spec{
		Policies:    []string{policyDefault, instancePolicy(in.ID, u.Write)},
		Meta:        map[string]string{"username": u.Username, "instance": in.ID, "user": u.ID},
		DisplayName: "userpass-" + u.Username, Path: "auth/userpass/login/" + u.Username, Renewable: true,
	})
	if err != nil {
		return fmt.Errorf("issue token: %w", err)
	}
	return okAuth(c, authBlock(secret, t, s.now()))
}
