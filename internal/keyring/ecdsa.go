package keyring

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"

	"github.com/cofferhq/coffer/internal/errs"
)

// ecdsaParams pairs a curve with the hash its algorithm signs with.
type ecdsaParams struct {
	curve elliptic.Curve
	hash  func() hash.Hash
}

var (
	p256 = ecdsaParams{elliptic.P256(), sha256.New}
	p384 = ecdsaParams{elliptic.P384(), sha512.New384}
	p521 = ecdsaParams{elliptic.P521(), sha512.New}
)

// ecdsaKey signs the hash of a message with ECDSA, ASN.1 DER encoded.
type ecdsaKey struct {
	priv *ecdsa.PrivateKey
	hash func() hash.Hash
}

func generateECDSA(p ecdsaParams) func() ([]byte, error) {
	return func() ([]byte, error) {
		priv, err := ecdsa.GenerateKey(p.curve, rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate ECDSA key: %w", err)
		}
		return marshalPKCS8(priv)
	}
}

func loadECDSA(p ecdsaParams) func([]byte) (parts, error) {
	return func(material []byte) (parts, error) {
		key, err := parsePKCS8(material)
		if err != nil {
			return parts{}, err
		}
		priv, ok := key.(*ecdsa.PrivateKey)
		if !ok {
			return parts{}, errs.E(errs.InvalidArgument, "key material is not an ECDSA private key")
		}
		if priv.Curve != p.curve {
			return parts{}, errs.E(errs.InvalidArgument, "ECDSA key must be on curve %s, got %s",
				p.curve.Params().Name, priv.Curve.Params().Name)
		}
		k := &ecdsaKey{priv: priv, hash: p.hash}
		return parts{sig: k, pub: &priv.PublicKey}, nil
	}
}

func (k *ecdsaKey) digest(message []byte) []byte {
	h := k.hash()
	h.Write(message)
	return h.Sum(nil)
}

func (k *ecdsaKey) sign(message []byte) ([]byte, error) {
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, k.digest(message))
	if err != nil {
		return nil, fmt.Errorf("ECDSA sign: %w", err)
	}
	return sig, nil
}

func (k *ecdsaKey) verify(message, sig []byte) bool {
	return ecdsa.VerifyASN1(&k.priv.PublicKey, k.digest(message), sig)
}
