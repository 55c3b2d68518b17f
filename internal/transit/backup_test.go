package transit_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cofferhq/coffer/internal/errs"
	"github.com/cofferhq/coffer/internal/transit"
)

// backupable returns a new key of typ that may be backed up, rotated
// twice, with min versions set and version 1 trimmed.
func backupable(t *testing.T, typ string) *transit.Key {
	t.Helper()
	k, err := transit.NewKey("k", typ, transit.Options{Exportable: true, AllowPlaintextBackup: true,
		AutoRotatePeriod: 24 * time.Hour, Now: time.Date(2025, 6, 1, 12, 0, 0, 123456789, time.UTC)})
	if err != nil {
		t.Fatalf("NewKey(%s) error = %v", typ, err)
	}
	for range 2 {
		if err := k.Rotate(time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	two := 2
	if err := k.SetConfig(transit.Config{MinDecryptionVersion: &two, MinEncryptionVersion: &two}); err != nil {
		t.Fatal(err)
	}
	if err := k.Trim(2); err != nil {
		t.Fatal(err)
	}
	return k
}

func mustBackup(t *testing.T, k *transit.Key) string {
	t.Helper()
	b, err := k.Backup()
	if err != nil {
		t.Fatalf("Backup() error = %v", err)
	}
	return b
}

// TestBackupRoundTrip: every type's backup parses to the same key, which
// accepts the original's output.
func TestBackupRoundTrip(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{transit.TypeAES128GCM96, transit.TypeAES256GCM96, transit.TypeChaCha20Poly1305,
		transit.TypeEd25519, transit.TypeECDSAP256, transit.TypeECDSAP384, transit.TypeECDSAP521,
		transit.TypeRSA2048, transit.TypeHMAC} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			k := backupable(t, typ)
			use := proof(t, k)
			b := mustBackup(t, k)
			got, err := transit.ParseBackup(b)
			if err != nil {
				t.Fatalf("ParseBackup() error = %v", err)
			}
			if diff := cmp.Diff(k, got, keyState); diff != "" {
				t.Errorf("ParseBackup(Backup()) mismatch (-want +got):\n%s", diff)
			}
			use(got)
			// Backups are deterministic for a key.
			if again := mustBackup(t, got); again != b {
				t.Errorf("Backup() of the parsed key differs from the original backup")
			}
		})
	}
	// A derived, convergent key keeps its derivation.
	k, err := transit.NewKey("d", transit.TypeAES256GCM96, transit.Options{Derived: true, Convergent: true,
		Exportable: true, AllowPlaintextBackup: true})
	if err != nil {
		t.Fatal(err)
	}
	p := transit.Params{Context: []byte("ctx")}
	ct, _, err := k.Encrypt([]byte("same"), p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := transit.ParseBackup(mustBackup(t, k))
	if err != nil {
		t.Fatalf("ParseBackup(derived) error = %v", err)
	}
	if again, _, err := got.Encrypt([]byte("same"), p); err != nil || again != ct {
		t.Errorf("convergent encryption after restore = %q, %v; want %q", again, err, ct)
	}
}

func TestBackupRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		o   transit.Options
		msg string
	}{
		{transit.Options{}, "exporting is disallowed on the policy"},
		{transit.Options{AllowPlaintextBackup: true}, "exporting is disallowed on the policy"},
		{transit.Options{Exportable: true}, "plaintext backup is disallowed on the policy"},
	} {
		k, err := transit.NewKey("k", transit.TypeAES256GCM96, c.o)
		if err != nil {
			t.Fatal(err)
		}
		_, err = k.Backup()
		wantKind(t, "Backup()", err, errs.FailedPrecondition)
		if errs.Message(err) != c.msg {
			t.Errorf("Backup(%+v) message = %q, want %q", c.o, errs.Message(err), c.msg)
		}
	}
}

// edit decodes backup b, applies f to its JSON document and re-encodes it.
func edit(t *testing.T, b string, f func(doc, key, versions map[string]any)) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(b)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	key := doc["key"].(map[string]any)
	f(doc, key, key["versions"].(map[string]any))
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(out)
}

func TestParseBackupInvalid(t *testing.T) {
	t.Parallel()
	good := mustBackup(t, backupable(t, transit.TypeECDSAP256))
	p384 := mustBackup(t, backupable(t, transit.TypeECDSAP384))
	aes := mustBackup(t, backupable(t, transit.TypeAES256GCM96))
	hmacKey := mustBackup(t, backupable(t, transit.TypeHMAC))
	var p384Versions map[string]any
	edit(t, p384, func(_, _, v map[string]any) { p384Versions = v })
	raw, _ := base64.StdEncoding.DecodeString(good)

	cases := map[string]string{
		"empty":            "",
		"not base64":       "!!!",
		"unpadded base64":  strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(`{"kind":1}`)), "="),
		"not JSON":         base64.StdEncoding.EncodeToString([]byte("hello")),
		"trailing data":    base64.StdEncoding.EncodeToString(append(bytes.Clone(raw), []byte(" {}")...)),
		"a Vault backup":   base64.StdEncoding.EncodeToString([]byte(`{"policy":{"name":"k"},"archived_keys":{}}`)),
		"wrong kind":       edit(t, good, func(d, _, _ map[string]any) { d["kind"] = "vault" }),
		"future version":   edit(t, good, func(d, _, _ map[string]any) { d["version"] = 2 }),
		"no key":           edit(t, good, func(d, _, _ map[string]any) { delete(d, "key") }),
		"unknown field":    edit(t, good, func(_, k, _ map[string]any) { k["policy"] = "x" }),
		"no name":          edit(t, good, func(_, k, _ map[string]any) { k["name"] = "" }),
		"slash in name":    edit(t, good, func(_, k, _ map[string]any) { k["name"] = "a/b" }),
		"unknown type":     edit(t, good, func(_, k, _ map[string]any) { k["type"] = "aes512" }),
		"derived ecdsa":    edit(t, good, func(_, k, _ map[string]any) { k["derived"] = true }),
		"convergent only":  edit(t, aes, func(_, k, _ map[string]any) { k["convergent"] = true }),
		"short rotation":   edit(t, good, func(_, k, _ map[string]any) { k["auto_rotate_period_ns"] = int64(time.Minute) }),
		"key size on ecd":  edit(t, good, func(_, k, _ map[string]any) { k["key_size"] = 32 }),
		"hmac no key size": edit(t, hmacKey, func(_, k, _ map[string]any) { k["key_size"] = 0 }),
		"hmac key size":    edit(t, hmacKey, func(_, k, _ map[string]any) { k["key_size"] = 64 }),
		"hmac with hmac_key": edit(t, hmacKey, func(_, _, v map[string]any) {
			v["3"].(map[string]any)["hmac_key"] = base64.StdEncoding.EncodeToString(make([]byte, 32))
		}),
		"latest too high":     edit(t, good, func(_, k, _ map[string]any) { k["latest_version"] = 4 }),
		"latest zero":         edit(t, good, func(_, k, _ map[string]any) { k["latest_version"] = 0 }),
		"version missing":     edit(t, good, func(_, _, v map[string]any) { delete(v, "2") }),
		"extra version":       edit(t, good, func(_, _, v map[string]any) { v["1"] = v["2"] }),
		"renumbered version":  edit(t, good, func(_, _, v map[string]any) { v["4"] = v["3"]; delete(v, "3") }),
		"leading zero":        edit(t, good, func(_, _, v map[string]any) { v["03"] = v["3"]; delete(v, "3") }),
		"null version":        edit(t, good, func(_, _, v map[string]any) { v["3"] = nil }),
		"no created_at":       edit(t, good, func(_, _, v map[string]any) { delete(v["3"].(map[string]any), "created_at") }),
		"min dec too low":     edit(t, good, func(_, k, _ map[string]any) { k["min_decryption_version"] = 1 }),
		"min dec too high":    edit(t, good, func(_, k, _ map[string]any) { k["min_decryption_version"] = 4 }),
		"min enc below dec":   edit(t, good, func(_, k, _ map[string]any) { k["min_encryption_version"] = 1 }),
		"trimmed, no min enc": edit(t, good, func(_, k, _ map[string]any) { k["min_encryption_version"] = 0 }),
		"negative available":  edit(t, good, func(_, k, _ map[string]any) { k["min_available_version"] = -1 }),
		"short material": edit(t, aes, func(_, _, v map[string]any) {
			v["2"].(map[string]any)["material"] = base64.StdEncoding.EncodeToString(make([]byte, 16))
		}),
		"no material":    edit(t, aes, func(_, _, v map[string]any) { delete(v["2"].(map[string]any), "material") }),
		"short hmac key": edit(t, aes, func(_, _, v map[string]any) { v["2"].(map[string]any)["hmac_key"] = "AAAA" }),
		"wrong curve":    edit(t, good, func(_, _, v map[string]any) { v["3"] = p384Versions["3"] }),
	}
	for name, b := range cases {
		_, err := transit.ParseBackup(b)
		if errs.KindOf(err) != errs.InvalidArgument || !strings.HasPrefix(errs.Message(err), "invalid backup: ") {
			t.Errorf("ParseBackup(%s) error = %v, want InvalidArgument \"invalid backup: …\"", name, err)
		}
	}
	if _, err := transit.ParseBackup(good); err != nil {
		t.Errorf("ParseBackup(good) error = %v", err)
	}
}

func TestServiceRestore(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	e := newEnv(t)
	s := e.service()
	orig := backupable(t, transit.TypeEd25519)
	use := proof(t, orig)
	b := mustBackup(t, orig)

	// Under the backup's own name, then under another one.
	k, err := s.Restore(ctx, "transit", "", b, false)
	if err != nil || k.Name != "k" {
		t.Fatalf("Restore() = %v, %v; want key k", k, err)
	}
	use(mustKey(t, e.service(), "transit", "k"))
	if _, err := s.Restore(ctx, "transit", "copy", b, false); err != nil {
		t.Fatalf("Restore(copy) error = %v", err)
	}
	cp := mustKey(t, e.service(), "transit", "copy")
	use(cp)
	if cp.Name != "copy" || cp.LatestVersion != 3 || cp.MinAvailableVersion != 2 {
		t.Errorf("restored copy = %v", cp)
	}

	// An existing name without force: Vault's message, nothing changes.
	other := backupable(t, transit.TypeAES256GCM96)
	ob := mustBackup(t, other)
	_, err = s.Restore(ctx, "transit", "k", ob, false)
	wantKind(t, "Restore(existing)", err, errs.AlreadyExists)
	if errs.Message(err) != `key "k" already exists` {
		t.Errorf("Restore(existing) message = %q", errs.Message(err))
	}
	if got := mustKey(t, s, "transit", "k"); got.Type != transit.TypeEd25519 {
		t.Errorf("key k after a refused restore has type %s", got.Type)
	}

	// With force the backup replaces the key, through the cache too.
	replaced, err := s.Restore(ctx, "transit", "k", ob, true)
	if err != nil {
		t.Fatalf("Restore(force) error = %v", err)
	}
	if diff := cmp.Diff(other, replaced, keyState, cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".Name"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("Restore(force) mismatch (-want +got):\n%s", diff)
	}
	for _, svc := range []*transit.Service{s, e.service()} {
		got := mustKey(t, svc, "transit", "k")
		if got.Type != transit.TypeAES256GCM96 || got.Name != "k" {
			t.Errorf("key k after a forced restore = %v", got)
		}
		proof(t, other)(got)
	}
	// Force on a free name simply creates.
	if _, err := s.Restore(ctx, "transit", "fresh", ob, true); err != nil {
		t.Errorf("Restore(force, free name) error = %v", err)
	}

	// An invalid backup stores nothing.
	_, err = s.Restore(ctx, "transit", "bad", "!!", true)
	wantKind(t, "Restore(invalid)", err, errs.InvalidArgument)
	_, err = s.Key(ctx, "transit", "bad")
	wantKind(t, "Key(bad)", err, errs.NotFound)
	_, err = s.Restore(ctx, "", "x", ob, false)
	wantKind(t, "Restore(no mount)", err, errs.InvalidArgument)
}

// FuzzParseBackup: ParseBackup never panics, fails only with
// errs.InvalidArgument, and what it accepts is a consistent key that
// backs up and parses again to the same key.
func FuzzParseBackup(f *testing.F) {
	for _, typ := range []string{transit.TypeAES128GCM96, transit.TypeChaCha20Poly1305, transit.TypeEd25519,
		transit.TypeECDSAP256, transit.TypeHMAC} {
		k, err := transit.NewKey("k", typ, transit.Options{Exportable: true, AllowPlaintextBackup: true})
		if err != nil {
			f.Fatal(err)
		}
		if err := k.Rotate(time.Now()); err != nil {
			f.Fatal(err)
		}
		b, err := k.Backup()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		raw, _ := base64.StdEncoding.DecodeString(b)
		f.Add(base64.StdEncoding.EncodeToString(bytes.Replace(raw, []byte(`"2"`), []byte(`"02"`), 1)))
		f.Add(base64.StdEncoding.EncodeToString(bytes.Replace(raw, []byte(`"latest_version":2`), []byte(`"latest_version":1`), 1)))
	}
	for _, s := range []string{"", "e30=", "bnVsbA==", base64.StdEncoding.EncodeToString([]byte(
		`{"kind":"coffer-transit-backup","version":1,"key":{"name":"k","type":"hmac","key_size":32,"latest_version":1,` +
			`"min_decryption_version":1,"versions":{"1":{"material":"` + base64.StdEncoding.EncodeToString(make([]byte, 32)) +
			`","created_at":"2025-01-01T00:00:00Z"}}}}`))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := transit.ParseBackup(s)
		if err != nil {
			if errs.KindOf(err) != errs.InvalidArgument {
				t.Fatalf("ParseBackup() error kind %v: %v", errs.KindOf(err), err)
			}
			return
		}
		k.Exportable, k.AllowPlaintextBackup = true, true
		b, err := k.Backup()
		if err != nil {
			t.Fatalf("Backup() of a parsed key error = %v", err)
		}
		again, err := transit.ParseBackup(b)
		if err != nil {
			t.Fatalf("ParseBackup(Backup()) error = %v", err)
		}
		if diff := cmp.Diff(k, again, keyState); diff != "" {
			t.Fatalf("round trip mismatch (-first +second):\n%s", diff)
		}
		if _, _, err := k.HMAC([]byte("x"), "", 0); err != nil {
			t.Fatalf("HMAC() with a parsed key error = %v", err)
		}
	})
}
