package keyring

import (
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofferhq/coffer/internal/errs"
)

// unhex decodes a hex test vector, ignoring white space and colons so
// vectors can be pasted as the RFCs print them.
func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\t' || r == ':' {
			return -1
		}
		return r
	}, s)
	b, err := hex.DecodeString(s)
	if err != nil {
		tb.Fatalf("bad hex in test vector: %v", err)
	}
	return b
}

// mustLoad loads material as a, failing the test on error.
func mustLoad(tb testing.TB, a Algorithm, material []byte) *Key {
	tb.Helper()
	k, err := Load(a, material)
	if err != nil {
		tb.Fatalf("Load(%s) error: %v", a, err)
	}
	return k
}

// mustGenerate generates and loads a fresh key of a. For RSA it loads a
// fixture instead (see testdata/README.md).
func mustGenerate(tb testing.TB, a Algorithm) *Key {
	tb.Helper()
	if a.Purpose() == AsymmetricEncryptDecrypt {
		return mustLoad(tb, a, rsaFixture(tb, a, "a"))
	}
	m, err := Generate(a)
	if err != nil {
		tb.Fatalf("Generate(%s) error: %v", a, err)
	}
	return mustLoad(tb, a, m)
}

// rsaBits is the modulus size of each RSA algorithm, stated independently
// of the package's table.
var rsaBits = map[Algorithm]string{
	RSA2048OAEPSHA256: "2048",
	RSA3072OAEPSHA256: "3072",
	RSA4096OAEPSHA256: "4096",
	RSA4096OAEPSHA512: "4096",
}

// rsaFixture returns the PKCS#8 DER of testdata/rsa<bits><which>.pem for a,
// where which is "a" or "b".
func rsaFixture(tb testing.TB, a Algorithm, which string) []byte {
	tb.Helper()
	bits, ok := rsaBits[a]
	if !ok {
		tb.Fatalf("rsaFixture: %s is not an RSA algorithm", a)
	}
	return pemFixture(tb, "rsa"+bits+which+".pem")
}

func pemFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		tb.Fatalf("%s: no PRIVATE KEY block", name)
	}
	return block.Bytes
}

// wantErr fails the test unless err has kind k and, when msg is not empty,
// the client message msg.
func wantErr(tb testing.TB, err error, k errs.Kind, msg string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("error = nil, want kind %v", k)
	}
	if got := errs.KindOf(err); got != k {
		tb.Fatalf("error kind = %v, want %v (err: %v)", got, k, err)
	}
	if msg != "" && errs.Message(err) != msg {
		tb.Fatalf("error message = %q, want %q", errs.Message(err), msg)
	}
}
