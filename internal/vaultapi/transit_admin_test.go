package vaultapi_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	vault "github.com/hashicorp/vault/api"

	"github.com/cofferhq/coffer/internal/token"
)

// transitClient drives one transit mount with the official Vault client.
type transitClient struct {
	tb    testing.TB
	c     *vault.Client
	mount string
}

// newTransit enables a transit mount on s and returns a root client for it.
func newTransit(tb testing.TB, s *stack) transitClient {
	tb.Helper()
	c := s.client(tb, s.rootToken(tb))
	m := "transit-" + uuid.NewString()[:8]
	if err := c.Sys().MountWithContext(tb.Context(), m, &vault.MountInput{Type: "transit"}); err != nil {
		tb.Fatalf("mount transit: %v", err)
	}
	return transitClient{tb: tb, c: c, mount: m}
}

// write sends a write to <mount>/<path> that must succeed, and returns
// its data (nil for 204).
func (x transitClient) write(path string, data map[string]any) map[string]any {
	x.tb.Helper()
	sec, err := x.c.Logical().WriteWithContext(x.tb.Context(), x.mount+"/"+path, data)
	if err != nil {
		x.tb.Fatalf("write %s: %v", path, err)
	}
	if sec == nil {
		return nil
	}
	return sec.Data
}

// read sends a read of <mount>/<path> that must succeed.
func (x transitClient) read(path string) *vault.Secret {
	x.tb.Helper()
	sec, err := x.c.Logical().ReadWithContext(x.tb.Context(), x.mount+"/"+path)
	if err != nil || sec == nil {
		x.tb.Fatalf("read %s = %v, %v", path, sec, err)
	}
	return sec
}

// writeFails sends a write that must fail with status and exactly msg
// (none when msg is empty).
func (x transitClient) writeFails(path string, data map[string]any, status int, msg string) {
	x.tb.Helper()
	_, err := x.c.Logical().WriteWithContext(x.tb.Context(), x.mount+"/"+path, data)
	wantResponse(x.tb, "write "+path, err, status, msg)
}

// readFails sends a read that must fail with status and exactly msg.
func (x transitClient) readFails(path string, status int, msg string) {
	x.tb.Helper()
	_, err := x.c.Logical().ReadWithContext(x.tb.Context(), x.mount+"/"+path)
	wantResponse(x.tb, "read "+path, err, status, msg)
}

func wantResponse(tb testing.TB, op string, err error, status int, msg string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("%s succeeded, want %d %q", op, status, msg)
	}
	re := responseError(tb, err, status)
	want := []string{msg}
	if msg == "" { // Vault's 404 for a missing key: {"errors":[]}
		want = []string{}
	}
	if !slices.Equal(re.Errors, want) {
		tb.Errorf("%s errors = %q, want [%q]", op, re.Errors, msg)
	}
}

func num(tb testing.TB, v any) int {
	tb.Helper()
	n, ok := v.(json.Number)
	if !ok {
		tb.Fatalf("%v (%T) is not a number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		tb.Fatal(err)
	}
	return int(i)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func unb64(tb testing.TB, v any) []byte {
	tb.Helper()
	s, _ := v.(string)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		tb.Fatalf("%q is not base64: %v", v, err)
	}
	return b
}

func keyVersions(tb testing.TB, d map[string]any) []string {
	tb.Helper()
	m, ok := d["keys"].(map[string]any)
	if !ok {
		tb.Fatalf("no keys map in %v", d)
	}
	return sortedKeys(m)
}

func TestTransitTrimAndExport(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		x := newTransit(t, s)
		x.write("keys/k", map[string]any{"exportable": true})
		x.write("keys/k/rotate", nil)
		x.write("keys/k/rotate", nil)

		step(t, "trim", func(t *testing.T) {
			x.writeFails("keys/k/trim", map[string]any{}, 400, "missing min_available_version")
			x.writeFails("keys/k/trim", map[string]any{"min_available_version": 1}, 400,
				"cannot trim: min_encryption_version and min_decryption_version must both be set")
			x.write("keys/k/config", map[string]any{"min_decryption_version": 2, "min_encryption_version": 3})
			x.writeFails("keys/k/trim", map[string]any{"min_available_version": 3}, 400,
				"min_available_version cannot exceed min_decryption_version or min_encryption_version")
			d := x.write("keys/k/trim", map[string]any{"min_available_version": 2})
			if num(t, d["min_available_version"]) != 2 || !slices.Equal(keyVersions(t, d), []string{"2", "3"}) {
				t.Errorf("trim answer = %v", d)
			}
			x.writeFails("keys/nope/trim", map[string]any{"min_available_version": 1}, 404, "")
		})

		step(t, "export", func(t *testing.T) {
			sec := x.read("export/encryption-key/k")
			if sec.Data["name"] != "k" || sec.Data["type"] != "aes256-gcm96" ||
				!slices.Equal(keyVersions(t, sec.Data), []string{"2", "3"}) {
				t.Fatalf("export = %v", sec.Data)
			}
			for _, v := range sec.Data["keys"].(map[string]any) {
				if len(unb64(t, v)) != 32 {
					t.Errorf("exported aes256 key is not 32 bytes")
				}
			}
			latest := x.read("export/encryption-key/k/latest").Data
			three := x.read("export/encryption-key/k/3").Data
			if !slices.Equal(keyVersions(t, latest), []string{"3"}) || !cmp.Equal(latest, three) {
				t.Errorf("export latest = %v, export 3 = %v", latest, three)
			}
			hm := x.read("export/hmac-key/k/2").Data["keys"].(map[string]any)
			if len(unb64(t, hm["2"])) != 32 || hm["2"] == sec.Data["keys"].(map[string]any)["2"] {
				t.Errorf("hmac-key export = %v", hm)
			}
			x.readFails("export/encryption-key/k/1", 400, "invalid key version 1")
			x.readFails("export/encryption-key/k/x", 400, "invalid key version x")
			x.readFails("export/signing-key/k", 400, "signing-key is not supported for key type aes256-gcm96")
			x.readFails("export/nonsense/k", 400, "invalid export type nonsense")
			if sec, err := x.c.Logical().ReadWithContext(t.Context(), x.mount+"/export/encryption-key/nope"); sec != nil || err != nil {
				t.Errorf("export of a missing key = %v, %v; want the client's nil for 404", sec, err)
			}

			// Not exportable: private material is refused, public keys are not.
			x.write("keys/sealed", map[string]any{"type": "ed25519"})
			x.readFails("export/signing-key/sealed", 400, "private key material is not exportable")
			x.readFails("export/hmac-key/sealed", 400, "private key material is not exportable")
			pub := x.read("export/public-key/sealed").Data["keys"].(map[string]any)["1"]
			info := x.read("keys/sealed").Data["keys"].(map[string]any)["1"].(map[string]any)
			if len(unb64(t, pub)) != 32 || pub != info["public_key"] {
				t.Errorf("public-key export %v, key read public_key %v", pub, info["public_key"])
			}
			x.write("keys/sealed/config", map[string]any{"exportable": true})
			if k := x.read("export/signing-key/sealed/latest").Data["keys"].(map[string]any)["1"]; len(unb64(t, k)) != 64 {
				t.Errorf("ed25519 signing-key export = %v, want 64 bytes", k)
			}
		})
	})
}

func TestTransitBackupRestore(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		x := newTransit(t, s)
		root := s.rootToken(t)
		raw := func(method, path string, body any) reply {
			return s.vaultReq(t, method, "/v1/"+x.mount+"/"+path, map[string]string{"X-Vault-Token": root}, body)
		}
		x.write("keys/b", nil)
		ct := x.write("encrypt/b", map[string]any{"plaintext": b64("kept")})["ciphertext"].(string)

		// Vault's refusals are 500 {"errors":[msg]}.
		for _, c := range []struct{ config, msg string }{
			{"", "exporting is disallowed on the policy"},
			{"exportable", "plaintext backup is disallowed on the policy"},
		} {
			if c.config != "" {
				x.write("keys/b/config", map[string]any{c.config: true})
			}
			if got := errorsOf(t, raw("GET", "backup/b", nil), 500); !slices.Equal(got, []string{c.msg}) {
				t.Errorf("backup errors = %q, want [%q]", got, c.msg)
			}
		}
		x.readFails("backup/nope", 500, `key "nope" not found`)
		x.write("keys/b/config", map[string]any{"allow_plaintext_backup": true})
		backup, _ := x.read("backup/b").Data["backup"].(string)
		if _, err := base64.StdEncoding.DecodeString(backup); err != nil || backup == "" {
			t.Fatalf("backup = %q, want base64", backup)
		}

		decrypts := func(name string) bool {
			_, err := x.c.Logical().WriteWithContext(t.Context(), x.mount+"/decrypt/"+name, map[string]any{"ciphertext": ct})
			return err == nil
		}
		// Existing name without force: 500, and nothing changes.
		if got := errorsOf(t, raw("POST", "restore/b", map[string]any{"backup": backup}), 500); !slices.Equal(got, []string{`key "b" already exists`}) {
			t.Errorf("restore onto b = %q", got)
		}
		x.writeFails("restore", map[string]any{"backup": backup}, 500, `key "b" already exists`)
		// Under another name: in the URL, or in the body.
		if r := raw("POST", "restore/copy", map[string]any{"backup": backup}); r.status != 204 || len(r.body) != 0 {
			t.Fatalf("restore/copy = %d %s, want 204", r.status, r.body)
		}
		if d := x.write("restore", map[string]any{"backup": backup, "name": "copy2"}); d != nil {
			t.Errorf("restore answered %v, want 204", d)
		}
		for _, n := range []string{"copy", "copy2"} {
			if !decrypts(n) {
				t.Errorf("restored key %s does not decrypt the original's ciphertext", n)
			}
			if d := x.read("keys/" + n).Data; d["exportable"] != true || d["allow_plaintext_backup"] != true || d["name"] != n {
				t.Errorf("restored key %s = %v", n, d)
			}
		}
		// force replaces an existing key.
		x.write("keys/other", map[string]any{"exportable": true, "allow_plaintext_backup": true, "type": "chacha20-poly1305"})
		otherBackup := x.read("backup/other").Data["backup"].(string)
		x.write("restore/copy", map[string]any{"backup": otherBackup, "force": true})
		if d := x.read("keys/copy").Data; d["type"] != "chacha20-poly1305" || decrypts("copy") {
			t.Errorf("forced restore left key copy as %v", d)
		}
		// Without a name, the backup's own: restore b after deleting it.
		x.write("keys/b/config", map[string]any{"deletion_allowed": true})
		if _, err := x.c.Logical().DeleteWithContext(t.Context(), x.mount+"/keys/b"); err != nil {
			t.Fatal(err)
		}
		x.write("restore", map[string]any{"backup": backup})
		if !decrypts("b") {
			t.Error("key b restored from its backup does not decrypt")
		}

		// Invalid input is 400 and stores nothing.
		x.writeFails("restore/bad", map[string]any{}, 400, "'backup' must be supplied")
		x.writeFails("restore/bad", map[string]any{"backup": "!!"}, 400, "invalid backup: not base64")
		vaultish := base64.StdEncoding.EncodeToString([]byte(`{"policy":{"name":"bad"},"archived_keys":{}}`))
		x.writeFails("restore/bad", map[string]any{"backup": vaultish}, 400, "invalid backup: not a Coffer transit backup document")
		tampered := tamperBackup(t, backup)
		x.writeFails("restore/bad", map[string]any{"backup": tampered, "force": true}, 400,
			"invalid backup: version 1 has key material that does not fit type aes256-gcm96")
		x.writeFails("restore", map[string]any{"backup": backup, "name": "a/b"}, 400, "key names cannot contain a slash")
		if sec, err := x.c.Logical().ReadWithContext(t.Context(), x.mount+"/keys/bad"); sec != nil || err != nil {
			t.Errorf("key bad after refused restores = %v, %v", sec, err)
		}
	})
}

// tamperBackup shortens version 1's material in a backup.
func tamperBackup(t *testing.T, backup string) string {
	t.Helper()
	raw, _ := base64.StdEncoding.DecodeString(backup)
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	v1 := doc["key"].(map[string]any)["versions"].(map[string]any)["1"].(map[string]any)
	v1["material"] = base64.StdEncoding.EncodeToString(make([]byte, 16))
	out, _ := json.Marshal(doc)
	return base64.StdEncoding.EncodeToString(out)
}

func TestTransitDataKey(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		x := newTransit(t, s)
		x.write("keys/dk", nil)
		for _, bits := range []int{0, 128, 256, 512} {
			body := map[string]any{}
			want := 32
			if bits != 0 {
				body["bits"], want = bits, bits/8
			}
			d := x.write("datakey/plaintext/dk", body)
			pt := unb64(t, d["plaintext"])
			ct, _ := d["ciphertext"].(string)
			if len(pt) != want || !strings.HasPrefix(ct, "vault:v1:") || num(t, d["key_version"]) != 1 {
				t.Fatalf("datakey bits %d = %v", bits, d)
			}
			if got := unb64(t, x.write("decrypt/dk", map[string]any{"ciphertext": ct})["plaintext"]); !bytes.Equal(got, pt) {
				t.Errorf("decrypt of the wrapped data key differs from its plaintext")
			}
		}
		d := x.write("datakey/wrapped/dk", nil)
		if _, has := d["plaintext"]; has || !strings.HasPrefix(d["ciphertext"].(string), "vault:v1:") {
			t.Errorf("wrapped datakey = %v", d)
		}
		// Derived keys need a context; associated data is authenticated.
		x.write("keys/derived", map[string]any{"derived": true})
		x.writeFails("datakey/wrapped/derived", nil, 400, "missing 'context' for key derivation; the key was created using a "+
			"derived key, which means additional, per-request information must be included in order to perform operations with the key")
		ctxB64, ad := b64("tenant-1"), b64("header")
		d = x.write("datakey/plaintext/derived", map[string]any{"context": ctxB64, "associated_data": ad})
		got := x.write("decrypt/derived", map[string]any{"ciphertext": d["ciphertext"], "context": ctxB64, "associated_data": ad})
		if got["plaintext"] != d["plaintext"] {
			t.Errorf("derived data key does not decrypt with its context and associated data")
		}
		x.writeFails("decrypt/derived", map[string]any{"ciphertext": d["ciphertext"], "context": ctxB64}, 400,
			"cipher: message authentication failed")

		x.writeFails("datakey/plaintext/dk", map[string]any{"bits": 100}, 400, "invalid bits value 100: must be 128, 256 or 512")
		x.writeFails("datakey/both/dk", nil, 400, `invalid path: the data key type must be "plaintext" or "wrapped"`)
		x.writeFails("datakey/plaintext/missing", nil, 400, "encryption key not found")
		x.write("keys/signer", map[string]any{"type": "ed25519"})
		x.writeFails("datakey/plaintext/signer", nil, 400, "key type ed25519 does not support encryption")
		// The nonce Vault takes for legacy keys is ignored with a warning.
		sec, err := x.c.Logical().WriteWithContext(t.Context(), x.mount+"/datakey/wrapped/dk", map[string]any{"nonce": "AAAA"})
		if err != nil || !slices.Equal(sec.Warnings, []string{"Endpoint ignored these unrecognized parameters: [nonce]"}) {
			t.Errorf("datakey with nonce = %v, %v", sec, err)
		}
	})
}

func TestTransitRandomAndHash(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		x := newTransit(t, s)
		randomLen := func(path string, body map[string]any, hexOut bool) int {
			t.Helper()
			v, _ := x.write(path, body)["random_bytes"].(string)
			if hexOut {
				b, err := hex.DecodeString(v)
				if err != nil {
					t.Fatalf("%s: %q is not hex", path, v)
				}
				return len(b)
			}
			return len(unb64(t, v))
		}
		for _, c := range []struct {
			path string
			body map[string]any
			hex  bool
			want int
		}{
			{"random", nil, false, 32},
			{"random", map[string]any{"bytes": 8, "format": "hex"}, true, 8},
			{"random/16", nil, false, 16},
			{"random/all", map[string]any{"bytes": 5}, false, 5},
			{"random/platform/24", map[string]any{"format": "hex", "bytes": 3}, true, 24},
			{"random/131072", nil, false, 131072},
		} {
			if got := randomLen(c.path, c.body, c.hex); got != c.want {
				t.Errorf("%s %v: %d bytes, want %d", c.path, c.body, got, c.want)
			}
		}
		a := x.write("random", nil)["random_bytes"]
		if b := x.write("random", nil)["random_bytes"]; a == b {
			t.Error("two random answers are equal")
		}
		x.writeFails("random", map[string]any{"bytes": 0}, 400, "bytes: must be between 1 and 131072")
		x.writeFails("random/131073", nil, 400, "bytes: must be between 1 and 131072")
		x.writeFails("random/foo", nil, 400, "bytes: the URL's byte count is not an integer")
		x.writeFails("random", map[string]any{"format": "base32"}, 400, `unsupported encoding format "base32"; must be "hex" or "base64"`)
		x.writeFails("random/seal/8", nil, 400, `unsupported entropy source "seal"; must be "platform" or "all"`)
		x.writeFails("random", map[string]any{"source": "seal"}, 400, `unsupported entropy source "seal"; must be "platform" or "all"`)

		in := []byte("hash me")
		s256 := sha256.Sum256(in)
		s384 := sha512.Sum384(in)
		s3 := sha3.Sum512(in)
		for _, c := range []struct {
			path string
			body map[string]any
			want string
		}{
			{"hash", map[string]any{"input": b64(string(in))}, hex.EncodeToString(s256[:])},
			{"hash", map[string]any{"input": b64(string(in)), "algorithm": "sha2-384", "format": "base64"},
				base64.StdEncoding.EncodeToString(s384[:])},
			{"hash/sha3-512", map[string]any{"input": b64(string(in)), "algorithm": "sha2-384"}, hex.EncodeToString(s3[:])},
		} {
			if got := x.write(c.path, c.body)["sum"]; got != c.want {
				t.Errorf("%s %v = %v, want %s", c.path, c.body, got, c.want)
			}
		}
		x.writeFails("hash/md5", map[string]any{"input": b64("x")}, 400, "unsupported algorithm md5")
		x.writeFails("hash", map[string]any{"input": b64("x"), "format": "raw"}, 400, `unsupported encoding format "raw"; must be "hex" or "base64"`)
		x.writeFails("hash", map[string]any{"input": "!"}, 400, "illegal base64 data at input byte 0")
	})
}

func TestTransitMountConfig(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		x := newTransit(t, s)
		if d := x.read("config/keys").Data; d["disable_upsert"] != false || len(d) != 1 {
			t.Errorf("config/keys = %v", d)
		}
		x.write("encrypt/upserted", map[string]any{"plaintext": b64("x")})
		if d := x.write("config/keys", map[string]any{"disable_upsert": true}); d["disable_upsert"] != true {
			t.Errorf("config/keys write = %v", d)
		}
		if d := x.read("config/keys").Data; d["disable_upsert"] != true {
			t.Errorf("config/keys after write = %v", d)
		}
		x.writeFails("encrypt/fresh", map[string]any{"plaintext": b64("x")}, 400, "encryption key not found")
		if sec, _ := x.c.Logical().ReadWithContext(t.Context(), x.mount+"/keys/fresh"); sec != nil {
			t.Error("encrypt created a key with upserts disabled")
		}
		x.write("encrypt/upserted", map[string]any{"plaintext": b64("x")}) // existing keys still encrypt
		x.write("keys/explicit", nil)                                      // and keys are still created explicitly
		x.write("config/keys", map[string]any{})                           // absent: unchanged
		if d := x.read("config/keys").Data; d["disable_upsert"] != true {
			t.Errorf("config/keys after an empty write = %v", d)
		}
		x.writeFails("config/keys", map[string]any{"disable_upsert": "maybe"}, 400, "disable_upsert: expected a boolean")
		x.write("config/keys", map[string]any{"disable_upsert": false})
		x.write("encrypt/fresh", map[string]any{"plaintext": b64("x")})

		if d := x.read("cache-config").Data; num(t, d["size"]) != 0 || len(d) != 1 {
			t.Errorf("cache-config = %v", d)
		}
		for _, bad := range []any{5, -1, 9} {
			x.writeFails("cache-config", map[string]any{"size": bad}, 400, "size must be 0 or a value greater or equal to 10")
		}
		sec, err := x.c.Logical().WriteWithContext(t.Context(), x.mount+"/cache-config", map[string]any{"size": 20})
		if err != nil || num(t, sec.Data["size"]) != 20 || len(sec.Warnings) != 1 {
			t.Fatalf("cache-config write = %v, %v", sec, err)
		}
		if d := x.read("cache-config").Data; num(t, d["size"]) != 20 {
			t.Errorf("cache-config after write = %v", d)
		}
		// The settings are per mount.
		y := newTransit(t, s)
		if d := y.read("cache-config").Data; num(t, d["size"]) != 0 {
			t.Errorf("another mount's cache-config = %v", d)
		}
		x.write("cache-config", map[string]any{"size": 0})
		if d := x.read("cache-config").Data; num(t, d["size"]) != 0 {
			t.Errorf("cache-config after size 0 = %v", d)
		}
		// A KV mount has no transit endpoints.
		root := s.rootToken(t)
		kvMount := "kv-" + uuid.NewString()[:8]
		if err := x.c.Sys().MountWithContext(t.Context(), kvMount, &vault.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
			t.Fatal(err)
		}
		r := s.vaultReq(t, "GET", "/v1/"+kvMount+"/cache-config", map[string]string{"X-Vault-Token": root}, nil)
		if r.status != http.StatusNotFound {
			t.Errorf("cache-config on a KV mount = %d %s", r.status, r.body)
		}
	})
}

// TestTransitNewEndpointsPolicy: a token without capabilities on the mount
// gets 403 "permission denied" on every new path, before the mount or key
// is looked at; nothing changes.
func TestTransitNewEndpointsPolicy(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		x := newTransit(t, s)
		x.write("keys/k", map[string]any{"exportable": true, "allow_plaintext_backup": true})
		backup := x.read("backup/k").Data["backup"].(string)
		weak, _, err := s.env.VaultTokens.Create(t.Context(), token.Spec{Policies: []string{"default"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, mount := range []string{x.mount, "no-such-mount"} {
			for _, r := range []struct {
				method, path string
				body         any
			}{
				{"POST", "keys/k/trim", map[string]any{"min_available_version": 1}},
				{"GET", "export/encryption-key/k", nil},
				{"GET", "export/public-key/k/latest", nil},
				{"GET", "backup/k", nil},
				{"POST", "restore", map[string]any{"backup": backup, "name": "r"}},
				{"POST", "restore/k", map[string]any{"backup": backup, "force": true}},
				{"GET", "config/keys", nil},
				{"POST", "config/keys", map[string]any{"disable_upsert": true}},
				{"GET", "cache-config", nil},
				{"POST", "cache-config", map[string]any{"size": 20}},
				{"POST", "datakey/plaintext/k", nil},
				{"POST", "datakey/wrapped/k", nil},
				{"POST", "random", nil},
				{"POST", "random/16", nil},
				{"POST", "random/all/16", nil},
				{"PUT", "hash", map[string]any{"input": b64("x")}},
				{"POST", "hash/sha2-512", map[string]any{"input": b64("x")}},
			} {
				got := s.vaultReq(t, r.method, "/v1/"+mount+"/"+r.path, cliHeaders(weak), r.body)
				if msgs := errorsOf(t, got, http.StatusForbidden); !slices.Equal(msgs, []string{msgDenied}) {
					t.Errorf("%s %s/%s as a default token: %q", r.method, mount, r.path, msgs)
				}
			}
		}
		if d := x.read("config/keys").Data; d["disable_upsert"] != false {
			t.Error("a denied request changed config/keys")
		}
		if sec, _ := x.c.Logical().ReadWithContext(t.Context(), x.mount+"/keys/r"); sec != nil {
			t.Error("a denied restore created a key")
		}
	})
}
