package dbtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cofferhq/coffer/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestPostgres(t *testing.T) {
	t.Parallel()
	names := make(chan string, 4)
	t.Run("group", func(t *testing.T) {
		for range 4 {
			t.Run("clone", func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				conn, err := pgx.Connect(ctx, dbtest.Postgres(t))
				if err != nil {
					t.Fatalf("Connect() error = %v", err)
				}
				defer conn.Close(ctx)

				var name string
				var version int64
				var dirty bool
				err = conn.QueryRow(ctx, `SELECT current_database(), version, dirty FROM schema_migrations`).
					Scan(&name, &version, &dirty)
				if err != nil {
					t.Fatalf("query schema_migrations: %v", err)
				}
				if version < 1 || dirty {
					t.Errorf("schema_migrations = (%d, %t), want a clean version >= 1", version, dirty)
				}
				var n int
				if err := conn.QueryRow(ctx, `SELECT count(*) FROM instances`).Scan(&n); err != nil {
					t.Fatalf("count instances: %v", err)
				}
				if n != 0 {
					t.Errorf("instances has %d rows, want an empty database", n)
				}
				names <- name
			})
		}
	})
	close(names)
	seen := map[string]bool{}
	for name := range names {
		if seen[name] {
			t.Errorf("database %s was handed out twice", name)
		}
		seen[name] = true
	}
}

// TestManyErrors checks that the server survives more logged errors than
// fit in a pipe buffer (see silenceSQL).
func TestManyErrors(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbtest.Postgres(t))
	if err != nil {
		t.Fatalf("Connect() error = %v", err)
	}
	defer conn.Close(context.Background())
	for i := range 1000 {
		_, err := conn.Exec(ctx, `SELECT * FROM a_table_that_does_not_exist_and_has_a_long_name_to_log`)
		if err == nil || ctx.Err() != nil {
			t.Fatalf("failing statement %d: error = %v (context: %v), want a quick error", i, err, ctx.Err())
		}
	}
}
