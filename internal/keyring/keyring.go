// Package keyring implements key versions per algorithm: generate, encrypt,
// decrypt, sign, verify and MAC, on the standard library.
//
// A key version's secret material is a byte string whose shape depends on
// its Algorithm (see Generate). Load turns material into a Key, which does
// the cryptography. Everything here is the standard library's crypto or
// golang.org/x/crypto; this package only chooses parameters, checks inputs
// and maps failures to errs kinds.
package keyring

import "github.com/cofferhq/coffer/internal/errs"

// Algorithm names a key type and the way it is used. The first eleven are
// the STACKIT KMS algorithm names; the rest are Vault transit key types.
type Algorithm string

// The algorithms, in the order Algorithms returns them.
const (
	AES256GCM         Algorithm = "aes_256_gcm"
	RSA2048OAEPSHA256 Algorithm = "rsa_2048_oaep_sha256"
	RSA3072OAEPSHA256 Algorithm = "rsa_3072_oaep_sha256"
	RSA4096OAEPSHA256 Algorithm = "rsa_4096_oaep_sha256"
	RSA4096OAEPSHA512 Algorithm = "rsa_4096_oaep_sha512"
	HMACSHA256        Algorithm = "hmac_sha256"
	HMACSHA384        Algorithm = "hmac_sha384"
	HMACSHA512        Algorithm = "hmac_sha512"
	ECDSAP256SHA256   Algorithm = "ecdsa_p256_sha256"
	ECDSAP384SHA384   Algorithm = "ecdsa_p384_sha384"
	ECDSAP521SHA512   Algorithm = "ecdsa_p521_sha512"
	// Vault transit key types that are not STACKIT algorithms:
	ChaCha20Poly1305 Algorithm = "chacha20-poly1305"
	AES128GCM96      Algorithm = "aes128-gcm96"
	AES256GCM96      Algorithm = "aes256-gcm96"
	Ed25519          Algorithm = "ed25519"
)

// Purpose says which operations a key supports.
type Purpose string

// The purposes, named as the STACKIT KMS API names them.
const (
	SymmetricEncryptDecrypt   Purpose = "symmetric_encrypt_decrypt"
	AsymmetricEncryptDecrypt  Purpose = "asymmetric_encrypt_decrypt"
	MessageAuthenticationCode Purpose = "message_authentication_code"
	AsymmetricSignVerify      Purpose = "asymmetric_sign_verify"
)

// stackitCount is how many of the leading entries of order are STACKIT
// KMS algorithms.
const stackitCount = 11

var order = []Algorithm{
	AES256GCM,
	RSA2048OAEPSHA256, RSA3072OAEPSHA256, RSA4096OAEPSHA256, RSA4096OAEPSHA512,
	HMACSHA256, HMACSHA384, HMACSHA512,
	ECDSAP256SHA256, ECDSAP384SHA384, ECDSAP521SHA512,
	ChaCha20Poly1305, AES128GCM96, AES256GCM96, Ed25519,
}

// spec is what the package knows about one algorithm.
type spec struct {
	purpose  Purpose
	generate func() ([]byte, error)
	load     func(material []byte) (parts, error)
}

var specs = map[Algorithm]spec{
	AES256GCM:         {SymmetricEncryptDecrypt, randomBytes(32), loadAESGCM(32)},
	AES256GCM96:       {SymmetricEncryptDecrypt, randomBytes(32), loadAESGCM(32)},
	AES128GCM96:       {SymmetricEncryptDecrypt, randomBytes(16), loadAESGCM(16)},
	ChaCha20Poly1305:  {SymmetricEncryptDecrypt, randomBytes(32), loadChaCha20Poly1305},
	RSA2048OAEPSHA256: {AsymmetricEncryptDecrypt, generateRSA(2048), loadRSA(2048, oaepSHA256)},
	RSA3072OAEPSHA256: {AsymmetricEncryptDecrypt, generateRSA(3072), loadRSA(3072, oaepSHA256)},
	RSA4096OAEPSHA256: {AsymmetricEncryptDecrypt, generateRSA(4096), loadRSA(4096, oaepSHA256)},
	RSA4096OAEPSHA512: {AsymmetricEncryptDecrypt, generateRSA(4096), loadRSA(4096, oaepSHA512)},
	HMACSHA256:        {MessageAuthenticationCode, randomBytes(32), loadHMAC(hmacSHA256)},
	HMACSHA384:        {MessageAuthenticationCode, randomBytes(48), loadHMAC(hmacSHA384)},
	HMACSHA512:        {MessageAuthenticationCode, randomBytes(64), loadHMAC(hmacSHA512)},
	ECDSAP256SHA256:   {AsymmetricSignVerify, generateECDSA(p256), loadECDSA(p256)},
	ECDSAP384SHA384:   {AsymmetricSignVerify, generateECDSA(p384), loadECDSA(p384)},
	ECDSAP521SHA512:   {AsymmetricSignVerify, generateECDSA(p521), loadECDSA(p521)},
	Ed25519:           {AsymmetricSignVerify, generateEd25519, loadEd25519},
}

// Valid reports whether a is an algorithm this package implements.
func (a Algorithm) Valid() bool {
	_, ok := specs[a]
	return ok
}

// Purpose returns the purpose of a, or "" when a is not valid.
func (a Algorithm) Purpose() Purpose { return specs[a].purpose }

// Algorithms returns every algorithm, in a stable order: the STACKIT KMS
// ones first, then the Vault transit ones. The slice is the caller's.
func Algorithms() []Algorithm { return append([]Algorithm(nil), order...) }

// STACKITAlgorithms returns the algorithms the STACKIT KMS API offers, in
// the same order as Algorithms. The slice is the caller's.
func STACKITAlgorithms() []Algorithm { return append([]Algorithm(nil), order[:stackitCount]...) }

// Generate returns fresh secret material for a, drawn from crypto/rand: the
// raw key for AEAD algorithms (32 bytes, or 16 for aes128-gcm96) and for
// HMAC (the hash's output size: 32, 48 or 64 bytes), and a PKCS#8 DER
// private key for RSA, ECDSA and Ed25519. An unknown a is
// errs.InvalidArgument. The slice is the caller's.
//
// NOTE: RSA-4096 generation takes seconds of CPU.
func Generate(a Algorithm) ([]byte, error) {
	s, ok := specs[a]
	if !ok {
		return nil, unknownAlgorithm(a)
	}
	return s.generate()
}

func unknownAlgorithm(a Algorithm) error {
	return errs.E(errs.InvalidArgument, "unknown key algorithm %q", string(a))
}
