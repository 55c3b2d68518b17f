package vaultapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/errs"
	mountpkg "github.com/cofferhq/coffer/internal/mount"
	"github.com/cofferhq/coffer/internal/token"
	"github.com/cofferhq/coffer/internal/transit"
)

// The transit engine's key administration endpoints (vault-api.md §1.1):
// trim, export, backup and restore, and the mount-wide config/keys and
// cache-config. Their policy paths are the request paths, as Vault checks
// them: <mount>/keys/<name>/trim, <mount>/export/<type>/<name>[/<version>],
// <mount>/backup/<name>, <mount>/restore[/<name>], <mount>/config/keys,
// <mount>/cache-config.

// serverError is an answer Vault gives with status 500 and its message:
// the backup and restore refusals of §1.1.
func serverError(msg string) error {
	return echo.NewHTTPError(http.StatusInternalServerError, msg)
}

// authorizedMount checks capability on path (below /v1/) and resolves the
// request's transit mount.
func (s *Server) authorizedMount(c echo.Context, path, capability string) (string, error) {
	if err := allow(c, path, capability); err != nil {
		return "", err
	}
	return s.transitMount(c)
}

func (s *Server) transitTrimKey(c echo.Context) error {
	name := c.Param("name")
	mount, err := s.authorizedMount(c, c.Param("mount")+"/keys/"+name+"/trim", token.CapUpdate)
	if err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, "min_available_version")
	if err != nil {
		return err
	}
	v, set := body["min_available_version"]
	if !set || v == nil {
		return errs.E(errs.InvalidArgument, "missing min_available_version")
	}
	n, err := intParam("min_available_version", v)
	if err != nil {
		return err
	}
	k, err := s.transit.Mutate(c.Request().Context(), mount, name, func(k *transit.Key) error { return k.Trim(n) })
	if err != nil {
		return err
	}
	return okKey(c, k)
}

// transitExport is GET export/:key_type/:name(/:version): every version
// the key keeps, or one version by number or "latest". Private material
// needs the key to be exportable (400 "private key material is not
// exportable"); public keys of signing keys do not.
func (s *Server) transitExport(c echo.Context) error {
	typ, name, ver := c.Param("key_type"), c.Param("name"), c.Param("version")
	p := c.Param("mount") + "/export/" + typ + "/" + name
	if ver != "" {
		p += "/" + ver
	}
	mount, err := s.authorizedMount(c, p, token.CapRead)
	if err != nil {
		return err
	}
	k, err := s.transit.Key(c.Request().Context(), mount, name)
	if err != nil {
		return err
	}
	n := 0
	switch {
	case ver == "":
	case ver == "latest":
		n = k.LatestVersion
	default:
		if n, err = strconv.Atoi(ver); err != nil || n < 1 {
			return errs.E(errs.InvalidArgument, "invalid key version %s", ver)
		}
	}
	keys, err := k.Export(typ, n)
	if err != nil {
		return err
	}
	return ok(c, map[string]any{"name": k.Name, "type": k.Type, "keys": keys})
}

// transitBackup is GET backup/:name, in Coffer's own format (see
// transit.Key.Backup). A missing key is 500 `key "<name>" not found`, as
// Vault's lock manager answers; the policy refusals are 500 too (§1.1).
func (s *Server) transitBackup(c echo.Context) error {
	name := c.Param("name")
	mount, err := s.authorizedMount(c, c.Param("mount")+"/backup/"+name, token.CapRead)
	if err != nil {
		return err
	}
	k, err := s.transit.Key(c.Request().Context(), mount, name)
	if errs.KindOf(err) == errs.NotFound {
		return serverError("key " + strconv.Quote(name) + " not found")
	}
	if err != nil {
		return err
	}
	b, err := k.Backup()
	if errs.KindOf(err) == errs.FailedPrecondition {
		return serverError(errs.Message(err))
	}
	if err != nil {
		return err
	}
	return ok(c, map[string]any{"backup": b})
}

// transitRestore is POST restore(/:name): the key of backup, under the
// URL's name, else the body's name, else the backup's own. An existing
// key is 500 `key "<name>" already exists` unless force is set (§1.1); a
// backup that is not a valid Coffer backup is 400 and stores nothing
// (Vault would answer 500; its facts record no status for this case).
func (s *Server) transitRestore(c echo.Context) error {
	p := c.Param("mount") + "/restore"
	if n := c.Param("name"); n != "" {
		p += "/" + n
	}
	mount, err := s.authorizedMount(c, p, token.CapUpdate)
	if err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, "backup", "name", "force")
	if err != nil {
		return err
	}
	backup, _, err := stringParam(body, "backup")
	if err != nil {
		return err
	}
	if backup == "" {
		return errs.E(errs.InvalidArgument, "'backup' must be supplied")
	}
	name := c.Param("name")
	if name == "" {
		if name, _, err = stringParam(body, "name"); err != nil {
			return err
		}
	}
	if strings.Contains(name, "/") {
		return errs.E(errs.InvalidArgument, "key names cannot contain a slash")
	}
	force := false
	if err := optBool(body, "force", &force); err != nil {
		return err
	}
	_, err = s.transit.Restore(c.Request().Context(), mount, name, backup, force)
	if errs.KindOf(err) == errs.AlreadyExists {
		return serverError(errs.Message(err))
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// transitSettings checks capability on <mount>/<endpoint> and returns the
// transit mount's path and settings.
func (s *Server) transitSettings(c echo.Context, endpoint, capability string) (string, mountpkg.TransitSettings, error) {
	mount, err := s.authorizedMount(c, c.Param("mount")+"/"+endpoint, capability)
	if err != nil {
		return "", mountpkg.TransitSettings{}, err
	}
	st, err := s.settingsOf(c.Request().Context(), mount)
	return mount, st, err
}

func (s *Server) settingsOf(ctx context.Context, mount string) (mountpkg.TransitSettings, error) {
	m, err := s.mounts.Mount(ctx, mountpkg.KindSecret, mount)
	if err != nil {
		return mountpkg.TransitSettings{}, err
	}
	return m.Transit()
}

// checkUpsert refuses encrypt's creation of a missing key when the mount's
// config/keys has disable_upsert, with Vault's 400 "encryption key not
// found".
func (s *Server) checkUpsert(ctx context.Context, mount string) error {
	st, err := s.settingsOf(ctx, mount)
	if err != nil {
		return err
	}
	if st.DisableUpsert {
		return errs.E(errs.InvalidArgument, "encryption key not found")
	}
	return nil
}

func (s *Server) transitReadKeysConfig(c echo.Context) error {
	_, st, err := s.transitSettings(c, "config/keys", token.CapRead)
	if err != nil {
		return err
	}
	return ok(c, map[string]any{"disable_upsert": st.DisableUpsert})
}

// transitWriteKeysConfig sets disable_upsert (absent: unchanged) and
// answers the configuration, as a read does.
func (s *Server) transitWriteKeysConfig(c echo.Context) error {
	mount, st, err := s.transitSettings(c, "config/keys", token.CapUpdate)
	if err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, "disable_upsert")
	if err != nil {
		return err
	}
	if v, set := body["disable_upsert"]; set && v != nil {
		if st.DisableUpsert, err = boolParam("disable_upsert", v); err != nil {
			return err
		}
		err := s.mounts.SetOptions(c.Request().Context(), mountpkg.KindSecret, mount,
			map[string]string{mountpkg.OptionDisableUpsert: strconv.FormatBool(st.DisableUpsert)})
		if err != nil {
			return err
		}
	}
	return ok(c, map[string]any{"disable_upsert": st.DisableUpsert})
}

func (s *Server) transitReadCacheConfig(c echo.Context) error {
	_, st, err := s.transitSettings(c, "cache-config", token.CapRead)
	if err != nil {
		return err
	}
	return ok(c, map[string]any{"size": st.CacheSize})
}

// cacheAdvisory is the warning of a cache-config write.
const cacheAdvisory = "the cache size is stored but advisory: Coffer's transit key cache is not bounded by it"

// transitWriteCacheConfig stores size (0, the default when absent, or at
// least 10). Vault applies it when the engine reloads; Coffer keeps and
// returns it without bounding its cache by it, and says so in a warning.
func (s *Server) transitWriteCacheConfig(c echo.Context) error {
	mount, _, err := s.transitSettings(c, "cache-config", token.CapUpdate)
	if err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, "size")
	if err != nil {
		return err
	}
	size := 0
	if err := optInt(body, "size", &size); err != nil {
		return err
	}
	if size != 0 && size < mountpkg.MinCacheSize {
		return mountpkg.ErrCacheSize()
	}
	err = s.mounts.SetOptions(c.Request().Context(), mountpkg.KindSecret, mount,
		map[string]string{mountpkg.OptionCacheSize: strconv.Itoa(size)})
	if err != nil {
		return err
	}
	warn(c, cacheAdvisory)
	return ok(c, map[string]any{"size": size})
}
