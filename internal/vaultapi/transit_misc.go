package vaultapi

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/token"
	"github.com/cofferhq/coffer/internal/transit"
)

// The transit engine's data key, random and hash endpoints (vault-api.md
// §1.1). Their policy paths are the request paths: <mount>/datakey/<type>/<name>,
// <mount>/random[/<source>][/<bytes>], <mount>/hash[/<algorithm>]; all
// need update, as Vault's writes do.

// transitDataKey is POST datakey/:type/:name: a fresh data key of bits
// (128, 256 or 512; 256 by default) encrypted under the key, with its
// plaintext (base64) for type "plaintext". A missing key is 400
// "encryption key not found", as for decrypt; datakey never upserts.
func (s *Server) transitDataKey(c echo.Context) error {
	typ, name := c.Param("type"), c.Param("name")
	mount, err := s.authorizedMount(c, c.Param("mount")+"/datakey/"+typ+"/"+name, token.CapUpdate)
	if err != nil {
		return err
	}
	if typ != "plaintext" && typ != "wrapped" {
		return errs.E(errs.InvalidArgument, "invalid path: the data key type must be \"plaintext\" or \"wrapped\"")
	}
	body, err := readBody(c, s.cfg.Limits, "context", "bits", "associated_data", "key_version", "name")
	if err != nil {
		return err
	}
	it := transit.BatchItem{}
	if it.Context, _, err = stringParam(body, "context"); err != nil {
		return err
	}
	if it.AssociatedData, _, err = stringParam(body, "associated_data"); err != nil {
		return err
	}
	if err := optInt(body, "key_version", &it.KeyVersion); err != nil {
		return err
	}
	bits := 256
	if err := optInt(body, "bits", &bits); err != nil {
		return err
	}
	p, err := itemParams(it)
	if err != nil {
		return err
	}
	k, err := s.transit.Key(c.Request().Context(), mount, name)
	if errs.KindOf(err) == errs.NotFound {
		return errs.E(errs.InvalidArgument, "encryption key not found")
	}
	if err != nil {
		return err
	}
	pt, ct, ver, err := k.DataKey(bits, p)
	if err != nil {
		return err
	}
	defer clear(pt)
	d := map[string]any{"ciphertext": ct, "key_version": ver}
	if typ == "plaintext" {
		d["plaintext"] = base64.StdEncoding.EncodeToString(pt)
	}
	return ok(c, d)
}

// maxRandomBytes caps the random endpoint, as Vault does (128 KiB).
const maxRandomBytes = 128 * 1024

// isRandomSource reports whether s is an entropy source Coffer serves.
// Vault's "all" mixes the platform's entropy with a seal's (Enterprise
// seals with entropy augmentation); Coffer's seal has none, so "all" is
// the platform's. "seal" (Vault Enterprise only) is refused.
func isRandomSource(s string) bool { return s == "platform" || s == "all" }

// transitRandom is POST random(/:source)(/:bytes): bytes random bytes
// (32 by default, 1 to 128 KiB) from crypto/rand, as base64 (default) or
// hex. One URL segment is the source when it names one, else the byte
// count; URL values win over the body's.
func (s *Server) transitRandom(c echo.Context) error {
	seg1, seg2 := c.Param("a"), c.Param("b")
	p := c.Param("mount") + "/random"
	for _, seg := range []string{seg1, seg2} {
		if seg != "" {
			p += "/" + seg
		}
	}
	if _, err := s.authorizedMount(c, p, token.CapUpdate); err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, "bytes", "format", "source")
	if err != nil {
		return err
	}
	source, _, err := stringParam(body, "source")
	if err != nil {
		return err
	}
	n := 32
	if err := optInt(body, "bytes", &n); err != nil {
		return err
	}
	urlBytes := seg2
	switch {
	case seg2 != "":
		source = seg1
	case seg1 != "" && isRandomSource(seg1):
		source = seg1
	default:
		urlBytes = seg1
	}
	if urlBytes != "" {
		if n, err = strconv.Atoi(urlBytes); err != nil {
			return errs.E(errs.InvalidArgument, "bytes: the URL's byte count is not an integer")
		}
	}
	if source == "" {
		source = "platform"
	}
	if !isRandomSource(source) {
		return errs.E(errs.InvalidArgument, "unsupported entropy source %q; must be \"platform\" or \"all\"", source)
	}
	if n < 1 || n > maxRandomBytes {
		return errs.E(errs.InvalidArgument, "bytes: must be between 1 and %d", maxRandomBytes)
	}
	format, err := outputFormat(body, "base64")
	if err != nil {
		return err
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("read random bytes: %w", err)
	}
	return ok(c, map[string]any{"random_bytes": encodeOutput(format, b)})
}

// transitHash is POST hash(/:algorithm): the digest of input (base64) with
// algorithm (sha2-256 by default; the URL's wins), as hex (default) or
// base64.
func (s *Server) transitHash(c echo.Context) error {
	algo := c.Param("algo")
	p := c.Param("mount") + "/hash"
	if algo != "" {
		p += "/" + algo
	}
	if _, err := s.authorizedMount(c, p, token.CapUpdate); err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, "input", "algorithm", "format")
	if err != nil {
		return err
	}
	if algo == "" {
		if algo, _, err = stringParam(body, "algorithm"); err != nil {
			return err
		}
	}
	input, err := b64Param(body, "input")
	if err != nil {
		return err
	}
	format, err := outputFormat(body, "hex")
	if err != nil {
		return err
	}
	sum, err := transit.Hash(input, algo)
	if err != nil {
		return err
	}
	return ok(c, map[string]any{"sum": encodeOutput(format, sum)})
}

// outputFormat reads the format parameter: "hex" or "base64", dflt when
// absent or empty.
func outputFormat(body map[string]any, dflt string) (string, error) {
	f, _, err := stringParam(body, "format")
	if err != nil {
		return "", err
	}
	if f == "" {
		f = dflt
	}
	if f != "hex" && f != "base64" {
		return "", errs.E(errs.InvalidArgument, "unsupported encoding format %q; must be \"hex\" or \"base64\"", f)
	}
	return f, nil
}

func encodeOutput(format string, b []byte) string {
	if format == "hex" {
		return hex.EncodeToString(b)
	}
	return base64.StdEncoding.EncodeToString(b)
}
