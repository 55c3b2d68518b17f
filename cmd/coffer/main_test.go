package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cofferhq/coffer/internal/dbtest"
	"github.com/cofferhq/coffer/internal/seal"
	"github.com/cofferhq/coffer/migrations"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const project = "00000000-0000-0000-0000-000000000000"

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// cli runs a subcommand in-process and returns its stdout.
func cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	if err != nil {
		return out.String(), fmt.Errorf("%w (stderr: %s)", err, errOut.String())
	}
	return out.String(), nil
}

// startServe runs `coffer serve` until the returned stop is called, and
// waits for /readyz.
func startServe(t *testing.T, apiURL string) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var logs bytes.Buffer
	go func() { done <- run(ctx, []string{"serve"}, &logs, &logs) }()
	for deadline := time.Now().Add(20 * time.Second); ; {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve exited early: %v\n%s", err, logs.String())
		default:
		}
		if res, err := http.Get(apiURL + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve not ready in time\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// stop may be called again (a deferred stop after an explicit one): it
	// then returns the first answer at once.
	return sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			return fmt.Errorf("serve did not stop")
		}
	})
}

func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(res.Body)
	return res.StatusCode, b.String()
}

// mustID returns a function that checks a call's status and returns the
// "id" of its JSON body.
func mustID(t *testing.T, want int) func(int, string) string {
	return func(code int, body string) string {
		t.Helper()
		var v struct{ ID string }
		if code != want || json.Unmarshal([]byte(body), &v) != nil || v.ID == "" {
			t.Fatalf("status %d body %s, want %d with an id", code, body, want)
		}
		return v.ID
	}
}

func setEnv(t *testing.T, databaseURL string) (apiURL string) {
	t.Helper()
	api, vault := freeAddr(t), freeAddr(t)
	t.Setenv("COFFER_API_ADDR", api)
	t.Setenv("COFFER_VAULT_ADDR", vault)
	t.Setenv("COFFER_DATA_DIR", t.TempDir())
	t.Setenv("COFFER_DATABASE_URL", databaseURL)
	t.Setenv("COFFER_ROOT_KEY", "")
	t.Setenv("COFFER_ROOT_KEY_FILE", "")
	t.Setenv("COFFER_LOG_LEVEL", "warn")
	return "http://" + api
}

// TestNewUserWalkthrough is the README walkthrough: serve, grant, token, the
// seed's POST and PUT with kmsKey on the v2 paths, restart, everything kept.
func TestNewUserWalkthrough(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			dbURL := ""
			if kind == "postgres" {
				dbURL = dbtest.Postgres(t)
			}
			api := setEnv(t, dbURL)
			if kind == "postgres" { // replicas share a root key given in the environment
				k, _ := seal.NewRootKey()
				t.Setenv("COFFER_ROOT_KEY", base64.StdEncoding.EncodeToString(k))
			}
			stop := startServe(t, api)
			if _, err := cli(t, "iam", "grant", "--project", project, "--subject", "admin@example.com", "--role", "secrets-manager.admin"); err != nil {
				t.Fatal(err)
			}
			if _, err := cli(t, "iam", "grant", "--project", project, "--subject", "svc-secrets@customer.example", "--role", "secrets-manager.reader"); err != nil {
				t.Fatal(err)
			}
			out, err := cli(t, "iam", "token", "--subject", "admin@example.com", "--ttl", "10m")
			if err != nil {
				t.Fatal(err)
			}
			token := strings.TrimSpace(out)
			if strings.Count(token, ".") != 2 || strings.Contains(out, " ") {
				t.Fatalf("iam token printed %q, want only a JWT", out)
			}
			if _, err := cli(t, "iam", "grant", "--project", project, "--subject", "admin@example.com", "--role", "kms.admin"); err != nil {
				t.Fatal(err)
			}
			// The KMS key the seed presupposes, made through the KMS API.
			kmsBase := api + "/v1/projects/" + project + "/regions/eu01/keyrings"
			ring := mustID(t, http.StatusAccepted)(call(t, http.MethodPost, kmsBase, token, `{"displayName":"secrets"}`))
			keyBody := `{"displayName":"sm-key","algorithm":"aes_256_gcm","purpose":"symmetric_encrypt_decrypt","protection":"software"}`
			key := mustID(t, http.StatusAccepted)(call(t, http.MethodPost, kmsBase+"/"+ring+"/keys", token, keyBody))
			if code, body := call(t, http.MethodPost, kmsBase+"/"+ring+"/keys/"+key+"/rotate", token, ""); code != http.StatusAccepted {
				t.Fatalf("rotate = %d %s", code, body)
			}

			base := api + "/v2/projects/" + project + "/regions/eu01/instances"
			kms := `{"regionId":"eu01","projectId":"` + project + `","serviceAccountEmail":"svc-secrets@customer.example","keyRingId":"` + ring + `","keyId":"%s","keyVersion":%d}`
			code, body := call(t, http.MethodPost, base, token,
				`{"name":"my-secrets-instance","kmsKey":`+fmt.Sprintf(kms, key, 1)+`}`)
			if code != http.StatusCreated {
				t.Fatalf("POST instance = %d %s", code, body)
			}
			var in struct {
				ID     string `json:"id"`
				KMSKey *struct {
					KeyID      string `json:"keyId"`
					KeyVersion int    `json:"keyVersion"`
				} `json:"kmsKey"`
			}
			json.Unmarshal([]byte(body), &in)
			code, body = call(t, http.MethodPut, base+"/"+in.ID, token,
				`{"name":"my-secrets-instance","kmsKey":`+fmt.Sprintf(kms, key, 2)+`}`)
			if code != http.StatusCreated || body != "" {
				t.Fatalf("PUT instance = %d %q, want 201 without body", code, body)
			}
			// Each wrong field gets its own 4xx, and nothing changes.
			wrong := map[string]struct {
				body string
				code int
				says string
			}{
				"region":  {strings.Replace(fmt.Sprintf(kms, key, 1), `"eu01"`, `"eu02"`, 1), 400, "region mismatch"},
				"project": {strings.Replace(fmt.Sprintf(kms, key, 1), project, "11111111-1111-1111-1111-111111111111", 1), 400, "project mismatch"},
				"key id":  {fmt.Sprintf(kms, "22222222-2222-2222-2222-222222222222", 1), 400, "not found"},
				"version": {fmt.Sprintf(kms, key, 7), 400, "version 7"},
				"account": {strings.Replace(fmt.Sprintf(kms, key, 1), "svc-secrets@customer.example", "nobody@customer.example", 1), 403, "serviceAccountEmail"},
			}
			for name, w := range wrong {
				code, body := call(t, http.MethodPut, base+"/"+in.ID, token, `{"name":"changed","kmsKey":`+w.body+`}`)
				if code != w.code || !strings.Contains(body, w.says) {
					t.Errorf("wrong %s: %d %s, want %d mentioning %q", name, code, body, w.code, w.says)
				}
			}
			if err := stop(); err != nil {
				t.Fatalf("serve stop: %v", err)
			}

			stop = startServe(t, api) // a restart keeps every instance
			defer stop()
			code, body = call(t, http.MethodGet, base+"/"+in.ID, token, "")
			json.Unmarshal([]byte(body), &in)
			if code != http.StatusOK || in.KMSKey == nil || in.KMSKey.KeyID != key || in.KMSKey.KeyVersion != 2 {
				t.Fatalf("after restart GET = %d %s", code, body)
			}
			// Remove the key (the keyring is rewrapped under the instance's own key).
			if code, body := call(t, http.MethodPut, base+"/"+in.ID, token, `{"name":"my-secrets-instance","kmsKey":null}`); code != http.StatusCreated {
				t.Fatalf("PUT kmsKey null = %d %s", code, body)
			}
			in.KMSKey = nil
			_, body = call(t, http.MethodGet, base+"/"+in.ID, token, "")
			if json.Unmarshal([]byte(body), &in); in.KMSKey != nil {
				t.Fatalf("kmsKey still set after removal: %s", body)
			}
			if code, _ := call(t, http.MethodGet, base, "", ""); code != http.StatusUnauthorized {
				t.Errorf("GET without token = %d, want 401", code)
			}
		})
	}
}

func TestWrongRootKeyRefusesToStart(t *testing.T) {
	setEnv(t, "")
	k, _ := seal.NewRootKey()
	t.Setenv("COFFER_ROOT_KEY", base64.StdEncoding.EncodeToString(k))
	if _, err := cli(t, "iam", "grant", "--project", project, "--subject", "a@example.com", "--role", "owner"); err != nil {
		t.Fatal(err)
	}
	k2, _ := seal.NewRootKey()
	t.Setenv("COFFER_ROOT_KEY", base64.StdEncoding.EncodeToString(k2))
	_, err := cli(t, "serve")
	if err == nil || !strings.Contains(err.Error(), "root key does not match") {
		t.Fatalf("serve with another root key = %v, want 'root key does not match'", err)
	}
	if _, err := cli(t, "iam", "token", "--subject", "a@example.com"); err == nil {
		t.Fatal("iam token with another root key succeeded")
	}
}

func TestMigrateCommand(t *testing.T) {
	setEnv(t, "")
	t.Setenv("COFFER_MIGRATE", "false")
	ups, err := fs.Glob(migrations.SQLite, "*.up.sql")
	if err != nil || len(ups) < 2 {
		t.Fatalf("embedded migrations: %v, %v", ups, err)
	}
	latest, previous := fmt.Sprintf("version %d", len(ups)), fmt.Sprintf("version %d", len(ups)-1)
	for _, step := range []struct{ args, want string }{
		{"version", "version 0"}, {"up", latest}, {"down", previous}, {"up", latest},
	} {
		out, err := cli(t, "migrate", step.args)
		if err != nil || strings.TrimSpace(out) != step.want {
			t.Fatalf("migrate %s = %q, %v; want %q", step.args, out, err, step.want)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	setEnv(t, "")
	for _, args := range [][]string{{}, {"bogus"}, {"migrate"}, {"iam"}, {"iam", "grant"}, {"iam", "token"}} {
		if _, err := cli(t, args...); err == nil {
			t.Errorf("coffer %v succeeded, want a usage error", args)
		}
	}
	if _, err := cli(t, "iam", "grant", "--project", "x", "--subject", "a@example.com", "--role", "owner"); err == nil ||
		!strings.Contains(err.Error(), "project must be a UUID") {
		t.Errorf("grant with a bad project = %v", err)
	}
}

// TestMetrics: both listeners report request metrics on the API listener's
// /metrics, labelled by route template, never by raw path.
func TestMetrics(t *testing.T) {
	api := setEnv(t, "")
	stop := startServe(t, api)
	defer stop()
	vault := "http://" + os.Getenv("COFFER_VAULT_ADDR")
	for _, u := range []string{vault + "/v1/sys/health", vault + "/v1/some-secret-name/data/x", api + "/healthz"} {
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	code, body := call(t, http.MethodGet, api+"/metrics", "", "")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	for _, want := range []string{`coffer_vault_requests_total{code="200",host=`, `url="/v1/sys/health"`,
		`coffer_api_requests_total{code="200"`, "coffer_envelope_keyring_cache_hits_total", "coffer_kms_sweep_total",
		"coffer_cache_healthy 1", `coffer_cache_misses_total{topic="token"}`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "some-secret-name") {
		t.Error("/metrics names a raw request path")
	}
}
