package vaultapi

import (
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/transit"
)

var transitSignParams = []string{"input", "key_version", "hash_algorithm", "algorithm", "context", "prehashed",
	"signature_algorithm", "marshaling_algorithm", "salt_length", "reference", "batch_input", "signature", "hmac",
	"partial_failure_response_code", "name"}

// signOptions reads the sign/verify options; the URL's hash algorithm
// wins over hash_algorithm, as in Vault.
func signOptions(c echo.Context, body map[string]any) (transit.SignOptions, error) {
	var o transit.SignOptions
	var err error
	if err = optInt(body, "key_version", &o.KeyVersion); err != nil {
		return o, err
	}
	if o.HashAlgorithm = c.Param("algo"); o.HashAlgorithm == "" {
		if o.HashAlgorithm, _, err = stringParam(body, "hash_algorithm"); err != nil {
			return o, err
		}
	}
	if err = optBool(body, "prehashed", &o.Prehashed); err != nil {
		return o, err
	}
	if o.SignatureAlgorithm, _, err = stringParam(body, "signature_algorithm"); err != nil {
		return o, err
	}
	if o.MarshalingAlgorithm, _, err = stringParam(body, "marshaling_algorithm"); err != nil {
		return o, err
	}
	salt := ""
	if v, set := body["salt_length"]; set && v != nil {
		switch x := v.(type) {
		case string:
			salt = x
		default:
			n, err := intParam("salt_length", v)
			if err != nil {
				return o, err
			}
			salt = strconv.Itoa(n)
		}
	}
	o.SaltLength, err = transit.ParseSaltLength(salt)
	return o, err
}

// rawItems reads batch_input as objects for sign, verify and hmac.
func rawItems(body map[string]any) ([]map[string]any, bool, error) {
	raw, set := body["batch_input"]
	if !set || raw == nil {
		return nil, false, nil
	}
	arr, isArr := raw.([]any)
	if !isArr || len(arr) == 0 {
		return nil, true, errs.E(errs.InvalidArgument, "missing batch input to process")
	}
	out := make([]map[string]any, len(arr))
	for i, v := range arr {
		m, isMap := v.(map[string]any)
		if !isMap {
			return nil, true, errs.E(errs.InvalidArgument, "batch_input: expected an array of objects")
		}
		out[i] = m
	}
	return out, true, nil
}

// runItems applies op to every item (the whole body when not a batch). A
// single failure is the request's error; batch failures are per item, and
// the status is Vault's (§1.5).
func (s *Server) runItems(c echo.Context, body map[string]any, op func(m map[string]any) (map[string]any, error)) error {
	items, isBatch, err := rawItems(body)
	if err != nil {
		return err
	}
	if !isBatch {
		out, err := op(body)
		if err != nil {
			return err
		}
		return ok(c, out)
	}
	code, err := partialCode(body)
	if err != nil {
		return err
	}
	results := make([]map[string]any, len(items))
	brs := make([]transit.BatchResult, len(items))
	for i, m := range items {
		out, err := op(m)
		if err != nil {
			if errs.KindOf(err) == errs.Internal {
				return err
			}
			out = map[string]any{"error": errs.Message(err)}
			brs[i].Error = errs.Message(err)
		}
		ref, _, _ := stringParam(m, "reference")
		out["reference"] = ref
		results[i] = out
	}
	return batchResponse(c, results, transit.BatchStatus(brs, code))
}

func (s *Server) transitSign(c echo.Context) error {
	k, err := s.usingKey(c, "sign", "signing key not found")
	if err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, transitSignParams...)
	if err != nil {
		return err
	}
	o, err := signOptions(c, body)
	if err != nil {
		return err
	}
	return s.runItems(c, body, func(m map[string]any) (map[string]any, error) {
		in, err := b64Param(m, "input")
		if err != nil {
			return nil, err
		}
		sig, ver, err := k.Sign(in, o)
		if err != nil {
			return nil, err
		}
		return map[string]any{"signature": sig, "key_version": ver}, nil
	})
}

func (s *Server) transitVerify(c echo.Context) error {
	k, err := s.usingKey(c, "verify", "signature verification key not found")
	if err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, transitSignParams...)
	if err != nil {
		return err
	}
	o, err := signOptions(c, body)
	if err != nil {
		return err
	}
	return s.runItems(c, body, func(m map[string]any) (map[string]any, error) {
		in, err := b64Param(m, "input")
		if err != nil {
			return nil, err
		}
		sig, _, err := stringParam(m, "signature")
		if err != nil {
			return nil, err
		}
		mac, _, err := stringParam(m, "hmac")
		if err != nil {
			return nil, err
		}
		var valid bool
		switch {
		case sig != "" && mac != "":
			return nil, errs.E(errs.InvalidArgument, "provide one of 'signature' or 'hmac', not both")
		case sig != "":
			valid, err = k.Verify(in, sig, o)
		case mac != "":
			valid, err = k.VerifyHMAC(in, mac, o.HashAlgorithm)
		default:
			return nil, errs.E(errs.InvalidArgument, "missing signature or hmac to verify")
		}
		if err != nil {
			return nil, err
		}
		return map[string]any{"valid": valid}, nil
	})
}

func (s *Server) transitHMAC(c echo.Context) error {
	k, err := s.usingKey(c, "hmac", "encryption key not found")
	if err != nil {
		return err
	}
	body, err := readBody(c, s.cfg.Limits, transitSignParams...)
	if err != nil {
		return err
	}
	algo := c.Param("algo")
	if algo == "" {
		if algo, _, err = stringParam(body, "algorithm"); err != nil {
			return err
		}
	}
	top := 0
	if err := optInt(body, "key_version", &top); err != nil {
		return err
	}
	return s.runItems(c, body, func(m map[string]any) (map[string]any, error) {
		in, err := b64Param(m, "input")
		if err != nil {
			return nil, err
		}
		ver := top
		if err := optInt(m, "key_version", &ver); err != nil {
			return nil, err
		}
		mac, _, err := k.HMAC(in, algo, ver)
		if err != nil {
			return nil, err
		}
		return map[string]any{"hmac": mac}, nil
	})
}
