package transit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strconv"

	"github.com/cofferhq/coffer/internal/errs"
)

// The export key types of Vault's GET export/:key_type/:name (§1.1).
const (
	ExportEncryptionKey = "encryption-key"
	ExportSigningKey    = "signing-key"
	ExportHMACKey       = "hmac-key"
	ExportPublicKey     = "public-key"
)

// Export returns the keys map of Vault's export response, version number
// (decimal) to key: for version (0 meaning every version from
// MinDecryptionVersion to LatestVersion). Private material (every export
// type but public-key) needs Exportable, else errs.FailedPrecondition
// "private key material is not exportable" (§1.1).
//
// Formats (§1.1 says only "base64 or PEM"; §1.4 that ed25519 public keys
// are raw base64; the rest is Coffer's reading of Vault's behaviour):
// symmetric and HMAC keys are base64 of the raw key; RSA private keys are
// PKCS#1 "RSA PRIVATE KEY" PEM; ECDSA private keys SEC 1 "EC PRIVATE KEY"
// PEM; Ed25519 private keys base64 of the 64-byte seed||public key; RSA and
// ECDSA public keys PKIX "PUBLIC KEY" PEM. The map and strings are the
// caller's.
func (k *Key) Export(exportType string, version int) (map[string]string, error) {
	kt, err := lookupType(k.Type)
	if err != nil {
		return nil, err
	}
	if err := k.checkExport(kt, exportType); err != nil {
		return nil, err
	}
	from, to := max(k.MinDecryptionVersion, k.MinAvailableVersion, 1), k.LatestVersion
	if version != 0 {
		if version < from || version > to {
			return nil, errs.E(errs.InvalidArgument, "invalid key version %d", version)
		}
		from, to = version, version
	}
	out := make(map[string]string, to-from+1)
	for n := from; n <= to; n++ {
		s, err := k.exportVersion(kt, exportType, n)
		if err != nil {
			return nil, err
		}
		out[strconv.Itoa(n)] = s
	}
	return out, nil
}

// checkExport checks that keys of type kt have exportType and may export it.
func (k *Key) checkExport(kt keyType, exportType string) error {
	var ok bool
	switch exportType {
	case ExportEncryptionKey:
		ok = kt.encrypt
	case ExportSigningKey, ExportPublicKey:
		ok = kt.sign
	case ExportHMACKey:
		ok = true
	default:
		return errs.E(errs.InvalidArgument, "invalid export type %s", exportType)
	}
	if !ok {
		return errs.E(errs.InvalidArgument, "%s is not supported for key type %s", exportType, k.Type)
	}
	if exportType != ExportPublicKey && !k.Exportable {
		return errs.E(errs.FailedPrecondition, "private key material is not exportable")
	}
	return nil
}

func (k *Key) exportVersion(kt keyType, exportType string, n int) (string, error) {
	v, err := k.version(n)
	if err != nil {
		return "", err
	}
	if exportType == ExportHMACKey {
		return base64.StdEncoding.EncodeToString(v.hmacKey(k.Type)), nil
	}
	if kt.aead {
		return base64.StdEncoding.EncodeToString(v.Material), nil
	}
	priv, err := x509.ParsePKCS8PrivateKey(v.Material)
	if err != nil {
		return "", errs.Wrap(errs.Internal, err, "parse key material")
	}
	if exportType == ExportPublicKey {
		return exportPublic(priv)
	}
	return exportPrivate(priv)
}

func exportPrivate(priv any) (string, error) {
	switch p := priv.(type) {
	case *rsa.PrivateKey:
		return pemString("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(p)), nil
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(p)
		if err != nil {
			return "", errs.Wrap(errs.Internal, err, "marshal EC private key")
		}
		return pemString("EC PRIVATE KEY", der), nil
	case ed25519.PrivateKey:
		return base64.StdEncoding.EncodeToString(p), nil
	}
	return "", errs.E(errs.Internal, "unexpected private key type %T", priv)
}

func exportPublic(priv any) (string, error) {
	if p, ok := priv.(ed25519.PrivateKey); ok {
		return base64.StdEncoding.EncodeToString(p.Public().(ed25519.PublicKey)), nil
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return "", errs.E(errs.Internal, "unexpected private key type %T", priv)
	}
	der, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return "", errs.Wrap(errs.Internal, err, "marshal public key")
	}
	return pemString("PUBLIC KEY", der), nil
}

func pemString(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}
