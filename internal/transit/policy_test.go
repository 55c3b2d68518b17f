package transit

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/errs"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestNewKey(t *testing.T) {
	t.Parallel()
	k, err := NewKey("k", TypeAES256GCM96, Options{Now: t0})
	mustOK(t, err)
	v := k.Versions[1]
	if k.LatestVersion != 1 || k.MinDecryptionVersion != 1 || k.MinEncryptionVersion != 0 || len(k.Versions) != 1 ||
		len(v.Material) != 32 || len(v.HMACKey) != 32 || !v.CreatedAt.Equal(t0) || v.PublicKeyPEM != "" {
		t.Fatalf("NewKey() = %+v, version 1 = %+v", k, v)
	}
	ed, err := NewKey("e", TypeEd25519, Options{})
	mustOK(t, err)
	if !strings.HasPrefix(ed.Versions[1].PublicKeyPEM, "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("ed25519 PublicKeyPEM = %q", ed.Versions[1].PublicKeyPEM)
	}
	h, err := NewKey("h", TypeHMAC, Options{KeySize: 64})
	mustOK(t, err)
	if len(h.Versions[1].Material) != 64 || h.Versions[1].HMACKey != nil {
		t.Fatalf("hmac key: material %d bytes, HMACKey %x", len(h.Versions[1].Material), h.Versions[1].HMACKey)
	}
}

func TestNewKeyErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, typ string
		opts      Options
		msg       string
	}{
		{"unknown type", "aes512", Options{}, "unknown key type aes512"},
		{"convergent without derived", TypeAES256GCM96, Options{Convergent: true}, "convergent encryption requires derivation to be enabled"},
		{"derived ecdsa", TypeECDSAP256, Options{Derived: true}, "key derivation is not supported for keys of type ecdsa-p256"},
		{"derived ed25519", TypeEd25519, Options{Derived: true}, "key derivation is not supported for keys of type ed25519"},
		{"hmac too small", TypeHMAC, Options{KeySize: 16}, "invalid key_size: must be between 32 and 512 bytes"},
		{"hmac too big", TypeHMAC, Options{KeySize: 513}, "invalid key_size: must be between 32 and 512 bytes"},
		{"key_size on aes", TypeAES256GCM96, Options{KeySize: 32}, "key_size is only valid for hmac keys"},
		{"auto rotate 30m", TypeAES256GCM96, Options{AutoRotatePeriod: 30 * time.Minute}, "auto rotate period must be 0 to disable or at least an hour"},
		{"auto rotate negative", TypeAES256GCM96, Options{AutoRotatePeriod: -time.Hour}, "auto rotate period must be 0 to disable or at least an hour"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewKey("k", c.typ, c.opts)
			wantErr(t, err, errs.InvalidArgument, c.msg)
		})
	}
	_, err := NewKey("", TypeAES256GCM96, Options{})
	wantErr(t, err, errs.InvalidArgument, "missing key name")
}

// TestRotationLifecycle walks rotate, min_decryption_version,
// min_encryption_version, rewrap and trim with Vault's messages.
func TestRotationLifecycle(t *testing.T) {
	t.Parallel()
	k := newKey(t, TypeAES256GCM96, Options{Exportable: true})
	ct1, _, err := k.Encrypt([]byte("secret"), Params{})
	mustOK(t, err)
	for i := 0; i < 3; i++ {
		mustOK(t, k.Rotate(t0))
	}
	if k.LatestVersion != 4 || len(k.Versions) != 4 {
		t.Fatalf("after 3 rotations: latest %d, %d versions", k.LatestVersion, len(k.Versions))
	}
	ct, ver, err := k.Encrypt([]byte("secret"), Params{})
	if err != nil || ver != 4 || !strings.HasPrefix(ct, "vault:v4:") {
		t.Fatalf("Encrypt() after rotation = %q, %d, %v", ct, ver, err)
	}
	if pt, err := k.Decrypt(ct1, Params{}); err != nil || string(pt) != "secret" {
		t.Fatalf("Decrypt(v1) after rotation = %q, %v", pt, err)
	}

	// rewrap moves v1 to the latest, or to a requested version
	re, ver, err := k.Rewrap(ct1, Params{})
	if err != nil || ver != 4 || !strings.HasPrefix(re, "vault:v4:") {
		t.Fatalf("Rewrap() = %q, %d, %v", re, ver, err)
	}
	if pt, err := k.Decrypt(re, Params{}); err != nil || string(pt) != "secret" {
		t.Fatalf("Decrypt(rewrapped) = %q, %v", pt, err)
	}
	re3, ver, err := k.Rewrap(ct1, Params{KeyVersion: 3})
	if err != nil || ver != 3 || !strings.HasPrefix(re3, "vault:v3:") {
		t.Fatalf("Rewrap(key_version 3) = %q, %d, %v", re3, ver, err)
	}

	// encryption version rules
	_, _, err = k.Encrypt(nil, Params{KeyVersion: 5})
	wantErr(t, err, errs.InvalidArgument, "requested version for encryption is higher than the latest key version")
	_, _, err = k.Encrypt(nil, Params{KeyVersion: -1})
	wantErr(t, err, errs.InvalidArgument, "requested version for encryption is negative")

	// min_decryption_version
	mustOK(t, k.SetConfig(Config{MinDecryptionVersion: intp(2), MinEncryptionVersion: intp(3)}))
	tooOld := "ciphertext or signature version is disallowed by policy (too old)"
	_, err = k.Decrypt(ct1, Params{})
	wantErr(t, err, errs.InvalidArgument, tooOld)
	_, _, err = k.Rewrap(ct1, Params{})
	wantErr(t, err, errs.InvalidArgument, tooOld)
	_, _, err = k.Encrypt(nil, Params{KeyVersion: 2})
	wantErr(t, err, errs.InvalidArgument, "requested version for encryption is less than the minimum encryption key version")
	if _, _, err := k.Encrypt(nil, Params{KeyVersion: 3}); err != nil {
		t.Fatalf("Encrypt(key_version = min_encryption_version) error: %v", err)
	}

	// lowering min_decryption_version again re-enables v1 until trimmed
	mustOK(t, k.SetConfig(Config{MinDecryptionVersion: intp(0)})) // 0 means 1
	if k.MinDecryptionVersion != 1 {
		t.Fatalf("min_decryption_version 0 gave %d, want 1", k.MinDecryptionVersion)
	}
	if _, err := k.Decrypt(ct1, Params{}); err != nil {
		t.Fatalf("Decrypt(v1) after lowering min_decryption_version: %v", err)
	}

	// trim
	err = k.Trim(2)
	wantErr(t, err, errs.InvalidArgument, "min_available_version cannot exceed min_decryption_version or min_encryption_version")
	mustOK(t, k.SetConfig(Config{MinDecryptionVersion: intp(3)}))
	mustOK(t, k.Trim(3))
	if _, ok := k.Versions[2]; ok || len(k.Versions) != 2 || k.MinAvailableVersion != 3 {
		t.Fatalf("after Trim(3): versions %v, min available %d", slices.Sorted(maps.Keys(k.Versions)), k.MinAvailableVersion)
	}
	_, err = k.Decrypt(ct1, Params{})
	wantErr(t, err, errs.InvalidArgument, tooOld)
	if pt, err := k.Decrypt(re3, Params{}); err != nil || string(pt) != "secret" {
		t.Fatalf("Decrypt(v3) after trim = %q, %v", pt, err)
	}
	err = k.SetConfig(Config{MinDecryptionVersion: intp(1)})
	wantErr(t, err, errs.InvalidArgument, "cannot set min decryption version of 1, versions below 3 were trimmed")
	err = k.SetConfig(Config{MinDecryptionVersion: intp(0)}) // 0 means 1, which was trimmed
	wantErr(t, err, errs.InvalidArgument, "cannot set min decryption version of 1, versions below 3 were trimmed")
	err = k.Trim(2)
	wantErr(t, err, errs.InvalidArgument, "min_available_version cannot be lower than the current 3")
	exp, err := k.Export(ExportEncryptionKey, 0)
	mustOK(t, err)
	if diff := cmp.Diff([]string{"3", "4"}, slices.Sorted(maps.Keys(exp))); diff != "" {
		t.Fatalf("Export() versions after trim (-want +got):\n%s", diff)
	}
}

func TestSetConfigErrors(t *testing.T) {
	t.Parallel()
	k := newKey(t, TypeAES256GCM96, Options{Exportable: true})
	mustOK(t, k.Rotate(t0))
	hour := time.Hour
	cases := []struct {
		name string
		c    Config
		msg  string
	}{
		{"min dec beyond latest", Config{MinDecryptionVersion: intp(3)}, "cannot set min decryption version of 3, latest key version is 2"},
		{"min enc beyond latest", Config{MinEncryptionVersion: intp(3)}, "cannot set min encryption version of 3, latest key version is 2"},
		{"min dec negative", Config{MinDecryptionVersion: intp(-1)}, "min decryption version cannot be negative"},
		{"min enc below min dec", Config{MinDecryptionVersion: intp(2), MinEncryptionVersion: intp(1)},
			"cannot set min encryption/decryption values; min encryption version of 1 must be greater than or equal to min decryption version of 2"},
		{"exportable off", Config{Exportable: boolp(false)}, "exportable key cannot be made non-exportable"},
		{"auto rotate 30m", Config{AutoRotatePeriod: func() *time.Duration { d := 30 * time.Minute; return &d }()},
			"auto rotate period must be 0 to disable or at least an hour"},
		{"all or nothing", Config{DeletionAllowed: boolp(true), AutoRotatePeriod: &hour, MinDecryptionVersion: intp(9)},
			"cannot set min decryption version of 9, latest key version is 2"},
	}
	for _, c := range cases {
		err := k.SetConfig(c.c)
		wantErr(t, err, errs.InvalidArgument, c.msg)
	}
	if k.DeletionAllowed || k.AutoRotatePeriod != 0 || k.MinDecryptionVersion != 1 || !k.Exportable {
		t.Fatalf("failed SetConfig changed the key: %+v", k)
	}
	mustOK(t, k.SetConfig(Config{DeletionAllowed: boolp(true), AutoRotatePeriod: &hour, AllowPlaintextBackup: boolp(true)}))
	if !k.DeletionAllowed || k.AutoRotatePeriod != hour || !k.AllowPlaintextBackup {
		t.Fatalf("SetConfig did not apply: %+v", k)
	}
	err := k.SetConfig(Config{AllowPlaintextBackup: boolp(false)})
	wantErr(t, err, errs.InvalidArgument, "allow_plaintext_backup cannot be disabled once enabled")

	fresh := newKey(t, TypeAES256GCM96, Options{})
	err = fresh.Trim(1)
	wantErr(t, err, errs.InvalidArgument, "cannot trim: min_encryption_version and min_decryption_version must both be set")
}

// TestRedaction checks habit 3: no fmt verb prints key material.
func TestRedaction(t *testing.T) {
	t.Parallel()
	k := fixtureKey(t, TypeAES256GCM96, bytes.Repeat([]byte{0xAB}, 32))
	for _, verb := range []string{"%v", "%+v", "%#v", "%x", "%s", "%d"} {
		for _, s := range []string{fmt.Sprintf(verb, k), fmt.Sprintf(verb, k.Versions[1]), fmt.Sprintf(verb, *k.Versions[1])} {
			if strings.Contains(strings.ToLower(s), "abab") || strings.Contains(s, "171 171") {
				t.Fatalf("%s printed material: %s", verb, s)
			}
		}
	}
}

func TestDueAndDelete(t *testing.T) {
	t.Parallel()
	k, err := NewKey("k", TypeAES128GCM96, Options{AutoRotatePeriod: 24 * time.Hour, Now: t0})
	mustOK(t, err)
	if k.Due(t0.Add(23*time.Hour)) || !k.Due(t0.Add(24*time.Hour)) {
		t.Fatal("Due() does not follow auto_rotate_period")
	}
	wantErr(t, k.CheckDelete(), errs.InvalidArgument, "error deleting policy k: deletion is not allowed for this key")
	mustOK(t, k.SetConfig(Config{DeletionAllowed: boolp(true)}))
	mustOK(t, k.CheckDelete())
}

func TestExportRules(t *testing.T) {
	t.Parallel()
	k := newKey(t, TypeECDSAP384, Options{})
	_, err := k.Export(ExportSigningKey, 0)
	wantErr(t, err, errs.FailedPrecondition, "private key material is not exportable")
	_, err = k.Export(ExportHMACKey, 0)
	wantErr(t, err, errs.FailedPrecondition, "private key material is not exportable")
	if pub := export(t, k, ExportPublicKey, 1); pub != k.Versions[1].PublicKeyPEM {
		t.Fatalf("public-key export %q differs from PublicKeyPEM", pub)
	}
	_, err = k.Export(ExportEncryptionKey, 0)
	wantErr(t, err, errs.InvalidArgument, "encryption-key is not supported for key type ecdsa-p384")
	_, err = k.Export("private-key", 0)
	wantErr(t, err, errs.InvalidArgument, "invalid export type private-key")
	_, err = k.Export(ExportPublicKey, 2)
	wantErr(t, err, errs.InvalidArgument, "invalid key version 2")
	aes := newKey(t, TypeAES256GCM96, Options{Exportable: true})
	_, err = aes.Export(ExportPublicKey, 0)
	wantErr(t, err, errs.InvalidArgument, "public-key is not supported for key type aes256-gcm96")
	if got := b64(t, export(t, aes, ExportEncryptionKey, 1)); !bytes.Equal(got, aes.Versions[1].Material) {
		t.Fatal("encryption-key export is not the raw key")
	}
}

func TestDataKey(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{TypeAES256GCM96, TypeChaCha20Poly1305, TypeRSA2048} {
		k := newKey(t, typ, Options{})
		for _, bits := range []int{128, 256, 512} {
			dk, ct, ver, err := k.DataKey(bits, Params{})
			if err != nil || len(dk) != bits/8 || ver != 1 {
				t.Fatalf("%s DataKey(%d) = %d bytes, %d, %v", typ, bits, len(dk), ver, err)
			}
			if pt, err := k.Decrypt(ct, Params{}); err != nil || !bytes.Equal(pt, dk) {
				t.Fatalf("%s: Decrypt(datakey ciphertext) = %x, %v; want %x", typ, pt, err, dk)
			}
		}
		_, _, _, err := k.DataKey(384, Params{})
		wantErr(t, err, errs.InvalidArgument, "invalid bits value 384: must be 128, 256 or 512")
	}
	derived := newKey(t, TypeAES256GCM96, Options{Derived: true})
	_, _, _, err := derived.DataKey(256, Params{})
	wantErr(t, err, errs.InvalidArgument, errMissingContext().Error())
	_, _, _, err = newKey(t, TypeEd25519, Options{}).DataKey(256, Params{})
	wantErr(t, err, errs.FailedPrecondition, "key type ed25519 does not support encryption")
}

func TestOperationTypeErrors(t *testing.T) {
	t.Parallel()
	aes := newKey(t, TypeAES256GCM96, Options{})
	_, _, err := aes.Sign([]byte("m"), SignOptions{})
	wantErr(t, err, errs.FailedPrecondition, "key type aes256-gcm96 does not support signing") // §1.3
	_, err = aes.Verify([]byte("m"), "vault:v1:AAAA", SignOptions{})
	wantErr(t, err, errs.FailedPrecondition, "key type aes256-gcm96 does not support verification")
	hm := newKey(t, TypeHMAC, Options{})
	_, _, err = hm.Encrypt([]byte("m"), Params{})
	wantErr(t, err, errs.FailedPrecondition, "key type hmac does not support encryption")
	_, err = hm.Decrypt("vault:v1:AAAA", Params{})
	wantErr(t, err, errs.FailedPrecondition, "key type hmac does not support decryption")
	_, _, err = hm.HMAC([]byte("m"), "sha1", 0)
	wantErr(t, err, errs.InvalidArgument, "unsupported algorithm sha1")
	_, _, err = hm.HMAC([]byte("m"), "", 2)
	wantErr(t, err, errs.InvalidArgument, "requested version for hmac is higher than the latest key version")

	ec := newKey(t, TypeECDSAP256, Options{})
	signErrs := []struct {
		o   SignOptions
		in  []byte
		msg string
	}{
		{SignOptions{HashAlgorithm: "md5"}, []byte("m"), "unsupported hash algorithm md5"},
		{SignOptions{HashAlgorithm: "none"}, []byte("m"), "hash_algorithm none requires prehashed input and signature_algorithm pkcs1v15"},
		{SignOptions{Prehashed: true}, []byte("short"), "prehashed input must be 32 bytes for sha2-256"},
		{SignOptions{MarshalingAlgorithm: "der"}, []byte("m"), "unsupported marshaling algorithm der"},
		{SignOptions{KeyVersion: 2}, []byte("m"), "requested version for signing is higher than the latest key version"},
	}
	for _, c := range signErrs {
		_, _, err := ec.Sign(c.in, c.o)
		wantErr(t, err, errs.InvalidArgument, c.msg)
	}
	rsaKey := newKey(t, TypeRSA2048, Options{})
	_, _, err = rsaKey.Sign([]byte("m"), SignOptions{SignatureAlgorithm: "pss2"})
	wantErr(t, err, errs.InvalidArgument, "unsupported signature algorithm pss2")
	_, _, err = rsaKey.Sign([]byte("m"), SignOptions{HashAlgorithm: "none", Prehashed: true})
	wantErr(t, err, errs.InvalidArgument, "hash_algorithm none requires prehashed input and signature_algorithm pkcs1v15")
	_, _, err = newKey(t, TypeEd25519, Options{}).Sign(make([]byte, 64), SignOptions{Prehashed: true})
	wantErr(t, err, errs.InvalidArgument, "prehashed input is not supported for ed25519 keys")
}

func TestParseSaltLength(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"": SaltLengthAuto, "auto": SaltLengthAuto, "hash": SaltLengthHash, "32": 32} {
		if got, err := ParseSaltLength(in); err != nil || got != want {
			t.Errorf("ParseSaltLength(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "-1", "max", "1.5"} {
		_, err := ParseSaltLength(in)
		wantErr(t, err, errs.InvalidArgument, `invalid salt_length "`+in+`"`)
	}
}
