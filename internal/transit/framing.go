package transit

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/cofferhq/coffer/internal/errs"
)

// prefix starts every ciphertext, signature and HMAC: Vault's template
// "vault:v{{version}}:" (vault-api.md §1.2).
const prefix = "vault:v"

// maxVersionDigits bounds the version field: more digits than a 32-bit
// version can have is undecodable, never "too new".
const maxVersionDigits = 10

var (
	// stdStrict decodes the standard alphabet with padding and refuses
	// non-zero trailing bits, so each body has one encoding.
	stdStrict = base64.StdEncoding.Strict()
	// rawURLStrict is the same for JWS signatures (base64url, no padding).
	rawURLStrict = base64.RawURLEncoding.Strict()
)

// frame returns "vault:v<version>:" + enc(body).
func frame(version int, body []byte, enc *base64.Encoding) string {
	n := len(prefix) + maxVersionDigits + 1 + enc.EncodedLen(len(body))
	b := make([]byte, 0, n)
	b = append(b, prefix...)
	b = strconv.AppendInt(b, int64(version), 10)
	b = append(b, ':')
	b = enc.AppendEncode(b, body)
	return string(b)
}

// unframe parses s, an untrusted "vault:vN:<base64>" string, strictly: the
// version is decimal digits without sign or leading zeros, "v0" means
// version 1 (§1.2), and the body must be canonical base64 in enc's
// alphabet with nothing else (no white space, CR or LF, which Go's decoder
// would otherwise skip). noun names the value in errors: "ciphertext",
// "signature" or "hmac". Failures are errs.InvalidArgument.
//
// NOTE: Vault parses the version with strconv.Atoi, so it also takes
// "v+1" and "v01"; no Vault output has them, and Coffer refuses them.
func unframe(s, noun string, enc *base64.Encoding) (int, []byte, error) {
	rest, ok := strings.CutPrefix(s, "vault:")
	if !ok {
		return 0, nil, errs.E(errs.InvalidArgument, "invalid %s: no prefix", noun)
	}
	verField, body, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, nil, errs.E(errs.InvalidArgument, "invalid %s: wrong number of fields", noun)
	}
	ver, ok := parseVersion(verField)
	if !ok {
		return 0, nil, errs.E(errs.InvalidArgument, "invalid %s: version number could not be decoded", noun)
	}
	if strings.IndexByte(body, '\n') >= 0 || strings.IndexByte(body, '\r') >= 0 {
		return 0, nil, errs.E(errs.InvalidArgument, "invalid %s: could not decode base64", noun)
	}
	raw, err := enc.DecodeString(body)
	if err != nil {
		return 0, nil, errs.E(errs.InvalidArgument, "invalid %s: could not decode base64", noun)
	}
	return ver, raw, nil
}

// parseVersion parses "v<digits>" strictly, mapping v0 to 1.
func parseVersion(f string) (int, bool) {
	d, ok := strings.CutPrefix(f, "v")
	if !ok || d == "" || len(d) > maxVersionDigits || (len(d) > 1 && d[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(d, 10, 32)
	if err != nil {
		return 0, false
	}
	if n == 0 {
		return 1, true
	}
	return int(n), true
}
