package transit

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/cofferhq/coffer/internal/errs"
)

// nonceSize is the nonce of every AEAD type: 96 bits (vault-api.md §0.1).
const nonceSize = 12

// maxPlaintext is the longest plaintext AES-GCM takes under one nonce
// (NIST SP 800-38D); checking it turns the primitive's panic into an error.
const maxPlaintext = 1<<36 - 32

// Params are the per-request inputs of encrypt, decrypt, rewrap and
// datakey besides the data itself.
type Params struct {
	// Context is the derivation context: required for derived keys and,
	// as in Vault, ignored for the others.
	Context []byte
	// AssociatedData is authenticated but not encrypted (AEAD types only;
	// any for RSA is errs.InvalidArgument).
	AssociatedData []byte
	// KeyVersion selects the version that encrypts; 0 means the latest.
	// Decrypt ignores it: the ciphertext names its version.
	KeyVersion int
}

// Encrypt encrypts plaintext with version p.KeyVersion and returns Vault's
// ciphertext string and the version used. AEAD types give
// "vault:vN:" + base64(nonce || ciphertext || tag) with a random 12-byte
// nonce, or for convergent keys the nonce HMAC-SHA256(nonce key,
// plaintext)[:12]; RSA types give the OAEP (SHA-256, empty label) block.
//
// A type that cannot encrypt is errs.FailedPrecondition; a bad version,
// a missing context for a derived key, associated data for RSA or an
// over-long plaintext is errs.InvalidArgument.
func (k *Key) Encrypt(plaintext []byte, p Params) (ciphertext string, version int, err error) {
	kt, err := k.typeFor(keyType.canEncrypt, "encryption")
	if err != nil {
		return "", 0, err
	}
	ver, err := k.useVersion(p.KeyVersion, "encryption")
	if err != nil {
		return "", 0, err
	}
	var body []byte
	if kt.aead {
		body, err = k.sealAEAD(ver, plaintext, p)
	} else {
		body, err = k.encryptRSA(ver, plaintext, p)
	}
	if err != nil {
		return "", 0, err
	}
	return frame(ver, body, stdStrict), ver, nil
}

func (k *Key) sealAEAD(ver int, plaintext []byte, p Params) ([]byte, error) {
	if len(plaintext) > maxPlaintext {
		return nil, errs.E(errs.InvalidArgument, "plaintext is too long (at most %d bytes)", maxPlaintext)
	}
	aead, nonceKey, err := k.aeadFor(ver, p.Context)
	if err != nil {
		return nil, err
	}
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+aead.Overhead())
	if nonceKey != nil {
		m := hmac.New(sha256.New, nonceKey)
		m.Write(plaintext)
		copy(out, m.Sum(nil))
	} else if _, err := io.ReadFull(rand.Reader, out); err != nil {
		return nil, fmt.Errorf("read nonce: %w", err)
	}
	return aead.Seal(out, out[:nonceSize], plaintext, p.AssociatedData), nil
}

func (k *Key) encryptRSA(ver int, plaintext []byte, p Params) ([]byte, error) {
	if len(p.AssociatedData) != 0 {
		return nil, errNoAAD(k.Type)
	}
	lv, err := k.load(ver)
	if err != nil {
		return nil, err
	}
	return lv.kr.Encrypt(plaintext, nil)
}

func errNoAAD(typ string) error {
	return errs.E(errs.InvalidArgument, "associated_data is not supported for key type %s", typ)
}

// Decrypt decrypts a Vault ciphertext string. The string is untrusted and
// parsed strictly (see unframe); its version must lie within
// MinDecryptionVersion…LatestVersion, with Vault's messages (§1.2). A
// failed authentication is errs.InvalidArgument with the AEAD's own
// message ("cipher: message authentication failed" for AES-GCM, as Vault
// answers). The returned slice is the caller's and is never nil.
func (k *Key) Decrypt(ciphertext string, p Params) ([]byte, error) {
	kt, err := k.typeFor(keyType.canEncrypt, "decryption")
	if err != nil {
		return nil, err
	}
	ver, body, err := unframe(ciphertext, "ciphertext", stdStrict)
	if err != nil {
		return nil, err
	}
	if err := k.checkReadVersion(ver, "ciphertext"); err != nil {
		return nil, err
	}
	if !kt.aead {
		return k.decryptRSA(ver, body, p)
	}
	aead, _, err := k.aeadFor(ver, p.Context)
	if err != nil {
		return nil, err
	}
	if len(body) < nonceSize+aead.Overhead() {
		return nil, errs.E(errs.InvalidArgument, "invalid ciphertext: too short")
	}
	pt, err := aead.Open(nil, body[:nonceSize], body[nonceSize:], p.AssociatedData)
	if err != nil {
		return nil, errs.E(errs.InvalidArgument, "%s", err.Error())
	}
	if pt == nil {
		pt = []byte{}
	}
	return pt, nil
}

func (k *Key) decryptRSA(ver int, body []byte, p Params) ([]byte, error) {
	if len(p.AssociatedData) != 0 {
		return nil, errNoAAD(k.Type)
	}
	lv, err := k.load(ver)
	if err != nil {
		return nil, err
	}
	return lv.kr.Decrypt(body, nil)
}

// Rewrap decrypts ciphertext and encrypts the plaintext again with version
// p.KeyVersion (0: the latest), without the plaintext leaving the engine.
// Errors are those of Decrypt and Encrypt.
//
// NOTE: Vault's rewrap takes no associated_data (§1.1); p.AssociatedData
// is used for both steps, so the HTTP layer should leave it empty.
func (k *Key) Rewrap(ciphertext string, p Params) (newCiphertext string, version int, err error) {
	pt, err := k.Decrypt(ciphertext, p)
	if err != nil {
		return "", 0, err
	}
	defer clear(pt)
	return k.Encrypt(pt, p)
}

// DataKey returns a fresh random data key of bits bits (128, 256 or 512)
// and its encryption under version p.KeyVersion, Vault's datakey endpoint.
// The "wrapped" variant is the same call with the plaintext dropped. Bad
// bits are errs.InvalidArgument; other errors are Encrypt's.
func (k *Key) DataKey(bits int, p Params) (plaintext []byte, ciphertext string, version int, err error) {
	if bits != 128 && bits != 256 && bits != 512 {
		return nil, "", 0, errs.E(errs.InvalidArgument, "invalid bits value %d: must be 128, 256 or 512", bits)
	}
	if _, err := k.typeFor(keyType.canEncrypt, "encryption"); err != nil {
		return nil, "", 0, err
	}
	dk, err := randomBytes(bits / 8)
	if err != nil {
		return nil, "", 0, err
	}
	ct, ver, err := k.Encrypt(dk, p)
	if err != nil {
		clear(dk)
		return nil, "", 0, err
	}
	return dk, ct, ver, nil
}

// typeFor returns the key's type if it supports an operation (can), else
// errs.FailedPrecondition in Vault's shape "key type X does not support op".
func (k *Key) typeFor(can func(keyType) bool, op string) (keyType, error) {
	kt, err := lookupType(k.Type)
	if err != nil {
		return keyType{}, err
	}
	if !can(kt) {
		return keyType{}, errs.E(errs.FailedPrecondition, "key type %s does not support %s", k.Type, op)
	}
	return kt, nil
}

func (kt keyType) canEncrypt() bool { return kt.encrypt }
func (kt keyType) canSign() bool    { return kt.sign }
