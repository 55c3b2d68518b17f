package config

import (
	"strings"
	"testing"
)

func TestLoadDefaults(t *testing.T) {
	for _, k := range []string{"COFFER_API_ADDR", "COFFER_VAULT_ADDR", "COFFER_DATABASE_URL", "COFFER_VAULT_PUBLIC_URL"} {
		t.Setenv(k, "")
	}
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.APIAddr != "127.0.0.1:8080" || c.VaultAddr != "127.0.0.1:8200" || c.DataDir != "./data" ||
		c.Instance.APIURL != "http://127.0.0.1:8200" || c.Instance.DefaultRegion != "eu01" {
		t.Errorf("defaults = %+v", c)
	}
}

func TestLoadRejects(t *testing.T) {
	cases := map[string][2]string{ // the variable the error must name -> what is set
		"COFFER_API_ADDR":               {"COFFER_API_ADDR", "nonsense"},
		"COFFER_VAULT_ADDR":             {"COFFER_VAULT_ADDR", "127.0.0.1:8080"}, // same as the API's
		"COFFER_DATABASE_URL":           {"COFFER_DATABASE_URL", "mysql://x"},
		"COFFER_LOG_LEVEL":              {"COFFER_LOG_LEVEL", "loud"},
		"COFFER_LOG_FORMAT":             {"COFFER_LOG_FORMAT", "xml"},
		"COFFER_DEFAULT_REGION":         {"COFFER_DEFAULT_REGION", "eu02"},
		"COFFER_REGIONS":                {"COFFER_REGIONS", "EU 1"},
		"COFFER_MAX_USERS_PER_INSTANCE": {"COFFER_MAX_USERS_PER_INSTANCE", "0"},
		"COFFER_JWT_MAX_TTL":            {"COFFER_JWT_MAX_TTL", "-1h"},
		"COFFER_SHUTDOWN_TIMEOUT":       {"COFFER_SHUTDOWN_TIMEOUT", "0s"},
	}
	for want, kv := range cases {
		t.Run(want, func(t *testing.T) {
			t.Setenv(kv[0], kv[1])
			_, err := Load()
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Load() with %s=%q = %v, want an error naming %s", kv[0], kv[1], err, want)
			}
		})
	}
}

func TestStringRedactsSecrets(t *testing.T) {
	t.Setenv("COFFER_DATABASE_URL", "postgres://u:hunter2@db/coffer")
	t.Setenv("COFFER_ROOT_KEY", "c2VjcmV0LXJvb3Qta2V5LWNhbmFyeS0xMjM0NTY3ODk=")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if s := c.String(); strings.Contains(s, "hunter2") || strings.Contains(s, "c2VjcmV0") {
		t.Errorf("String() leaks a secret: %s", s)
	}
}

func TestRejectedSecretsAreNotEchoed(t *testing.T) {
	t.Setenv("COFFER_DATABASE_URL", "::not a url hunter2")
	_, err := Load()
	if err == nil || !strings.Contains(err.Error(), "COFFER_DATABASE_URL") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Load() = %v; want an error naming COFFER_DATABASE_URL without its value", err)
	}
}
