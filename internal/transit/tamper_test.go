package transit

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/cofferhq/coffer/internal/errs"
)

// nonCanonical changes the last base64 character before the padding so
// that its unused low bits are non-zero: lenient decoders still read the
// same bytes, a strict one refuses the string.
func nonCanonical(tb testing.TB, ct string) string {
	tb.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	i := strings.IndexByte(ct, '=') - 1
	if i < 0 {
		tb.Fatalf("%q has no padding", ct)
	}
	c := alphabet[strings.IndexByte(alphabet, ct[i])|1]
	out := ct[:i] + string(c) + ct[i+1:]
	orig, _ := base64.StdEncoding.DecodeString(strings.SplitN(ct, ":", 3)[2])
	lenient, err := base64.StdEncoding.DecodeString(strings.SplitN(out, ":", 3)[2])
	if err != nil || string(lenient) != string(orig) {
		tb.Fatalf("nonCanonical(%q) = %q is not a lenient equivalent", ct, out)
	}
	return out
}

// TestDecryptTampered checks that every malformed or modified ciphertext
// is a clean errs.InvalidArgument with Vault's message (§1.2, §1.6).
func TestDecryptTampered(t *testing.T) {
	t.Parallel()
	k := newKey(t, TypeAES256GCM96, Options{})
	ct, _, err := k.Encrypt([]byte("0123456789"), Params{}) // 12+10+16 = 38 bytes: "==" padding
	mustOK(t, err)
	body := strings.TrimPrefix(ct, "vault:v1:")
	raw := b64(t, body)
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 0x01
		return handFrame(1, b)
	}
	const (
		noPrefix = "invalid ciphertext: no prefix"
		fields   = "invalid ciphertext: wrong number of fields"
		version  = "invalid ciphertext: version number could not be decoded"
		badB64   = "invalid ciphertext: could not decode base64"
		tooNew   = "invalid ciphertext: version is too new"
		authFail = "cipher: message authentication failed"
	)
	cases := []struct{ name, in, msg string }{
		{"empty", "", noPrefix},
		{"no prefix", body, noPrefix},
		{"wrong prefix", "vaulT:v1:" + body, noPrefix},
		{"no version field", "vault:" + body, fields},
		{"no body field", "vault:v1", fields},
		{"no v", "vault:1:" + body, version},
		{"empty version", "vault:v:" + body, version},
		{"negative", "vault:v-1:" + body, version},
		{"plus sign", "vault:v+1:" + body, version},
		{"leading zero", "vault:v01:" + body, version},
		{"hex version", "vault:v0x1:" + body, version},
		{"space", "vault:v 1:" + body, version},
		{"huge", "vault:v99999999999999999999:" + body, version},
		{"beyond int32", "vault:v2147483648:" + body, version},
		{"max int32", "vault:v2147483647:" + body, tooNew},
		{"too new", "vault:v2:" + body, tooNew},
		{"bad base64", "vault:v1:!!!!", badB64},
		{"url alphabet", "vault:v1:" + strings.NewReplacer("+", "-", "/", "_").Replace(body) + "-_", badB64},
		{"missing padding", "vault:v1:" + strings.TrimRight(body, "="), badB64},
		{"extra padding", "vault:v1:" + body + "=", badB64},
		{"non-canonical", nonCanonical(t, ct), badB64},
		{"newline", "vault:v1:" + body[:8] + "\n" + body[8:], badB64},
		{"carriage return", "vault:v1:" + body[:8] + "\r" + body[8:], badB64},
		{"trailing field", ct + ":x", badB64},
		{"empty body", "vault:v1:", "invalid ciphertext: too short"},
		{"short body", handFrame(1, raw[:27]), "invalid ciphertext: too short"},
		{"flipped nonce bit", flip(0), authFail},
		{"flipped ciphertext bit", flip(15), authFail},
		{"flipped tag bit", flip(len(raw) - 1), authFail},
		{"truncated tag", handFrame(1, raw[:len(raw)-1]), authFail},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pt, err := k.Decrypt(c.in, Params{})
			wantErr(t, err, errs.InvalidArgument, c.msg)
			if pt != nil {
				t.Fatalf("Decrypt() returned plaintext %q with an error", pt)
			}
		})
	}
}

// TestDecryptVersionZero checks §1.2's compatibility rule: v0 means v1.
func TestDecryptVersionZero(t *testing.T) {
	t.Parallel()
	k := newKey(t, TypeChaCha20Poly1305, Options{})
	ct, _, err := k.Encrypt([]byte("pt"), Params{})
	mustOK(t, err)
	got, err := k.Decrypt(strings.Replace(ct, "vault:v1:", "vault:v0:", 1), Params{})
	if err != nil || string(got) != "pt" {
		t.Fatalf("Decrypt(v0) = %q, %v", got, err)
	}
	mustOK(t, k.Rotate(k.Versions[1].CreatedAt))
	mustOK(t, k.SetConfig(Config{MinDecryptionVersion: intp(2)}))
	_, err = k.Decrypt(strings.Replace(ct, "vault:v1:", "vault:v0:", 1), Params{})
	wantErr(t, err, errs.InvalidArgument, "ciphertext or signature version is disallowed by policy (too old)")
}

// TestWrongVersionPrefix relabels a v1 ciphertext as v2: both versions
// exist, so it parses, and fails authentication under v2's key.
func TestWrongVersionPrefix(t *testing.T) {
	t.Parallel()
	for _, typ := range aeadTypes {
		k := newKey(t, typ, Options{})
		mustOK(t, k.Rotate(k.Versions[1].CreatedAt))
		ct, _, err := k.Encrypt([]byte("pt"), Params{KeyVersion: 1})
		mustOK(t, err)
		_, err = k.Decrypt(strings.Replace(ct, "vault:v1:", "vault:v2:", 1), Params{})
		msg := "cipher: message authentication failed"
		if typ == TypeChaCha20Poly1305 {
			msg = "chacha20poly1305: message authentication failed"
		}
		wantErr(t, err, errs.InvalidArgument, msg)
	}
}

// TestContextAndAAD covers the context rules (§1.2: required for derived
// keys; ignored otherwise, as Vault does) and associated data.
func TestContextAndAAD(t *testing.T) {
	t.Parallel()
	missing := errMissingContext().Error()
	if !strings.HasPrefix(missing, "missing 'context' for key derivation; ") {
		t.Fatalf("message %q does not start as §1.2 records", missing)
	}
	derived := newKey(t, TypeAES128GCM96, Options{Derived: true})
	_, _, err := derived.Encrypt([]byte("pt"), Params{})
	wantErr(t, err, errs.InvalidArgument, missing)
	ct, _, err := derived.Encrypt([]byte("pt"), Params{Context: []byte("a")})
	mustOK(t, err)
	_, err = derived.Decrypt(ct, Params{})
	wantErr(t, err, errs.InvalidArgument, missing)
	_, err = derived.Decrypt(ct, Params{Context: []byte("b")})
	wantErr(t, err, errs.InvalidArgument, "cipher: message authentication failed")

	plain := newKey(t, TypeAES256GCM96, Options{})
	ct, _, err = plain.Encrypt([]byte("pt"), Params{Context: []byte("ignored"), AssociatedData: []byte("aad")})
	mustOK(t, err)
	if got, err := plain.Decrypt(ct, Params{Context: []byte("other"), AssociatedData: []byte("aad")}); err != nil || string(got) != "pt" {
		t.Fatalf("non-derived Decrypt with another context = %q, %v; want the context ignored", got, err)
	}
	_, err = plain.Decrypt(ct, Params{AssociatedData: []byte("aaD")})
	wantErr(t, err, errs.InvalidArgument, "cipher: message authentication failed")

	rsaKey := newKey(t, TypeRSA2048, Options{})
	_, _, err = rsaKey.Encrypt([]byte("pt"), Params{AssociatedData: []byte("aad")})
	wantErr(t, err, errs.InvalidArgument, "associated_data is not supported for key type rsa-2048")
	ct, _, err = rsaKey.Encrypt([]byte("pt"), Params{})
	mustOK(t, err)
	_, err = rsaKey.Decrypt(ct, Params{AssociatedData: []byte("aad")})
	wantErr(t, err, errs.InvalidArgument, "associated_data is not supported for key type rsa-2048")
	_, err = rsaKey.Decrypt(flipLast(t, ct), Params{})
	wantErr(t, err, errs.InvalidArgument, "decryption failed")
}

func flipLast(tb testing.TB, ct string) string {
	tb.Helper()
	ver, body := handSplit(tb, ct, base64.StdEncoding)
	body[len(body)-1] ^= 1
	return handFrame(ver, body)
}

// TestSignatureTampered checks signature and HMAC strings get the same
// strict parsing, and that a wrong signature is (false, nil).
func TestSignatureTampered(t *testing.T) {
	t.Parallel()
	k := newKey(t, TypeECDSAP256, Options{})
	sig, _, err := k.Sign([]byte("m"), SignOptions{})
	mustOK(t, err)
	_, err = k.Verify([]byte("m"), "vault:v2:"+strings.TrimPrefix(sig, "vault:v1:"), SignOptions{})
	wantErr(t, err, errs.InvalidArgument, "invalid signature: version is too new")
	_, err = k.Verify([]byte("m"), strings.TrimPrefix(sig, "vault:"), SignOptions{})
	wantErr(t, err, errs.InvalidArgument, "invalid signature: no prefix")
	_, err = k.Verify([]byte("m"), sig, SignOptions{MarshalingAlgorithm: MarshalingJWS}) // std body, url decoder
	wantErr(t, err, errs.InvalidArgument, "invalid signature: could not decode base64")
	if ok, err := k.Verify([]byte("m"), flipLast(t, sig), SignOptions{}); ok || err != nil {
		t.Fatalf("Verify(flipped) = %v, %v; want false, nil", ok, err)
	}
	jws, _, err := k.Sign([]byte("m"), SignOptions{MarshalingAlgorithm: MarshalingJWS})
	mustOK(t, err)
	if ok, err := k.Verify([]byte("m"), jws+"AA", SignOptions{MarshalingAlgorithm: MarshalingJWS}); ok || err != nil {
		t.Fatalf("Verify(over-long jws) = %v, %v; want false, nil", ok, err)
	}

	mac, _, err := k.HMAC([]byte("m"), "", 0)
	mustOK(t, err)
	_, err = k.VerifyHMAC([]byte("m"), "vault:v1:"+strings.TrimPrefix(mac, "vault:v1:")+"\n", "")
	wantErr(t, err, errs.InvalidArgument, "invalid hmac: could not decode base64")
	if ok, err := k.VerifyHMAC([]byte("m"), flipLast(t, mac), ""); ok || err != nil {
		t.Fatalf("VerifyHMAC(flipped) = %v, %v; want false, nil", ok, err)
	}
}
