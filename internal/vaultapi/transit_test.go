package vaultapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	vault "github.com/hashicorp/vault/api"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/token"
)

// batchReq posts a batch request whose failure, unlike other errors, is
// answered with the full envelope (vault-api.md §1.5).
func batchReq(t *testing.T, base, tok, path, body string, want int) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
	req.Header.Set("X-Vault-Token", tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != want {
		t.Fatalf("POST %s = %d %v, want %d", path, res.StatusCode, out, want)
	}
	return out
}

func dataOf(t *testing.T, env map[string]any) map[string]any {
	t.Helper()
	d, ok := env["data"].(map[string]any)
	if !ok {
		t.Fatalf("no data object in %v", env)
	}
	return d
}

// TestTransitBenchmarkReplay replays vault-benchmark's transit tests
// (vault-api.md §3) and the key lifecycle around them with a root token.
func TestTransitBenchmarkReplay(t *testing.T) {
	for _, kind := range apitest.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			env := apitest.Start(t, kind)
			root, _, err := env.VaultTokens.Create(t.Context(), token.RootSpec())
			if err != nil {
				t.Fatal(err)
			}
			v := env.VaultURL
			m := uuid.NewString()
			replay(t, v, root, "POST", "/v1/sys/mounts/"+m, `{"type":"transit","config":{"max_lease_ttl":"87600h"}}`, 204)

			// keys: create, then create again (200 with a warning), read.
			out := replay(t, v, root, "PUT", "/v1/"+m+"/keys/test", `{}`, 200)
			if d := dataOf(t, out); d["type"] != "aes256-gcm96" || d["latest_version"] != float64(1) ||
				d["supports_encryption"] != true || d["supports_signing"] != false {
				t.Errorf("create key info = %v", d)
			}
			out = replay(t, v, root, "PUT", "/v1/"+m+"/keys/test", `{}`, 200)
			if w, _ := out["warnings"].([]any); len(w) != 1 || w[0] != "key test already existed" {
				t.Errorf("second create warnings = %v", out["warnings"])
			}
			out = replay(t, v, root, "GET", "/v1/"+m+"/keys/test", "", 200)
			d := dataOf(t, out)
			keys, _ := d["keys"].(map[string]any)
			if _, ok := keys["1"].(float64); !ok || d["min_decryption_version"] != float64(1) || d["name"] != "test" ||
				d["deletion_allowed"] != false || d["auto_rotate_period"] != float64(0) {
				t.Errorf("read key info = %v", d)
			}
			replay(t, v, root, "GET", "/v1/"+m+"/keys/missing", "", 404)

			// transit_encrypt / transit_decrypt.
			pt := base64.StdEncoding.EncodeToString([]byte("benchmark payload"))
			out = replay(t, v, root, "POST", "/v1/"+m+"/encrypt/test", `{"name":"test","plaintext":"`+pt+`"}`, 200)
			ct, _ := dataOf(t, out)["ciphertext"].(string)
			if !strings.HasPrefix(ct, "vault:v1:") || dataOf(t, out)["key_version"] != float64(1) {
				t.Fatalf("encrypt = %v", out)
			}
			if w := out["warnings"]; w != nil {
				t.Errorf("encrypt warnings = %v, want none", w)
			}
			out = replay(t, v, root, "POST", "/v1/"+m+"/decrypt/test", `{"ciphertext":"`+ct+`"}`, 200)
			if got := dataOf(t, out)["plaintext"]; got != pt {
				t.Fatalf("decrypt plaintext = %v, want %s", got, pt)
			}

			// transit_sign / transit_verify with an ecdsa-p256 key.
			out = replay(t, v, root, "PUT", "/v1/"+m+"/keys/signer", `{"type":"ecdsa-p256"}`, 200)
			d = dataOf(t, out)
			k1, _ := dataOf(t, out)["keys"].(map[string]any)["1"].(map[string]any)
			if d["supports_signing"] != true || k1["name"] != "P-256" ||
				!strings.HasPrefix(k1["public_key"].(string), "-----BEGIN PUBLIC KEY-----") {
				t.Errorf("ecdsa key info = %v", d)
			}
			in := base64.StdEncoding.EncodeToString([]byte("sign me"))
			out = replay(t, v, root, "POST", "/v1/"+m+"/sign/signer", `{"input":"`+in+`"}`, 200)
			sig, _ := dataOf(t, out)["signature"].(string)
			if !strings.HasPrefix(sig, "vault:v1:") {
				t.Fatalf("sign = %v", out)
			}
			out = replay(t, v, root, "POST", "/v1/"+m+"/verify/signer", `{"input":"`+in+`","signature":"`+sig+`"}`, 200)
			if dataOf(t, out)["valid"] != true {
				t.Errorf("verify = %v", out)
			}
			other := base64.StdEncoding.EncodeToString([]byte("other"))
			out = replay(t, v, root, "POST", "/v1/"+m+"/verify/signer/sha2-256", `{"input":"`+other+`","signature":"`+sig+`"}`, 200)
			if dataOf(t, out)["valid"] != false {
				t.Errorf("verify of other input = %v", out)
			}
			out = replay(t, v, root, "POST", "/v1/"+m+"/sign/test", `{"input":"`+in+`"}`, 400)
			if e := out["errors"].([]any); len(e) != 1 || e[0] != "key type aes256-gcm96 does not support signing" {
				t.Errorf("sign with aes key errors = %v", e)
			}

			// hmac and hmac verify.
			out = replay(t, v, root, "POST", "/v1/"+m+"/hmac/test", `{"input":"`+in+`"}`, 200)
			mac, _ := dataOf(t, out)["hmac"].(string)
			if !strings.HasPrefix(mac, "vault:v1:") {
				t.Fatalf("hmac = %v", out)
			}
			out = replay(t, v, root, "POST", "/v1/"+m+"/verify/test", `{"input":"`+in+`","hmac":"`+mac+`"}`, 200)
			if dataOf(t, out)["valid"] != true {
				t.Errorf("hmac verify = %v", out)
			}

			// rotate, then the v1 ciphertext still decrypts and rewraps to v2.
			out = replay(t, v, root, "POST", "/v1/"+m+"/keys/test/rotate", "", 200)
			if dataOf(t, out)["latest_version"] != float64(2) {
				t.Fatalf("rotate = %v", out)
			}
			out = replay(t, v, root, "POST", "/v1/"+m+"/decrypt/test", `{"ciphertext":"`+ct+`"}`, 200)
			if got := dataOf(t, out)["plaintext"]; got != pt {
				t.Fatalf("decrypt after rotate = %v", got)
			}
			out = replay(t, v, root, "POST", "/v1/"+m+"/rewrap/test", `{"ciphertext":"`+ct+`"}`, 200)
			ct2, _ := dataOf(t, out)["ciphertext"].(string)
			if !strings.HasPrefix(ct2, "vault:v2:") || dataOf(t, out)["key_version"] != float64(2) {
				t.Fatalf("rewrap = %v", out)
			}
			out = replay(t, v, root, "POST", "/v1/"+m+"/decrypt/test", `{"ciphertext":"`+ct2+`"}`, 200)
			if got := dataOf(t, out)["plaintext"]; got != pt {
				t.Fatalf("decrypt of rewrapped = %v", got)
			}

			// config: min_decryption_version 2 retires v1.
			out = replay(t, v, root, "POST", "/v1/"+m+"/keys/test/config", `{"min_decryption_version":2}`, 200)
			if keys := dataOf(t, out)["keys"].(map[string]any); len(keys) != 1 || keys["2"] == nil {
				t.Errorf("keys after min_decryption_version=2: %v", keys)
			}
			out = replay(t, v, root, "POST", "/v1/"+m+"/decrypt/test", `{"ciphertext":"`+ct+`"}`, 400)
			if e := out["errors"].([]any); e[0] != "ciphertext or signature version is disallowed by policy (too old)" {
				t.Errorf("decrypt of retired version = %v", e)
			}

			// errors of §1.6.
			out = replay(t, v, root, "POST", "/v1/"+m+"/encrypt/test", `{}`, 400)
			if e := out["errors"].([]any); e[0] != "missing plaintext to encrypt" {
				t.Errorf("missing plaintext = %v", e)
			}
			out = replay(t, v, root, "POST", "/v1/"+m+"/decrypt/nokey", `{"ciphertext":"`+ct+`"}`, 400)
			if e := out["errors"].([]any); e[0] != "encryption key not found" {
				t.Errorf("decrypt with missing key = %v", e)
			}
			out = replay(t, v, root, "POST", "/v1/"+m+"/decrypt/test", `{"ciphertext":"nope"}`, 400)
			if e := out["errors"].([]any); e[0] != "invalid ciphertext: no prefix" {
				t.Errorf("bad ciphertext = %v", e)
			}
			out = replay(t, v, root, "POST", "/v1/"+m+"/keys/bad", `{"type":"aes512"}`, 400)
			if e := out["errors"].([]any); e[0] != "unknown key type aes512" {
				t.Errorf("unknown type = %v", e)
			}

			// batch: one bad item is 400 with the full envelope.
			out = batchReq(t, v, root, "/v1/"+m+"/encrypt/test",
				`{"batch_input":[{"plaintext":"`+pt+`","reference":"a"},{"plaintext":"!!","reference":"b"}]}`, 400)
			res, _ := dataOf(t, out)["batch_results"].([]any)
			if len(res) != 2 || !strings.HasPrefix(res[0].(map[string]any)["ciphertext"].(string), "vault:v2:") ||
				res[0].(map[string]any)["reference"] != "a" || res[1].(map[string]any)["error"] == nil {
				t.Errorf("batch results = %v", res)
			}
			if _, ok := out["request_id"]; !ok {
				t.Errorf("batch failure lacks the envelope: %v", out)
			}
			out = replay(t, v, root, "POST", "/v1/"+m+"/encrypt/test",
				`{"batch_input":[{"plaintext":"`+pt+`"},{"plaintext":"`+pt+`"}]}`, 200)
			if res, _ := dataOf(t, out)["batch_results"].([]any); len(res) != 2 {
				t.Errorf("batch results = %v", res)
			}

			// partial_failure_response_code applies when some items succeeded;
			// a failed decrypt item keeps "plaintext":"".
			out = batchReq(t, v, root, "/v1/"+m+"/decrypt/test",
				`{"partial_failure_response_code":207,"batch_input":[{"ciphertext":"`+ct2+`"},{"ciphertext":"vault:v2:AAAA"}]}`, 207)
			res, _ = dataOf(t, out)["batch_results"].([]any)
			if len(res) != 2 || res[0].(map[string]any)["plaintext"] != pt || res[1].(map[string]any)["plaintext"] != "" ||
				res[1].(map[string]any)["error"] == nil {
				t.Errorf("batch decrypt results = %v", res)
			}
			// Batch sign.
			out = replay(t, v, root, "POST", "/v1/"+m+"/sign/signer",
				`{"batch_input":[{"input":"`+in+`","reference":"x"},{"input":"`+other+`"}]}`, 200)
			if res, _ := dataOf(t, out)["batch_results"].([]any); len(res) != 2 ||
				res[0].(map[string]any)["reference"] != "x" || !strings.HasPrefix(res[1].(map[string]any)["signature"].(string), "vault:v1:") {
				t.Errorf("batch sign = %v", res)
			}

			// list, delete.
			out = replay(t, v, root, "LIST", "/v1/"+m+"/keys", "", 200)
			if ks := dataOf(t, out)["keys"].([]any); len(ks) != 2 || ks[0] != "signer" || ks[1] != "test" {
				t.Errorf("list keys = %v", ks)
			}
			out = replay(t, v, root, "DELETE", "/v1/"+m+"/keys/signer", "", 400)
			if e := out["errors"].([]any); e[0] != "error deleting policy signer: deletion is not allowed for this key" {
				t.Errorf("delete not allowed = %v", e)
			}
			replay(t, v, root, "POST", "/v1/"+m+"/keys/signer/config", `{"deletion_allowed":true}`, 200)
			replay(t, v, root, "DELETE", "/v1/"+m+"/keys/signer", "", 204)
			replay(t, v, root, "GET", "/v1/"+m+"/keys/signer", "", 404)

			// Not a transit mount: 404.
			replay(t, v, root, "POST", "/v1/"+uuid.NewString()+"/encrypt/test", `{"plaintext":"`+pt+`"}`, 404)

			// Cleanup: the keys go with the mount.
			replay(t, v, root, "DELETE", "/v1/sys/mounts/"+m, "", 204)
			replay(t, v, root, "POST", "/v1/sys/mounts/"+m, `{"type":"transit"}`, 204)
			replay(t, v, root, "GET", "/v1/"+m+"/keys/test", "", 404)
			replay(t, v, root, "LIST", "/v1/"+m+"/keys", "", 404)
		})
	}
}

// TestTransitUpsertAndClient covers encrypt's upsert of a missing key, the
// official Go client, and the policy check.
func TestTransitUpsertAndClient(t *testing.T) {
	for _, kind := range apitest.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			env := apitest.Start(t, kind)
			ctx := t.Context()
			root, _, err := env.VaultTokens.Create(ctx, token.RootSpec())
			if err != nil {
				t.Fatal(err)
			}
			v := env.VaultURL
			m := uuid.NewString()
			replay(t, v, root, "POST", "/v1/sys/mounts/"+m, `{"type":"transit"}`, 204)

			// Upsert: encrypt with a missing key creates an aes256-gcm96 key.
			pt := base64.StdEncoding.EncodeToString([]byte("hello"))
			out := replay(t, v, root, "POST", "/v1/"+m+"/encrypt/fresh", `{"plaintext":"`+pt+`"}`, 200)
			if ct, _ := dataOf(t, out)["ciphertext"].(string); !strings.HasPrefix(ct, "vault:v1:") {
				t.Fatalf("upsert encrypt = %v", out)
			}
			out = replay(t, v, root, "GET", "/v1/"+m+"/keys/fresh", "", 200)
			if d := dataOf(t, out); d["type"] != "aes256-gcm96" || d["derived"] != false {
				t.Errorf("upserted key = %v", d)
			}
			// With a context, the upserted key is derived.
			ctxB64 := base64.StdEncoding.EncodeToString([]byte("ctx"))
			replay(t, v, root, "POST", "/v1/"+m+"/encrypt/derived", `{"plaintext":"`+pt+`","context":"`+ctxB64+`"}`, 200)
			out = replay(t, v, root, "GET", "/v1/"+m+"/keys/derived", "", 200)
			if d := dataOf(t, out); d["derived"] != true || d["kdf"] != "hkdf_sha256" {
				t.Errorf("upserted derived key = %v", d)
			}

			// The official client (PUT through Logical().Write).
			cfg := vault.DefaultConfig()
			cfg.Address = v
			c, err := vault.NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			c.SetToken(root)
			plain := []byte("client round trip")
			sec, err := c.Logical().WriteWithContext(ctx, m+"/encrypt/k", map[string]any{
				"plaintext": base64.StdEncoding.EncodeToString(plain)})
			if err != nil {
				t.Fatalf("encrypt: %v", err)
			}
			ct, _ := sec.Data["ciphertext"].(string)
			sec, err = c.Logical().WriteWithContext(ctx, m+"/decrypt/k", map[string]any{"ciphertext": ct})
			if err != nil {
				t.Fatalf("decrypt: %v", err)
			}
			got, _ := base64.StdEncoding.DecodeString(sec.Data["plaintext"].(string))
			if !bytes.Equal(got, plain) {
				t.Errorf("client round trip = %q, want %q", got, plain)
			}
			sec, err = c.Logical().ListWithContext(ctx, m+"/keys")
			if err != nil || sec == nil {
				t.Fatalf("list: %v %v", sec, err)
			}
			if ks, _ := sec.Data["keys"].([]any); len(ks) != 3 {
				t.Errorf("client list = %v", sec.Data)
			}

			// A token whose policy lacks the path: 403 on every endpoint,
			// and no key is upserted.
			weak, _, err := env.VaultTokens.Create(ctx, token.Spec{Policies: []string{"default"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range []struct{ method, path, body string }{
				{"POST", "/encrypt/k", `{"plaintext":"` + pt + `"}`},
				{"POST", "/encrypt/new", `{"plaintext":"` + pt + `"}`},
				{"POST", "/decrypt/k", `{"ciphertext":"` + ct + `"}`},
				{"POST", "/keys/k2", `{}`},
				{"GET", "/keys/k", ""},
				{"LIST", "/keys", ""},
				{"DELETE", "/keys/k", ""},
				{"POST", "/keys/k/rotate", ""},
				{"POST", "/sign/k", `{"input":"` + pt + `"}`},
			} {
				out := replay(t, v, weak, r.method, "/v1/"+m+r.path, r.body, http.StatusForbidden)
				if e, _ := out["errors"].([]any); len(e) != 1 || e[0] != "permission denied" {
					t.Errorf("%s %s as default token: %v", r.method, r.path, out)
				}
			}
			replay(t, v, root, "GET", "/v1/"+m+"/keys/new", "", 404)
			// Unknown mounts are 403 too for that token: the policy comes first.
			replay(t, v, weak, "POST", "/v1/"+uuid.NewString()+"/encrypt/k", `{"plaintext":"`+pt+`"}`, 403)
		})
	}
}
