package vaultapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/kv"
	mountpkg "github.com/cofferhq/coffer/internal/mount"
	"github.com/cofferhq/coffer/internal/token"
)

// kvTarget authorizes a KV request and returns its mount and path. The
// order matters: the token's policy first (so another instance's mount is
// 403 whether or not it exists), then the mount (404), then the instance's
// ACL on the client address (403).
func (s *Server) kvTarget(c echo.Context, endpoint, capability string) (mount, path string, err error) {
	mount, path = c.Param("mount"), strings.TrimPrefix(c.Param("*"), "/")
	full := mount + "/" + endpoint
	if path != "" {
		full += "/" + path
	}
	if err := allow(c, full, capability); err != nil {
		return "", "", err
	}
	in, err := s.instances.InstanceByID(c.Request().Context(), mount)
	if errs.Is(err, errs.NotFound) { // not an instance: a KV mount of the mount table?
		m, merr := s.mounts.Mount(c.Request().Context(), mountpkg.KindSecret, mount)
		if merr != nil || m.Type != "kv" {
			return "", "", echo.NewHTTPError(http.StatusNotFound)
		}
		return mount, path, nil
	}
	if err != nil {
		return "", "", err
	}
	if t, _ := c.Get(tokenKey).(*token.Token); t != nil && t.Meta["instance"] == in.ID {
		return mount, path, nil // requireToken checked this instance's ACL already
	}
	ok, err := s.instances.AllowsAddress(c.Request().Context(), in.ID, clientAddr(c))
	if err != nil {
		return "", "", err
	}
	if !ok {
		return "", "", errs.E(errs.PermissionDenied, "permission denied")
	}
	return mount, path, nil
}

func (s *Server) kvReadData(c echo.Context) error {
	mount, path, err := s.kvTarget(c, "data", token.CapRead)
	if err != nil {
		return err
	}
	version := 0
	if v := c.QueryParam("version"); v != "" {
		if version, err = strconv.Atoi(v); err != nil {
			return errs.E(errs.InvalidArgument, "version: expected an integer")
		}
	}
	sec, err := s.kv.ReadData(c.Request().Context(), mount, path, version)
	if err != nil {
		return err
	}
	return ok(c, secretData(sec))
}

// writeCapability is "create" for a path that has no version yet, else
// "update", as Vault decides between its create and update operations.
// The policy is checked first, so nothing is read for a caller who may
// write neither way.
func (s *Server) writeCapability(c echo.Context) string {
	mount, path := c.Param("mount"), strings.TrimPrefix(c.Param("*"), "/")
	endpoint := strings.Split(strings.TrimPrefix(c.Path(), "/v1/:mount/"), "/")[0]
	full := mount + "/" + endpoint + "/" + path
	if allow(c, full, token.CapCreate) != nil && allow(c, full, token.CapUpdate) != nil {
		return token.CapUpdate // denied by kvTarget without a read
	}
	if _, err := s.kv.ReadMetadata(c.Request().Context(), mount, path); errs.Is(err, errs.NotFound) {
		return token.CapCreate
	}
	return token.CapUpdate
}

func (s *Server) kvWriteData(c echo.Context) error {
	return s.kvPut(c, s.writeCapability(c), s.kv.WriteData)
}

func (s *Server) kvPatchData(c echo.Context) error {
	return s.kvPut(c, token.CapUpdate, s.kv.PatchData)
}

// kvPut serves data/ writes and patches: {"data": {...}, "options": {"cas": N}}.
// A write may send no data (the engine answers "no data provided"); the
// data, when sent, must be an object.
func (s *Server) kvPut(c echo.Context, capability string,
	put func(ctx context.Context, mount, path string, data map[string]any, cas *int) (*kv.Secret, error)) error {
	mount, path, err := s.kvTarget(c, "data", capability)
	if err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, "data", "options")
	if err != nil {
		return err
	}
	cas, err := casParam(body)
	if err != nil {
		return err
	}
	data, isMap := body["data"].(map[string]any)
	if body["data"] != nil && !isMap {
		return errs.E(errs.InvalidArgument, "data: expected an object")
	}
	sec, err := put(c.Request().Context(), mount, path, data, cas)
	if err != nil {
		return err
	}
	return ok(c, versionMeta(sec.Meta, sec.CustomMetadata))
}

func (s *Server) kvDeleteLatest(c echo.Context) error {
	mount, path, err := s.kvTarget(c, "data", token.CapDelete)
	if err != nil {
		return err
	}
	if err := s.kv.DeleteLatest(c.Request().Context(), mount, path); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// kvVersionsOp serves delete/, undelete/ and destroy/: {"versions": [...]}.
func (s *Server) kvVersionsOp(c echo.Context, endpoint string,
	op func(c echo.Context, mount, path string, versions []int) error) error {
	mount, path, err := s.kvTarget(c, endpoint, token.CapUpdate)
	if err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, "versions")
	if err != nil {
		return err
	}
	versions, err := versionsParam(body)
	if err != nil {
		return err
	}
	if err := op(c, mount, path, versions); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) kvDeleteVersions(c echo.Context) error {
	return s.kvVersionsOp(c, "delete", func(c echo.Context, m, p string, v []int) error {
		return s.kv.DeleteVersions(c.Request().Context(), m, p, v)
	})
}

func (s *Server) kvUndelete(c echo.Context) error {
	return s.kvVersionsOp(c, "undelete", func(c echo.Context, m, p string, v []int) error {
		return s.kv.Undelete(c.Request().Context(), m, p, v)
	})
}

func (s *Server) kvDestroy(c echo.Context) error {
	return s.kvVersionsOp(c, "destroy", func(c echo.Context, m, p string, v []int) error {
		return s.kv.Destroy(c.Request().Context(), m, p, v)
	})
}

func (s *Server) kvReadMetadata(c echo.Context) error {
	mount, path, err := s.kvTarget(c, "metadata", token.CapRead)
	if err != nil {
		return err
	}
	md, err := s.kv.ReadMetadata(c.Request().Context(), mount, path)
	if err != nil {
		return err
	}
	return ok(c, metadataData(md))
}

func (s *Server) kvList(c echo.Context) error {
	mount, prefix, err := s.kvTarget(c, "metadata", token.CapList)
	if err != nil {
		return err
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	keys, err := s.kv.List(c.Request().Context(), mount, prefix)
	if err != nil {
		return err
	}
	return ok(c, map[string]any{"keys": keys})
}

func (s *Server) kvWriteMetadata(c echo.Context) error { return s.kvMetadata(c, false) }
func (s *Server) kvPatchMetadata(c echo.Context) error { return s.kvMetadata(c, true) }

func (s *Server) kvMetadata(c echo.Context, patch bool) error {
	capability := token.CapUpdate
	if !patch {
		capability = s.writeCapability(c)
	}
	mount, path, err := s.kvTarget(c, "metadata", capability)
	if err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, "max_versions", "cas_required", "delete_version_after", "custom_metadata")
	if err != nil {
		return err
	}
	u, err := metadataUpdate(body, patch)
	if err != nil {
		return err
	}
	if patch {
		err = s.kv.PatchMetadata(c.Request().Context(), mount, path, u)
	} else {
		err = s.kv.WriteMetadata(c.Request().Context(), mount, path, u)
	}
	if err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) kvDeleteMetadata(c echo.Context) error {
	mount, path, err := s.kvTarget(c, "metadata", token.CapDelete)
	if err != nil {
		return err
	}
	if err := s.kv.DeleteMetadata(c.Request().Context(), mount, path); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) kvSubkeys(c echo.Context) error {
	mount, path, err := s.kvTarget(c, "subkeys", token.CapRead)
	if err != nil {
		return err
	}
	version, depth := 0, 0
	for name, dst := range map[string]*int{"version": &version, "depth": &depth} {
		if v := c.QueryParam(name); v != "" {
			if *dst, err = strconv.Atoi(v); err != nil || *dst < 0 {
				return errs.E(errs.InvalidArgument, "%s: expected a non-negative integer", name)
			}
		}
	}
	sec, err := s.kv.Subkeys(c.Request().Context(), mount, path, version, depth)
	if err != nil {
		return err
	}
	return ok(c, map[string]any{"subkeys": sec.Data, "metadata": versionMeta(sec.Meta, sec.CustomMetadata)})
}
