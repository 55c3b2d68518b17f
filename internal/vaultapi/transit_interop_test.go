package vaultapi_test

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"hash"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// The interoperability vectors of vault-api.md §0–§1.3, through HTTP: for
// every key type a key is created and exported over the Vault API, then
// (a) what Coffer's endpoints make is opened or verified with the Go
// standard library (and x/crypto's ChaCha20-Poly1305) using the exported
// key, and (b) what the standard library makes with the exported key,
// framed as "vault:vN:" + base64, is opened or verified by Coffer's
// endpoints. Nothing here calls package transit.

var interopTypes = []string{"aes128-gcm96", "aes256-gcm96", "chacha20-poly1305", "ed25519", "ecdsa-p256",
	"ecdsa-p384", "ecdsa-p521", "rsa-2048", "rsa-3072", "rsa-4096", "hmac"}

func TestTransitInteropHTTP(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		x := newTransit(t, s)
		for _, typ := range interopTypes {
			t.Run(typ, func(t *testing.T) { interopType(t, x, typ) })
		}
		t.Run("derived", func(t *testing.T) { interopDerived(t, x, "aes256-gcm96", false) })
		t.Run("derived-chacha20", func(t *testing.T) { interopDerived(t, x, "chacha20-poly1305", false) })
		t.Run("convergent", func(t *testing.T) { interopDerived(t, x, "aes128-gcm96", true) })
		t.Run("convergent-aes256", func(t *testing.T) { interopDerived(t, x, "aes256-gcm96", true) })
	})
}

// vaultBody takes "vault:v<N>:<body>" apart with plain string functions.
func vaultBody(tb testing.TB, s string, enc *base64.Encoding) (int, []byte) {
	tb.Helper()
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 || parts[0] != "vault" || !strings.HasPrefix(parts[1], "v") {
		tb.Fatalf("%q is not vault:vN:<body>", s)
	}
	ver, err := strconv.Atoi(parts[1][1:])
	if err != nil {
		tb.Fatalf("%q: bad version", s)
	}
	body, err := enc.DecodeString(parts[2])
	if err != nil {
		tb.Fatalf("%q: bad base64: %v", s, err)
	}
	return ver, body
}

func vaultString(ver int, body []byte, enc *base64.Encoding) string {
	return "vault:v" + strconv.Itoa(ver) + ":" + enc.EncodeToString(body)
}

// exportKeys exports every version of key name as exportType over HTTP.
func exportKeys(tb testing.TB, x transitClient, exportType, name string) map[string]string {
	tb.Helper()
	sec := x.read("export/" + exportType + "/" + name)
	raw, ok := sec.Data["keys"].(map[string]any)
	if !ok || sec.Data["name"] != name {
		tb.Fatalf("export %s/%s = %v", exportType, name, sec.Data)
	}
	out := map[string]string{}
	for v, k := range raw {
		out[v], _ = k.(string)
	}
	return out
}

func pemBlock(tb testing.TB, s, typ string) []byte {
	tb.Helper()
	b, rest := pem.Decode([]byte(s))
	if b == nil || b.Type != typ || len(bytes.TrimSpace(rest)) != 0 {
		tb.Fatalf("%q is not one %s PEM block", s, typ)
	}
	return b.Bytes
}

func stdAEAD(tb testing.TB, typ string, key []byte) cipher.AEAD {
	tb.Helper()
	var (
		a   cipher.AEAD
		err error
	)
	switch typ {
	case "chacha20-poly1305":
		a, err = chacha20poly1305.New(key)
	default:
		var block cipher.Block
		if block, err = aes.NewCipher(key); err == nil {
			a, err = cipher.NewGCM(block)
		}
	}
	if err != nil {
		tb.Fatalf("%s AEAD: %v", typ, err)
	}
	return a
}

// decryptHTTP decrypts ct over HTTP and returns the plaintext.
func decryptHTTP(tb testing.TB, x transitClient, name, ct string, extra map[string]any) []byte {
	tb.Helper()
	body := map[string]any{"ciphertext": ct}
	for k, v := range extra {
		body[k] = v
	}
	return unb64(tb, x.write("decrypt/"+name, body)["plaintext"])
}

// verifyHTTP posts to verify/<path> and returns "valid".
func verifyHTTP(tb testing.TB, x transitClient, path string, body map[string]any) bool {
	tb.Helper()
	v, ok := x.write("verify/"+path, body)["valid"].(bool)
	if !ok {
		tb.Fatalf("verify/%s answered no boolean", path)
	}
	return v
}

func interopType(t *testing.T, x transitClient, typ string) {
	name := "k-" + typ
	create := map[string]any{"type": typ, "exportable": true}
	if typ == "hmac" {
		create["key_size"] = 64
	}
	x.write("keys/"+name, create)
	input := []byte("interoperability input for " + typ)
	interopHMAC(t, x, typ, name, input)
	switch {
	case strings.HasPrefix(typ, "aes") || typ == "chacha20-poly1305":
		interopAEAD(t, x, typ, name)
	case strings.HasPrefix(typ, "rsa-"):
		interopRSA(t, x, typ, name, input)
	case strings.HasPrefix(typ, "ecdsa-"):
		interopECDSA(t, x, typ, name, input)
	case typ == "ed25519":
		interopEd25519(t, x, name, input)
	}
}

// interopHMAC: every type has an HMAC key (the material itself for type
// hmac, §1.3), exported as hmac-key.
func interopHMAC(t *testing.T, x transitClient, typ, name string, input []byte) {
	keys := exportKeys(t, x, "hmac-key", name)
	key := unb64(t, keys["1"])
	wantLen := 32
	if typ == "hmac" {
		wantLen = 64
	}
	if len(keys) != 1 || len(key) != wantLen {
		t.Fatalf("hmac-key export = %d keys, %d bytes; want 1, %d", len(keys), len(key), wantLen)
	}
	for _, h := range []struct {
		algo string
		new  func() hash.Hash
	}{{"sha2-256", sha256.New}, {"sha2-512", sha512.New}} {
		m := hmac.New(h.new, key)
		m.Write(input)
		want := m.Sum(nil)
		// (a) Coffer's HMAC is the standard library's.
		got := x.write("hmac/"+name+"/"+h.algo, map[string]any{"input": b64(string(input))})["hmac"].(string)
		if ver, body := vaultBody(t, got, base64.StdEncoding); ver != 1 || !hmac.Equal(body, want) {
			t.Errorf("hmac %s = %q, want vault:v1: + HMAC-%s(exported key)", h.algo, got, h.algo)
		}
		// (b) The standard library's HMAC verifies over HTTP; another does not.
		mac := vaultString(1, want, base64.StdEncoding)
		if !verifyHTTP(t, x, name+"/"+h.algo, map[string]any{"input": b64(string(input)), "hmac": mac}) {
			t.Errorf("verify of a standard-library HMAC-%s = false", h.algo)
		}
		if verifyHTTP(t, x, name+"/"+h.algo, map[string]any{"input": b64("other"), "hmac": mac}) {
			t.Errorf("verify of HMAC-%s over other input = true", h.algo)
		}
	}
}

func interopAEAD(t *testing.T, x transitClient, typ, name string) {
	x.write("keys/"+name+"/rotate", nil) // version 2 encrypts; both stay usable
	keys := exportKeys(t, x, "encryption-key", name)
	wantLen := map[string]int{"aes128-gcm96": 16, "aes256-gcm96": 32, "chacha20-poly1305": 32}[typ]
	if len(keys) != 2 || len(unb64(t, keys["1"])) != wantLen || len(unb64(t, keys["2"])) != wantLen {
		t.Fatalf("encryption-key export = %v", keys)
	}
	plain, ad := []byte("eleven byte"), []byte("associated")
	// (a) Coffer's ciphertext opens with the standard library: nonce(12) || ct || tag.
	ct := x.write("encrypt/"+name, map[string]any{"plaintext": b64(string(plain)), "associated_data": b64(string(ad))})["ciphertext"].(string)
	ver, body := vaultBody(t, ct, base64.StdEncoding)
	if ver != 2 || len(body) != 12+len(plain)+16 {
		t.Fatalf("ciphertext %q: version %d, %d bytes; want 2, %d", ct, ver, len(body), 12+len(plain)+16)
	}
	a := stdAEAD(t, typ, unb64(t, keys["2"]))
	got, err := a.Open(nil, body[:12], body[12:], ad)
	if err != nil || !bytes.Equal(got, plain) {
		t.Errorf("standard library Open of Coffer's ciphertext = %q, %v", got, err)
	}
	// (b) The standard library's ciphertexts, under either version, decrypt over HTTP.
	for _, v := range []int{1, 2} {
		a := stdAEAD(t, typ, unb64(t, keys[strconv.Itoa(v)]))
		nonce := make([]byte, 12)
		rand.Read(nonce)
		mine := vaultString(v, a.Seal(nonce, nonce, plain, ad), base64.StdEncoding)
		if got := decryptHTTP(t, x, name, mine, map[string]any{"associated_data": b64(string(ad))}); !bytes.Equal(got, plain) {
			t.Errorf("decrypt of a standard-library v%d ciphertext = %q", v, got)
		}
	}
	// The data key endpoint: its wrapped key unwraps offline.
	interopDataKey(t, x, name, func(ct string) []byte {
		ver, body := vaultBody(t, ct, base64.StdEncoding)
		pt, err := stdAEAD(t, typ, unb64(t, keys[strconv.Itoa(ver)])).Open(nil, body[:12], body[12:], nil)
		if err != nil {
			t.Fatalf("unwrap data key offline: %v", err)
		}
		return pt
	})
}

// interopDataKey checks datakey/plaintext and datakey/wrapped against an
// offline unwrap.
func interopDataKey(t *testing.T, x transitClient, name string, unwrap func(ct string) []byte) {
	d := x.write("datakey/plaintext/"+name, map[string]any{"bits": 512})
	if got, want := unwrap(d["ciphertext"].(string)), unb64(t, d["plaintext"]); len(want) != 64 || !bytes.Equal(got, want) {
		t.Errorf("datakey/plaintext: offline unwrap gives %d bytes, plaintext %d bytes; want the same 64", len(got), len(want))
	}
	w := x.write("datakey/wrapped/"+name, nil)["ciphertext"].(string)
	if got := unwrap(w); len(got) != 32 || !bytes.Equal(got, decryptHTTP(t, x, name, w, nil)) {
		t.Errorf("datakey/wrapped: offline unwrap gives %d bytes, not the 32 that decrypt gives", len(got))
	}
}

// interopDerived: HKDF-SHA256(ikm = exported key, salt = nil, info =
// context); convergent keys derive keyLen+32 bytes and take the nonce from
// HMAC-SHA256(second part, plaintext) (§0.2, §1.2).
func interopDerived(t *testing.T, x transitClient, typ string, convergent bool) {
	name := "derived-" + typ + "-" + strconv.FormatBool(convergent)
	x.write("keys/"+name, map[string]any{"type": typ, "derived": true, "convergent_encryption": convergent, "exportable": true})
	ikm := unb64(t, exportKeys(t, x, "encryption-key", name)["1"])
	keyLen := len(ikm)
	context, plain := []byte("tenant-42"), []byte("derived plaintext")
	n := keyLen
	if convergent {
		n += 32
	}
	derived, err := hkdf.Key(sha256.New, ikm, nil, string(context), n)
	if err != nil {
		t.Fatal(err)
	}
	a := stdAEAD(t, typ, derived[:keyLen])
	req := map[string]any{"plaintext": b64(string(plain)), "context": b64(string(context))}
	ct := x.write("encrypt/"+name, req)["ciphertext"].(string)
	// (a) Coffer's ciphertext opens under the offline-derived key.
	_, body := vaultBody(t, ct, base64.StdEncoding)
	if got, err := a.Open(nil, body[:12], body[12:], nil); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("Open under the HKDF-derived key = %q, %v", got, err)
	}
	nonce := make([]byte, 12)
	if convergent {
		m := hmac.New(sha256.New, derived[keyLen:])
		m.Write(plain)
		copy(nonce, m.Sum(nil))
		want := vaultString(1, a.Seal(bytes.Clone(nonce), nonce, plain, nil), base64.StdEncoding)
		if ct != want {
			t.Errorf("convergent ciphertext = %q, want the offline computation %q", ct, want)
		}
		if again := x.write("encrypt/"+name, req)["ciphertext"]; again != ct {
			t.Errorf("convergent encryption is not deterministic: %q, %q", ct, again)
		}
	} else {
		rand.Read(nonce)
	}
	// (b) An offline ciphertext under the derived key decrypts with the context.
	mine := vaultString(1, a.Seal(bytes.Clone(nonce), nonce, plain, nil), base64.StdEncoding)
	if got := decryptHTTP(t, x, name, mine, map[string]any{"context": b64(string(context))}); !bytes.Equal(got, plain) {
		t.Errorf("decrypt of an offline derived ciphertext = %q", got)
	}
	authFailed := "cipher: message authentication failed" // Go's AEAD errors, as Vault answers them
	if typ == "chacha20-poly1305" {
		authFailed = "chacha20poly1305: message authentication failed"
	}
	x.writeFails("decrypt/"+name, map[string]any{"ciphertext": mine, "context": b64("other")}, 400, authFailed)
}

func interopRSA(t *testing.T, x transitClient, typ, name string, input []byte) {
	enc := exportKeys(t, x, "encryption-key", name)["1"]
	sig := exportKeys(t, x, "signing-key", name)["1"]
	if enc != sig {
		t.Errorf("encryption-key and signing-key exports of an RSA key differ")
	}
	priv, err := x509.ParsePKCS1PrivateKey(pemBlock(t, enc, "RSA PRIVATE KEY"))
	if err != nil {
		t.Fatal(err)
	}
	bits, _ := strconv.Atoi(strings.TrimPrefix(typ, "rsa-"))
	if priv.N.BitLen() != bits {
		t.Fatalf("exported %s key has %d bits", typ, priv.N.BitLen())
	}
	checkPublicKey(t, x, name, &priv.PublicKey)
	plain := []byte("rsa plaintext")

	// Encryption: RSA-OAEP with SHA-256 and no label, both ways.
	ct := x.write("encrypt/"+name, map[string]any{"plaintext": b64(string(plain))})["ciphertext"].(string)
	_, body := vaultBody(t, ct, base64.StdEncoding)
	if got, err := rsa.DecryptOAEP(sha256.New(), nil, priv, body, nil); err != nil || !bytes.Equal(got, plain) || len(body) != bits/8 {
		t.Errorf("DecryptOAEP of Coffer's ciphertext = %q, %v (%d bytes)", got, err, len(body))
	}
	mine, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, &priv.PublicKey, plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := decryptHTTP(t, x, name, vaultString(1, mine, base64.StdEncoding), nil); !bytes.Equal(got, plain) {
		t.Errorf("decrypt of a standard-library OAEP ciphertext = %q", got)
	}
	interopDataKey(t, x, name, func(ct string) []byte {
		_, body := vaultBody(t, ct, base64.StdEncoding)
		pt, err := rsa.DecryptOAEP(sha256.New(), nil, priv, body, nil)
		if err != nil {
			t.Fatalf("unwrap data key offline: %v", err)
		}
		return pt
	})

	// Signatures: PSS (salt auto = maximum, and hash) and PKCS#1 v1.5.
	d256 := sha256.Sum256(input)
	d512 := sha512.Sum512(input)
	in := b64(string(input))
	for _, c := range []struct {
		path   string
		params map[string]any
		verify func(sig []byte) error
	}{
		{name, nil, func(sig []byte) error {
			return rsa.VerifyPSS(&priv.PublicKey, crypto.SHA256, d256[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
		}},
		{name + "/sha2-512", map[string]any{"salt_length": "hash"}, func(sig []byte) error {
			return rsa.VerifyPSS(&priv.PublicKey, crypto.SHA512, d512[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}},
		{name, map[string]any{"signature_algorithm": "pkcs1v15"}, func(sig []byte) error {
			return rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA256, d256[:], sig)
		}},
		{name + "/sha2-512", map[string]any{"signature_algorithm": "pkcs1v15"}, func(sig []byte) error {
			return rsa.VerifyPKCS1v15(&priv.PublicKey, crypto.SHA512, d512[:], sig)
		}},
	} {
		body := map[string]any{"input": in}
		for k, v := range c.params {
			body[k] = v
		}
		s := x.write("sign/"+c.path, body)["signature"].(string)
		if _, sig := vaultBody(t, s, base64.StdEncoding); c.verify(sig) != nil {
			t.Errorf("sign/%s %v: the standard library rejects the signature: %v", c.path, c.params, c.verify(sig))
		}
	}
	pss, err := rsa.SignPSS(rand.Reader, priv, crypto.SHA256, d256[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	if err != nil {
		t.Fatal(err)
	}
	pkcs, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA512, d512[:])
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		body map[string]any
	}{
		{name, map[string]any{"signature": vaultString(1, pss, base64.StdEncoding)}},
		{name, map[string]any{"signature": vaultString(1, pss, base64.StdEncoding), "salt_length": "hash"}},
		{name + "/sha2-512", map[string]any{"signature": vaultString(1, pkcs, base64.StdEncoding), "signature_algorithm": "pkcs1v15"}},
	} {
		c.body["input"] = in
		if !verifyHTTP(t, x, c.path, c.body) {
			t.Errorf("verify/%s of a standard-library signature %v = false", c.path, c.body)
		}
		c.body["input"] = b64("other")
		if verifyHTTP(t, x, c.path, c.body) {
			t.Errorf("verify/%s over other input = true", c.path)
		}
	}
}

// checkPublicKey compares the public-key export with pub.
func checkPublicKey(t *testing.T, x transitClient, name string, pub crypto.PublicKey) {
	t.Helper()
	s := exportKeys(t, x, "public-key", name)["1"]
	got, err := x509.ParsePKIXPublicKey(pemBlock(t, s, "PUBLIC KEY"))
	if err != nil {
		t.Fatal(err)
	}
	if eq, ok := got.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(pub) {
		t.Errorf("public-key export does not match the exported private key")
	}
}

func interopECDSA(t *testing.T, x transitClient, typ, name string, input []byte) {
	priv, err := x509.ParseECPrivateKey(pemBlock(t, exportKeys(t, x, "signing-key", name)["1"], "EC PRIVATE KEY"))
	if err != nil {
		t.Fatal(err)
	}
	size := map[string]int{"ecdsa-p256": 32, "ecdsa-p384": 48, "ecdsa-p521": 66}[typ]
	if (priv.Curve.Params().BitSize+7)/8 != size {
		t.Fatalf("exported %s key is on %s", typ, priv.Curve.Params().Name)
	}
	checkPublicKey(t, x, name, &priv.PublicKey)
	in := b64(string(input))
	for _, h := range []struct {
		algo   string
		digest []byte
	}{{"sha2-256", sum(sha256.New, input)}, {"sha2-512", sum(sha512.New, input)}} {
		// (a) asn1 (DER) and jws (r||s, base64url without padding).
		s := x.write("sign/"+name+"/"+h.algo, map[string]any{"input": in})["signature"].(string)
		if _, der := vaultBody(t, s, base64.StdEncoding); !ecdsa.VerifyASN1(&priv.PublicKey, h.digest, der) {
			t.Errorf("%s: the standard library rejects Coffer's asn1 signature", h.algo)
		}
		s = x.write("sign/"+name+"/"+h.algo, map[string]any{"input": in, "marshaling_algorithm": "jws"})["signature"].(string)
		_, rs := vaultBody(t, s, base64.RawURLEncoding)
		if len(rs) != 2*size || !ecdsa.Verify(&priv.PublicKey, h.digest,
			new(big.Int).SetBytes(rs[:size]), new(big.Int).SetBytes(rs[size:])) {
			t.Errorf("%s: the standard library rejects Coffer's jws signature (%d bytes)", h.algo, len(rs))
		}
		// (b) The standard library's signatures, in both marshalings.
		der, err := ecdsa.SignASN1(rand.Reader, priv, h.digest)
		if err != nil {
			t.Fatal(err)
		}
		r, sv, err := ecdsa.Sign(rand.Reader, priv, h.digest)
		if err != nil {
			t.Fatal(err)
		}
		jws := append(r.FillBytes(make([]byte, size)), sv.FillBytes(make([]byte, size))...)
		for _, body := range []map[string]any{
			{"signature": vaultString(1, der, base64.StdEncoding)},
			{"signature": vaultString(1, jws, base64.RawURLEncoding), "marshaling_algorithm": "jws"},
		} {
			body["input"] = in
			if !verifyHTTP(t, x, name+"/"+h.algo, body) {
				t.Errorf("%s: verify of a standard-library signature %v = false", h.algo, body)
			}
			body["input"] = b64("other")
			if verifyHTTP(t, x, name+"/"+h.algo, body) {
				t.Errorf("%s: verify over other input = true", h.algo)
			}
		}
	}
}

func sum(h func() hash.Hash, b []byte) []byte {
	d := h()
	d.Write(b)
	return d.Sum(nil)
}

func interopEd25519(t *testing.T, x transitClient, name string, input []byte) {
	raw := unb64(t, exportKeys(t, x, "signing-key", name)["1"])
	if len(raw) != ed25519.PrivateKeySize {
		t.Fatalf("ed25519 signing-key export has %d bytes", len(raw))
	}
	priv := ed25519.PrivateKey(raw)
	if !bytes.Equal(ed25519.NewKeyFromSeed(priv.Seed()), priv) {
		t.Fatal("exported ed25519 key is not seed || public key")
	}
	pub := priv.Public().(ed25519.PublicKey)
	if got := unb64(t, exportKeys(t, x, "public-key", name)["1"]); !bytes.Equal(got, pub) {
		t.Errorf("public-key export does not match the exported private key")
	}
	in := b64(string(input))
	s := x.write("sign/"+name, map[string]any{"input": in})["signature"].(string)
	if _, sig := vaultBody(t, s, base64.StdEncoding); !ed25519.Verify(pub, input, sig) {
		t.Error("the standard library rejects Coffer's Ed25519 signature")
	}
	mine := vaultString(1, ed25519.Sign(priv, input), base64.StdEncoding)
	if !verifyHTTP(t, x, name, map[string]any{"input": in, "signature": mine}) {
		t.Error("verify of a standard-library Ed25519 signature = false")
	}
	if verifyHTTP(t, x, name, map[string]any{"input": b64("other"), "signature": mine}) {
		t.Error("verify over other input = true")
	}
}
