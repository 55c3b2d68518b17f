package transit

import (
	"crypto"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/x509"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/keyring"
)

// loadedVersion is a version's material parsed for use. Building it once
// per version keeps cipher set-up and key parsing out of every request.
type loadedVersion struct {
	kr     *keyring.Key  // every type but hmac
	aead   cipher.AEAD   // AEAD types that are not derived
	signer crypto.Signer // ECDSA and RSA: *ecdsa.PrivateKey or *rsa.PrivateKey
}

// load returns version ver parsed, from the cache when it is there.
func (k *Key) load(ver int) (*loadedVersion, error) {
	k.mu.RLock()
	lv := k.loaded[ver]
	k.mu.RUnlock()
	if lv != nil {
		return lv, nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if lv := k.loaded[ver]; lv != nil { // another goroutine loaded it meanwhile
		return lv, nil
	}
	v, err := k.version(ver)
	if err != nil {
		return nil, err
	}
	if lv, err = loadMaterial(k.Type, k.Derived, v.Material); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "load key version")
	}
	if k.loaded == nil {
		k.loaded = map[int]*loadedVersion{}
	}
	k.loaded[ver] = lv
	return lv, nil
}

// loadMaterial parses the material of a version of Vault type typ.
func loadMaterial(typ string, derived bool, material []byte) (*loadedVersion, error) {
	kt, err := lookupType(typ)
	if err != nil {
		return nil, err
	}
	if typ == TypeHMAC { // the hmac endpoint uses the raw bytes
		return &loadedVersion{}, nil
	}
	lv := &loadedVersion{}
	if !(kt.aead && derived) { // derived AEAD material is HKDF input, loaded per request
		if lv.kr, err = keyring.Load(kt.alg, material); err != nil {
			return nil, err
		}
	}
	if kt.aead && !derived {
		if lv.aead, err = lv.kr.AEAD(); err != nil {
			return nil, err
		}
	}
	if kt.curve != nil || kt.isRSA() {
		// keyring signs with a fixed hash per algorithm; Vault lets the
		// request choose, so transit signs with the parsed key itself.
		priv, err := x509.ParsePKCS8PrivateKey(material)
		if err != nil {
			return nil, err
		}
		lv.signer = priv.(crypto.Signer)
	}
	return lv, nil
}

// aeadFor returns the AEAD of version ver for context, and for convergent
// keys the key that makes nonces. Derived keys use HKDF-SHA256 with
// ikm = the version's key, salt = nil and info = context (vault-api.md
// §0.2, §1.2); convergent keys derive keyLen+32 bytes, split into the
// encryption key and the nonce key.
func (k *Key) aeadFor(ver int, context []byte) (cipher.AEAD, []byte, error) {
	if !k.Derived {
		lv, err := k.load(ver)
		if err != nil {
			return nil, nil, err
		}
		return lv.aead, nil, nil
	}
	if len(context) == 0 {
		return nil, nil, errMissingContext()
	}
	v, err := k.version(ver)
	if err != nil {
		return nil, nil, err
	}
	kt := keyTypes[k.Type]
	n := kt.keyLen
	if k.Convergent {
		n += sha256.Size
	}
	derived, err := hkdf.Key(sha256.New, v.Material, nil, string(context), n)
	if err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "derive key")
	}
	defer clear(derived[:kt.keyLen])
	kr, err := keyring.Load(kt.alg, derived[:kt.keyLen])
	if err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "load derived key")
	}
	aead, err := kr.AEAD()
	if err != nil {
		return nil, nil, err
	}
	if k.Convergent {
		return aead, derived[kt.keyLen:], nil
	}
	return aead, nil, nil
}

// errMissingContext is Vault's error for a derived key used without a
// context. §1.2 records the text up to the semicolon; the rest is Vault's
// explanation as Coffer recalls it.
func errMissingContext() error {
	return errs.E(errs.InvalidArgument, "missing 'context' for key derivation; the key was created using a "+
		"derived key, which means additional, per-request information must be included in order to "+
		"perform operations with the key")
}
