package transit

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cofferhq/coffer/internal/errs"
)

// FuzzParseCiphertext checks that unframe never panics, only fails with
// errs.InvalidArgument, and accepts exactly one spelling of each value:
// whatever it accepts re-frames to the same string (v0 aside, which
// means v1).
func FuzzParseCiphertext(f *testing.F) {
	for _, s := range []string{
		"vault:v1:AAAA", "vault:v0:AAAA", "vault:v12:", "vault:v1:AA==", "vault:v1:AB==", "vault:v01:AAAA",
		"vault:v2147483647:AAAA", "vault:v1:AA\nAA", "vault:v1:a:b", "vault:", "vault:v", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ver, body, err := unframe(s, "ciphertext", stdStrict)
		if err != nil {
			if errs.KindOf(err) != errs.InvalidArgument {
				t.Fatalf("unframe(%q) error kind %v: %v", s, errs.KindOf(err), err)
			}
			return
		}
		if ver < 1 {
			t.Fatalf("unframe(%q) version %d", s, ver)
		}
		want := s
		if strings.HasPrefix(s, "vault:v0:") {
			want = "vault:v1:" + strings.TrimPrefix(s, "vault:v0:")
		}
		if got := frame(ver, body, stdStrict); got != want {
			t.Fatalf("unframe(%q) accepted a non-canonical form of %q", s, got)
		}
	})
}

// FuzzDecrypt feeds untrusted strings to Decrypt under a key with three
// versions and min_decryption_version 2: it must never panic, must fail
// only with errs.InvalidArgument, and may succeed only on a canonical
// string of an allowed version (the seeds include real ciphertexts and
// their mutations).
func FuzzDecrypt(f *testing.F) {
	k := fuzzKey(f)
	for _, ver := range []int{1, 2, 3} {
		ct, _, err := k.Encrypt([]byte("fuzz me"), Params{KeyVersion: ver})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ct)
		f.Add(ct[:len(ct)-4])
		f.Add(strings.Replace(ct, "vault:v", "vault:v0", 1))
	}
	mustOK(f, k.SetConfig(Config{MinDecryptionVersion: intp(2)}))
	f.Add("vault:v9:AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		pt, err := k.Decrypt(s, Params{})
		if err != nil {
			if errs.KindOf(err) != errs.InvalidArgument || pt != nil {
				t.Fatalf("Decrypt(%q) = %q, error kind %v: %v", s, pt, errs.KindOf(err), err)
			}
			return
		}
		ver, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(s, "vault:v"), ":", 2)[0])
		if ver < 2 || ver > 3 || !bytes.Equal(pt, []byte("fuzz me")) {
			t.Fatalf("Decrypt(%q) = %q from version %d", s, pt, ver)
		}
	})
}

func fuzzKey(tb testing.TB) *Key {
	tb.Helper()
	k, err := NewKey("fuzz", TypeAES256GCM96, Options{Now: time.Unix(0, 0)})
	mustOK(tb, err)
	mustOK(tb, k.Rotate(time.Unix(1, 0)))
	mustOK(tb, k.Rotate(time.Unix(2, 0)))
	return k
}
