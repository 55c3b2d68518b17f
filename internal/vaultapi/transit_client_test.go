package vaultapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	vault "github.com/hashicorp/vault/api"
)

// TestVaultClientTransit drives the transit endpoints with the official
// Vault API client (Logical().Write sends PUT, List sends GET ?list=true,
// Read GET, Delete DELETE), for every key type, batches included.
func TestVaultClientTransit(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		ctx := t.Context()
		c := s.client(t, s.rootToken(t))
		lg := c.Logical()
		m := "tr-" + uuid.NewString()[:8]
		if err := c.Sys().MountWithContext(ctx, m, &vault.MountInput{Type: "transit"}); err != nil {
			t.Fatalf("mount: %v", err)
		}
		// The client sends every config field, "" for those left unset.
		if err := c.Sys().TuneMountWithContext(ctx, m, vault.MountConfigInput{MaxLeaseTTL: "87600h"}); err != nil {
			t.Fatalf("tune: %v", err)
		}
		if cfg, err := c.Sys().MountConfigWithContext(ctx, m); err != nil || cfg.MaxLeaseTTL != 87600*3600 {
			t.Fatalf("mount config after tune = %+v, %v", cfg, err)
		}
		b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
		write := func(t *testing.T, p string, body map[string]any) *vault.Secret {
			t.Helper()
			sec, err := lg.WriteWithContext(ctx, m+"/"+p, body)
			if err != nil {
				t.Fatalf("write %s: %v", p, err)
			}
			if sec == nil {
				t.Fatalf("write %s: no answer", p)
			}
			return sec
		}
		str := func(t *testing.T, sec *vault.Secret, field string) string {
			t.Helper()
			v, ok := sec.Data[field].(string)
			if !ok || v == "" {
				t.Fatalf("%s missing in %v", field, sec.Data)
			}
			return v
		}

		encTypes := []string{"aes128-gcm96", "aes256-gcm96", "chacha20-poly1305", "rsa-2048", "rsa-3072", "rsa-4096"}
		signTypes := []string{"ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048", "rsa-3072", "rsa-4096"}
		all := []string{"aes128-gcm96", "aes256-gcm96", "chacha20-poly1305", "ed25519", "ecdsa-p256", "ecdsa-p384",
			"ecdsa-p521", "rsa-2048", "rsa-3072", "rsa-4096", "hmac"}

		step(t, "create and read every type", func(t *testing.T) {
			for _, typ := range all {
				sec := write(t, "keys/"+typ, map[string]any{"type": typ})
				if sec.Data["name"] != typ || sec.Data["type"] != typ {
					t.Errorf("create %s answered %v", typ, sec.Data)
				}
				sec, err := lg.ReadWithContext(ctx, m+"/keys/"+typ)
				if err != nil || sec == nil {
					t.Fatalf("read %s: %v %v", typ, sec, err)
				}
				if n, _ := sec.Data["latest_version"].(json.Number).Int64(); n != 1 {
					t.Errorf("%s latest_version = %v", typ, sec.Data["latest_version"])
				}
				if got, want := sec.Data["supports_signing"], slices.Contains(signTypes, typ); got != want {
					t.Errorf("%s supports_signing = %v, want %v", typ, got, want)
				}
				if got, want := sec.Data["supports_encryption"], slices.Contains(encTypes, typ); got != want {
					t.Errorf("%s supports_encryption = %v, want %v", typ, got, want)
				}
			}
			// Creating again answers the key with a warning.
			sec := write(t, "keys/aes256-gcm96", map[string]any{"type": "aes256-gcm96"})
			if len(sec.Warnings) != 1 || !strings.Contains(sec.Warnings[0], "already existed") {
				t.Errorf("re-create warnings = %v", sec.Warnings)
			}
			_, err := lg.WriteWithContext(ctx, m+"/keys/bad", map[string]any{"type": "aes512"})
			if re := responseError(t, err, http.StatusBadRequest); !strings.Contains(strings.Join(re.Errors, ""), "aes512") {
				t.Errorf("unknown type errors = %v", re.Errors)
			}
			sec, err = lg.ListWithContext(ctx, m+"/keys")
			if err != nil || sec == nil {
				t.Fatalf("list: %v", err)
			}
			var names []string
			for _, k := range sec.Data["keys"].([]any) {
				names = append(names, k.(string))
			}
			want := slices.Clone(all)
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Errorf("list = %v, want %v", names, want)
			}
		})

		step(t, "encrypt, decrypt, rotate, rewrap", func(t *testing.T) {
			for _, typ := range encTypes {
				ct := str(t, write(t, "encrypt/"+typ, map[string]any{"plaintext": b64("secret " + typ)}), "ciphertext")
				if !strings.HasPrefix(ct, "vault:v1:") {
					t.Errorf("%s ciphertext %q", typ, ct)
				}
				pt := str(t, write(t, "decrypt/"+typ, map[string]any{"ciphertext": ct}), "plaintext")
				if pt != b64("secret "+typ) {
					t.Errorf("%s decrypt = %q", typ, pt)
				}
				sec := write(t, "keys/"+typ+"/rotate", nil)
				if n, _ := sec.Data["latest_version"].(json.Number).Int64(); n != 2 {
					t.Errorf("%s rotate answered %v", typ, sec.Data)
				}
				sec = write(t, "rewrap/"+typ, map[string]any{"ciphertext": ct})
				ct2 := str(t, sec, "ciphertext")
				if !strings.HasPrefix(ct2, "vault:v2:") || fmt.Sprint(sec.Data["key_version"]) != "2" {
					t.Errorf("%s rewrap = %v", typ, sec.Data)
				}
				if pt := str(t, write(t, "decrypt/"+typ, map[string]any{"ciphertext": ct2}), "plaintext"); pt != b64("secret "+typ) {
					t.Errorf("%s decrypt after rewrap = %q", typ, pt)
				}
			}
			// Config: min_decryption_version 2 makes v1 ciphertexts too old.
			ct1 := str(t, write(t, "encrypt/aes256-gcm96", map[string]any{"plaintext": b64("x"), "key_version": 1}), "ciphertext")
			write(t, "keys/aes256-gcm96/config", map[string]any{"min_decryption_version": 2})
			_, err := lg.WriteWithContext(ctx, m+"/decrypt/aes256-gcm96", map[string]any{"ciphertext": ct1})
			if re := responseError(t, err, http.StatusBadRequest); !strings.Contains(strings.Join(re.Errors, ""), "too old") {
				t.Errorf("old ciphertext errors = %v", re.Errors)
			}
		})

		step(t, "encrypt, decrypt and rewrap batches", func(t *testing.T) {
			var in []map[string]any
			for i := range 3 {
				in = append(in, map[string]any{"plaintext": b64(fmt.Sprint("item ", i)), "reference": fmt.Sprint("r", i)})
			}
			res := write(t, "encrypt/chacha20-poly1305", map[string]any{"batch_input": in}).Data["batch_results"].([]any)
			if len(res) != 3 {
				t.Fatalf("batch encrypt results = %v", res)
			}
			var dec []map[string]any
			for i, r := range res {
				item := r.(map[string]any)
				if item["reference"] != fmt.Sprint("r", i) {
					t.Errorf("item %d reference = %v", i, item["reference"])
				}
				dec = append(dec, map[string]any{"ciphertext": item["ciphertext"], "reference": item["reference"]})
			}
			res = write(t, "rewrap/chacha20-poly1305", map[string]any{"batch_input": dec}).Data["batch_results"].([]any)
			for i, r := range res {
				dec[i]["ciphertext"] = r.(map[string]any)["ciphertext"]
			}
			res = write(t, "decrypt/chacha20-poly1305", map[string]any{"batch_input": dec}).Data["batch_results"].([]any)
			for i, r := range res {
				if got := r.(map[string]any)["plaintext"]; got != b64(fmt.Sprint("item ", i)) {
					t.Errorf("batch decrypt item %d = %v", i, got)
				}
			}
			// One bad item: 400 by default (a *ResponseError for the
			// client), the given 2xx code with partial_failure_response_code.
			bad := append(slices.Clone(dec), map[string]any{"ciphertext": "vault:v1:AAAA", "reference": "bad"})
			_, err := lg.WriteWithContext(ctx, m+"/decrypt/chacha20-poly1305", map[string]any{"batch_input": bad})
			responseError(t, err, http.StatusBadRequest)
			sec := write(t, "decrypt/chacha20-poly1305", map[string]any{"batch_input": bad, "partial_failure_response_code": 207})
			res = sec.Data["batch_results"].([]any)
			last := res[len(res)-1].(map[string]any)
			if last["reference"] != "bad" || last["error"] == nil || last["error"] == "" {
				t.Errorf("failed item = %v", last)
			}
			if res[0].(map[string]any)["plaintext"] != b64("item 0") {
				t.Errorf("good item next to a bad one = %v", res[0])
			}
		})

		step(t, "sign and verify every signing type", func(t *testing.T) {
			input := b64("SECRET\n")
			for _, typ := range signTypes {
				for _, opts := range []map[string]any{
					{},
					{"marshaling_algorithm": "jws"},
					{"signature_algorithm": "pkcs1v15"},
				} {
					if opts["marshaling_algorithm"] != nil && !strings.HasPrefix(typ, "ecdsa") ||
						opts["signature_algorithm"] != nil && !strings.HasPrefix(typ, "rsa") {
						continue
					}
					hashPath := "/sha2-512"
					if typ == "ed25519" {
						hashPath = ""
					}
					body := map[string]any{"input": input}
					for k, v := range opts {
						body[k] = v
					}
					sig := str(t, write(t, "sign/"+typ+hashPath, body), "signature")
					body["signature"] = sig
					if v := write(t, "verify/"+typ+hashPath, body).Data["valid"]; v != true {
						t.Errorf("%s %v verify = %v", typ, opts, v)
					}
					body["input"] = b64("other")
					if v := write(t, "verify/"+typ+hashPath, body).Data["valid"]; v != false {
						t.Errorf("%s %v verify of other input = %v", typ, opts, v)
					}
				}
			}
			_, err := lg.WriteWithContext(ctx, m+"/sign/aes256-gcm96", map[string]any{"input": input})
			if re := responseError(t, err, http.StatusBadRequest); !strings.Contains(strings.Join(re.Errors, ""), "does not support signing") {
				t.Errorf("sign with aes errors = %v", re.Errors)
			}
			// Batches of sign and verify.
			in := []map[string]any{{"input": b64("a"), "reference": "a"}, {"input": b64("b"), "reference": "b"}}
			res := write(t, "sign/ecdsa-p256", map[string]any{"batch_input": in}).Data["batch_results"].([]any)
			for i, r := range res {
				in[i]["signature"] = r.(map[string]any)["signature"]
			}
			in[1]["input"] = b64("not b")
			res = write(t, "verify/ecdsa-p256", map[string]any{"batch_input": in}).Data["batch_results"].([]any)
			if len(res) != 2 || res[0].(map[string]any)["valid"] != true || res[1].(map[string]any)["valid"] != false {
				t.Errorf("batch verify = %v", res)
			}
		})

		step(t, "hmac and its verification", func(t *testing.T) {
			for _, typ := range []string{"hmac", "aes256-gcm96", "ed25519"} {
				mac := str(t, write(t, "hmac/"+typ+"/sha2-384", map[string]any{"input": b64("data")}), "hmac")
				if !strings.HasPrefix(mac, "vault:v") {
					t.Errorf("%s hmac = %q", typ, mac)
				}
				ok := write(t, "verify/"+typ+"/sha2-384", map[string]any{"input": b64("data"), "hmac": mac}).Data["valid"]
				if ok != true {
					t.Errorf("%s hmac verify = %v", typ, ok)
				}
			}
			in := []map[string]any{{"input": b64("x")}, {"input": b64("y")}}
			res := write(t, "hmac/hmac", map[string]any{"batch_input": in}).Data["batch_results"].([]any)
			if len(res) != 2 || res[0].(map[string]any)["hmac"] == res[1].(map[string]any)["hmac"] {
				t.Errorf("batch hmac = %v", res)
			}
		})

		step(t, "delete only when allowed", func(t *testing.T) {
			_, err := lg.DeleteWithContext(ctx, m+"/keys/hmac")
			if re := responseError(t, err, http.StatusBadRequest); !strings.Contains(strings.Join(re.Errors, ""), "deletion is not allowed") {
				t.Errorf("delete errors = %v", re.Errors)
			}
			write(t, "keys/hmac/config", map[string]any{"deletion_allowed": true})
			if _, err := lg.DeleteWithContext(ctx, m+"/keys/hmac"); err != nil {
				t.Fatalf("delete: %v", err)
			}
			sec, err := lg.ReadWithContext(ctx, m+"/keys/hmac")
			if err != nil || sec != nil {
				t.Errorf("read after delete = %v, %v (want nil, nil: 404)", sec, err)
			}
		})
	})
}
