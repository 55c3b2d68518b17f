package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cofferhq/coffer/internal/apitest"
	"github.com/cofferhq/coffer/internal/iam"
)

func TestHealthAndJWKS(t *testing.T) {
	for _, k := range apitest.Kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			env := apitest.Start(t, k)
			for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"ready"`,
				"/.well-known/jwks.json": `"Ed25519"`, "/openapi/secretsmanager.yaml": "openapi: 3.0.3"} {
				res, err := http.Get(env.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
					t.Errorf("GET %s = %d %s, want 200 containing %s", path, res.StatusCode, b, want)
				}
			}
		})
	}
}

func TestUnknownPathIsJSON404(t *testing.T) {
	env := apitest.Start(t, apitest.SQLite)
	tok := env.Token(t, "3fa85f64-5717-4562-b3fc-2c963f66afa6", "a@example.com", iam.RoleOwner)
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/v1/nope", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct{ Message string }
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != http.StatusNotFound || body.Message == "" {
		t.Fatalf("GET /v1/nope = %d %+v (%v), want 404 with a message", res.StatusCode, body, err)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}
