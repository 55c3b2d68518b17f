package httpapi_test

import (
	"testing"

	"github.com/cofferhq/coffer/internal/dbtest"
)

// TestMain stops the ephemeral PostgreSQL server that dbtest starts.
func TestMain(m *testing.M) { dbtest.Main(m) }
