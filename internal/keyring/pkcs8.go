package keyring

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"

	"github.com/cofferhq/coffer/internal/errs"
)

// parsePKCS8 parses PKCS#8 DER private key material. Trailing bytes after
// the DER structure, which x509 ignores, are refused: stored material has
// one encoding. The parser's error is dropped, not wrapped: only a fixed
// message describes bad key material.
func parsePKCS8(material []byte) (any, error) {
	var outer asn1.RawValue
	rest, err := asn1.Unmarshal(material, &outer)
	if err != nil || len(rest) != 0 {
		return nil, errs.E(errs.InvalidArgument, "key material is not a valid PKCS#8 private key")
	}
	key, err := x509.ParsePKCS8PrivateKey(material)
	if err != nil {
		return nil, errs.E(errs.InvalidArgument, "key material is not a valid PKCS#8 private key")
	}
	return key, nil
}

// marshalPKCS8 returns key as PKCS#8 DER.
func marshalPKCS8(key any) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal PKCS#8 private key: %w", err)
	}
	return der, nil
}
