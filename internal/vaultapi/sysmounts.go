package vaultapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/mount"
	"github.com/cofferhq/coffer/internal/token"
)

// Mounts is the mount table (sys/mounts, sys/auth) and its userpass users.
type Mounts interface {
	Enable(ctx context.Context, kind, path, typ, description string, options map[string]string,
		defaultLeaseTTL, maxLeaseTTL time.Duration) (*mount.Mount, error)
	Mount(ctx context.Context, kind, path string) (*mount.Mount, error)
	List(ctx context.Context, kind string) ([]*mount.Mount, error)
	Tune(ctx context.Context, kind, path string, defaultLeaseTTL, maxLeaseTTL *time.Duration, description *string) error
	SetOptions(ctx context.Context, kind, path string, set map[string]string) error
	Disable(ctx context.Context, kind, path string) error
	PutUser(ctx context.Context, mountPath, username string, spec mount.UserSpec) error
	User(ctx context.Context, mountPath, username string) (*mount.User, error)
	ListUsers(ctx context.Context, mountPath string) ([]string, error)
	DeleteUser(ctx context.Context, mountPath, username string) error
	Login(ctx context.Context, mountPath, username, password string) (*mount.User, error)
}

// mountEntry renders a mount as sys/mounts lists it.
func mountEntry(m *mount.Mount) map[string]any {
	opts := map[string]string{}
	for k, v := range m.Options {
		opts[k] = v
	}
	var o any = opts
	if len(opts) == 0 {
		o = nil
	}
	return map[string]any{
		"type": m.Type, "description": m.Description, "accessor": m.Accessor, "uuid": m.UUID, "options": o,
		"local": false, "seal_wrap": false, "external_entropy_access": false, "plugin_version": "",
		"running_plugin_version": "", "config": map[string]any{"default_lease_ttl": int(m.DefaultLeaseTTL.Seconds()),
			"max_lease_ttl": int(m.MaxLeaseTTL.Seconds()), "force_no_cache": false},
	}
}

// kindOf maps the route to the table: sys/mounts or sys/auth.
func kindOf(c echo.Context) (kind, prefix string) {
	if strings.HasPrefix(c.Path(), "/v1/sys/auth") {
		return mount.KindAuth, "sys/auth"
	}
	return mount.KindSecret, "sys/mounts"
}

func (s *Server) listMounts(c echo.Context) error {
	kind, prefix := kindOf(c)
	if err := allow(c, prefix, token.CapRead); err != nil {
		return err
	}
	ms, err := s.mounts.List(c.Request().Context(), kind)
	if err != nil {
		return err
	}
	data := map[string]any{}
	for _, m := range ms {
		data[m.Path+"/"] = mountEntry(m)
	}
	if kind == mount.KindAuth { // the built-in userpass of instance users, and the token store
		data["userpass/"] = map[string]any{"type": "userpass", "description": "Secrets Manager instance users",
			"accessor": "auth_userpass_instances", "local": false, "seal_wrap": false, "options": nil}
		data["token/"] = map[string]any{"type": "token", "description": "token based credentials",
			"accessor": "auth_token", "local": false, "seal_wrap": false, "options": nil}
	}
	return ok(c, data)
}

// mountPath reads the path parameter; paths are one segment in Coffer.
func mountPath(c echo.Context) (string, error) {
	p := strings.Trim(c.Param("path"), "/")
	if p == "" || strings.Contains(p, "/") {
		return "", errs.E(errs.InvalidArgument, "path: expected one path segment, got %q", p)
	}
	return p, nil
}

// isInstance reports whether path names an instance: its mount is managed by
// the control plane and cannot be enabled, tuned or disabled here.
func (s *Server) isInstance(ctx context.Context, path string) bool {
	if uuid.Validate(path) != nil {
		return false
	}
	_, err := s.instances.InstanceByID(ctx, path)
	return err == nil
}

func (s *Server) enableMount(c echo.Context) error {
	kind, prefix := kindOf(c)
	path, err := mountPath(c)
	if err != nil {
		return err
	}
	if err := allow(c, prefix+"/"+path, token.CapUpdate); err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, "type", "description", "config", "options", "local", "seal_wrap",
		"external_entropy_access", "plugin_name", "plugin_version")
	if err != nil {
		return err
	}
	typ, _ := body["type"].(string)
	desc, _ := body["description"].(string)
	opts := map[string]string{}
	if o, isMap := body["options"].(map[string]any); isMap {
		for k, v := range o {
			if sv, isStr := v.(string); isStr {
				opts[k] = sv
			}
		}
	}
	var dflt, maxTTL time.Duration
	// The official client's Sys().Mount sends every config field, unset
	// ones as "": those mean the default, as in Vault.
	if cfg, isMap := body["config"].(map[string]any); isMap {
		if v, set := cfg["default_lease_ttl"]; set && v != "" {
			if dflt, err = durationParam("config.default_lease_ttl", v); err != nil {
				return err
			}
		}
		if v, set := cfg["max_lease_ttl"]; set && v != "" {
			if maxTTL, err = durationParam("config.max_lease_ttl", v); err != nil {
				return err
			}
		}
	}
	if kind == mount.KindAuth && path == "userpass" || kind == mount.KindSecret && s.isInstance(c.Request().Context(), path) {
		return errs.E(errs.InvalidArgument, "path is already in use at %s/", path)
	}
	if _, err := s.mounts.Enable(c.Request().Context(), kind, path, typ, desc, opts, dflt, maxTTL); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) disableMount(c echo.Context) error {
	kind, prefix := kindOf(c)
	path, err := mountPath(c)
	if err != nil {
		return err
	}
	if err := allow(c, prefix+"/"+path, token.CapDelete); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if kind == mount.KindSecret && s.isInstance(ctx, path) {
		return errs.E(errs.InvalidArgument, "cannot disable %s/: it is a Secrets Manager instance; delete the instance instead", path)
	}
	m, err := s.mounts.Mount(ctx, kind, path)
	if errs.Is(err, errs.NotFound) {
		return c.NoContent(http.StatusNoContent) // Vault: disabling what is not mounted succeeds
	}
	if err != nil {
		return err
	}
	switch m.Type {
	case mount.TypeKV:
		if err := s.kv.DeleteMount(ctx, path); err != nil {
			return err
		}
	case mount.TypeTransit:
		if err := s.transit.DeleteMount(ctx, path); err != nil {
			return err
		}
	}
	if err := s.mounts.Disable(ctx, kind, path); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) tuneMount(c echo.Context) error {
	kind, prefix := kindOf(c)
	path, err := mountPath(c)
	if err != nil {
		return err
	}
	if err := allow(c, prefix+"/"+path+"/tune", token.CapUpdate); err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, "default_lease_ttl", "max_lease_ttl", "description")
	if err != nil {
		return err
	}
	var dflt, maxTTL *time.Duration
	for name, dst := range map[string]**time.Duration{"default_lease_ttl": &dflt, "max_lease_ttl": &maxTTL} {
		if v, set := body[name]; set && v != "" { // "": unset, as the official client sends it
			d, err := durationParam(name, v)
			if err != nil {
				return err
			}
			*dst = &d
		}
	}
	var desc *string
	if d, isStr := body["description"].(string); isStr {
		desc = &d
	}
	if err := s.mounts.Tune(c.Request().Context(), kind, path, dflt, maxTTL, desc); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) readTune(c echo.Context) error {
	kind, prefix := kindOf(c)
	path, err := mountPath(c)
	if err != nil {
		return err
	}
	if err := allow(c, prefix+"/"+path+"/tune", token.CapRead); err != nil {
		return err
	}
	m, err := s.mounts.Mount(c.Request().Context(), kind, path)
	if err != nil {
		return err
	}
	return ok(c, map[string]any{"default_lease_ttl": int(m.DefaultLeaseTTL.Seconds()),
		"max_lease_ttl": int(m.MaxLeaseTTL.Seconds()), "description": m.Description, "force_no_cache": false,
		"options": m.Options})
}
