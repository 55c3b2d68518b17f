package vaultapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/token"
)

// replay sends one request the way vault-benchmark does (its recorded
// method, path and body; X-Vault-Token and an empty X-Vault-Namespace) and
// checks the status and, for 200, Vault's eight-key envelope.
func replay(t testing.TB, base, tok, method, path, body string, want int) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("X-Vault-Token", tok)
	}
	req.Header.Set("X-Vault-Namespace", "")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, res.StatusCode, b, want)
	}
	if want == http.StatusNoContent {
		if len(b) != 0 {
			t.Errorf("%s %s: 204 with a body %q", method, path, b)
		}
		return nil
	}
	var env map[string]any // the 200 envelope, or {"errors": [...]}
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("%s %s: body %s: %v", method, path, b, err)
	}
	for _, k := range []string{"request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info", "warnings", "auth"} {
		if _, ok := env[k]; !ok && want == http.StatusOK {
			t.Errorf("%s %s: envelope lacks %q: %s", method, path, k, b)
		}
	}
	if _, ok := env["errors"]; want >= 400 && !ok {
		t.Errorf("%s %s: error answer without Vault's {\"errors\": [...]}: %s", method, path, b)
	}
	return env
}

// TestVaultBenchmarkReplay replays vault-benchmark's kvv2_read, kvv2_write
// and userpass_auth tests (setup, attack, cleanup) with a root token.
func TestVaultBenchmarkReplay(t *testing.T) {
	for _, kind := range apitest.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			env := apitest.Start(t, kind)
			root, _, err := env.VaultTokens.Create(t.Context(), token.RootSpec())
			if err != nil {
				t.Fatal(err)
			}
			v := env.VaultURL

			// kvv2_read and kvv2_write.
			m := uuid.NewString()
			replay(t, v, root, "POST", "/v1/sys/mounts/"+m, `{"type":"kv","options":{"version":"2"}}`, 204)
			for _, n := range []string{"1", "2", "3"} {
				out := replay(t, v, root, "PUT", "/v1/"+m+"/data/secret-"+n, `{"data":{"foo":1}}`, 200)
				if out["data"].(map[string]any)["version"] != float64(1) {
					t.Fatalf("setup write of secret-%s: %v", n, out)
				}
			}
			out := replay(t, v, root, "GET", "/v1/"+m+"/data/secret-2", "", 200)
			if got := out["data"].(map[string]any)["data"].(map[string]any)["foo"]; got != float64(1) {
				t.Errorf("kvv2_read attack read foo = %v, want 1", got)
			}
			out = replay(t, v, root, "POST", "/v1/"+m+"/data/secret-2", `{"data":{"foo":"`+strings.Repeat("a", 128)+`"}}`, 200)
			if out["data"].(map[string]any)["version"] != float64(2) {
				t.Errorf("kvv2_write attack: version = %v, want 2", out["data"])
			}
			replay(t, v, root, "DELETE", "/v1/sys/mounts/"+m, "", 204)
			replay(t, v, root, "GET", "/v1/"+m+"/data/secret-2", "", 404) // the mount and its data are gone

			// userpass_auth.
			a := uuid.NewString()
			replay(t, v, root, "POST", "/v1/sys/auth/"+a, `{"type":"userpass"}`, 204)
			replay(t, v, root, "PUT", "/v1/auth/"+a+"/users/bench-user", `{"password":"bench-password"}`, 204)
			out = replay(t, v, "", "POST", "/v1/auth/"+a+"/login/bench-user", `{"password":"bench-password"}`, 200)
			auth, _ := out["auth"].(map[string]any)
			if tok, _ := auth["client_token"].(string); !strings.HasPrefix(tok, "hvs.") {
				t.Errorf("userpass_auth attack: auth = %v", auth)
			}
			replay(t, v, "", "POST", "/v1/auth/"+a+"/login/bench-user", `{"password":"wrong"}`, 400)
			replay(t, v, root, "DELETE", "/v1/sys/auth/"+a, "", 204)
			replay(t, v, "", "POST", "/v1/auth/"+a+"/login/bench-user", `{"password":"bench-password"}`, 404)
		})
	}
}

// TestPreflightOfTableMount: the CLI's KV preflight finds a sys/mounts KV
// mount as version 2, so `vault kv` uses the data/ and metadata/ paths.
func TestPreflightOfTableMount(t *testing.T) {
	env := apitest.Start(t, apitest.SQLite)
	root, _, err := env.VaultTokens.Create(t.Context(), token.RootSpec())
	if err != nil {
		t.Fatal(err)
	}
	replay(t, env.VaultURL, root, "POST", "/v1/sys/mounts/team", `{"type":"kv","options":{"version":"2"}}`, 204)
	out := replay(t, env.VaultURL, root, "GET", "/v1/sys/internal/ui/mounts/team/app/db", "", 200)
	data, _ := out["data"].(map[string]any)
	opts, _ := data["options"].(map[string]any)
	if data["path"] != "team/" || data["type"] != "kv" || opts["version"] != "2" {
		t.Errorf("preflight of a table mount = %v", data)
	}
	replay(t, env.VaultURL, root, "GET", "/v1/sys/internal/ui/mounts/nowhere/x", "", 404)
}

// TestMountUsersCannotHoldInstancePolicies: an instance's secrets are
// reachable through its control-plane users only.
func TestMountUsersCannotHoldInstancePolicies(t *testing.T) {
	env := apitest.Start(t, apitest.SQLite)
	root, _, err := env.VaultTokens.Create(t.Context(), token.RootSpec())
	if err != nil {
		t.Fatal(err)
	}
	replay(t, env.VaultURL, root, "POST", "/v1/sys/auth/people", `{"type":"userpass"}`, 204)
	id := uuid.NewString()
	for _, p := range []string{"sm-write-" + id, "sm-read-" + id} {
		replay(t, env.VaultURL, root, "POST", "/v1/auth/people/users/eve", `{"password":"pw-123456","token_policies":["`+p+`"]}`, 400)
	}
	replay(t, env.VaultURL, root, "POST", "/v1/auth/people/users/eve", `{"password":"pw-123456","token_policies":["app"]}`, 204)
}
