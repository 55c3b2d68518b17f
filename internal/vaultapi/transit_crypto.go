package vaultapi

import (
	"encoding/base64"

	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/token"
	"github.com/cofferhq/coffer/internal/transit"
)

// usingKey authorizes update on <endpoint>/:name and returns the key; a
// missing key is 400 with notFound, as Vault answers.
func (s *Server) usingKey(c echo.Context, endpoint, notFound string) (*transit.Key, error) {
	mount, name, err := s.transitTarget(c, endpoint, token.CapUpdate)
	if err != nil {
		return nil, err
	}
	k, err := s.transit.Key(c.Request().Context(), mount, name)
	if errs.KindOf(err) == errs.NotFound {
		return nil, errs.E(errs.InvalidArgument, "%s", notFound)
	}
	return k, err
}

// --- encrypt, decrypt, rewrap ---

// batchItems reads batch_input; nil when absent.
func batchItems(body map[string]any) ([]transit.BatchItem, bool, error) {
	raw, set := body["batch_input"]
	if !set || raw == nil {
		return nil, false, nil
	}
	arr, isArr := raw.([]any)
	if !isArr {
		return nil, true, errs.E(errs.InvalidArgument, "batch_input: expected an array of objects")
	}
	out := make([]transit.BatchItem, len(arr))
	for i, v := range arr {
		m, isMap := v.(map[string]any)
		if !isMap {
			return nil, true, errs.E(errs.InvalidArgument, "batch_input: expected an array of objects")
		}
		it := &out[i]
		for n, dst := range map[string]*string{"plaintext": &it.Plaintext, "ciphertext": &it.Ciphertext,
			"context": &it.Context, "associated_data": &it.AssociatedData, "reference": &it.Reference} {
			s, _, err := stringParam(m, n)
			if err != nil {
				return nil, true, errs.E(errs.InvalidArgument, "batch_input[%d].%s", i, errs.Message(err))
			}
			*dst = s
		}
		if err := optInt(m, "key_version", &it.KeyVersion); err != nil {
			return nil, true, err
		}
	}
	return out, true, nil
}

// batchResponse writes batch results in the full envelope with Vault's
// status: 400 when an item failed, or partial_failure_response_code.
func batchResponse(c echo.Context, results any, status int) error {
	return c.JSON(status, envelope(c, map[string]any{"batch_results": results}, nil))
}

func partialCode(body map[string]any) (int, error) {
	code := 0
	if err := optInt(body, "partial_failure_response_code", &code); err != nil {
		return 0, err
	}
	if code != 0 && (code < 200 || code > 599) {
		return 0, errs.E(errs.InvalidArgument, "partial_failure_response_code: expected an HTTP status")
	}
	return code, nil
}

var transitDataParams = []string{"plaintext", "ciphertext", "context", "associated_data", "key_version", "reference",
	"batch_input", "partial_failure_response_code", "name"}

func (s *Server) transitEncrypt(c echo.Context) error {
	mount, name, k, err := s.transitUpsertTarget(c, "encrypt")
	if err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, append(transitDataParams, "type", "convergent_encryption")...)
	if err != nil {
		return err
	}
	items, isBatch, err := batchItems(body)
	if err != nil {
		return err
	}
	if !isBatch {
		if _, set := body["plaintext"]; !set {
			return errs.E(errs.InvalidArgument, "missing plaintext to encrypt")
		}
		it := transit.BatchItem{}
		if it.Plaintext, _, err = stringParam(body, "plaintext"); err != nil {
			return err
		}
		if it.Context, _, err = stringParam(body, "context"); err != nil {
			return err
		}
		if it.AssociatedData, _, err = stringParam(body, "associated_data"); err != nil {
			return err
		}
		if err := optInt(body, "key_version", &it.KeyVersion); err != nil {
			return err
		}
		items = []transit.BatchItem{it}
	}
	if k == nil { // upsert, as Vault does for a token that may create the key
		if err := s.checkUpsert(c.Request().Context(), mount); err != nil {
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
		if err := optBool(body, "convergent_encryption", &o.Convergent); err != nil {
			return err
		}
		o.Derived = len(items) > 0 && items[0].Context != ""
		if k, _, err = s.createKey(c.Request().Context(), mount, name, typ, o); err != nil {
			return err
		}
	}
	if !isBatch {
		pt, err := b64Param(body, "plaintext")
		if err != nil {
			return err
		}
		defer clear(pt)
		p, err := itemParams(items[0])
		if err != nil {
			return err
		}
		ct, ver, err := k.Encrypt(pt, p)
		if err != nil {
			return err
		}
		return ok(c, map[string]any{"ciphertext": ct, "key_version": ver})
	}
	return s.runBatch(c, body, items, k.EncryptBatch)
}

func (s *Server) runBatch(c echo.Context, body map[string]any, items []transit.BatchItem,
	run func([]transit.BatchItem) ([]transit.BatchResult, error)) error {
	code, err := partialCode(body)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return errs.E(errs.InvalidArgument, "missing batch input to process")
	}
	res, err := run(items)
	if err != nil {
		return err
	}
	return batchResponse(c, res, transit.BatchStatus(res, code))
}

// itemParams decodes a single request's context and associated data.
func itemParams(it transit.BatchItem) (transit.Params, error) {
	p := transit.Params{KeyVersion: it.KeyVersion}
	var err error
	if p.Context, err = decodeB64(it.Context); err != nil {
		return p, err
	}
	p.AssociatedData, err = decodeB64(it.AssociatedData)
	return p, err
}

func decodeB64(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errs.E(errs.InvalidArgument, "%s", err.Error())
	}
	return b, nil
}

// singleItem reads the top-level fields of a non-batch request.
func singleItem(body map[string]any, required, missing string) (transit.BatchItem, error) {
	var it transit.BatchItem
	v, _, err := stringParam(body, required)
	if err != nil {
		return it, err
	}
	if v == "" {
		return it, errs.E(errs.InvalidArgument, "%s", missing)
	}
	it.Ciphertext = v
	if it.Context, _, err = stringParam(body, "context"); err != nil {
		return it, err
	}
	if it.AssociatedData, _, err = stringParam(body, "associated_data"); err != nil {
		return it, err
	}
	err = optInt(body, "key_version", &it.KeyVersion)
	return it, err
}

func (s *Server) transitDecrypt(c echo.Context) error {
	k, err := s.usingKey(c, "decrypt", "encryption key not found")
	if err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, transitDataParams...)
	if err != nil {
		return err
	}
	items, isBatch, err := batchItems(body)
	if err != nil {
		return err
	}
	if isBatch {
		return s.runBatch(c, body, items, k.DecryptBatch)
	}
	it, err := singleItem(body, "ciphertext", "missing ciphertext to decrypt")
	if err != nil {
		return err
	}
	p, err := itemParams(it)
	if err != nil {
		return err
	}
	pt, err := k.Decrypt(it.Ciphertext, p)
	if err != nil {
		return err
	}
	defer clear(pt)
	return ok(c, map[string]any{"plaintext": base64.StdEncoding.EncodeToString(pt)})
}

func (s *Server) transitRewrap(c echo.Context) error {
	k, err := s.usingKey(c, "rewrap", "encryption key not found")
	if err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, transitDataParams...)
	if err != nil {
		return err
	}
	items, isBatch, err := batchItems(body)
	if err != nil {
		return err
	}
	if isBatch {
		return s.runBatch(c, body, items, k.RewrapBatch)
	}
	it, err := singleItem(body, "ciphertext", "missing ciphertext to rewrap")
	if err != nil {
		return err
	}
	p, err := itemParams(it)
	if err != nil {
		return err
	}
	ct, ver, err := k.Rewrap(it.Ciphertext, p)
	if err != nil {
		return err
	}
	return ok(c, map[string]any{"ciphertext": ct, "key_version": ver})
}

// --- sign, verify, hmac ---
