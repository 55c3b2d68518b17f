package vaultapi_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestCLIReplay replays, with plain net/http, the requests the vault CLI
// sends for `kv get/put/list/delete`, `login -method=userpass`,
// `token lookup` and `status` (vault-api.md §2.4) against an instance
// mount, with the CLI's headers, and checks status codes and bodies
// exactly.
func TestCLIReplay(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		mount := s.createInstance(t, "cli")
		u := s.createUser(t, mount, true)
		var tok string

		step(t, "login -method=userpass", func(t *testing.T) {
			r := s.vaultReq(t, "PUT", "/v1/auth/userpass/login/"+u.Username, cliHeaders(""), map[string]any{"password": u.Password})
			m := envelopeOf(t, r, http.StatusOK)
			if m["data"] != nil || m["warnings"] != nil {
				t.Errorf("login data/warnings = %v/%v, want null/null", m["data"], m["warnings"])
			}
			auth, _ := m["auth"].(map[string]any)
			tok, _ = auth["client_token"].(string)
			policies, _ := auth["policies"].([]any)
			lease, _ := auth["lease_duration"].(json.Number).Int64()
			if !strings.HasPrefix(tok, "hvs.") || !slices.Contains(policies, any("sm-write-"+mount)) ||
				!slices.Contains(policies, any("default")) || path(auth, "metadata", "username") != u.Username ||
				lease <= 0 || lease > 900 || auth["renewable"] != true || auth["token_type"] != "service" {
				t.Fatalf("login auth = %v", auth)
			}
		})

		step(t, "token lookup", func(t *testing.T) {
			m := envelopeOf(t, s.vaultReq(t, "GET", "/v1/auth/token/lookup-self", cliHeaders(tok), nil), http.StatusOK)
			if path(m, "data", "id") != tok || path(m, "data", "display_name") != "userpass-"+u.Username || m["auth"] != nil {
				t.Errorf("lookup-self = %v", m)
			}
		})

		step(t, "preflight", func(t *testing.T) {
			// kv get <mount>/cli/one, and kv get -mount=<mount> cli/one.
			for _, p := range []string{mount + "/cli/one", mount, mount + "/", mount + "/data/cli/one"} {
				m := envelopeOf(t, s.vaultReq(t, "GET", "/v1/sys/internal/ui/mounts/"+p, cliHeaders(tok), nil), http.StatusOK)
				if path(m, "data", "options", "version") != "2" || path(m, "data", "path") != mount+"/" ||
					path(m, "data", "type") != "kv" {
					t.Errorf("preflight %s data = %v, want kv version 2 at %s/", p, m["data"], mount)
				}
			}
			got := errorsOf(t, s.vaultReq(t, "GET", "/v1/sys/internal/ui/mounts/"+mount+"/cli/one", cliHeaders(""), nil), http.StatusForbidden)
			if !slices.Equal(got, []string{msgDenied}) {
				t.Errorf("preflight without a token: errors %q", got)
			}
		})

		step(t, "kv get of a missing secret", func(t *testing.T) {
			r := s.vaultReq(t, "GET", "/v1/"+mount+"/data/cli/one", cliHeaders(tok), nil)
			if got := errorsOf(t, r, http.StatusNotFound); len(got) != 0 {
				t.Errorf("errors = %q, want []", got)
			}
		})

		step(t, "kv put", func(t *testing.T) {
			m := envelopeOf(t, s.vaultReq(t, "PUT", "/v1/"+mount+"/data/cli/two", cliHeaders(tok),
				map[string]any{"data": map[string]any{"b": "2"}}), http.StatusOK)
			d, _ := m["data"].(map[string]any)
			if diff := cmp.Diff([]string{"created_time", "custom_metadata", "deletion_time", "destroyed", "version"}, sortedKeys(d)); diff != "" {
				t.Errorf("write data keys mismatch (-want +got):\n%s", diff)
			}
			if d["version"] != json.Number("1") || d["deletion_time"] != "" || d["destroyed"] != false || d["custom_metadata"] != nil || m["warnings"] != nil {
				t.Errorf("write answer = %v", m)
			}
			if _, err := time.Parse(time.RFC3339Nano, d["created_time"].(string)); err != nil {
				t.Errorf("created_time: %v", err)
			}
		})

		step(t, "kv get", func(t *testing.T) {
			envelopeOf(t, s.vaultReq(t, "PUT", "/v1/"+mount+"/data/cli/one", cliHeaders(tok),
				map[string]any{"data": map[string]any{"a": "1", "n": 7}}), http.StatusOK)
			m := envelopeOf(t, s.vaultReq(t, "GET", "/v1/"+mount+"/data/cli/one", cliHeaders(tok), nil), http.StatusOK)
			if diff := cmp.Diff(map[string]any{"a": "1", "n": json.Number("7")}, path(m, "data", "data")); diff != "" {
				t.Errorf("data.data mismatch (-want +got):\n%s", diff)
			}
			md, _ := path(m, "data", "metadata").(map[string]any)
			if md["version"] != json.Number("1") || md["deletion_time"] != "" || md["destroyed"] != false {
				t.Errorf("data.metadata = %v", md)
			}
		})

		step(t, "kv list", func(t *testing.T) {
			want := []any{"one", "two"}
			for _, r := range []struct{ method, path string }{
				{"GET", "/metadata/cli?list=true"},
				{"GET", "/metadata/cli/?list=true"},
				{"LIST", "/metadata/cli"},
				{"LIST", "/metadata/cli/"},
			} {
				m := envelopeOf(t, s.vaultReq(t, r.method, "/v1/"+mount+r.path, cliHeaders(tok), nil), http.StatusOK)
				if diff := cmp.Diff(want, path(m, "data", "keys")); diff != "" {
					t.Errorf("%s %s keys mismatch (-want +got):\n%s", r.method, r.path, diff)
				}
			}
			root := []any{"cli/"}
			for _, r := range []struct{ method, path string }{
				{"GET", "/metadata/?list=true"}, {"LIST", "/metadata/"}, {"LIST", "/metadata"},
			} {
				m := envelopeOf(t, s.vaultReq(t, r.method, "/v1/"+mount+r.path, cliHeaders(tok), nil), http.StatusOK)
				if diff := cmp.Diff(root, path(m, "data", "keys")); diff != "" {
					t.Errorf("%s %s keys mismatch (-want +got):\n%s", r.method, r.path, diff)
				}
			}
			for _, r := range []struct{ method, path string }{
				{"GET", "/metadata/empty?list=true"}, {"LIST", "/metadata/empty/"}, {"LIST", "/metadata/cli/one"},
			} {
				if got := errorsOf(t, s.vaultReq(t, r.method, "/v1/"+mount+r.path, cliHeaders(tok), nil), http.StatusNotFound); len(got) != 0 {
					t.Errorf("%s %s (empty folder) errors = %q, want []", r.method, r.path, got)
				}
			}
		})

		step(t, "list query forms", func(t *testing.T) {
			// Vault parses ?list= with strconv.ParseBool (http/logical.go):
			// any true form lists, a false form reads, anything else is 400.
			for _, q := range []string{"1", "TRUE", "t", "True"} {
				r := s.vaultReq(t, "GET", "/v1/"+mount+"/metadata/cli?list="+q, cliHeaders(tok), nil)
				if r.status != http.StatusOK {
					t.Errorf("GET ?list=%s = %d %s, want 200 with the keys", q, r.status, r.body)
					continue
				}
				if diff := cmp.Diff([]any{"one", "two"}, path(envelopeOf(t, r, http.StatusOK), "data", "keys")); diff != "" {
					t.Errorf("GET ?list=%s keys mismatch (-want +got):\n%s", q, diff)
				}
			}
			m := envelopeOf(t, s.vaultReq(t, "GET", "/v1/"+mount+"/metadata/cli/one?list=false", cliHeaders(tok), nil), http.StatusOK)
			if path(m, "data", "current_version") != json.Number("1") {
				t.Errorf("GET ?list=false = %v, want the metadata read", m["data"])
			}
			errorsOf(t, s.vaultReq(t, "GET", "/v1/"+mount+"/metadata/cli?list=maybe", cliHeaders(tok), nil), http.StatusBadRequest)
		})

		step(t, "kv delete", func(t *testing.T) {
			r := s.vaultReq(t, "DELETE", "/v1/"+mount+"/data/cli/two", cliHeaders(tok), nil)
			if r.status != http.StatusNoContent || len(r.body) != 0 {
				t.Fatalf("DELETE = %d %q, want 204 without body", r.status, r.body)
			}
			m := envelopeOf(t, s.vaultReq(t, "GET", "/v1/"+mount+"/data/cli/two", cliHeaders(tok), nil), http.StatusNotFound)
			d, _ := m["data"].(map[string]any)
			if diff := cmp.Diff([]string{"data", "metadata"}, sortedKeys(d)); diff != "" || d["data"] != nil {
				t.Fatalf("deleted read data = %v, want {data: null, metadata}", d)
			}
			md, _ := d["metadata"].(map[string]any)
			del, err := time.Parse(time.RFC3339Nano, md["deletion_time"].(string))
			if err != nil || time.Since(del) > time.Minute || md["destroyed"] != false || md["version"] != json.Number("1") {
				t.Errorf("deleted read metadata = %v (%v), want deletion_time now, version 1", md, err)
			}
			r = s.vaultReq(t, "PUT", "/v1/"+mount+"/destroy/cli/two", cliHeaders(tok), map[string]any{"versions": []int{1}})
			if r.status != http.StatusNoContent {
				t.Fatalf("destroy = %d %s, want 204", r.status, r.body)
			}
			m = envelopeOf(t, s.vaultReq(t, "GET", "/v1/"+mount+"/data/cli/two?version=1", cliHeaders(tok), nil), http.StatusNotFound)
			if path(m, "data", "data") != nil || path(m, "data", "metadata", "destroyed") != true {
				t.Errorf("destroyed read = %v, want data null, destroyed true", m["data"])
			}
			if got := errorsOf(t, s.vaultReq(t, "GET", "/v1/"+mount+"/data/cli/two?version=2", cliHeaders(tok), nil), http.StatusNotFound); len(got) != 0 {
				t.Errorf("missing version errors = %q, want []", got)
			}
		})

		step(t, "unknown parameters warn", func(t *testing.T) {
			m := envelopeOf(t, s.vaultReq(t, "PUT", "/v1/"+mount+"/data/cli/three", cliHeaders(tok),
				`{"data":{"c":"3"},"bogus":true}`), http.StatusOK)
			w, _ := m["warnings"].([]any)
			if len(w) != 1 || !strings.Contains(w[0].(string), "bogus") {
				t.Errorf("warnings = %v, want one naming bogus", m["warnings"])
			}
			if path(m, "data", "version") != json.Number("1") {
				t.Errorf("data = %v, want version 1 written", m["data"])
			}
		})

		step(t, "PUT and POST are synonyms", func(t *testing.T) {
			for i, method := range []string{"POST", "PUT"} {
				m := envelopeOf(t, s.vaultReq(t, method, "/v1/"+mount+"/data/cli/four", cliHeaders(tok),
					map[string]any{"data": map[string]any{"m": method}}), http.StatusOK)
				if path(m, "data", "version") != json.Number(string(rune('1'+i))) {
					t.Errorf("%s write data = %v, want version %d", method, m["data"], i+1)
				}
				r := s.vaultReq(t, method, "/v1/"+mount+"/metadata/cli/four", cliHeaders(tok),
					map[string]any{"custom_metadata": map[string]any{"by": method}})
				if r.status != http.StatusNoContent {
					t.Errorf("%s metadata = %d %s, want 204", method, r.status, r.body)
				}
				m = envelopeOf(t, s.vaultReq(t, method, "/v1/auth/userpass/login/"+u.Username, cliHeaders(""),
					map[string]any{"password": u.Password}), http.StatusOK)
				if path(m, "auth", "client_token") == nil {
					t.Errorf("%s login = %v", method, m)
				}
			}
			m := envelopeOf(t, s.vaultReq(t, "GET", "/v1/"+mount+"/metadata/cli/four", cliHeaders(tok), nil), http.StatusOK)
			if path(m, "data", "current_version") != json.Number("2") || path(m, "data", "custom_metadata", "by") != "PUT" {
				t.Errorf("metadata = %v", m["data"])
			}
		})

		step(t, "token headers", func(t *testing.T) {
			for name, h := range map[string]map[string]string{
				"X-Vault-Token":         {"X-Vault-Token": tok},
				"Authorization: Bearer": {"Authorization": "Bearer " + tok},
				"both":                  {"X-Vault-Token": tok, "Authorization": "Bearer " + tok},
			} {
				m := envelopeOf(t, s.vaultReq(t, "GET", "/v1/"+mount+"/data/cli/one", h, nil), http.StatusOK)
				if path(m, "data", "data", "a") != "1" {
					t.Errorf("%s: data = %v", name, m["data"])
				}
			}
			for name, h := range map[string]map[string]string{
				"none":          {"X-Vault-Request": "true"},
				"unknown token": {"X-Vault-Token": "hvs." + strings.Repeat("A", 43)},
				"garbage":       {"X-Vault-Token": "not-a-token"},
				"basic scheme":  {"Authorization": "Basic " + tok},
			} {
				got := errorsOf(t, s.vaultReq(t, "GET", "/v1/"+mount+"/data/cli/one", h, nil), http.StatusForbidden)
				if !slices.Equal(got, []string{msgDenied}) {
					t.Errorf("%s: errors %q, want %q", name, got, msgDenied)
				}
			}
		})

		step(t, "errors", func(t *testing.T) {
			cases := []struct {
				name, method, path, body string
				want                     int
				msg                      []string
			}{
				{"cas mismatch", "PUT", "/data/cli/one", `{"data":{"a":"2"},"options":{"cas":7}}`, 400, []string{msgCASMismatch}},
				{"no data", "PUT", "/data/cli/one", `{"options":{"cas":1}}`, 400, []string{"no data provided"}},
				{"malformed JSON", "PUT", "/data/cli/one", `{"data":`, 400, nil},
				{"not an object", "PUT", "/data/cli/one", `[1,2]`, 400, nil},
				{"versions missing", "POST", "/undelete/cli/one", `{}`, 400, []string{"no version number provided"}},
			}
			for _, tc := range cases {
				got := errorsOf(t, s.vaultReq(t, tc.method, "/v1/"+mount+tc.path, cliHeaders(tok), tc.body), tc.want)
				if tc.msg != nil && !slices.Equal(got, tc.msg) {
					t.Errorf("%s: errors %q, want %q", tc.name, got, tc.msg)
				}
				if len(got) != 1 || got[0] == "" {
					t.Errorf("%s: errors %q, want one message", tc.name, got)
				}
			}
		})

		step(t, "status", func(t *testing.T) {
			// sys/seal-status and sys/leader answer raw JSON, not the envelope,
			// in Vault as here; the CLI and vault/api decode them that way.
			r := s.vaultReq(t, "GET", "/v1/sys/seal-status", cliHeaders(tok), nil)
			if r.status != http.StatusOK {
				t.Fatalf("seal-status = %d %s", r.status, r.body)
			}
			m := decode(t, r.body)
			if m["sealed"] != false || m["initialized"] != true || m["type"] != "shamir" || m["data"] != nil {
				t.Errorf("seal-status = %s", r.body)
			}
			r = s.vaultReq(t, "GET", "/v1/sys/leader", cliHeaders(tok), nil)
			if r.status != http.StatusOK {
				t.Fatalf("leader = %d %s", r.status, r.body)
			}
			if m := decode(t, r.body); m["ha_enabled"] != false || m["data"] != nil {
				t.Errorf("leader = %s", r.body)
			}
		})
	})
}
