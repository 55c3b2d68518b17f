// Package dbtest provides PostgreSQL databases to tests: each call of
// Postgres returns a fresh, fully migrated, empty database of its own, cloned
// from a template database that is migrated once per test process.
//
// The server is the one COFFER_TEST_DATABASE_URL names, or else one
// ephemeral server per test process, started with github.com/rubenv/pgtest
// from the installed PostgreSQL binaries (as the postgres user when running
// as root). A package that uses Postgres must call Main from its TestMain,
// so that the server is stopped and the template dropped when its tests end:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
//
// A missing PostgreSQL fails the test; it never skips it, except under
// `go test -short`.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// EnvURL names the environment variable that points the tests at a running
// PostgreSQL server instead of an ephemeral one: a postgres:// URL of a
// database to connect to for administration, as a user that may create
// databases.
const EnvURL = "COFFER_TEST_DATABASE_URL"

const help = `install PostgreSQL so that an ephemeral server can be started ` +
	`(Debian/Ubuntu: apt-get install postgresql), or set ` + EnvURL +
	`=postgres://user:password@host:5432/postgres to use a running server (the user needs CREATEDB)`

var (
	mainCalled atomic.Bool

	setupOnce sync.Once
	srv       *server
	setupErr  error
)

// Main runs the tests of m, then stops the ephemeral server (or drops the
// template database on the COFFER_TEST_DATABASE_URL server), and exits with
// the tests' exit code. Call it from TestMain.
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	if srv != nil {
		if err := srv.close(); err != nil {
			fmt.Fprintf(os.Stderr, "dbtest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// Postgres returns the URL of a fresh, fully migrated, empty PostgreSQL
// database for tb, dropped when tb ends. It fails tb when no PostgreSQL can
// be found or started, and skips it only in -short mode. It is safe for
// parallel tests.
func Postgres(tb testing.TB) string {
	tb.Helper()
	if testing.Short() {
		tb.Skip("dbtest: skipping a PostgreSQL test in -short mode")
	}
	if !mainCalled.Load() {
		tb.Fatal("dbtest: call dbtest.Main(m) from TestMain, so that the PostgreSQL server is stopped after the tests")
	}
	setupOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		srv, setupErr = start(ctx)
	})
	if setupErr != nil {
		tb.Fatalf("dbtest: no PostgreSQL for tests: %v\nTo fix: %s", setupErr, help)
	}

	name := "coffer_test_" + randomHex()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := srv.clone(ctx, name); err != nil {
		tb.Fatalf("dbtest: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := srv.drop(ctx, name); err != nil {
			tb.Errorf("dbtest: %v", err)
		}
	})
	return srv.url(name)
}

// randomHex returns 16 random hex digits, for database names.
func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
