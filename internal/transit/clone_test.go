package transit

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestCloneCopiesEveryField fails when Key gains a field that clone does
// not copy: the fixture must set every exported field.
func TestCloneCopiesEveryField(t *testing.T) {
	k, err := NewKey("k", TypeHMAC, Options{KeySize: 64, Exportable: true, AllowPlaintextBackup: true,
		AutoRotatePeriod: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Rotate(time.Now()); err != nil {
		t.Fatal(err)
	}
	k.Versions[1].HMACKey, k.Versions[1].PublicKeyPEM = []byte{1}, "pem"
	k.Derived, k.Convergent, k.DeletionAllowed = true, true, true
	k.MinDecryptionVersion, k.MinEncryptionVersion, k.MinAvailableVersion = 2, 2, 1
	for _, v := range []reflect.Value{reflect.ValueOf(k).Elem(), reflect.ValueOf(k.Versions[1]).Elem()} {
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() && v.Field(i).IsZero() {
				t.Fatalf("fixture leaves %s.%s zero: set it, and copy it in clone", v.Type().Name(), f.Name)
			}
		}
	}
	c := k.clone()
	if diff := cmp.Diff(k, c, cmpopts.IgnoreUnexported(Key{})); diff != "" {
		t.Fatalf("clone differs (-key +clone):\n%s", diff)
	}
	c.Versions[1].Material[0] ^= 1
	c.Versions[1].HMACKey[0] ^= 1
	if k.Versions[1].Material[0] == c.Versions[1].Material[0] || k.Versions[1].HMACKey[0] == c.Versions[1].HMACKey[0] {
		t.Fatal("clone shares version material with the key")
	}
}
