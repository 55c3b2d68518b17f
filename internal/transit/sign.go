package transit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"encoding/asn1"
	"encoding/base64"
	"math/big"

	"github.com/cofferhq/coffer/internal/errs"
)

// The PSS salt lengths of SignOptions.SaltLength besides an exact count;
// the same values as rsa.PSSSaltLengthAuto and rsa.PSSSaltLengthEqualsHash.
const (
	// SaltLengthAuto is Vault's default "auto": the largest salt when
	// signing, any salt when verifying (vault-api.md §1.3).
	SaltLengthAuto = 0
	// SaltLengthHash is Vault's "hash": a salt as long as the digest.
	SaltLengthHash = -1
)

// The marshaling and signature algorithms of §1.3.
const (
	MarshalingASN1 = "asn1"
	MarshalingJWS  = "jws"
	SignaturePSS   = "pss"
	SignaturePKCS1 = "pkcs1v15"
)

// SignOptions are the parameters of Vault's sign and verify endpoints.
// Zero values are Vault's defaults.
type SignOptions struct {
	// KeyVersion signs with that version; 0 means the latest. Verify
	// ignores it: the signature names its version.
	KeyVersion int
	// HashAlgorithm is one of sha1, sha2-224/256/384/512,
	// sha3-224/256/384/512, or none (RSA pkcs1v15 with Prehashed only);
	// "" means sha2-256. Ed25519 ignores it and signs the raw input.
	HashAlgorithm string
	// Prehashed means input is already the digest (ECDSA and RSA).
	Prehashed bool
	// SignatureAlgorithm is pss ("" too) or pkcs1v15; RSA only.
	SignatureAlgorithm string
	// MarshalingAlgorithm is asn1 ("" too) or jws. For jws an ECDSA
	// signature is the fixed-width r||s, and every signature is base64url
	// without padding.
	MarshalingAlgorithm string
	// SaltLength is the PSS salt: SaltLengthAuto, SaltLengthHash or a
	// positive byte count. See ParseSaltLength.
	SaltLength int
}

// Sign signs input with version o.KeyVersion and returns
// "vault:vN:" + base64(signature) and the version used: pure Ed25519 over
// the raw input; ECDSA (ASN.1 DER, or r||s for jws) and RSA (PSS or
// PKCS#1 v1.5) over the digest of o.HashAlgorithm. A type that cannot sign
// is errs.FailedPrecondition ("key type aes256-gcm96 does not support
// signing", §1.3); bad options or versions are errs.InvalidArgument.
func (k *Key) Sign(input []byte, o SignOptions) (signature string, version int, err error) {
	kt, err := k.typeFor(keyType.canSign, "signing")
	if err != nil {
		return "", 0, err
	}
	enc, err := marshaling(o.MarshalingAlgorithm)
	if err != nil {
		return "", 0, err
	}
	ver, err := k.useVersion(o.KeyVersion, "signing")
	if err != nil {
		return "", 0, err
	}
	lv, err := k.load(ver)
	if err != nil {
		return "", 0, err
	}
	var sig []byte
	switch {
	case kt.curve != nil:
		sig, err = signECDSA(lv, input, o)
	case kt.isRSA():
		sig, err = signRSA(lv, input, o)
	default:
		sig, err = signEd25519(lv, input, o)
	}
	if err != nil {
		return "", 0, err
	}
	return frame(ver, sig, enc), ver, nil
}

// Verify reports whether signature, a string Sign made, is valid for
// input under the options it was made with. A malformed or out-of-range
// signature string is an error with Vault's messages (§1.2); a well-formed
// signature that does not verify is (false, nil).
func (k *Key) Verify(input []byte, signature string, o SignOptions) (bool, error) {
	kt, err := k.typeFor(keyType.canSign, "verification")
	if err != nil {
		return false, err
	}
	enc, err := marshaling(o.MarshalingAlgorithm)
	if err != nil {
		return false, err
	}
	ver, sig, err := unframe(signature, "signature", enc)
	if err != nil {
		return false, err
	}
	if err := k.checkReadVersion(ver, "signature"); err != nil {
		return false, err
	}
	lv, err := k.load(ver)
	if err != nil {
		return false, err
	}
	switch {
	case kt.curve != nil:
		return verifyECDSA(lv, input, sig, o)
	case kt.isRSA():
		return verifyRSA(lv, input, sig, o)
	default:
		if o.Prehashed {
			return false, errEd25519Prehashed()
		}
		return lv.kr.Verify(input, sig)
	}
}

// marshaling returns the body encoding of a marshaling algorithm.
func marshaling(name string) (*base64.Encoding, error) {
	switch name {
	case "", MarshalingASN1:
		return stdStrict, nil
	case MarshalingJWS:
		return rawURLStrict, nil
	}
	return nil, errs.E(errs.InvalidArgument, "unsupported marshaling algorithm %s", name)
}

// signEd25519 signs the raw input. NOTE: Ed25519ph (prehashed) is Vault
// Enterprise only (§1.3); Coffer refuses prehashed rather than ignore it.
func signEd25519(lv *loadedVersion, input []byte, o SignOptions) ([]byte, error) {
	if o.Prehashed {
		return nil, errEd25519Prehashed()
	}
	return lv.kr.Sign(input)
}

func errEd25519Prehashed() error {
	return errs.E(errs.InvalidArgument, "prehashed input is not supported for ed25519 keys")
}

func signECDSA(lv *loadedVersion, input []byte, o SignOptions) ([]byte, error) {
	_, digest, err := digestFor(o, input, false)
	if err != nil {
		return nil, err
	}
	priv := lv.signer.(*ecdsa.PrivateKey)
	der, err := ecdsa.SignASN1(rand.Reader, priv, digest)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "ECDSA sign")
	}
	if o.MarshalingAlgorithm != MarshalingJWS {
		return der, nil
	}
	return derToRS(der, curveBytes(priv))
}

func verifyECDSA(lv *loadedVersion, input, sig []byte, o SignOptions) (bool, error) {
	_, digest, err := digestFor(o, input, false)
	if err != nil {
		return false, err
	}
	pub := &lv.signer.(*ecdsa.PrivateKey).PublicKey
	if o.MarshalingAlgorithm != MarshalingJWS {
		return ecdsa.VerifyASN1(pub, digest, sig), nil
	}
	n := curveBytes(lv.signer.(*ecdsa.PrivateKey))
	if len(sig) != 2*n {
		return false, nil
	}
	r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
	return ecdsa.Verify(pub, digest, r, s), nil
}

// curveBytes is the width of r and s in a JWS signature: 32, 48 or 66.
func curveBytes(priv *ecdsa.PrivateKey) int { return (priv.Curve.Params().BitSize + 7) / 8 }

// derToRS turns an ASN.1 ECDSA signature into JWS's fixed-width r||s.
func derToRS(der []byte, n int) ([]byte, error) {
	var sig struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &sig); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "parse ECDSA signature")
	}
	out := make([]byte, 2*n)
	sig.R.FillBytes(out[:n])
	sig.S.FillBytes(out[n:])
	return out, nil
}

func signRSA(lv *loadedVersion, input []byte, o SignOptions) ([]byte, error) {
	pss, err := rsaPSS(o)
	if err != nil {
		return nil, err
	}
	h, digest, err := digestFor(o, input, !pss)
	if err != nil {
		return nil, err
	}
	priv := lv.signer.(*rsa.PrivateKey)
	var sig []byte
	if pss {
		sig, err = rsa.SignPSS(rand.Reader, priv, h, digest, &rsa.PSSOptions{SaltLength: o.SaltLength, Hash: h})
	} else {
		sig, err = rsa.SignPKCS1v15(nil, priv, h, digest)
	}
	if err != nil {
		return nil, errs.E(errs.InvalidArgument, "RSA signing failed: %s", err.Error())
	}
	return sig, nil
}

func verifyRSA(lv *loadedVersion, input, sig []byte, o SignOptions) (bool, error) {
	pss, err := rsaPSS(o)
	if err != nil {
		return false, err
	}
	h, digest, err := digestFor(o, input, !pss)
	if err != nil {
		return false, err
	}
	pub := &lv.signer.(*rsa.PrivateKey).PublicKey
	if pss {
		err = rsa.VerifyPSS(pub, h, digest, sig, &rsa.PSSOptions{SaltLength: o.SaltLength, Hash: h})
	} else {
		err = rsa.VerifyPKCS1v15(pub, h, digest, sig)
	}
	return err == nil, nil
}

// rsaPSS reports whether o asks for PSS, checking the salt length.
func rsaPSS(o SignOptions) (bool, error) {
	if o.SaltLength < SaltLengthHash {
		return false, errs.E(errs.InvalidArgument, "invalid salt_length %d", o.SaltLength)
	}
	switch o.SignatureAlgorithm {
	case "", SignaturePSS:
		return true, nil
	case SignaturePKCS1:
		return false, nil
	}
	return false, errs.E(errs.InvalidArgument, "unsupported signature algorithm %s", o.SignatureAlgorithm)
}

// digestFor returns the hash named by o and the digest to sign: input
// itself when o.Prehashed (which must then be the hash's size), else its
// hash. "none" (crypto.Hash(0), input as is) needs allowNone and
// Prehashed (§1.3).
func digestFor(o SignOptions, input []byte, allowNone bool) (crypto.Hash, []byte, error) {
	name := o.HashAlgorithm
	if name == "" {
		name = "sha2-256"
	}
	if name == "none" {
		if !allowNone || !o.Prehashed {
			return 0, nil, errs.E(errs.InvalidArgument,
				"hash_algorithm none requires prehashed input and signature_algorithm pkcs1v15")
		}
		return 0, input, nil
	}
	h, ok := signHashes[name]
	if !ok {
		return 0, nil, errs.E(errs.InvalidArgument, "unsupported hash algorithm %s", name)
	}
	if o.Prehashed {
		if len(input) != h.Size() {
			return 0, nil, errs.E(errs.InvalidArgument, "prehashed input must be %d bytes for %s", h.Size(), name)
		}
		return h, input, nil
	}
	d := h.New()
	d.Write(input)
	return h, d.Sum(nil), nil
}
