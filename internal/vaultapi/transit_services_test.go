package vaultapi_test

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/services"
	"github.com/cofferhq/coffer/internal/token"
)

// TestTransitServicesPolicies checks the services file's per-key policies
// on the Vault listener: each grants its row of the seed's table on its key
// and nothing on another key or operation. Policies are checked against
// the whole request path, as Vault checks them: admin's
// transit/keys/KEY/* covers rotate and config, while transit/keys/KEY
// itself stays read-only.
func TestTransitServicesPolicies(t *testing.T) {
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
			replay(t, v, root, "POST", "/v1/sys/mounts/transit", `{"type":"transit"}`, http.StatusNoContent)
			replay(t, v, root, "POST", "/v1/transit/keys/k", `{"type":"ecdsa-p256"}`, http.StatusOK)
			replay(t, v, root, "POST", "/v1/transit/keys/k2", `{"type":"ecdsa-p256"}`, http.StatusOK)
			replay(t, v, root, "POST", "/v1/transit/keys/d", `{"type":"chacha20-poly1305"}`, http.StatusOK)
			tok := func(policy, key string) string {
				s, _, err := env.VaultTokens.Create(ctx, token.Spec{Policies: []string{"default", services.PolicyName(policy, key)}})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			in := `{"input":"` + base64.StdEncoding.EncodeToString([]byte("SECRET\n")) + `"}`
			sig := dataOf(t, replay(t, v, root, "POST", "/v1/transit/sign/k/sha2-512", in, 200))["signature"].(string)
			verifyBody := `{"input":"` + base64.StdEncoding.EncodeToString([]byte("SECRET\n")) + `","signature":"` + sig + `"}`
			ct := dataOf(t, replay(t, v, root, "POST", "/v1/transit/encrypt/d", `{"plaintext":"U0VDUkVUCg=="}`, 200))["ciphertext"].(string)
			ctBody := `{"ciphertext":"` + ct + `"}`

			type req struct {
				method, path, body string
				want               int
			}
			tests := map[string][]req{
				"admin-k": {
					{"GET", "/v1/transit/keys/k", "", 200},
					{"POST", "/v1/transit/keys/k/rotate", "", 200},
					{"POST", "/v1/transit/keys/k/config", `{"min_decryption_version":1}`, 200},
					{"GET", "/v1/transit/keys/k2", "", 403},
					{"POST", "/v1/transit/keys/k2/rotate", "", 403},
					{"POST", "/v1/transit/keys/k", `{}`, 403},   // update on the key itself: not granted
					{"DELETE", "/v1/transit/keys/k", "", 403},   // nor delete
					{"POST", "/v1/transit/keys/new", `{}`, 403}, // nor creating keys
					{"LIST", "/v1/transit/keys", "", 403},
					{"POST", "/v1/transit/sign/k/sha2-512", in, 403},
				},
				"sign-k": {
					{"POST", "/v1/transit/sign/k/sha2-512", in, 200},
					{"POST", "/v1/transit/sign/k", in, 200},
					{"POST", "/v1/transit/sign/k2/sha2-512", in, 403},
					{"POST", "/v1/transit/verify/k/sha2-512", verifyBody, 403},
					{"GET", "/v1/transit/keys/k", "", 403},
					{"POST", "/v1/transit/keys/k/rotate", "", 403},
				},
				"verify-k": {
					{"POST", "/v1/transit/verify/k/sha2-512", verifyBody, 200},
					{"POST", "/v1/transit/verify/k", verifyBody, 200},
					{"POST", "/v1/transit/verify/k2/sha2-512", verifyBody, 403},
					{"POST", "/v1/transit/sign/k/sha2-512", in, 403},
				},
				"encrypt-d": {
					{"POST", "/v1/transit/encrypt/d", `{"plaintext":"U0VDUkVUCg=="}`, 200},
					{"POST", "/v1/transit/encrypt/fresh", `{"plaintext":"U0VDUkVUCg=="}`, 403}, // no upsert: create is not granted
					{"POST", "/v1/transit/decrypt/d", ctBody, 403},
					{"POST", "/v1/transit/rewrap/d", ctBody, 403},
				},
				"decrypt-d": {
					{"POST", "/v1/transit/decrypt/d", ctBody, 200},
					{"POST", "/v1/transit/encrypt/d", `{"plaintext":"U0VDUkVUCg=="}`, 403},
					{"POST", "/v1/transit/rewrap/d", ctBody, 403},
				},
				"rewrap-d": {
					{"POST", "/v1/transit/rewrap/d", ctBody, 200},
					{"POST", "/v1/transit/decrypt/d", ctBody, 403},
				},
			}
			for name, reqs := range tests {
				policy, key := name[:len(name)-2], name[len(name)-1:]
				s := tok(policy, key)
				for _, r := range reqs {
					out := replay(t, v, s, r.method, r.path, r.body, r.want)
					if r.want == 200 && out["data"] == nil {
						t.Errorf("%s: %s %s answered %v", name, r.method, r.path, out)
					}
				}
			}
			replay(t, v, root, "GET", "/v1/transit/keys/fresh", "", 404)
		})
	}
}
