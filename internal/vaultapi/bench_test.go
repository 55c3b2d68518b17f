package vaultapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/iam"
)

// benchSetup creates an instance with a write user on env and returns the
// instance ID and a Vault token of that user.
func benchSetup(b *testing.B, env *apitest.Env) (string, string) {
	b.Helper()
	p := uuid.NewString()
	tok := env.Token(b, p, "bench-"+p[:8]+"@example.com", iam.RoleSecretsManagerAdmin)
	post := func(url, bearer, body string) map[string]any {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode >= 300 {
			b.Fatalf("POST %s = %d (%v)", url, res.StatusCode, err)
		}
		return out
	}
	in := post(env.URL+"/v1/projects/"+p+"/instances", tok, `{"name":"bench"}`)
	id := in["id"].(string)
	u := post(env.URL+"/v1/projects/"+p+"/instances/"+id+"/users", tok, `{"description":"bench","write":true}`)
	res, err := http.Post(env.VaultURL+"/v1/auth/userpass/login/"+u["username"].(string), "application/json",
		strings.NewReader(`{"password":"`+u["password"].(string)+`"}`))
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	var login struct {
		Auth struct {
			ClientToken string `json:"client_token"`
		}
	}
	json.NewDecoder(res.Body).Decode(&login)
	return id, login.Auth.ClientToken
}

var concurrency = []int{1, 4, 16, 64}

// sweep runs do at each concurrency (goroutines per CPU scaled to reach n).
func sweep(b *testing.B, do func(client *http.Client) error) {
	for _, n := range concurrency {
		b.Run(fmt.Sprintf("c=%d", n), func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
			b.SetParallelism((n + 1) / 2) // 2 CPUs here: parallelism x GOMAXPROCS goroutines
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := do(client); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func call(client *http.Client, method, url, vtok string, body []byte) error {
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	req.Header.Set("X-Vault-Token", vtok)
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d", method, url, res.StatusCode)
	}
	return nil
}

// BenchmarkKVRead reads one 64-byte secret: token lookup, policy, instance
// and ACL check, store read, envelope open (cached keyring).
func BenchmarkKVRead(b *testing.B) {
	for _, kind := range apitest.Kinds {
		b.Run(string(kind), func(b *testing.B) {
			env := apitest.Start(b, kind)
			id, vtok := benchSetup(b, env)
			body := []byte(`{"data":{"value":"` + strings.Repeat("x", 64) + `"}}`)
			if err := call(http.DefaultClient, http.MethodPost, env.VaultURL+"/v1/"+id+"/data/bench", vtok, body); err != nil {
				b.Fatal(err)
			}
			sweep(b, func(c *http.Client) error {
				return call(c, http.MethodGet, env.VaultURL+"/v1/"+id+"/data/bench", vtok, nil)
			})
		})
	}
}

// BenchmarkKVWrite writes a new version of one 64-byte secret (serialized
// per path by the store, so concurrency shows lock contention).
func BenchmarkKVWrite(b *testing.B) {
	for _, kind := range apitest.Kinds {
		b.Run(string(kind), func(b *testing.B) {
			env := apitest.Start(b, kind)
			id, vtok := benchSetup(b, env)
			body := []byte(`{"data":{"value":"` + strings.Repeat("x", 64) + `"}}`)
			sweep(b, func(c *http.Client) error {
				return call(c, http.MethodPost, env.VaultURL+"/v1/"+id+"/data/bench", vtok, body)
			})
		})
	}
}

// BenchmarkBareEcho is the HTTP ceiling: a bare Echo handler answering a
// same-sized Vault envelope, over the same loopback and client.
func BenchmarkBareEcho(b *testing.B) {
	body := map[string]any{"request_id": uuid.NewString(), "lease_id": "", "renewable": false, "lease_duration": 0,
		"data": map[string]any{"data": map[string]string{"value": strings.Repeat("x", 64)},
			"metadata": map[string]any{"created_time": "2026-11-22T12:00:00.000000Z", "custom_metadata": nil,
				"deletion_time": "", "destroyed": false, "version": 1}},
		"wrap_info": nil, "warnings": nil, "auth": nil}
	e := echo.New()
	e.GET("/v1/x", func(c echo.Context) error { return c.JSON(http.StatusOK, body) })
	srv := httptest.NewServer(e)
	defer srv.Close()
	sweep(b, func(c *http.Client) error { return call(c, http.MethodGet, srv.URL+"/v1/x", "t", nil) })
}

// transitPlaintext is the benchmarks' payload: 128 bytes, base64 in the body.
var transitPlaintext = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, 128))

// transitBench starts a Vault listener of kind configured as serve
// configures it (caches, info-level request logging, Prometheus metrics;
// see startCounted), enables a transit mount with an aes256-gcm96 key, and
// returns its URL, a root token and the key's encrypt and decrypt bodies.
func transitBench(b *testing.B, kind apitest.Kind) (url, vtok string, encBody, decBody []byte) {
	b.Helper()
	url, vtok, _, _ = startCounted(b, kind)
	for _, r := range []struct{ path, body string }{
		{"/v1/sys/mounts/transit", `{"type":"transit"}`},
		{"/v1/transit/keys/bench", `{"type":"aes256-gcm96"}`},
	} {
		req, _ := http.NewRequest(http.MethodPost, url+r.path, strings.NewReader(r.body))
		req.Header.Set("X-Vault-Token", vtok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			b.Fatalf("POST %s: status %d", r.path, res.StatusCode)
		}
	}
	encBody = []byte(`{"plaintext":"` + transitPlaintext + `"}`)
	req, _ := http.NewRequest(http.MethodPost, url+"/v1/transit/encrypt/bench", bytes.NewReader(encBody))
	req.Header.Set("X-Vault-Token", vtok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ Data struct{ Ciphertext string } }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.Data.Ciphertext == "" {
		b.Fatalf("encrypt: status %d, %v", res.StatusCode, err)
	}
	return url, vtok, encBody, []byte(`{"ciphertext":"` + out.Data.Ciphertext + `"}`)
}

// BenchmarkTransitEncrypt encrypts 128 bytes under an aes256-gcm96 key
// with a root token: token, mount and key from the caches (no store
// access), the whole middleware chain with request logging and metrics,
// JSON in and out, AES-GCM. Compare with BenchmarkBareEchoTransit at the
// same concurrency.
func BenchmarkTransitEncrypt(b *testing.B) {
	for _, kind := range apitest.Kinds {
		b.Run(string(kind), func(b *testing.B) {
			url, vtok, enc, _ := transitBench(b, kind)
			sweep(b, func(c *http.Client) error {
				return call(c, http.MethodPost, url+"/v1/transit/encrypt/bench", vtok, enc)
			})
		})
	}
}

// BenchmarkTransitDecrypt decrypts what BenchmarkTransitEncrypt encrypts.
func BenchmarkTransitDecrypt(b *testing.B) {
	for _, kind := range apitest.Kinds {
		b.Run(string(kind), func(b *testing.B) {
			url, vtok, _, dec := transitBench(b, kind)
			sweep(b, func(c *http.Client) error {
				return call(c, http.MethodPost, url+"/v1/transit/decrypt/bench", vtok, dec)
			})
		})
	}
}

// BenchmarkBareEchoTransit is the transit benchmarks' HTTP ceiling: a bare
// Echo handler that reads a POST body the size of an encrypt request and
// answers an envelope the size of an encrypt answer, over the same
// loopback and client.
func BenchmarkBareEchoTransit(b *testing.B) {
	body := map[string]any{"request_id": uuid.NewString(), "lease_id": "", "renewable": false, "lease_duration": 0,
		"data": map[string]any{"ciphertext": "vault:v1:" + base64.StdEncoding.EncodeToString(make([]byte, 12+128+16)),
			"key_version": 1},
		"wrap_info": nil, "warnings": nil, "auth": nil}
	e := echo.New()
	e.POST("/v1/x", func(c echo.Context) error {
		if _, err := io.Copy(io.Discard, c.Request().Body); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, body)
	})
	srv := httptest.NewServer(e)
	defer srv.Close()
	req := []byte(`{"plaintext":"` + transitPlaintext + `"}`)
	sweep(b, func(c *http.Client) error { return call(c, http.MethodPost, srv.URL+"/v1/x", "t", req) })
}
