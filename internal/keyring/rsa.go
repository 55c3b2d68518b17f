package keyring

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"

	"github.com/cofferhq/coffer/internal/errs"
)

// oaepHash is the hash RSA-OAEP uses, for OAEP itself and for MGF1.
type oaepHash struct {
	new  func() hash.Hash
	size int
}

var (
	oaepSHA256 = oaepHash{sha256.New, sha256.Size}
	oaepSHA512 = oaepHash{sha512.New, sha512.Size}
)

// rsaKey encrypts with RSA-OAEP and an empty label.
type rsaKey struct {
	priv *rsa.PrivateKey
	hash oaepHash
}

func generateRSA(bits int) func() ([]byte, error) {
	return func() ([]byte, error) {
		priv, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			return nil, fmt.Errorf("generate RSA key: %w", err)
		}
		return marshalPKCS8(priv)
	}
}

func loadRSA(bits int, h oaepHash) func([]byte) (parts, error) {
	return func(material []byte) (parts, error) {
		key, err := parsePKCS8(material)
		if err != nil {
			return parts{}, err
		}
		priv, ok := key.(*rsa.PrivateKey)
		if !ok {
			return parts{}, errs.E(errs.InvalidArgument, "key material is not an RSA private key")
		}
		if n := priv.N.BitLen(); n != bits {
			return parts{}, errs.E(errs.InvalidArgument, "RSA key must be %d bits, got %d", bits, n)
		}
		return parts{enc: &rsaKey{priv: priv, hash: h}, pub: &priv.PublicKey}, nil
	}
}

// maxPlaintext is the longest message OAEP can encrypt under this key.
func (k *rsaKey) maxPlaintext() int { return k.priv.Size() - 2*k.hash.size - 2 }

func (k *rsaKey) encrypt(plaintext, aad []byte) ([]byte, error) {
	if len(aad) != 0 {
		return nil, errs.E(errs.InvalidArgument, "aad is not supported by RSA-OAEP")
	}
	if limit := k.maxPlaintext(); len(plaintext) > limit {
		return nil, errs.E(errs.InvalidArgument, "plaintext is too long for this RSA-OAEP key (at most %d bytes)", limit)
	}
	ct, err := rsa.EncryptOAEP(k.hash.new(), rand.Reader, &k.priv.PublicKey, plaintext, nil)
	if err != nil {
		return nil, fmt.Errorf("RSA-OAEP encrypt: %w", err)
	}
	return ct, nil
}

func (k *rsaKey) decrypt(ciphertext, aad []byte) ([]byte, error) {
	if len(aad) != 0 {
		return nil, errDecrypt()
	}
	pt, err := rsa.DecryptOAEP(k.hash.new(), nil, k.priv, ciphertext, nil)
	if err != nil {
		return nil, errDecrypt()
	}
	if pt == nil {
		pt = []byte{} // nil means failure to callers; an empty plaintext is not
	}
	return pt, nil
}
