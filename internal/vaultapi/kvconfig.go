package vaultapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/kv"
	"github.com/cofferhq/coffer/internal/token"
)

func (s *Server) kvReadConfig(c echo.Context) error {
	mount, _, err := s.kvTarget(c, "config", token.CapRead)
	if err != nil {
		return err
	}
	cfg, err := s.kv.ReadConfig(c.Request().Context(), mount)
	if err != nil {
		return err
	}
	return ok(c, map[string]any{"cas_required": cfg.CASRequired, "delete_version_after": cfg.DeleteVersionAfter.String(),
		"max_versions": cfg.MaxVersions})
}

func (s *Server) kvWriteConfig(c echo.Context) error {
	mount, _, err := s.kvTarget(c, "config", token.CapUpdate)
	if err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, "max_versions", "cas_required", "delete_version_after")
	if err != nil {
		return err
	}
	u, err := metadataUpdate(body, false)
	if err != nil {
		return err
	}
	if err := s.kv.WriteConfig(c.Request().Context(), mount,
		kv.ConfigUpdate{MaxVersions: u.MaxVersions, CASRequired: u.CASRequired, DeleteVersionAfter: u.DeleteVersionAfter}); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
