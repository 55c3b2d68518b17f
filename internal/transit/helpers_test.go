package transit

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/keyring"
)

// The helpers here re-implement the wire format from vault-api.md's text,
// independently of the package: they never call frame, unframe, aeadFor
// or crypto/hkdf, so the interop tests compare two implementations.

var aeadTypes = []string{TypeAES128GCM96, TypeAES256GCM96, TypeChaCha20Poly1305}

var rsaTypes = []string{TypeRSA2048, TypeRSA3072, TypeRSA4096}

var ecdsaTypes = []string{TypeECDSAP256, TypeECDSAP384, TypeECDSAP521}

// handFrame builds "vault:v<ver>:" + base64std(body) per §0.1.
func handFrame(ver int, body []byte) string {
	return "vault:v" + strconv.Itoa(ver) + ":" + base64.StdEncoding.EncodeToString(body)
}

// handSplit takes a Vault string apart per §1.2 with plain string
// functions and the given (lenient) base64 decoding.
func handSplit(tb testing.TB, s string, enc *base64.Encoding) (int, []byte) {
	tb.Helper()
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 || parts[0] != "vault" || !strings.HasPrefix(parts[1], "v") {
		tb.Fatalf("%q is not vault:vN:<body>", s)
	}
	ver, err := strconv.Atoi(parts[1][1:])
	if err != nil {
		tb.Fatalf("%q: bad version: %v", s, err)
	}
	body, err := enc.DecodeString(parts[2])
	if err != nil {
		tb.Fatalf("%q: bad base64: %v", s, err)
	}
	return ver, body
}

func hmacSHA256(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// handHKDF is RFC 5869 HKDF-SHA256 with an empty salt, written out: the
// derivation of §0.2 (ikm = version key, salt = nil, info = context).
func handHKDF(ikm, info []byte, n int) []byte {
	prk := hmacSHA256(make([]byte, sha256.Size), ikm)
	var t, out []byte
	for i := byte(1); len(out) < n; i++ {
		t = hmacSHA256(prk, t, info, []byte{i})
		out = append(out, t...)
	}
	return out[:n]
}

// stdAEAD returns the standard library's AEAD for an AEAD key type.
func stdAEAD(tb testing.TB, typ string, key []byte) cipher.AEAD {
	tb.Helper()
	var (
		a   cipher.AEAD
		err error
	)
	if typ == TypeChaCha20Poly1305 {
		a, err = chacha20poly1305.New(key)
	} else {
		var b cipher.Block
		if b, err = aes.NewCipher(key); err == nil {
			a, err = cipher.NewGCM(b)
		}
	}
	if err != nil {
		tb.Fatalf("stdAEAD(%s): %v", typ, err)
	}
	return a
}

func b64(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		tb.Fatalf("bad base64 %q: %v", s, err)
	}
	return b
}

// newKey makes a key with NewKey. RSA types come from fixtures instead,
// because generating RSA-3072/4096 keys takes seconds (see fixtureKey).
func newKey(tb testing.TB, typ string, opts Options) *Key {
	tb.Helper()
	if strings.HasPrefix(typ, "rsa-") {
		k := fixtureKey(tb, typ, rsaFixture(tb, typ))
		k.Exportable = opts.Exportable
		return k
	}
	k, err := NewKey("k", typ, opts)
	if err != nil {
		tb.Fatalf("NewKey(%s) error: %v", typ, err)
	}
	return k
}

// fixtureKey builds version 1 of a key from given material, as a store
// restoring a Key would.
func fixtureKey(tb testing.TB, typ string, material []byte) *Key {
	tb.Helper()
	v := &Version{Material: material, HMACKey: make([]byte, 32), CreatedAt: time.Unix(1700000000, 0)}
	for i := range v.HMACKey {
		v.HMACKey[i] = byte(0xa0 + i)
	}
	if kt := keyTypes[typ]; kt.asymmetric() {
		kr, err := keyring.Load(kt.alg, material)
		if err != nil {
			tb.Fatalf("keyring.Load: %v", err)
		}
		if v.PublicKeyPEM, err = kr.PublicKeyPEM(); err != nil {
			tb.Fatal(err)
		}
	}
	return &Key{Name: "k", Type: typ, MinDecryptionVersion: 1, LatestVersion: 1, Versions: map[int]*Version{1: v}}
}

// rsaFixture returns the PKCS#8 DER of keyring's checked-in throwaway RSA
// key of typ's size (../keyring/testdata/README.md).
func rsaFixture(tb testing.TB, typ string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "keyring", "testdata", "rsa"+strings.TrimPrefix(typ, "rsa-")+"a.pem"))
	if err != nil {
		tb.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		tb.Fatalf("%s fixture: no PRIVATE KEY block", typ)
	}
	return block.Bytes
}

// export returns version ver's key of exportType, decoded from what Export
// returns, failing the test on error.
func export(tb testing.TB, k *Key, exportType string, ver int) string {
	tb.Helper()
	m, err := k.Export(exportType, ver)
	if err != nil {
		tb.Fatalf("Export(%s, %d) error: %v", exportType, ver, err)
	}
	s, ok := m[strconv.Itoa(ver)]
	if !ok || len(m) != 1 {
		tb.Fatalf("Export(%s, %d) = %v, want one entry for version %d", exportType, ver, m, ver)
	}
	return s
}

// pemBlock decodes the one PEM block of s, which must be of type typ.
func pemBlock(tb testing.TB, s, typ string) []byte {
	tb.Helper()
	block, rest := pem.Decode([]byte(s))
	if block == nil || block.Type != typ || len(strings.TrimSpace(string(rest))) != 0 {
		tb.Fatalf("want one %s PEM block, got %q", typ, s)
	}
	return block.Bytes
}

// wantErr fails unless err has kind k and client message msg.
func wantErr(tb testing.TB, err error, k errs.Kind, msg string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("error = nil, want %v %q", k, msg)
	}
	if errs.KindOf(err) != k || errs.Message(err) != msg {
		tb.Fatalf("error = %v %q, want %v %q", errs.KindOf(err), errs.Message(err), k, msg)
	}
}

func mustOK(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("unexpected error: %v", err)
	}
}

func intp(n int) *int    { return &n }
func boolp(b bool) *bool { return &b }
