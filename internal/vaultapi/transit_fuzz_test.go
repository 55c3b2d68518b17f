package vaultapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/token"
)

// FuzzTransitBody sends arbitrary bodies to the transit endpoints that
// parse client input (single and batch items, options, framing of
// ciphertexts and signatures). Whatever the body, the answer is a client
// error or a success, never a 5xx, and always Vault's JSON envelope.
func FuzzTransitBody(f *testing.F) {
	env := apitest.Start(f, apitest.SQLite)
	root, _, err := env.VaultTokens.Create(f.Context(), token.RootSpec())
	if err != nil {
		f.Fatal(err)
	}
	v := env.VaultURL
	replay(f, v, root, "POST", "/v1/sys/mounts/transit", `{"type":"transit"}`, http.StatusNoContent)
	for _, k := range []struct{ name, typ string }{{"aes", "aes256-gcm96"}, {"ec", "ecdsa-p256"}, {"rsa", "rsa-2048"},
		{"ed", "ed25519"}, {"mac", "hmac"}} {
		replay(f, v, root, "POST", "/v1/transit/keys/"+k.name, `{"type":"`+k.typ+`","derived":false}`, http.StatusOK)
	}
	paths := []string{"encrypt/aes", "decrypt/aes", "rewrap/aes", "sign/ec", "sign/rsa/sha2-512", "verify/ec",
		"verify/ed", "hmac/mac", "hmac/aes/sha3-256", "datakey/wrapped/aes", "hash/sha2-384", "random/16",
		"encrypt/rsa", "decrypt/rsa", "keys/aes/config", "keys/aes/trim", "restore/x"}
	for i, s := range []string{
		`{"plaintext":"aGVsbG8="}`, `{"ciphertext":"vault:v1:AAAA"}`, `{"ciphertext":"vault:v99999999999999999999:AA=="}`,
		`{"input":"aGVsbG8=","signature":"vault:v1:MEUCIQ=="}`, `{"batch_input":[{"plaintext":"aGk="},{"plaintext":1}]}`,
		`{"batch_input":[{"ciphertext":"vault:v1:"},{}],"partial_failure_response_code":207}`,
		`{"input":"aGk=","hmac":"vault:v0:AA"}`, `{"bits":7}`, `{"input":"!!","format":"base64"}`,
		`{"marshaling_algorithm":"jws","input":"aGk=","signature":"vault:v1:.."}`, `{"salt_length":"-5","input":"aGk="}`,
		`{"min_decryption_version":-1}`, `{"min_available_version":"x"}`, `{"backup":"e30="}`, `[`, `{"a":{"b":[[[]]]}}`,
	} {
		f.Add(uint8(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		p := paths[int(which)%len(paths)]
		req, _ := http.NewRequest("POST", v+"/v1/transit/"+p, bytes.NewReader(body))
		req.Header.Set("X-Vault-Token", root)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 500 && !(p == "restore/x" && res.StatusCode == 500) { // Vault's restore answers 500
			t.Fatalf("POST %s %q = %d %s", p, body, res.StatusCode, b)
		}
		if res.StatusCode != http.StatusNoContent && !json.Valid(b) {
			t.Fatalf("POST %s %q = %d with a body that is not JSON: %q", p, body, res.StatusCode, b)
		}
	})
}
