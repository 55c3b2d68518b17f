package keyring

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"

	"github.com/cofferhq/coffer/internal/errs"
)

// ed25519Key signs messages with pure Ed25519 (RFC 8032, no prehash).
type ed25519Key struct {
	priv ed25519.PrivateKey
	pub  ed25519.PublicKey
}

func generateEd25519() ([]byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate Ed25519 key: %w", err)
	}
	return marshalPKCS8(priv)
}

func loadEd25519(material []byte) (parts, error) {
	key, err := parsePKCS8(material)
	if err != nil {
		return parts{}, err
	}
	priv, ok := key.(ed25519.PrivateKey)
	if !ok {
		return parts{}, errs.E(errs.InvalidArgument, "key material is not an Ed25519 private key")
	}
	pub := priv.Public().(ed25519.PublicKey) // a copy, not a view of priv
	k := &ed25519Key{priv: priv, pub: pub}
	return parts{sig: k, pub: pub, wipe: func() { clear(priv) }}, nil
}

func (k *ed25519Key) sign(message []byte) ([]byte, error) {
	return ed25519.Sign(k.priv, message), nil
}

func (k *ed25519Key) verify(message, sig []byte) bool {
	return len(sig) == ed25519.SignatureSize && ed25519.Verify(k.pub, message, sig)
}
