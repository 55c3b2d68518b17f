package transit

import (
	"crypto/elliptic"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/keyring"
)

// The Vault key type names Coffer implements (vault-api.md §1.1).
const (
	TypeAES128GCM96      = "aes128-gcm96"
	TypeAES256GCM96      = "aes256-gcm96"
	TypeChaCha20Poly1305 = "chacha20-poly1305"
	TypeEd25519          = "ed25519"
	TypeECDSAP256        = "ecdsa-p256"
	TypeECDSAP384        = "ecdsa-p384"
	TypeECDSAP521        = "ecdsa-p521"
	TypeRSA2048          = "rsa-2048"
	TypeRSA3072          = "rsa-3072"
	TypeRSA4096          = "rsa-4096"
	TypeHMAC             = "hmac"
)

// DefaultType is the type Vault gives a key created without one.
const DefaultType = TypeAES256GCM96

// keyType is what the package knows about one Vault key type.
type keyType struct {
	alg     keyring.Algorithm // the keyring algorithm holding Version.Material; "" for hmac
	aead    bool              // a 12-byte-nonce AEAD: framing is nonce||ciphertext||tag
	keyLen  int               // AEAD key length, the HKDF output length for derived keys
	encrypt bool
	sign    bool
	curve   elliptic.Curve // ECDSA only
}

var keyTypes = map[string]keyType{
	TypeAES128GCM96:      {alg: keyring.AES128GCM96, aead: true, keyLen: 16, encrypt: true},
	TypeAES256GCM96:      {alg: keyring.AES256GCM96, aead: true, keyLen: 32, encrypt: true},
	TypeChaCha20Poly1305: {alg: keyring.ChaCha20Poly1305, aead: true, keyLen: 32, encrypt: true},
	TypeEd25519:          {alg: keyring.Ed25519, sign: true},
	TypeECDSAP256:        {alg: keyring.ECDSAP256SHA256, sign: true, curve: elliptic.P256()},
	TypeECDSAP384:        {alg: keyring.ECDSAP384SHA384, sign: true, curve: elliptic.P384()},
	TypeECDSAP521:        {alg: keyring.ECDSAP521SHA512, sign: true, curve: elliptic.P521()},
	TypeRSA2048:          {alg: keyring.RSA2048OAEPSHA256, encrypt: true, sign: true},
	TypeRSA3072:          {alg: keyring.RSA3072OAEPSHA256, encrypt: true, sign: true},
	TypeRSA4096:          {alg: keyring.RSA4096OAEPSHA256, encrypt: true, sign: true},
	TypeHMAC:             {},
}

func lookupType(typ string) (keyType, error) {
	kt, ok := keyTypes[typ]
	if !ok {
		return keyType{}, errs.E(errs.InvalidArgument, "unknown key type %s", typ)
	}
	return kt, nil
}

// isRSA reports whether kt is one of the RSA types.
func (kt keyType) isRSA() bool { return kt.encrypt && kt.sign }

// asymmetric reports whether kt has a public key.
func (kt keyType) asymmetric() bool { return kt.sign }

// SupportsEncryption reports whether keys of type typ can encrypt and
// decrypt (the supports_encryption and supports_decryption fields of a key
// read, vault-api.md §1.4).
func SupportsEncryption(typ string) bool { return keyTypes[typ].encrypt }

// SupportsSigning reports whether keys of type typ can sign and verify.
func SupportsSigning(typ string) bool { return keyTypes[typ].sign }

// SupportsDerivation reports whether keys of type typ can be created with
// Derived set. Vault also derives ed25519 keys; Coffer does not yet.
func SupportsDerivation(typ string) bool { return keyTypes[typ].aead }
