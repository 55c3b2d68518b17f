package vaultapi_test

import (
	"os"
	"strings"
	"testing"

	"github.com/cofferhq/coffer/internal/dbtest"
)

// TestMain stops the ephemeral PostgreSQL server that dbtest starts. It
// first clears VAULT_* variables: vault.DefaultConfig and vault.NewClient
// read them, and parallel tests cannot use t.Setenv.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "VAULT_") {
			os.Unsetenv(name)
		}
	}
	dbtest.Main(m)
}
