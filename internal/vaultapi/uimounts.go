package vaultapi

import (
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/errs"
	mountpkg "github.com/cofferhq/coffer/internal/mount"
)

// uiMount answers sys/internal/ui/mounts/<path>, the CLI's KV preflight: the
// mount that holds path, if the token may do anything under it. Instance
// mounts are KV version 2. A token without access gets 403, whether or not
// the mount exists.
func (s *Server) uiMount(c echo.Context) error {
	mount, _, _ := strings.Cut(strings.Trim(c.Param("*"), "/"), "/")
	acl := c.Get(aclKey)
	if mount == "" || acl == nil || !hasAnyUnder(c, mount) {
		return errs.E(errs.PermissionDenied, "permission denied")
	}
	ctx := c.Request().Context()
	if _, err := s.instances.InstanceByID(ctx, mount); err == nil {
		return ok(c, map[string]any{
			"type": "kv", "path": mount + "/", "description": "Secrets Manager instance " + mount,
			"options": map[string]string{"version": "2"}, "accessor": "kv_" + mount[:8], "local": false, "seal_wrap": false,
			"external_entropy_access": false, "plugin_version": "", "running_plugin_version": "", "uuid": mount,
			"config": map[string]any{"default_lease_ttl": 0, "max_lease_ttl": 0, "force_no_cache": false},
		})
	} else if !errs.Is(err, errs.NotFound) {
		return err
	}
	m, err := s.mounts.Mount(ctx, mountpkg.KindSecret, mount) // a mount of the mount table
	if err != nil {
		return err
	}
	entry := mountEntry(m)
	entry["path"] = m.Path + "/"
	return ok(c, entry)
}

// hasAnyUnder reports whether the token holds any capability under mount.
func hasAnyUnder(c echo.Context, mount string) bool {
	for _, p := range []string{mount + "/data/x", mount + "/metadata/x", mount + "/metadata", mount + "/config"} {
		for _, cp := range []string{"read", "list", "create", "update"} {
			if allow(c, p, cp) == nil {
				return true
			}
		}
	}
	return false
}
