package vaultapi_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cofferhq/coffer/internal/token"
)

// Who may call a Vault listener route.
const (
	public = "public" // no token needed (health, logins)
	self   = "self"   // any valid token: the default policy's token self-service
	policy = "policy" // a valid token whose policies grant the path
	// catchAll: a valid token, then 404 (no route; nothing to grant)
	catchAll = "catch-all"
)

// vaultRoutes classifies every route of the Vault listener, keyed by
// "METHOD path" as Echo registers it. TestVaultRouteAuthorization fails
// when a route has no entry or an entry no route.
var vaultRoutes = map[string]string{
	"GET /v1/sys/health":                             public,
	"HEAD /v1/sys/health":                            public,
	"GET /v1/sys/seal-status":                        public,
	"GET /v1/sys/leader":                             public,
	"POST /v1/auth/userpass/login/:username":         public,
	"POST /v1/auth/:mount/login/:username":           public,
	"GET /v1/auth/token/lookup-self":                 self,
	"POST /v1/auth/token/renew-self":                 self,
	"POST /v1/auth/token/revoke-self":                self,
	"POST /v1/auth/token/create":                     policy,
	"GET /v1/sys/internal/ui/mounts/*":               policy,
	"GET /v1/sys/mounts":                             policy,
	"POST /v1/sys/mounts/:path":                      policy,
	"DELETE /v1/sys/mounts/:path":                    policy,
	"GET /v1/sys/mounts/:path/tune":                  policy,
	"POST /v1/sys/mounts/:path/tune":                 policy,
	"GET /v1/sys/auth":                               policy,
	"POST /v1/sys/auth/:path":                        policy,
	"DELETE /v1/sys/auth/:path":                      policy,
	"GET /v1/sys/auth/:path/tune":                    policy,
	"POST /v1/sys/auth/:path/tune":                   policy,
	"POST /v1/auth/:mount/users/:username":           policy,
	"GET /v1/auth/:mount/users/:username":            policy,
	"DELETE /v1/auth/:mount/users/:username":         policy,
	"LIST /v1/auth/:mount/users":                     policy,
	"GET /v1/:mount/data/*":                          policy,
	"POST /v1/:mount/data/*":                         policy,
	"PATCH /v1/:mount/data/*":                        policy,
	"DELETE /v1/:mount/data/*":                       policy,
	"POST /v1/:mount/delete/*":                       policy,
	"POST /v1/:mount/undelete/*":                     policy,
	"POST /v1/:mount/destroy/*":                      policy,
	"GET /v1/:mount/metadata/*":                      policy,
	"LIST /v1/:mount/metadata/*":                     policy,
	"LIST /v1/:mount/metadata":                       policy,
	"POST /v1/:mount/metadata/*":                     policy,
	"PATCH /v1/:mount/metadata/*":                    policy,
	"DELETE /v1/:mount/metadata/*":                   policy,
	"GET /v1/:mount/subkeys/*":                       policy,
	"GET /v1/:mount/config":                          policy,
	"POST /v1/:mount/config":                         policy,
	"POST /v1/:mount/keys/:name":                     policy,
	"GET /v1/:mount/keys/:name":                      policy,
	"DELETE /v1/:mount/keys/:name":                   policy,
	"LIST /v1/:mount/keys":                           policy,
	"POST /v1/:mount/keys/:name/config":              policy,
	"POST /v1/:mount/keys/:name/rotate":              policy,
	"POST /v1/:mount/keys/:name/trim":                policy,
	"POST /v1/:mount/encrypt/:name":                  policy,
	"POST /v1/:mount/decrypt/:name":                  policy,
	"POST /v1/:mount/rewrap/:name":                   policy,
	"POST /v1/:mount/sign/:name":                     policy,
	"POST /v1/:mount/sign/:name/:algo":               policy,
	"POST /v1/:mount/verify/:name":                   policy,
	"POST /v1/:mount/verify/:name/:algo":             policy,
	"POST /v1/:mount/hmac/:name":                     policy,
	"POST /v1/:mount/hmac/:name/:algo":               policy,
	"GET /v1/:mount/export/:key_type/:name":          policy,
	"GET /v1/:mount/export/:key_type/:name/:version": policy,
	"GET /v1/:mount/backup/:name":                    policy,
	"POST /v1/:mount/restore":                        policy,
	"POST /v1/:mount/restore/:name":                  policy,
	"GET /v1/:mount/config/keys":                     policy,
	"POST /v1/:mount/config/keys":                    policy,
	"GET /v1/:mount/cache-config":                    policy,
	"POST /v1/:mount/cache-config":                   policy,
	"POST /v1/:mount/datakey/:type/:name":            policy,
	"POST /v1/:mount/random":                         policy,
	"POST /v1/:mount/random/:a":                      policy,
	"POST /v1/:mount/random/:a/:b":                   policy,
	"POST /v1/:mount/hash":                           policy,
	"POST /v1/:mount/hash/:algo":                     policy,
	// Echo's catch-alls of the /v1/:mount group: its middleware (the
	// token check) runs before the 404.
	"echo_route_not_found /v1/:mount":   catchAll,
	"echo_route_not_found /v1/:mount/*": catchAll,
}

// concrete fills a route's parameters with real mounts and names: the
// transit mount "tr", the userpass mount "up".
func concrete(method, path string) (string, string) {
	if method == "echo_route_not_found" {
		method = http.MethodGet
	}
	r := strings.NewReplacer("/v1/auth/:mount/", "/v1/auth/up/", "/v1/:mount", "/v1/tr", ":path", "tr",
		":username", "alice", ":key_type", "encryption-key", ":version", "1", ":type", "wrapped", ":name", "k",
		":algo", "sha2-256", ":a", "16", ":b", "8", "*", "a/b")
	return method, r.Replace(path)
}

// TestVaultRouteAuthorization: every route of the Vault listener but the
// public ones answers 403 "permission denied" to a missing, malformed,
// unknown or revoked token, and every policy route to a valid token of the
// default policy (which grants only token self-service); the root token
// gets past authorization everywhere. (Echo's catch-alls of a mount check
// the token, then answer 404 to any valid one.)
func TestVaultRouteAuthorization(t *testing.T) {
	forEachKind(t, func(t *testing.T, s *stack) {
		ctx := t.Context()
		root := s.rootToken(t)
		replay(t, s.env.VaultURL, root, "POST", "/v1/sys/mounts/tr", `{"type":"transit"}`, http.StatusNoContent)
		replay(t, s.env.VaultURL, root, "POST", "/v1/sys/auth/up", `{"type":"userpass"}`, http.StatusNoContent)
		replay(t, s.env.VaultURL, root, "POST", "/v1/tr/keys/k", `{"exportable":true,"allow_plaintext_backup":true}`, http.StatusOK)

		var registered []string
		for _, r := range s.env.VaultRoutes {
			registered = append(registered, r.Method+" "+r.Path)
		}
		for _, k := range registered {
			if _, ok := vaultRoutes[k]; !ok {
				t.Errorf("route %s has no case in vaultRoutes", k)
			}
		}
		for k := range vaultRoutes {
			if !slices.Contains(registered, k) {
				t.Errorf("case %s has no route", k)
			}
		}

		newToken := func(policies ...string) string {
			secret, _, err := s.env.VaultTokens.Create(ctx, token.Spec{Policies: policies, Renewable: true})
			if err != nil {
				t.Fatal(err)
			}
			return secret
		}
		revoked := newToken("root")
		if err := s.env.VaultTokens.Revoke(ctx, revoked); err != nil {
			t.Fatal(err)
		}
		unknown := make([]byte, 24)
		rand.Read(unknown)
		send := func(method, path, tok string) (int, []string) {
			req, _ := http.NewRequest(method, s.env.VaultURL+path, strings.NewReader(`{}`))
			if tok != "" {
				req.Header.Set("X-Vault-Token", tok)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			var body struct{ Errors []string }
			json.Unmarshal(b, &body)
			return res.StatusCode, body.Errors
		}
		denied := func(what, method, path, tok string) {
			if code, errsOut := send(method, path, tok); code != http.StatusForbidden ||
				len(errsOut) != 1 || errsOut[0] != "permission denied" {
				t.Errorf("%s %s with %s = %d %q, want 403 permission denied", method, path, what, code, errsOut)
			}
		}
		for route, who := range vaultRoutes {
			method, path, _ := strings.Cut(route, " ")
			method, path = concrete(method, path)
			if who == public {
				if code, _ := send(method, path, ""); code == http.StatusForbidden || code >= 500 {
					t.Errorf("public %s %s without a token = %d", method, path, code)
				}
				continue
			}
			denied("no token", method, path, "")
			denied("a malformed token", method, path, "not-a-token")
			denied("an unknown token", method, path, "hvs."+hex.EncodeToString(unknown))
			denied("a revoked token", method, path, revoked)
			switch who {
			case catchAll:
				if code, _ := send(method, path, newToken("root")); code != http.StatusNotFound {
					t.Errorf("%s %s with a root token = %d, want 404", method, path, code)
				}
				continue
			case policy:
				denied("a default-policy token", method, path, newToken("default"))
				if code, _ := send(method, path, newToken("root")); code == http.StatusForbidden || code >= 500 {
					t.Errorf("%s %s with a root token = %d, want past authorization", method, path, code)
				}
			case self:
				if code, _ := send(method, path, newToken("default")); code/100 != 2 {
					t.Errorf("%s %s with a default-policy token = %d, want 2xx", method, path, code)
				}
			}
		}
	})
}
