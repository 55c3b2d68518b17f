package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cofferhq/coffer/internal/dbtest"
	"github.com/cofferhq/coffer/internal/seal"
)

// seedServices is the seed's example configuration (manage_keys: admin,
// sign and verify on vault-sign), plus an encrypt endpoint and a sign-only
// and a verify-only endpoint.
const seedServices = `# The name of the service container. Must be unique within a project.
vault-kms:
    type: vault-kms:1.12
    disk: 512
    configuration:
        endpoints:
            manage_keys:
                - policy: admin
                  key: vault-sign
                  type: sign
                - policy: sign
                  key: vault-sign
                  type: sign
                - policy: verify
                  key: vault-sign
                  type: sign
            secrets:
                - policy: admin
                  key: vault-encrypt
                  type: encrypt
                - policy: encrypt
                  key: vault-encrypt
                  type: encrypt
                - policy: decrypt
                  key: vault-encrypt
                  type: encrypt
                - policy: rewrap
                  key: vault-encrypt
                  type: encrypt
            signer:
                - policy: sign
                  key: vault-sign
                  type: sign
            verifier:
                - policy: verify
                  key: vault-sign
                  type: sign
`

// relationships runs `coffer relationships` and decodes its output as the
// seed's shell does: base64 --decode, then JSON.
func relationships(t *testing.T, args ...string) (raw string, rels map[string][]map[string]any) {
	t.Helper()
	out, err := cli(t, append([]string{"relationships"}, args...)...)
	if err != nil {
		t.Fatalf("coffer relationships: %v", err)
	}
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("coffer relationships printed %q, want one line", out)
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(out, "\n"))
	if err != nil {
		t.Fatalf("base64 --decode: %v", err)
	}
	if err := json.Unmarshal(b, &rels); err != nil {
		t.Fatalf("decode relationships %s: %v", b, err)
	}
	return out, rels
}

// jqString is `jq -r ".<rel>[0].<field>"`.
func jqString(t *testing.T, rels map[string][]map[string]any, rel, field string) string {
	t.Helper()
	r := rels[rel]
	if len(r) != 1 {
		t.Fatalf("relationship %s = %v, want one element", rel, r)
	}
	switch v := r[0][field].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	t.Fatalf("%s[0].%s = %v", rel, field, r[0][field])
	return ""
}

// vaultCurl sends a request as the seed's curl commands do: the token in
// X-Vault-Token, a body given with --data (so form-encoded by curl's
// default content type, which Vault ignores).
func vaultCurl(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("X-Vault-Token", token)
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// vaultOK is vaultCurl expecting 200, returning "data".
func vaultOK(t *testing.T, method, url, token, body string) map[string]any {
	t.Helper()
	code, out := vaultCurl(t, method, url, token, body)
	d, _ := out["data"].(map[string]any)
	if code != http.StatusOK || d == nil {
		t.Fatalf("%s %s = %d %v, want 200 with data", method, url, code, out)
	}
	return d
}

// TestVaultKMSSeed is the seed's Vault KMS walkthrough: serve with a
// services file, tokens and the URL from `coffer relationships` the way the
// seed's shell gets them, then every curl command of the seed; endpoint
// tokens limited to their policies; a restart keeps the tokens;
// rotate-token replaces one; a key whose type changed stops serve.
func TestVaultKMSSeed(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			dbURL := ""
			if kind == "postgres" {
				dbURL = dbtest.Postgres(t)
			}
			api := setEnv(t, dbURL)
			if kind == "postgres" {
				k, _ := seal.NewRootKey()
				t.Setenv("COFFER_ROOT_KEY", base64.StdEncoding.EncodeToString(k))
			}
			file := filepath.Join(t.TempDir(), "services.yaml")
			if err := os.WriteFile(file, []byte(seedServices), 0o600); err != nil {
				t.Fatal(err)
			}
			t.Setenv("COFFER_TRANSIT_CONFIG", file)
			stop := startServe(t, api)
			defer func() { stop() }()

			first, rels := relationships(t)
			if got := slices.Sorted(func(yield func(string) bool) {
				for k := range rels {
					if !yield(k) {
						return
					}
				}
			}); !slices.Equal(got, []string{"manage_keys", "secrets", "signer", "verifier"}) {
				t.Fatalf("relationships = %v", got)
			}
			// The seed's relationship object, field by field.
			_, vaultPort, _ := net.SplitHostPort(os.Getenv("COFFER_VAULT_ADDR"))
			r := rels["manage_keys"][0]
			wantFields := []string{"username", "scheme", "service", "fragment", "ip", "instance_ips", "hostname", "port",
				"cluster", "host", "rel", "path", "query", "password", "type", "public", "host_mapped"}
			if len(r) != len(wantFields) {
				t.Errorf("relationship has %d fields, want the seed's %d: %v", len(r), len(wantFields), r)
			}
			for field, want := range map[string]any{
				"username": "", "scheme": "http", "service": "vault-kms", "fragment": "", "ip": "127.0.0.1",
				"hostname": "127.0.0.1", "cluster": "coffer", "host": "127.0.0.1", "rel": "manage_keys", "path": "/",
				"type": "vault-kms:1.12", "public": false, "host_mapped": false,
			} {
				if r[field] != want {
					t.Errorf("relationship %s = %#v, want %#v", field, r[field], want)
				}
			}
			if jqString(t, rels, "manage_keys", "port") != vaultPort {
				t.Errorf("port = %v, want the Vault listener's %s", r["port"], vaultPort)
			}
			if ips, _ := r["instance_ips"].([]any); len(ips) != 1 || ips[0] != "127.0.0.1" {
				t.Errorf("instance_ips = %v", r["instance_ips"])
			}
			if q, _ := r["query"].(map[string]any); len(q) != 1 || q["is_master"] != true {
				t.Errorf("query = %v", r["query"])
			}

			// VAULT_TOKEN=$(... | jq -r ".manage_keys[0].password")
			// VAULT_URL=$(... jq -r ".manage_keys[0].host"):$(... jq -r ".manage_keys[0].port")
			token := jqString(t, rels, "manage_keys", "password")
			vaultURL := jqString(t, rels, "manage_keys", "host") + ":" + jqString(t, rels, "manage_keys", "port")
			base := "http://" + vaultURL + "/v1/transit"
			secretB64 := base64.StdEncoding.EncodeToString([]byte("SECRET\n")) // $(echo SECRET | base64)
			if secretB64 != "U0VDUkVUCg==" {
				t.Fatalf("echo SECRET | base64 = %s", secretB64)
			}

			// Manage your keys: key information, then rotation.
			info := vaultOK(t, "GET", base+"/keys/vault-sign", token, "")
			if info["name"] != "vault-sign" || info["type"] != "ecdsa-p256" || info["latest_version"] != float64(1) {
				t.Errorf("key info = %v", info)
			}
			if keys, _ := info["keys"].(map[string]any); keys["1"] == nil {
				t.Errorf("key info lacks version 1 (its creation time): %v", info)
			}
			vaultOK(t, "POST", base+"/keys/vault-sign/rotate", token, "")
			if v := vaultOK(t, "GET", base+"/keys/vault-sign", token, "")["latest_version"]; v != float64(2) {
				t.Errorf("latest_version after rotate = %v, want 2", v)
			}

			// Sign and verify payloads.
			signed := vaultOK(t, "POST", base+"/sign/vault-sign/sha2-512", token, `{"input": "`+secretB64+`"}`)
			signature, _ := signed["signature"].(string)
			if !strings.HasPrefix(signature, "vault:v2:") || signed["key_version"] != float64(2) {
				t.Fatalf("sign = %v", signed)
			}
			verifyBody := "\n{\n  \"input\": \"" + secretB64 + "\",\n  \"signature\": \"" + signature + "\"\n}"
			if v := vaultOK(t, "POST", base+"/verify/vault-sign/sha2-512", token, verifyBody); v["valid"] != true {
				t.Errorf("verify = %v, want valid", v)
			}
			tampered := strings.Replace(verifyBody, secretB64, base64.StdEncoding.EncodeToString([]byte("SECRET!\n")), 1)
			if v := vaultOK(t, "POST", base+"/verify/vault-sign/sha2-512", token, tampered); v["valid"] != false {
				t.Errorf("verify of another input = %v, want not valid", v)
			}
			if code, _ := vaultCurl(t, "POST", base+"/decrypt/vault-encrypt", token, `{"ciphertext": "vault:v1:AAAA"}`); code != 403 {
				t.Errorf("manage_keys token decrypt = %d, want 403", code)
			}

			// Encrypt and decrypt data, then rewrap after a rotation.
			enc := jqString(t, rels, "secrets", "password")
			ct := vaultOK(t, "POST", base+"/encrypt/vault-encrypt", enc, `{"plaintext": "`+secretB64+`"}`)
			ciphertext, _ := ct["ciphertext"].(string)
			if !strings.HasPrefix(ciphertext, "vault:v1:") || ct["key_version"] != float64(1) {
				t.Fatalf("encrypt = %v", ct)
			}
			pt := vaultOK(t, "POST", base+"/decrypt/vault-encrypt", enc, "\n{\n  \"ciphertext\": \""+ciphertext+"\"\n}")
			if pt["plaintext"] != "U0VDUkVUCg==" {
				t.Errorf("decrypt = %v, want U0VDUkVUCg==", pt)
			}
			if b, _ := base64.StdEncoding.DecodeString(pt["plaintext"].(string)); string(b) != "SECRET\n" {
				t.Errorf("| jq -r .data.plaintext | base64 -d = %q", b)
			}
			vaultOK(t, "POST", base+"/keys/vault-encrypt/rotate", enc, "")
			rw := vaultOK(t, "POST", base+"/rewrap/vault-encrypt", enc, "\n{\n  \"ciphertext\": \""+ciphertext+"\"\n}")
			rewrapped, _ := rw["ciphertext"].(string)
			if !strings.HasPrefix(rewrapped, "vault:v2:") || rw["key_version"] != float64(2) || rewrapped == ciphertext {
				t.Errorf("rewrap = %v, want a vault:v2: ciphertext at key_version 2", rw)
			}
			if pt := vaultOK(t, "POST", base+"/decrypt/vault-encrypt", enc, `{"ciphertext": "`+rewrapped+`"}`); pt["plaintext"] != secretB64 {
				t.Errorf("decrypt of the rewrapped ciphertext = %v", pt)
			}

			// A sign-only token signs, and may not decrypt or rotate; a
			// verify-only token verifies, and may not sign.
			signer := jqString(t, rels, "signer", "password")
			vaultOK(t, "POST", base+"/sign/vault-sign/sha2-512", signer, `{"input": "`+secretB64+`"}`)
			for _, r := range []struct{ method, path, body string }{
				{"POST", "/decrypt/vault-encrypt", `{"ciphertext": "` + ciphertext + `"}`},
				{"POST", "/keys/vault-sign/rotate", ""},
				{"GET", "/keys/vault-sign", ""},
				{"POST", "/verify/vault-sign/sha2-512", verifyBody},
			} {
				if code, out := vaultCurl(t, r.method, base+r.path, signer, r.body); code != http.StatusForbidden {
					t.Errorf("signer %s %s = %d %v, want 403", r.method, r.path, code, out)
				}
			}
			verifier := jqString(t, rels, "verifier", "password")
			if v := vaultOK(t, "POST", base+"/verify/vault-sign/sha2-512", verifier, verifyBody); v["valid"] != true {
				t.Errorf("verifier verify = %v", v)
			}
			if code, _ := vaultCurl(t, "POST", base+"/sign/vault-sign/sha2-512", verifier, `{"input": "`+secretB64+`"}`); code != 403 {
				t.Errorf("verifier sign = %d, want 403", code)
			}
			if code, _ := vaultCurl(t, "POST", base+"/encrypt/vault-encrypt", verifier, `{"plaintext": "`+secretB64+`"}`); code != 403 {
				t.Errorf("verifier encrypt = %d, want 403", code)
			}

			// --raw and --endpoint.
			out, err := cli(t, "relationships", "--endpoint", "secrets", "--raw")
			var one map[string][]map[string]any
			if err != nil || json.Unmarshal([]byte(out), &one) != nil || len(one) != 1 || one["secrets"][0]["password"] != enc ||
				!strings.Contains(out, "\n  \"secrets\": [") {
				t.Errorf("relationships --endpoint secrets --raw = %q, %v", out, err)
			}
			if _, err := cli(t, "relationships", "--endpoint", "nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
				t.Errorf("relationships --endpoint nope = %v, want an error naming it", err)
			}

			// A restart keeps every token.
			if err := stop(); err != nil {
				t.Fatalf("serve stop: %v", err)
			}
			stop = startServe(t, api)
			if again, _ := relationships(t); again != first {
				t.Error("relationships changed across a restart")
			}
			vaultOK(t, "GET", base+"/keys/vault-sign", token, "")

			// rotate-token replaces one endpoint's token, and prints nothing secret.
			out, err = cli(t, "relationships", "rotate-token", "--endpoint", "signer")
			if err != nil || !strings.Contains(out, "endpoint signer: new token issued (accessor ") || strings.Contains(out, "hvs.") {
				t.Fatalf("rotate-token = %q, %v", out, err)
			}
			_, rotated := relationships(t)
			newSigner := jqString(t, rotated, "signer", "password")
			if newSigner == signer {
				t.Fatal("rotate-token kept the token")
			}
			for _, rel := range []string{"manage_keys", "secrets", "verifier"} {
				if jqString(t, rotated, rel, "password") != jqString(t, rels, rel, "password") {
					t.Errorf("rotate-token of signer changed %s's token", rel)
				}
			}
			// The CLI revoked it from another process: serve's caches learn
			// of it within sqlite.WatchInterval (PostgreSQL: a NOTIFY).
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				code, _ := vaultCurl(t, "POST", base+"/sign/vault-sign/sha2-512", signer, `{"input": "`+secretB64+`"}`)
				if code == 403 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("old signer token after rotate-token = %d, want 403", code)
				}
			}
			vaultOK(t, "POST", base+"/sign/vault-sign/sha2-512", newSigner, `{"input": "`+secretB64+`"}`)
			out, err = cli(t, "relationships", "rotate-token", "--endpoint", "verifier", "--print", "--raw")
			var printed map[string][]map[string]any
			if err != nil || json.Unmarshal([]byte(out), &printed) != nil || len(printed) != 1 ||
				printed["verifier"][0]["password"] == verifier {
				t.Errorf("rotate-token --print --raw = %q, %v", out, err)
			}
			if _, now := relationships(t, "--endpoint", "verifier"); now["verifier"][0]["password"] != printed["verifier"][0]["password"] {
				t.Error("rotate-token --print printed another token than the stored one")
			}
			if _, err := cli(t, "relationships", "rotate-token", "--endpoint", "nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
				t.Errorf("rotate-token --endpoint nope = %v, want an error naming it", err)
			}
			if err := stop(); err != nil {
				t.Fatalf("serve stop: %v", err)
			}
			_, before := relationships(t)
			if kind == "sqlite" { // stored hashed and wrapped by the root key, never in the clear
				wantNotOnDisk(t, os.Getenv("COFFER_DATA_DIR"), token, enc, signer, newSigner, verifier,
					jqString(t, before, "verifier", "password"))
			}

			// A key whose type changed after creation stops serve, naming
			// endpoint, policy and key; nothing of the file is applied.
			changed := strings.ReplaceAll(seedServices, "type: encrypt", "type: sign")
			changed = strings.NewReplacer("policy: encrypt", "policy: sign", "policy: decrypt", "policy: verify",
				"policy: rewrap", "policy: sign").Replace(changed)
			changed += "            extra:\n                - policy: admin\n                  key: brand-new\n                  type: sign\n"
			if err := os.WriteFile(file, []byte(changed), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = cli(t, "serve")
			if err == nil {
				t.Fatal("serve with a changed key type started")
			}
			for _, want := range []string{"COFFER_TRANSIT_CONFIG", `endpoint "secrets", policy "admin", key "vault-encrypt"`,
				"exists with type chacha20-poly1305, but type sign needs ecdsa-p256"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("serve error = %v, want it to contain %q", err, want)
				}
			}
			if _, after := relationships(t); len(after) != len(before) || after["extra"] != nil {
				t.Errorf("a refused services file changed the endpoints: %v", after)
			}
		})
	}
}

func TestRelationshipsUsageAndEmpty(t *testing.T) {
	setEnv(t, "")
	for _, args := range [][]string{
		{"relationships", "extra"}, {"relationships", "--bogus"}, {"relationships", "rotate-token"},
		{"relationships", "rotate-token", "--endpoint", "x", "--raw"}, {"relationships", "rotate-token", "--endpoint", "x", "y"},
	} {
		if _, err := cli(t, args...); !errors.Is(err, errUsage) {
			t.Errorf("coffer %v = %v, want a usage error", args, err)
		}
	}
	// No services file yet: an empty object, and a hint on stderr.
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"relationships"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if out.String() != base64.StdEncoding.EncodeToString([]byte("{}"))+"\n" || !strings.Contains(errOut.String(), "COFFER_TRANSIT_CONFIG") {
		t.Errorf("relationships without endpoints = %q (stderr %q)", out.String(), errOut.String())
	}
	// A services file that cannot be read stops serve, naming the variable.
	t.Setenv("COFFER_TRANSIT_CONFIG", filepath.Join(t.TempDir(), "missing.yaml"))
	if _, err := cli(t, "serve"); err == nil || !strings.Contains(err.Error(), "COFFER_TRANSIT_CONFIG") {
		t.Errorf("serve with a missing services file = %v", err)
	}
}

// wantNotOnDisk fails t when a file under dir holds one of secrets.
func wantNotOnDisk(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) || bytes.Contains(b, []byte(strings.TrimPrefix(s, "hvs."))) {
				t.Errorf("%s holds an endpoint token in the clear", path)
			}
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("scan %s: %d files, %v", dir, files, err)
	}
}
