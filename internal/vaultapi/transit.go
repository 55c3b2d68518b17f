package vaultapi

import (
	"context"
	"crypto/elliptic"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/errs"
	mountpkg "github.com/cofferhq/coffer/internal/mount"
	"github.com/cofferhq/coffer/internal/token"
	"github.com/cofferhq/coffer/internal/transit"
)

// The transit engine's endpoints (vault-api.md §1.1) on mounts of type
// "transit" enabled through sys/mounts.

// transitMount checks that the request's :mount is a transit mount of the
// mount table; otherwise 404 as for an unknown route. Callers check the
// policy first, so a caller without access learns nothing about mounts.
func (s *Server) transitMount(c echo.Context) (string, error) {
	mount := c.Param("mount")
	m, err := s.mounts.Mount(c.Request().Context(), mountpkg.KindSecret, mount)
	if err != nil || m.Type != mountpkg.TypeTransit {
		if err != nil && errs.KindOf(err) != errs.NotFound {
			return "", err
		}
		return "", echo.NewHTTPError(http.StatusNotFound)
	}
	return mount, nil
}

// transitTarget authorizes capability on the request's path,
// <mount>/<endpoint>/<name>, plus "/<hash algorithm>" when the route has
// one (sign, verify, hmac), as Vault checks policies against the whole
// request path; and resolves the transit mount. Routes with a fixed
// suffix after the name (keys/:name/rotate, /config, /trim) name their
// path to authorizedMount themselves.
func (s *Server) transitTarget(c echo.Context, endpoint, capability string) (mount, name string, err error) {
	name = c.Param("name")
	path := c.Param("mount") + "/" + endpoint + "/" + name
	if algo := c.Param("algo"); algo != "" {
		path += "/" + algo
	}
	mount, err = s.authorizedMount(c, path, capability)
	return mount, name, err
}

// transitUpsertTarget authorizes a request that creates the key when it is
// missing (keys/:name, encrypt/:name): "create" on a missing key, "update"
// on an existing one, as Vault's existence check decides. It returns the
// key, or nil when it does not exist and the caller may create it.
func (s *Server) transitUpsertTarget(c echo.Context, endpoint string) (mount, name string, k *transit.Key, err error) {
	name = c.Param("name")
	path := c.Param("mount") + "/" + endpoint + "/" + name
	if allow(c, path, token.CapCreate) != nil && allow(c, path, token.CapUpdate) != nil {
		return "", "", nil, errs.E(errs.PermissionDenied, "permission denied")
	}
	if mount, err = s.transitMount(c); err != nil {
		return "", "", nil, err
	}
	k, err = s.transit.Key(c.Request().Context(), mount, name)
	switch {
	case err == nil:
		return mount, name, k, allow(c, path, token.CapUpdate)
	case errs.KindOf(err) == errs.NotFound:
		return mount, name, nil, allow(c, path, token.CapCreate)
	}
	return "", "", nil, err
}

// createKey creates key name, or returns the one a concurrent request made.
func (s *Server) createKey(ctx context.Context, mount, name, typ string, o transit.Options) (*transit.Key, bool, error) {
	k, err := s.transit.Create(ctx, mount, name, typ, o)
	if errs.KindOf(err) == errs.AlreadyExists {
		k, err = s.transit.Key(ctx, mount, name)
		return k, true, err
	}
	return k, false, err
}

// keyInfo renders a key as Vault's key read does (vault-api.md §1.4).
func keyInfo(k *transit.Key) (map[string]any, error) {
	keys := map[string]any{}
	asym := transit.SupportsSigning(k.Type)
	var pubs map[string]string
	if asym {
		var err error
		if pubs, err = k.Export(transit.ExportPublicKey, 0); err != nil {
			return nil, err
		}
	}
	for n := max(k.MinDecryptionVersion, k.MinAvailableVersion, 1); n <= k.LatestVersion; n++ {
		v := k.Versions[n]
		if v == nil {
			continue
		}
		ns := strconv.Itoa(n)
		if !asym {
			keys[ns] = v.CreatedAt.Unix()
			continue
		}
		keys[ns] = map[string]any{"name": publicKeyName(k.Type), "public_key": pubs[ns],
			"creation_time": v.CreatedAt.UTC().Format(time.RFC3339Nano), "certificate_chain": ""}
	}
	d := map[string]any{
		"name": k.Name, "type": k.Type, "keys": keys,
		"latest_version": k.LatestVersion, "min_available_version": k.MinAvailableVersion,
		"min_decryption_version": k.MinDecryptionVersion, "min_encryption_version": k.MinEncryptionVersion,
		"deletion_allowed": k.DeletionAllowed, "derived": k.Derived, "exportable": k.Exportable,
		"allow_plaintext_backup": k.AllowPlaintextBackup, "auto_rotate_period": int64(k.AutoRotatePeriod / time.Second),
		"imported_key": false, "soft_deleted": false,
		"supports_encryption": transit.SupportsEncryption(k.Type), "supports_decryption": transit.SupportsEncryption(k.Type),
		"supports_derivation": transit.SupportsDerivation(k.Type), "supports_signing": asym,
	}
	if k.Derived {
		d["kdf"] = "hkdf_sha256"
		d["convergent_encryption"] = k.Convergent
		if k.Convergent {
			d["convergent_encryption_version"] = -1
		}
	}
	if k.Type == transit.TypeHMAC {
		d["key_size"] = k.KeySize
	}
	return d, nil
}

// publicKeyName is the "name" of an asymmetric version in a key read.
func publicKeyName(typ string) string {
	switch typ {
	case transit.TypeECDSAP256:
		return elliptic.P256().Params().Name
	case transit.TypeECDSAP384:
		return elliptic.P384().Params().Name
	case transit.TypeECDSAP521:
		return elliptic.P521().Params().Name
	}
	return typ
}

func okKey(c echo.Context, k *transit.Key) error {
	d, err := keyInfo(k)
	if err != nil {
		return err
	}
	return ok(c, d)
}

func stringParam(body map[string]any, name string) (string, bool, error) {
	v, set := body[name]
	if !set || v == nil {
		return "", false, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", true, errs.E(errs.InvalidArgument, "%s: expected a string", name)
	}
	return s, true, nil
}

// optBool reads a boolean parameter into *dst when present.
func optBool(body map[string]any, name string, dst *bool) error {
	v, set := body[name]
	if !set || v == nil {
		return nil
	}
	b, err := boolParam(name, v)
	*dst = b
	return err
}

func optInt(body map[string]any, name string, dst *int) error {
	v, set := body[name]
	if !set || v == nil {
		return nil
	}
	n, err := intParam(name, v)
	*dst = n
	return err
}

func b64Param(body map[string]any, name string) ([]byte, error) {
	s, _, err := stringParam(body, name)
	if err != nil {
		return nil, err
	}
	return decodeB64(s)
}

// --- keys ---

func (s *Server) transitCreateKey(c echo.Context) error {
	mount, name, existing, err := s.transitUpsertTarget(c, "keys")
	if err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, "type", "derived", "convergent_encryption", "exportable",
		"allow_plaintext_backup", "key_size", "auto_rotate_period", "name")
	if err != nil {
		return err
	}
	typ, _, err := stringParam(body, "type")
	if err != nil {
		return err
	}
	if typ == "" {
		typ = transit.DefaultType
	}
	var o transit.Options
	for n, dst := range map[string]*bool{"derived": &o.Derived, "convergent_encryption": &o.Convergent,
		"exportable": &o.Exportable, "allow_plaintext_backup": &o.AllowPlaintextBackup} {
		if err := optBool(body, n, dst); err != nil {
			return err
		}
	}
	if err := optInt(body, "key_size", &o.KeySize); err != nil {
		return err
	}
	if v, set := body["auto_rotate_period"]; set && v != nil {
		if o.AutoRotatePeriod, err = durationParam("auto_rotate_period", v); err != nil {
			return err
		}
	}
	if existing != nil {
		warn(c, "key "+name+" already existed")
		return okKey(c, existing)
	}
	k, existed, err := s.createKey(c.Request().Context(), mount, name, typ, o)
	if err != nil {
		return err
	}
	if existed {
		warn(c, "key "+name+" already existed")
	}
	return okKey(c, k)
}

func (s *Server) transitReadKey(c echo.Context) error {
	mount, name, err := s.transitTarget(c, "keys", token.CapRead)
	if err != nil {
		return err
	}
	k, err := s.transit.Key(c.Request().Context(), mount, name)
	if err != nil {
		return err
	}
	return okKey(c, k)
}

func (s *Server) transitListKeys(c echo.Context) error {
	if err := allow(c, c.Param("mount")+"/keys", token.CapList); err != nil {
		return err
	}
	mount, err := s.transitMount(c)
	if err != nil {
		return err
	}
	names, err := s.transit.List(c.Request().Context(), mount)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return errs.E(errs.NotFound, "no keys") // Vault: an empty LIST is 404 {"errors":[]}
	}
	return ok(c, map[string]any{"keys": names})
}

func (s *Server) transitDeleteKey(c echo.Context) error {
	mount, name, err := s.transitTarget(c, "keys", token.CapDelete)
	if err != nil {
		return err
	}
	if err := s.transit.Delete(c.Request().Context(), mount, name); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// transitConfigKey and transitRotateKey check the capability on the
// request's own path (<mount>/keys/<name>/config, .../rotate), as Vault
// does: the seed's admin policy grants read on keys/<name> and update on
// keys/<name>/* only.
func (s *Server) transitConfigKey(c echo.Context) error {
	name := c.Param("name")
	mount, err := s.authorizedMount(c, c.Param("mount")+"/keys/"+name+"/config", token.CapUpdate)
	if err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, "min_decryption_version", "min_encryption_version", "deletion_allowed",
		"exportable", "allow_plaintext_backup", "auto_rotate_period")
	if err != nil {
		return err
	}
	var cfg transit.Config
	for n, dst := range map[string]**int{"min_decryption_version": &cfg.MinDecryptionVersion,
		"min_encryption_version": &cfg.MinEncryptionVersion} {
		if v, set := body[n]; set && v != nil {
			i, err := intParam(n, v)
			if err != nil {
				return err
			}
			*dst = &i
		}
	}
	for n, dst := range map[string]**bool{"deletion_allowed": &cfg.DeletionAllowed, "exportable": &cfg.Exportable,
		"allow_plaintext_backup": &cfg.AllowPlaintextBackup} {
		if v, set := body[n]; set && v != nil {
			b, err := boolParam(n, v)
			if err != nil {
				return err
			}
			*dst = &b
		}
	}
	if v, set := body["auto_rotate_period"]; set && v != nil {
		d, err := durationParam("auto_rotate_period", v)
		if err != nil {
			return err
		}
		cfg.AutoRotatePeriod = &d
	}
	k, err := s.transit.Mutate(c.Request().Context(), mount, name, func(k *transit.Key) error { return k.SetConfig(cfg) })
	if err != nil {
		return err
	}
	return okKey(c, k)
}

func (s *Server) transitRotateKey(c echo.Context) error {
	name := c.Param("name")
	mount, err := s.authorizedMount(c, c.Param("mount")+"/keys/"+name+"/rotate", token.CapUpdate)
	if err != nil {
		return err
	}
	if _, err := readBody(c, s.cfg.Limits); err != nil {
		return err
	}
	now := s.now()
	k, err := s.transit.Mutate(c.Request().Context(), mount, name, func(k *transit.Key) error { return k.Rotate(now) })
	if err != nil {
		return err
	}
	return okKey(c, k)
}
