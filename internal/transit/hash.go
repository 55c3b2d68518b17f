package transit

import (
	"crypto"
	"crypto/hmac"
	_ "crypto/sha1" // registers crypto.SHA1
	_ "crypto/sha256"
	_ "crypto/sha3" // registers crypto.SHA3_*
	_ "crypto/sha512"
	"strconv"

	"github.com/cofferhq/coffer/internal/errs"
)

// macHashes are the algorithms of the hash and hmac endpoints (§1.3).
var macHashes = map[string]crypto.Hash{
	"sha2-224": crypto.SHA224,
	"sha2-256": crypto.SHA256,
	"sha2-384": crypto.SHA384,
	"sha2-512": crypto.SHA512,
	"sha3-224": crypto.SHA3_224,
	"sha3-256": crypto.SHA3_256,
	"sha3-384": crypto.SHA3_384,
	"sha3-512": crypto.SHA3_512,
}

// signHashes are macHashes plus sha1, which sign and verify also take.
var signHashes = func() map[string]crypto.Hash {
	m := map[string]crypto.Hash{"sha1": crypto.SHA1}
	for n, h := range macHashes {
		m[n] = h
	}
	return m
}()

func macHash(name string) (crypto.Hash, error) {
	if name == "" {
		name = "sha2-256"
	}
	h, ok := macHashes[name]
	if !ok {
		return 0, errs.E(errs.InvalidArgument, "unsupported algorithm %s", name)
	}
	return h, nil
}

// Hash returns the digest of input under algorithm (sha2-* or sha3-*, ""
// meaning sha2-256), Vault's hash endpoint; hex or base64 output is the
// caller's. An unknown algorithm is errs.InvalidArgument.
func Hash(input []byte, algorithm string) ([]byte, error) {
	h, err := macHash(algorithm)
	if err != nil {
		return nil, err
	}
	d := h.New()
	d.Write(input)
	return d.Sum(nil), nil
}

// HMAC returns "vault:vN:" + base64(HMAC-algorithm(key, input)) and the
// version N used (keyVersion, 0 for the latest), where key is the version's
// HMACKey, or its Material for type hmac (§1.3). Every key type has one.
func (k *Key) HMAC(input []byte, algorithm string, keyVersion int) (mac string, version int, err error) {
	h, err := macHash(algorithm)
	if err != nil {
		return "", 0, err
	}
	ver, err := k.useVersion(keyVersion, "hmac")
	if err != nil {
		return "", 0, err
	}
	sum, err := k.mac(h, ver, input)
	if err != nil {
		return "", 0, err
	}
	return frame(ver, sum, stdStrict), ver, nil
}

// VerifyHMAC reports whether mac, a string HMAC made, is the HMAC of input
// under algorithm, comparing in constant time. A malformed or out-of-range
// mac string is an error; a wrong MAC is (false, nil).
func (k *Key) VerifyHMAC(input []byte, mac, algorithm string) (bool, error) {
	h, err := macHash(algorithm)
	if err != nil {
		return false, err
	}
	ver, got, err := unframe(mac, "hmac", stdStrict)
	if err != nil {
		return false, err
	}
	if err := k.checkReadVersion(ver, "hmac"); err != nil {
		return false, err
	}
	want, err := k.mac(h, ver, input)
	if err != nil {
		return false, err
	}
	return hmac.Equal(want, got), nil
}

func (k *Key) mac(h crypto.Hash, ver int, input []byte) ([]byte, error) {
	v, err := k.version(ver)
	if err != nil {
		return nil, err
	}
	m := hmac.New(h.New, v.hmacKey(k.Type))
	m.Write(input)
	return m.Sum(nil), nil
}

// hmacKey returns the key of the hmac endpoint for a version of type typ.
func (v Version) hmacKey(typ string) []byte {
	if typ == TypeHMAC {
		return v.Material
	}
	return v.HMACKey
}

// ParseSaltLength parses Vault's salt_length parameter: "auto" (or ""),
// "hash", or a positive decimal byte count. Anything else is
// errs.InvalidArgument.
func ParseSaltLength(s string) (int, error) {
	switch s {
	case "", "auto":
		return SaltLengthAuto, nil
	case "hash":
		return SaltLengthHash, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, errs.E(errs.InvalidArgument, "invalid salt_length %q", s)
	}
	return n, nil
}
